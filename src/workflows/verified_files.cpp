#include "workflows/verified_files.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"
#include "io/hash.hpp"

namespace tb::workflows {
namespace {

std::int64_t ns_of(const struct timespec& t) {
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

}  // namespace

VerifiedFiles::Key VerifiedFiles::key_of(const struct stat& st, const std::string& sha256) {
  return Key{st.st_dev, st.st_ino, st.st_size, ns_of(st.st_mtim), ns_of(st.st_ctim), sha256};
}

void VerifiedFiles::check(int fd, const std::string& sha256, bool* hashed) {
  struct stat before {};
  if (::fstat(fd, &before) != 0)
    throw Error(ErrorCode::kInternal, "backup file cannot be read", std::strerror(errno));
  const Key key = key_of(before, sha256);
  {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return in_progress_.count(key) == 0; });
    if (verified_.count(key) != 0) return;
    in_progress_.insert(key);
  }
  struct Release {
    VerifiedFiles& self;
    const Key& key;
    ~Release() {
      {
        std::lock_guard lock(self.mutex_);
        self.in_progress_.erase(key);
      }
      self.done_.notify_all();
    }
  } release{*this, key};
  {
    std::lock_guard lock(mutex_);
    ++hashes_;
  }
  if (hashed) *hashed = true;
  const auto got = io::sha256_range(fd, 0, static_cast<std::uint64_t>(before.st_size));
  struct stat after {};
  if (::fstat(fd, &after) != 0)
    throw Error(ErrorCode::kInternal, "backup file cannot be read", std::strerror(errno));
  if (key_of(after, sha256) != key) {
    throw Error(ErrorCode::kConflict,
                "the stored file changed while it was being checked: try again");
  }
  if (got != sha256) {
    throw Error(ErrorCode::kConflict,
                "the stored file does not match its SHA-256: it is damaged and will not be served",
                "sha256 " + got + ", want " + sha256);
  }
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const auto settled_ns = std::chrono::nanoseconds(kSettled).count();
  if (ns_of(now) - ns_of(after.st_ctim) > settled_ns) {
    std::lock_guard lock(mutex_);
    remember(key);
  }
}

void VerifiedFiles::remember(const Key& key) {
  if (!verified_.insert(key).second) return;
  order_.push_back(key);
  while (order_.size() > capacity_) {
    verified_.erase(order_.front());
    order_.pop_front();
  }
}

std::uint64_t VerifiedFiles::hashes() const {
  std::lock_guard lock(mutex_);
  return hashes_;
}

VerifiedFiles& VerifiedFiles::shared() {
  static VerifiedFiles files;
  return files;
}

}  // namespace tb::workflows
