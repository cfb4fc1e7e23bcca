// gzip: libdeflate compresses independent kGzipBlockSize blocks, each as its
// own gzip member (concatenated members are one valid .gz). Blocks are
// compressed on a small pool; the writing thread forwards finished blocks in
// order and never keeps more than 2*threads blocks in flight (bounded memory).
// Reading uses zlib's inflate, reset at each member boundary.
#include <libdeflate.h>
#include <zlib.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "io/compress.hpp"

namespace tb::io {
namespace {

struct Compressor {
  libdeflate_compressor* c;
  explicit Compressor(int level) : c(libdeflate_alloc_compressor(level)) {
    if (c == nullptr) {
      throw Error(ErrorCode::kInternal, "compression failed",
                  "libdeflate_alloc_compressor(" + std::to_string(level) + ") failed");
    }
  }
  ~Compressor() { libdeflate_free_compressor(c); }
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  void compress(const std::vector<std::byte>& in, std::vector<std::byte>& out) const {
    out.resize(libdeflate_gzip_compress_bound(c, in.size()));
    std::size_t n = libdeflate_gzip_compress(c, in.data(), in.size(), out.data(), out.size());
    if (n == 0)
      throw Error(ErrorCode::kInternal, "compression failed",
                  "libdeflate_gzip_compress returned 0");
    out.resize(n);
  }
};

struct Block {
  std::vector<std::byte> in;
  std::vector<std::byte> out;
  bool taken = false;
  bool done = false;
  std::string error;  // set by a worker when compression failed
};

}  // namespace

struct GzipCompressor::Impl {
  Sink& next;
  int level;
  int threads;
  std::size_t max_in_flight;
  std::unique_ptr<Block> current;
  bool wrote_member = false;

  // Inline mode (threads <= 1).
  std::unique_ptr<Compressor> inline_compressor;

  // Pool mode.
  std::mutex mu;
  std::condition_variable work_cv;           // workers wait for blocks
  std::condition_variable done_cv;           // the writer waits for the front block
  std::deque<std::unique_ptr<Block>> queue;  // in order; front is the next to forward
  bool stop = false;
  std::vector<std::thread> workers;

  Impl(Sink& n, int lvl, int t)
      : next(n),
        level(lvl),
        threads(t),
        max_in_flight(static_cast<std::size_t>(t > 1 ? 2 * t : 1)) {
    if (threads <= 1) {
      inline_compressor = std::make_unique<Compressor>(level);
    } else {
      Compressor probe(level);  // fail early on a bad level, in the caller's thread
      for (int i = 0; i < threads; ++i) workers.emplace_back([this] { work(); });
    }
  }

  ~Impl() { shutdown(); }

  void shutdown() {
    {
      std::lock_guard lock(mu);
      stop = true;
    }
    work_cv.notify_all();
    for (auto& w : workers) w.join();
    workers.clear();
  }

  void work() {
    std::unique_ptr<Compressor> c;
    std::string init_error;
    try {
      c = std::make_unique<Compressor>(level);
    } catch (const std::exception& e) {
      init_error = e.what();
    }
    std::unique_lock lock(mu);
    for (;;) {
      Block* b = nullptr;
      work_cv.wait(lock, [&] {
        if (stop) return true;
        for (auto& q : queue) {
          if (!q->taken) {
            b = q.get();
            return true;
          }
        }
        return false;
      });
      if (b == nullptr) return;  // stopping
      b->taken = true;
      lock.unlock();
      std::string error = init_error;
      if (error.empty()) {
        try {
          c->compress(b->in, b->out);
        } catch (const std::exception& e) {
          error = e.what();
        }
      }
      lock.lock();
      b->error = std::move(error);
      b->done = true;
      b->in = {};
      done_cv.notify_all();
    }
  }

  // Waits for the front block, forwards it and drops it.
  void forward_front() {
    std::unique_ptr<Block> b;
    {
      std::unique_lock lock(mu);
      done_cv.wait(lock, [&] { return queue.front()->done; });
      b = std::move(queue.front());
      queue.pop_front();
    }
    if (!b->error.empty()) throw Error(ErrorCode::kInternal, "compression failed", b->error);
    next.write(b->out);
  }

