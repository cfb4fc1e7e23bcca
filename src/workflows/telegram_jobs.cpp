#include "workflows/telegram_jobs.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <filesystem>

#include "io/hash.hpp"
#include "store/jobs.hpp"
#include "telegram/parts.hpp"
#include "workflows/files.hpp"
#include "workflows/s3_copies.hpp"
#include "workflows/telegram.hpp"

namespace tb::workflows {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

template <class Payload>
store::Backup backup_of_job(jobs::JobContext& ctx) {
  const auto backup_id = jobs::payload_of<Payload>(ctx).backup_id;
  auto backup = store::get_backup(ctx.db(), backup_id);
  if (!backup) throw_not_found("backup '" + backup_id + "' no longer exists");
  return *backup;
}

// Every part not yet deleted, or not refused for good.
bool has_parts_to_delete(const json::object& location) {
  auto* parts = location.if_contains("parts");
  if (!parts || !parts->is_array()) return false;
  for (const auto& p : parts->as_array()) {
    auto* d = p.is_object() ? p.as_object().if_contains("deleted") : nullptr;
    if (!d || !d->is_bool() || !d->as_bool()) return true;
  }
  return false;
}

}  // namespace

jobs::JobOutcome run_telegram_fetch_job(const Dependencies& deps, jobs::JobContext& ctx) {
  auto backup = backup_of_job<model::TelegramFetchPayload>(ctx);
  if (backup.status != model::BackupStatus::kCompleted) {
    throw_conflict("backup is " + std::string(model::to_string(backup.status)) + ", not fetched");
  }
  if (!backup.sha256) throw_conflict("backup has no recorded SHA-256: it cannot be verified");
  const auto path = telegram_cache_path(deps.options.storage_dir, backup);
  std::error_code ec;
  bool fetched = false;
  if (!(fs::exists(path, ec) && io::sha256_file(path) == *backup.sha256)) {
    fs::create_directories(fs::path(path).parent_path(), ec);
    if (ec)
      throw Error(ErrorCode::kInternal, "cannot prepare the download", path + ": " + ec.message());
    // A damaged copy (CONFLICT), a missing bot token or S3 bucket (NOT_FOUND)
    // or a refusal will not heal by retrying: their codes fail the job at once.
    // The S3 copy when there is one (one object, no Bot API limits).
    if (live_s3_key(backup.locations)) {
      fetch_backup_from_s3(deps.options.s3, backup, path, &ctx.cancel_flag());
    } else {
      fetch_backup_from_telegram(deps.options.telegram, backup, path, &ctx.cancel_flag(),
                                 [&](int index, int count, std::uint64_t bytes) {
                                   ctx.report_progress(json::object{{"stage", "telegram_fetch"},
                                                                    {"part", index},
                                                                    {"part_count", count},
                                                                    {"fetched_bytes", bytes}});
                                 });
    }
    fetched = true;
  }
  // Deleted or expired meanwhile: its cache went with it, and so does this copy.
  auto now = store::get_backup(ctx.db(), backup.id);
  if (!now || now->status != model::BackupStatus::kCompleted) {
    remove_telegram_cache(deps.options.storage_dir, backup.id);
    throw_conflict("backup is " +
                   (now ? std::string(model::to_string(now->status)) : std::string("gone")) +
                   ", not fetched");
  }
  jobs::JobOutcome outcome;
  outcome.result = json::object{
      {"backup_id", backup.id},   {"size_bytes", backup.size_bytes},
      {"sha256", *backup.sha256}, {"file_name", fs::path(path).filename().string()},
      {"fetched", fetched},       {"download_url", "/api/backups/" + backup.id + "/download"}};
  return outcome;
}

jobs::JobOutcome run_telegram_delete_job(const Dependencies& deps, jobs::JobContext& ctx) {
  auto backup = backup_of_job<model::TelegramDeletePayload>(ctx);
  int transient = 0;
  auto locations = delete_telegram_copies(deps.options.telegram, backup.locations,
                                          &ctx.cancel_flag(), &transient);
  // On record at once: a retry (or a later attempt) starts from what is done.
  store::update_backup_locations(ctx.db(), backup.id, locations);
  if (transient > 0 && ctx.job().attempts < ctx.job().max_attempts) {
    throw Error(ErrorCode::kUnavailable, "Telegram could not be reached to delete " +
                                             std::to_string(transient) +
                                             " part(s); retrying later");
  }
  int deleted = 0, remaining = 0;
  if (auto tg = telegram_location_of(locations)) {
    if (auto* parts = tg->if_contains("parts"); parts && parts->is_array()) {
      for (const auto& p : parts->as_array()) {
        auto* d = p.is_object() ? p.as_object().if_contains("deleted") : nullptr;
        (d && d->is_bool() && d->as_bool() ? deleted : remaining) += 1;
      }
    }
  }
  jobs::JobOutcome outcome;
  outcome.result = json::object{
      {"backup_id", backup.id}, {"deleted_parts", deleted}, {"remaining_parts", remaining}};
  return outcome;
}

std::optional<std::string> enqueue_telegram_delete(db::Connection& conn,
                                                   const store::Backup& backup, int max_attempts) {
  auto tg = telegram_location_of(backup.locations);
  if (!tg || !has_parts_to_delete(*tg)) return std::nullopt;
  return store::enqueue_job(conn, store::new_job(model::TelegramDeletePayload{backup.id},
                                                 backup.project_id, max_attempts))
      .id;
}

}  // namespace tb::workflows
