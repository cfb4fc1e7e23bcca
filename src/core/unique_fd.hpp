// UniqueFd: one owned file descriptor, closed when the owner goes away.
//
// For the plain POSIX calls (open, pread, pipe2) that Asio and the standard
// library do not wrap: every early return and exception closes the file.
// Movable, not copyable. A close() whose result matters (after writing a file
// that must be durable) is done by hand: `::close(fd.release())`.
#pragma once

#include <unistd.h>

#include <utility>

namespace tb {

class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  ~UniqueFd() { reset(); }

  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  // The descriptor, -1 when none.
  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }

  // Gives up ownership: the caller closes what is returned.
  int release() noexcept { return std::exchange(fd_, -1); }

  // Closes the current descriptor (if any) and owns `fd` instead.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace tb
