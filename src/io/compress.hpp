// Compression filters: zstd (multithreaded streaming via ZSTD_c_nbWorkers) and
// gzip (libdeflate, parallel independent members), plus the matching
// decompressors used by restore and downloads.
//
// Invariants: memory is bounded (zstd: its window + worker buffers; gzip:
// at most 2*threads blocks of kGzipBlockSize in flight). Output order equals
// input order. The gzip output is a sequence of complete gzip members: gunzip,
// zlib (inflate with auto-reset) and our GzipDecompressor read it whole.
// Decompressors throw tb::Error on corrupt or truncated input (truncation is
// detected at finish()).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "io/sink.hpp"

namespace tb::io {

// How a zstd stream is compressed. Adaptive: the level moves within [floor,
// ceiling] as io/zstd_adapt.hpp decides, from `level` if it is within them,
// else from the floor; otherwise it is `level` throughout. With workers, a new level applies to
// libzstd's next jobs; without, the frame is ended and a new one starts at the new level (a zstd
// file may hold several frames: every decoder reads them as one stream), and `producer_waiting`
// tells whether the producer is held up by this thread (e.g. its pipe is nearly full); unset, the
// controller sees only the machine's idle CPU.
struct ZstdSettings {
  int level = 3;
  bool adaptive = false;
  int floor = 1;
  int ceiling = 6;
  // 0 compresses on the calling thread; > 0 overlaps compression with the
  // producer (zstd's own worker threads).
  int workers = 1;
  std::function<bool()> producer_waiting;
};

// The levels a stream was compressed at (lowest = highest = last when fixed).
struct ZstdLevels {
  bool adaptive = false;
  int lowest = 0;
  int highest = 0;
  int last = 0;
};

class ZstdCompressor final : public Sink {
 public:
  ZstdCompressor(Sink& next, const ZstdSettings& settings);
  explicit ZstdCompressor(Sink& next, int level = 3, int workers = 2)
      : ZstdCompressor(next,
                       ZstdSettings{.level = level, .workers = workers, .producer_waiting = {}}) {}
  ZstdLevels levels() const;
  ~ZstdCompressor() override;
  ZstdCompressor(const ZstdCompressor&) = delete;
  ZstdCompressor& operator=(const ZstdCompressor&) = delete;
  void write(std::span<const std::byte> data) override;
  void finish() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class ZstdDecompressor final : public Sink {
 public:
  explicit ZstdDecompressor(Sink& next);
  ~ZstdDecompressor() override;
  ZstdDecompressor(const ZstdDecompressor&) = delete;
  ZstdDecompressor& operator=(const ZstdDecompressor&) = delete;
  void write(std::span<const std::byte> data) override;
  void finish() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

inline constexpr std::size_t kGzipBlockSize = std::size_t{1024} * 1024;

class GzipCompressor final : public Sink {
 public:
  // threads <= 1 compresses on the calling thread.
  explicit GzipCompressor(Sink& next, int level = 6, int threads = 2);
  ~GzipCompressor() override;
  GzipCompressor(const GzipCompressor&) = delete;
  GzipCompressor& operator=(const GzipCompressor&) = delete;
  void write(std::span<const std::byte> data) override;
  void finish() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads one or more concatenated gzip members.
class GzipDecompressor final : public Sink {
 public:
  explicit GzipDecompressor(Sink& next);
  ~GzipDecompressor() override;
  GzipDecompressor(const GzipDecompressor&) = delete;
  GzipDecompressor& operator=(const GzipDecompressor&) = delete;
  void write(std::span<const std::byte> data) override;
  void finish() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tb::io
