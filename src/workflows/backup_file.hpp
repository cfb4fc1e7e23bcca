// Where a job reads a backup's stored bytes from: its local copy, or a copy
// fetched back from S3 (the whole object checked against the backup's SHA-256
// before it gets its name) or from its Telegram parts (each part and the
// whole file checked). Restores and verifications share it.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "store/backups.hpp"
#include "workflows/options.hpp"

namespace tb::workflows {

// A file fetched for one job only: its folder is removed when this goes.
class FetchedFile {
 public:
  FetchedFile() = default;
  ~FetchedFile();
  FetchedFile(const FetchedFile&) = delete;
  FetchedFile& operator=(const FetchedFile&) = delete;
  void set(std::string path) { path_ = std::move(path); }

 private:
  std::string path_;
};

struct FetchPlace {
  // Names the job's own folders under the storage folder's .cache
  // ("restore-<backup id>", "verify-<job id>"): two jobs never share one.
  std::string tag;
  // A Telegram copy stays in the backup's Telegram cache folder (a restore:
  // a later download reuses it) instead of being removed with `fetched`.
  bool keep_telegram_copy = true;
  // Appended to the message of a refusal ("; nothing was restored").
  std::string_view outcome;
};

// The path to read. Throws NOT_FOUND when no copy is left anywhere, the
// fetch's own errors otherwise (a damaged remote copy is CONFLICT).
std::string locate_backup_file(const Options& options, const store::Backup& backup,
                               const FetchPlace& place, const std::atomic<bool>& cancel,
                               FetchedFile& fetched);

}  // namespace tb::workflows
