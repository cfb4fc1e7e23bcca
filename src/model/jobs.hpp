// The job queue's vocabulary: job types, backup statuses and the payload of
// every job type, each written once here. Whoever enqueues a job builds its
// payload struct and stores to_json() of it; the job reads it back with
// from_json<>(), so the JSON shape and its defaults live in one place.
//
// Payload readers are strict about the fields they know (a wrong type or an
// unknown value is a VALIDATION_ERROR naming the field) and ignore fields they
// do not know, so a payload written by a newer process still runs here.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tb::model {

// Defaults shared by requests, settings, payloads and backup rows.
inline constexpr std::string_view kDefaultFormat = "sql";        // sql | tar
inline constexpr std::string_view kDefaultCompression = "zstd";  // zstd | gzip | none

// The `type` column of control_plane.jobs. The strings are part of the API.
enum class JobType {
  kExport,
  kRestore,
  kTelegramSend,
  kTelegramFetch,
  kTelegramDelete,
  kFleetExport,
  kVerify
};
inline constexpr JobType kAllJobTypes[] = {JobType::kExport,         JobType::kRestore,
                                           JobType::kTelegramSend,   JobType::kTelegramFetch,
                                           JobType::kTelegramDelete, JobType::kFleetExport,
                                           JobType::kVerify};
std::string_view to_string(JobType type);
// nullopt for a type this build does not know (the queue may hold others).
std::optional<JobType> parse_job_type(std::string_view text);

// The `status` column of control_plane.backups: completed (every destination
// confirmed), failed, deleted (by a user), expired (by retention).
enum class BackupStatus { kCompleted, kFailed, kDeleted, kExpired };
inline constexpr BackupStatus kAllBackupStatuses[] = {BackupStatus::kCompleted,
                                                      BackupStatus::kFailed, BackupStatus::kDeleted,
                                                      BackupStatus::kExpired};
std::string_view to_string(BackupStatus status);
// Throws INTERNAL for a status the database should not hold (a CHECK allows only these).
BackupStatus parse_backup_status(std::string_view text);

// An export that is one tenant of a fleet run.
struct FleetRef {
  std::string run;  // the fleet_export job's id
  // The batch dump this tenant's first attempt is cut from; a retry, or a
  // batch that is gone, runs the tenant's own pg_dump.
  std::string batch_dir;
};

// "export": dump the project's schema to its folder, and to Telegram when
// `destinations` names it. Written by POST /api/backup/export, the CLI's
// `export` and the scheduler.
struct ExportPayload {
  static constexpr JobType kType = JobType::kExport;
  std::string kind = "manual";  // manual | scheduled
  std::string format{kDefaultFormat};
  std::string compression{kDefaultCompression};
  std::string compression_level{"adaptive"};  // or a fixed level (model/compression_level.hpp)
  // local | telegram | s3. Telegram sends a local file: without "local" that
  // file is temporary (removed when the job ends). "s3" alone keeps no local copy.
  std::vector<std::string> destinations;
  std::optional<std::string> notify_email;
  std::optional<std::string> storage_path;  // a folder under the project's; default the project's
  std::optional<std::string> telegram_chat_id;  // default: the project's settings when the job runs
  std::optional<std::string> slot;              // scheduled: the slot (RFC 3339) it was made for
  std::optional<FleetRef> fleet;                // a tenant of a fleet run

  bool wants(std::string_view destination) const;
  bool wants_telegram() const;
};

// "fleet_export": back up many projects, their schemas dumped in batches that
// share one catalog read; each project gets its own export job (and backup).
// Written by POST /api/backup/export-all, the CLI's `export --all` and the scheduler.
struct FleetExportPayload {
  static constexpr JobType kType = JobType::kFleetExport;
  std::string kind = "manual";        // manual | scheduled: the kind of its backups
  std::vector<std::string> projects;  // project ids; empty: every project
  std::optional<std::string> slot;    // scheduled: the slot (RFC 3339) it was made for
};

// The idempotency key of a project's scheduled export for a slot (RFC 3339):
// "scheduled:<project>:<slot>". The scheduler and a scheduled fleet run both
// use it, so a project is backed up once per slot whichever enqueues first.
std::string scheduled_export_key(std::string_view project_id, std::string_view slot);

// "restore": replace the project's schema with a backup (one attempt only).
struct RestorePayload {
  static constexpr JobType kType = JobType::kRestore;
  std::string backup_id;
  std::string requested_by;  // for the audit log; empty: the CLI
};

// "verify": restore a backup into a throwaway database of the scratch
// cluster and compare every table's rows with its manifest.
struct VerifyPayload {
  static constexpr JobType kType = JobType::kVerify;
  std::string backup_id;
  std::string kind = "manual";  // manual | scheduled
  std::string requested_by;     // for the audit log; empty: the CLI or the schedule
};

// "telegram_send": send an existing backup's local copy to the project's chat.
struct TelegramSendPayload {
  static constexpr JobType kType = JobType::kTelegramSend;
  std::string backup_id;
  std::optional<std::string> telegram_chat_id;  // default: the project's settings when the job runs
};

// "telegram_fetch": fetch a backup's Telegram copy into the download cache.
struct TelegramFetchPayload {
  static constexpr JobType kType = JobType::kTelegramFetch;
  std::string backup_id;
};

// "telegram_delete": delete a backup's messages in Telegram.
struct TelegramDeletePayload {
  static constexpr JobType kType = JobType::kTelegramDelete;
  std::string backup_id;
};

boost::json::object to_json(const ExportPayload& p);
boost::json::object to_json(const RestorePayload& p);
boost::json::object to_json(const VerifyPayload& p);
boost::json::object to_json(const TelegramSendPayload& p);
boost::json::object to_json(const TelegramFetchPayload& p);
boost::json::object to_json(const TelegramDeletePayload& p);
boost::json::object to_json(const FleetExportPayload& p);

// Reads a stored payload; throws tb::Error VALIDATION_ERROR naming the field.
template <class Payload>
Payload from_json(const boost::json::object& payload);
template <>
ExportPayload from_json<ExportPayload>(const boost::json::object& payload);
template <>
RestorePayload from_json<RestorePayload>(const boost::json::object& payload);
template <>
VerifyPayload from_json<VerifyPayload>(const boost::json::object& payload);
template <>
TelegramSendPayload from_json<TelegramSendPayload>(const boost::json::object& payload);
template <>
TelegramFetchPayload from_json<TelegramFetchPayload>(const boost::json::object& payload);
template <>
TelegramDeletePayload from_json<TelegramDeletePayload>(const boost::json::object& payload);
template <>
FleetExportPayload from_json<FleetExportPayload>(const boost::json::object& payload);

}  // namespace tb::model
