#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameProgression, ZSTD_getCParams
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "io/compress.hpp"
#include "io/cpu_idle.hpp"
#include "io/zstd_adapt.hpp"

namespace tb::io {
namespace {

[[noreturn]] void zstd_fail(const char* what, std::size_t code) {
  throw Error(ErrorCode::kInternal, "compression failed",
              std::string(what) + ": " + ZSTD_getErrorName(code));
}

[[noreturn]] void zstd_corrupt(std::string detail) {
  throw Error(ErrorCode::kInternal, "the backup data is corrupt (zstd)", std::move(detail));
}

}  // namespace

struct ZstdCompressor::Impl {
  Sink& next;
  ZSTD_CCtx* cctx = nullptr;
  std::vector<std::byte> out;
  ZstdLevels levels;
  // Adaptive only.
  std::optional<AdaptiveLevel> adapt;
  CpuIdleMeter idle;
  AdaptSample sample;
  unsigned last_job = 0;
  // Without workers: the controller's "jobs" are every kSoloJob input bytes.
  bool solo = false;
  std::function<bool()> producer_waiting;
  std::uint64_t solo_in = 0;
  static constexpr std::uint64_t kSoloJob = std::uint64_t{8} << 20;
  explicit Impl(Sink& n) : next(n), out(ZSTD_CStreamOutSize()) {}
  ~Impl() { ZSTD_freeCCtx(cctx); }

  // Runs compressStream2 until the input is consumed (continue) or the frame
  // is flushed (end), forwarding every produced byte.
  void pump(ZSTD_inBuffer& in, ZSTD_EndDirective mode) {
    for (;;) {
      ZSTD_outBuffer ob{out.data(), out.size(), 0};
      const std::size_t before = in.pos;
      std::size_t rem = ZSTD_compressStream2(cctx, &ob, &in, mode);
      if (ZSTD_isError(rem)) zstd_fail("ZSTD_compressStream2", rem);
      if (ob.pos > 0) next.write(std::span<const std::byte>(out.data(), ob.pos));
      if (adapt && !solo && mode == ZSTD_e_continue) {
        ++sample.presented;
        // Nothing taken: libzstd's buffers were full and this call waited
        // for a job to finish, so the producer waited on the compressor.
        if (in.pos == before) ++sample.blocked;
        adapt_level();
      }
      if (mode == ZSTD_e_end ? rem == 0 : in.pos == in.size) return;
    }
  }

  // Once per job libzstd starts: feed the controller, apply its level to
  // the jobs that follow (libzstd takes a new level mid-frame with workers).
  void adapt_level() {
    const ZSTD_frameProgression p = ZSTD_getFrameProgression(cctx);
    if (p.currentJobID == last_job) return;
    last_job = p.currentJobID;
    sample.job = p.currentJobID;
    decide();
  }

  // On the producer's thread: one sample per write, a decision per kSoloJob.
  void adapt_solo(std::size_t size) {
    ++sample.presented;
    if (producer_waiting && producer_waiting()) ++sample.blocked;
    solo_in += size;
    const auto job = static_cast<unsigned>(solo_in / kSoloJob);
    if (job == last_job) return;
    last_job = sample.job = job;
    decide();
  }

