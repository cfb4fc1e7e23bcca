#include "workflows/backup_file.hpp"

#include <filesystem>

#include "workflows/files.hpp"
#include "workflows/s3_copies.hpp"
#include "workflows/telegram.hpp"

namespace tb::workflows {

FetchedFile::~FetchedFile() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(std::filesystem::path(path_).parent_path(), ec);
}

std::string locate_backup_file(const Options& options, const store::Backup& backup,
                               const FetchPlace& place, const std::atomic<bool>& cancel,
                               FetchedFile& fetched) {
  namespace fs = std::filesystem;
  auto path = local_file_of(options.storage_dir, backup.locations);
  if (path && fs::exists(*path)) return *path;
  const auto cache = fs::path(options.storage_dir) / ".cache";
  if (auto key = live_s3_key(backup.locations)) {
    auto dir = cache / "s3" / place.tag;
    fs::create_directories(dir);
    // Named like the backup: should a crash leave it, the orphan sweep knows
    // its extension (reading an open file survives its unlink).
    auto file = (dir / fs::path(*key).filename()).string();
    fetched.set(file);
    try {
      return fetch_backup_from_s3(options.s3, backup, file, &cancel);
    } catch (const Error& e) {
      // A damaged object (CONFLICT) or one S3 refuses or lacks fails at once
      // (the code decides); the message says what was not done.
      if (e.code() == ErrorCode::kCancelled || is_retryable(e.code())) throw;
      throw Error(e.code(), e.message() + std::string(place.outcome), e.detail());
    }
  }
  if (telegram_location_of(backup.locations)) {
    auto file = place.keep_telegram_copy ? cache / "telegram" / backup.id / place.tag
                                         : cache / "telegram" / place.tag / backup.id;
    fs::create_directories(file.parent_path());
    if (!place.keep_telegram_copy) fetched.set(file.string());
    return fetch_backup_from_telegram(options.telegram, backup, file.string(), &cancel);
  }
  throw Error(ErrorCode::kNotFound,
              "the local copy of this backup is gone and there is no remote copy" +
                  std::string(place.outcome),
              path ? *path : std::string("no local location"));
}

}  // namespace tb::workflows
