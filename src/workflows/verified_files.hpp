// Which stored backup files were checked against their recorded SHA-256, so a
// download hashes a file once per version of it, not once per request (a
// multi-GB backup downloaded in many Range requests is read once).
//
// A version is what fstat() says about the open file: device, inode, size,
// mtime and ctime, together with the SHA-256 it must match. Any write,
// rename, truncate or utimes changes ctime (which no caller can set back),
// so a changed file is a new version and is hashed again before a byte of it
// is served. A mismatch is never remembered.
//
// Timestamps are coarse (a kernel tick, a second on some filesystems): a
// write in the same tick as the check would leave ctime unchanged. A version
// is therefore remembered only when its ctime is older than kSettled at the
// end of the check; a younger file (just written) is hashed on each request
// until it has settled.
//
// Thread-safe. Concurrent checks of the same version hash it once: the
// others wait for that result. Memory is bounded (oldest versions forgotten).
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <tuple>

namespace tb::workflows {

class VerifiedFiles {
 public:
  static constexpr std::chrono::seconds kSettled{2};

  explicit VerifiedFiles(std::size_t capacity = 4096) : capacity_(capacity) {}

  // Checks the open regular file `fd` against `sha256` (lowercase hex),
  // reading it only when this version was not verified before. `hashed`
  // (if given) says whether it had to read the file. Throws tb::Error
  // kConflict when the bytes do not match or the file changed while it was
  // read; kInternal on a read error.
  void check(int fd, const std::string& sha256, bool* hashed = nullptr);

  // Files hashed so far (every check that had to read the file).
  std::uint64_t hashes() const;

  // The one instance downloads share in this process.
  static VerifiedFiles& shared();

 private:
  using Key = std::tuple<dev_t, ino_t, off_t, std::int64_t, std::int64_t, std::string>;
  static Key key_of(const struct stat& st, const std::string& sha256);
  void remember(const Key& key);

  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable done_;
  std::set<Key> verified_;
  std::deque<Key> order_;  // oldest first, for eviction
  std::set<Key> in_progress_;
  std::uint64_t hashes_ = 0;
};

}  // namespace tb::workflows
