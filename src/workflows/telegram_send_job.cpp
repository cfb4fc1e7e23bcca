#include "workflows/telegram_send_job.hpp"

#include <boost/json.hpp>
#include <filesystem>

#include "io/hash.hpp"
#include "store/backups.hpp"
#include "store/settings.hpp"
#include "workflows/files.hpp"
#include "workflows/telegram.hpp"

namespace tb::workflows {
namespace {

// Only a completed backup is sent; one deleted meanwhile never will be.
store::Backup backup_to_send(jobs::JobContext& ctx, const model::TelegramSendPayload& payload) {
  auto backup = store::get_backup(ctx.db(), payload.backup_id);
  if (!backup) throw_not_found("backup '" + payload.backup_id + "' no longer exists");
  if (backup->status != model::BackupStatus::kCompleted) {
    throw_conflict("backup is " + std::string(model::to_string(backup->status)) + ", not sent");
  }
  return *backup;
}

// A damaged local copy is never sent: Telegram would hold a copy whose parts
// verify but whose whole does not match the backup.
std::string verified_local_copy(const Dependencies& deps, const store::Backup& backup) {
  auto path = local_file_of(deps.options.storage_dir, backup.locations);
  if (!path || !std::filesystem::exists(*path)) {
    throw_not_found("the local copy of this backup is gone: nothing to send to Telegram");
  }
  if (!backup.sha256 || io::sha256_file(*path) != *backup.sha256) {
    throw_conflict("the local copy does not match its SHA-256: it is damaged and will not be sent");
  }
  return *path;
}

// Re-reads the locations inside the completion transaction: they may have
// changed meanwhile, and a Telegram location already there wins.
void add_telegram_location(db::Connection& tx, const std::string& backup_id,
                           const boost::json::object& location) {
  auto current = store::get_backup(tx, backup_id);
  if (!current) return;
  if (telegram_location_of(current->locations)) return;
  boost::json::array locations =
      current->locations.is_array() ? current->locations.as_array() : boost::json::array{};
  locations.push_back(location);
  store::update_backup_locations(tx, backup_id, locations);
}

}  // namespace

jobs::JobOutcome run_telegram_send_job(const Dependencies& deps, jobs::JobContext& ctx) {
  const auto payload = jobs::payload_of<model::TelegramSendPayload>(ctx);
  auto backup = backup_to_send(ctx, payload);
  jobs::JobOutcome outcome;
  if (telegram_location_of(backup.locations)) {
    // Already there (an earlier job won): nothing to send.
    outcome.result = boost::json::object{{"backup_id", backup.id}, {"locations", backup.locations}};
    return outcome;
  }
  auto settings = store::get_backup_settings(ctx.db(), backup.project_id);
  auto path = verified_local_copy(deps, backup);
  TelegramUpload up{path,
                    std::filesystem::path(path).filename().string(),
                    static_cast<std::uint64_t>(backup.size_bytes),
                    *backup.sha256,
                    payload.telegram_chat_id.value_or(settings.telegram_chat_id.value_or("")),
                    backup.project_id,
                    backup.created_at.value_or(deps.clock.now())};
  auto location = upload_to_telegram(deps.options.telegram, ctx, up, boost::json::object{});
  outcome.result = boost::json::object{{"backup_id", backup.id}, {"telegram", location}};
  outcome.in_completion_tx = [id = backup.id, location](db::Connection& tx) {
    add_telegram_location(tx, id, location);
  };
  return outcome;
}

}  // namespace tb::workflows
