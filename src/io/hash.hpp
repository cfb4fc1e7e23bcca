// Pass-through filters that observe the stream: SHA-256 and a byte counter.
// Both forward every byte unchanged to the next sink, so they can sit anywhere
// in a chain (the export puts Sha256 after compression: the digest is of the
// stored bytes, what `sha256sum <file>` prints).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "io/sink.hpp"

namespace tb::io {

class Sha256 final : public Sink {
 public:
  explicit Sha256(Sink& next);
  ~Sha256() override;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void write(std::span<const std::byte> data) override;
  void finish() override;
  // Lowercase hex digest; valid only after finish().
  std::string hex() const;

 private:
  Sink& next_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string hex_;
};

// Counts bytes; on_progress (if any) is called after each write with the
// running total, from the writing thread.
class ByteCounter final : public Sink {
 public:
  explicit ByteCounter(Sink& next, std::function<void(std::uint64_t)> on_progress = {})
      : next_(next), on_progress_(std::move(on_progress)) {}
  void write(std::span<const std::byte> data) override;
  void finish() override { next_.finish(); }
  std::uint64_t count() const { return count_; }

 private:
  Sink& next_;
  std::function<void(std::uint64_t)> on_progress_;
  std::uint64_t count_ = 0;
};

// SHA-256 (lowercase hex) of a whole file, read in fixed-size chunks. Throws
// tb::Error: kNotFound when the file does not exist, kInternal when it cannot
// be read.
std::string sha256_file(const std::string& path);

// SHA-256 (lowercase hex) of bytes [offset, offset + length) of the open file
// `fd`, read with pread() (the file position is left alone). A file that ends
// before offset + length is hashed to its end: the digest then differs from
// the one recorded, which is how callers notice a file that shrank. Throws
// tb::Error kInternal on a read error.
std::string sha256_range(int fd, std::uint64_t offset, std::uint64_t length);

}  // namespace tb::io
