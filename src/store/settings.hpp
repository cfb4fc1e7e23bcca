// store/settings: a project's backup settings. A project without a row has the
// defaults below (retention 30 days, local storage, sql, zstd, no
// schedule); put_backup_settings() upserts. Validation of the values (schedule
// syntax, e-mail, destinations) is the caller's (model/ or api/) job; the
// database CHECKs format, compression and retention_days 1..3650.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "db/connection.hpp"
#include "model/compression_level.hpp"
#include "model/encryption.hpp"
#include "model/jobs.hpp"

namespace tb::store {

struct BackupSettings {
  std::string project_id;
  std::string schedule = "off";         // free text owned by the scheduler, "off" = none
  std::string verify_schedule = "off";  // the same form: when the newest backup is verified
  int retention_days = 30;
  std::vector<std::string> destinations = {"local"};
  std::optional<std::string> telegram_chat_id;
  std::optional<std::string> notify_email;
  std::string format{model::kDefaultFormat};
  std::string compression{model::kDefaultCompression};
  std::string compression_level{"adaptive"};  // or a fixed level ("1" .. "19")
  model::EncryptionSettings encryption;       // recipients validated by model/ before storing
  std::optional<SystemTime> updated_at;       // nullopt: defaults, never saved
};

// API shape: project_id, schedule, verify_schedule, retention_days, destinations,
// telegram_chat_id, notify_email, format, compression, compression_level,
// encryption {enabled,
// recipients}, updated_at.
boost::json::object to_json(const BackupSettings& s);

BackupSettings get_backup_settings(db::Connection& conn, const std::string& project_id);
BackupSettings put_backup_settings(db::Connection& conn, const BackupSettings& s);
// The export a project's settings ask for (format, compression,
// destinations, notice address), of `kind` (manual | scheduled): what the
// scheduler and fleet runs enqueue.
model::ExportPayload export_payload_of(const BackupSettings& s, std::string kind);

// Projects whose schedule is not "off" (for the scheduler).
std::vector<BackupSettings> list_scheduled_settings(db::Connection& conn);
// Projects whose verify_schedule is not "off" (for the scheduler).
std::vector<BackupSettings> list_verify_scheduled_settings(db::Connection& conn);

}  // namespace tb::store