  void submit(std::unique_ptr<Block> b) {
    wrote_member = true;
    if (inline_compressor) {
      inline_compressor->compress(b->in, b->out);
      next.write(b->out);
      return;
    }
    while (queue.size() >= max_in_flight)
      forward_front();  // only this thread changes the size upward
    {
      std::lock_guard lock(mu);
      queue.push_back(std::move(b));
    }
    work_cv.notify_one();
  }
};

GzipCompressor::GzipCompressor(Sink& next, int level, int threads)
    : impl_(std::make_unique<Impl>(next, level, threads)) {}

GzipCompressor::~GzipCompressor() = default;

void GzipCompressor::write(std::span<const std::byte> data) {
  while (!data.empty()) {
    if (!impl_->current) {
      impl_->current = std::make_unique<Block>();
      impl_->current->in.reserve(kGzipBlockSize);
    }
    auto& in = impl_->current->in;
    std::size_t n = std::min(data.size(), kGzipBlockSize - in.size());
    in.insert(in.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
    data = data.subspan(n);
    if (in.size() == kGzipBlockSize) impl_->submit(std::move(impl_->current));
  }
}

void GzipCompressor::finish() {
  // An empty stream still gets one (empty) member: a zero-byte .gz is invalid.
  if (impl_->current || !impl_->wrote_member) {
    if (!impl_->current) impl_->current = std::make_unique<Block>();
    impl_->submit(std::move(impl_->current));
  }
  while (!impl_->queue.empty()) impl_->forward_front();
  impl_->shutdown();
  impl_->next.finish();
}

struct GzipDecompressor::Impl {
  Sink& next;
  z_stream zs{};
  bool in_member = false;   // inside a member (header seen, trailer not yet)
  bool any_member = false;  // at least one member completed
  std::vector<unsigned char> out = std::vector<unsigned char>(256 * 1024);
  explicit Impl(Sink& n) : next(n) {
    // 16 + MAX_WBITS: gzip wrapper only.
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
      throw Error(ErrorCode::kInternal, "decompression failed", "inflateInit2 failed");
    }
  }
  ~Impl() { inflateEnd(&zs); }
};

GzipDecompressor::GzipDecompressor(Sink& next) : impl_(std::make_unique<Impl>(next)) {}
GzipDecompressor::~GzipDecompressor() = default;

void GzipDecompressor::write(std::span<const std::byte> data) {
  auto& zs = impl_->zs;
  // zlib's API takes a non-const pointer but does not write through next_in.
  zs.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  // One inflate call into the output buffer; forwards what it produced and
  // notes the end of a gzip member (a .gz may hold several, one per block).
  auto inflate_once = [&]() -> std::size_t {
    zs.next_out = impl_->out.data();
    zs.avail_out = static_cast<uInt>(impl_->out.size());
    int r = inflate(&zs, Z_NO_FLUSH);
    std::size_t produced = impl_->out.size() - zs.avail_out;
    if (produced > 0) {
      impl_->next.write(std::span<const std::byte>(
          reinterpret_cast<const std::byte*>(impl_->out.data()), produced));
    }
    if (r == Z_STREAM_END) {
      impl_->in_member = false;
      impl_->any_member = true;
    } else if (r != Z_OK && r != Z_BUF_ERROR) {
      throw Error(ErrorCode::kInternal, "the backup data is corrupt (gzip)",
                  std::string("inflate: ") + (zs.msg != nullptr ? zs.msg : std::to_string(r)));
    }
    return produced;
  };
  while (zs.avail_in > 0) {
    if (!impl_->in_member) {
      inflateReset(&zs);
      impl_->in_member = true;
    }
    inflate_once();
  }
  // Drain any output still pending inside zlib for the current input.
  while (impl_->in_member && inflate_once() > 0) {
  }
}

void GzipDecompressor::finish() {
  if (impl_->in_member || !impl_->any_member) {
    throw Error(ErrorCode::kInternal, "the backup data is corrupt (gzip)", "truncated gzip stream");
  }
  impl_->next.finish();
}

}  // namespace tb::io