  void decide() {
    sample.idle_cores = idle.idle_cores();
    const int level = adapt->observe(sample);
    sample = AdaptSample{};
    if (level == levels.last) return;
    if (solo) {
      // A frame keeps its level on one thread: end it, the next one starts
      // at the new level.
      ZSTD_inBuffer none{nullptr, 0, 0};
      pump(none, ZSTD_e_end);
    }
    const std::size_t r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    if (ZSTD_isError(r)) zstd_fail("ZSTD_c_compressionLevel", r);
    levels.last = level;
    levels.lowest = adapt->lowest();
    levels.highest = adapt->highest();
  }
};

ZstdCompressor::ZstdCompressor(Sink& next, const ZstdSettings& settings)
    : impl_(std::make_unique<Impl>(next)) {
  auto* cctx = impl_->cctx = ZSTD_createCCtx();
  if (cctx == nullptr)
    throw Error(ErrorCode::kInternal, "compression failed", "ZSTD_createCCtx failed");
  const int workers = settings.workers;
  if (settings.adaptive) {
    const bool start_given = settings.level >= settings.floor && settings.level <= settings.ceiling;
    impl_->adapt.emplace(settings.floor, settings.ceiling, std::max(workers, 0),
                         start_given ? settings.level : settings.floor);
    impl_->solo = workers <= 0;
    impl_->producer_waiting = settings.producer_waiting;
  }
  const int level = settings.adaptive ? impl_->adapt->level() : settings.level;
  impl_->levels = {settings.adaptive, level, level, level};
  std::size_t r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  if (ZSTD_isError(r)) zstd_fail("ZSTD_c_compressionLevel", r);
  r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  if (ZSTD_isError(r)) zstd_fail("ZSTD_c_checksumFlag", r);
  if (settings.adaptive && workers > 0) {
    // A frame keeps the window it started with: take the ceiling's, so that
    // the higher levels are not held to the floor's smaller window.
    const auto ceiling = ZSTD_getCParams(settings.ceiling, ZSTD_CONTENTSIZE_UNKNOWN, 0);
    r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, static_cast<int>(ceiling.windowLog));
    if (ZSTD_isError(r)) zstd_fail("ZSTD_c_windowLog", r);
  }
  if (workers > 0) {
    r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, workers);
    if (ZSTD_isError(r)) {
      // A libzstd without threads: compress on this thread (adaptive too).
      impl_->solo = settings.adaptive;
      return;
    }
    // 2 MiB jobs instead of libzstd's default (4 x window: ~70 MB RSS with 2
    // workers at level 3); the output grows ~0.3% (measured with zstd -B2M).
    // It is also how often the adaptive level is reconsidered.
    (void)ZSTD_CCtx_setParameter(cctx, ZSTD_c_jobSize, 2 << 20);
  }
}

ZstdCompressor::~ZstdCompressor() = default;

ZstdLevels ZstdCompressor::levels() const {
  return impl_->levels;
}

void ZstdCompressor::write(std::span<const std::byte> data) {
  if (data.empty()) return;
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  impl_->pump(in, ZSTD_e_continue);
  if (impl_->adapt && impl_->solo) impl_->adapt_solo(data.size());
}

void ZstdCompressor::finish() {
  ZSTD_inBuffer in{nullptr, 0, 0};
  impl_->pump(in, ZSTD_e_end);
  impl_->next.finish();
}

struct ZstdDecompressor::Impl {
  Sink& next;
  ZSTD_DCtx* dctx = nullptr;
  std::vector<std::byte> out;
  std::size_t last = 0;  // last return of decompressStream: 0 = at a frame boundary
  bool saw_input = false;
  explicit Impl(Sink& n) : next(n), out(ZSTD_DStreamOutSize()) {}
  ~Impl() { ZSTD_freeDCtx(dctx); }
};

ZstdDecompressor::ZstdDecompressor(Sink& next) : impl_(std::make_unique<Impl>(next)) {
  impl_->dctx = ZSTD_createDCtx();
  if (impl_->dctx == nullptr)
    throw Error(ErrorCode::kInternal, "decompression failed", "ZSTD_createDCtx failed");
}

ZstdDecompressor::~ZstdDecompressor() = default;

void ZstdDecompressor::write(std::span<const std::byte> data) {
  if (data.empty()) return;
  impl_->saw_input = true;
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  // Loop until all input is consumed AND the output buffer was not filled
  // (a full buffer means zstd may still hold decoded bytes to flush).
  for (;;) {
    ZSTD_outBuffer ob{impl_->out.data(), impl_->out.size(), 0};
    std::size_t r = ZSTD_decompressStream(impl_->dctx, &ob, &in);
    if (ZSTD_isError(r))
      zstd_corrupt(std::string("ZSTD_decompressStream: ") + ZSTD_getErrorName(r));
    impl_->last = r;
    if (ob.pos > 0) impl_->next.write(std::span<const std::byte>(impl_->out.data(), ob.pos));
    if (in.pos == in.size && ob.pos < ob.size) break;
  }
}

void ZstdDecompressor::finish() {
  if (!impl_->saw_input) zstd_corrupt("empty input");
  if (impl_->last != 0) zstd_corrupt("truncated zstd stream (frame not complete)");
  impl_->next.finish();
}

}  // namespace tb::io
