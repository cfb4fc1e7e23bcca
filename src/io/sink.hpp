// Byte sinks and filters: the export/restore pipeline is a chain of Sinks.
//
// A Sink accepts bytes through write() and is told the stream ended through
// finish(). A filter is a Sink that transforms what it is written and forwards
// the result to the next Sink it holds by reference (pgBackRest's filter
// chain). Invariants: every filter keeps a fixed-size buffer, so memory stays
// bounded whatever the stream's length; finish() flushes trailers and then
// calls next.finish() exactly once; after finish() no more write() calls are
// allowed. Errors are thrown as tb::Error; a Sink that threw is not reused.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tb::io {

class Sink {
 public:
  virtual ~Sink();
  virtual void write(std::span<const std::byte> data) = 0;
  // Flushes buffered data and trailers, then finishes the next sink.
  virtual void finish() = 0;
};

// View helpers for writing text/strings to sinks.
inline std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// Discards everything.
class NullSink final : public Sink {
 public:
  void write(std::span<const std::byte>) override {}
  void finish() override { finished_ = true; }
  bool finished() const { return finished_; }

 private:
  bool finished_ = false;
};

// Keeps everything in memory (tests, small payloads).
class StringSink final : public Sink {
 public:
  void write(std::span<const std::byte> data) override;
  void finish() override { finished_ = true; }
  const std::string& str() const { return data_; }
  bool finished() const { return finished_; }

 private:
  std::string data_;
  bool finished_ = false;
};

// Writes to a file descriptor it does not own (retries partial writes and
// EINTR). finish() does not close or fsync it.
class FdSink final : public Sink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  void write(std::span<const std::byte> data) override;
  void finish() override {}

 private:
  int fd_;
};

// Forwards every write to each sink in order; finish() finishes each.
class Tee final : public Sink {
 public:
  explicit Tee(std::vector<Sink*> sinks) : sinks_(std::move(sinks)) {}
  void write(std::span<const std::byte> data) override;
  void finish() override;

 private:
  std::vector<Sink*> sinks_;
};

}  // namespace tb::io
