#include "model/jobs.hpp"

#include <algorithm>
#include <boost/json/value_from.hpp>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "model/compression_level.hpp"
#include "model/json_body.hpp"

namespace tb::model {
namespace {

namespace json = boost::json;

// Stored ids are uuids; anything else was not written by this program.
std::string required_backup_id(FieldReader& r) {
  auto id = r.string("backup_id", 36);
  if (!id || !is_uuid(*id))
    throw Error(ErrorCode::kValidation, "'backup_id' must be a backup id (uuid)", {}, "backup_id");
  return *id;
}

// An empty optional string reads as absent, as the jobs always treated it.
std::optional<std::string> optional_text(FieldReader& r, std::string_view key,
                                         std::size_t max_length) {
  auto v = r.string(key, max_length);
  if (v && v->empty()) v.reset();
  return v;
}

void put_optional(json::object& o, std::string_view key, const std::optional<std::string>& v) {
  if (v) o[key] = *v;
}

// "kind": manual | scheduled (how the job came to be); `fallback` when absent.
std::string backup_kind(FieldReader& r, std::string fallback) {
  auto kind = r.string("kind", 16);
  if (!kind) return fallback;
  require_one_of("kind", *kind, {"manual", "scheduled"});
  return *kind;
}

json::object backup_ref(const std::string& backup_id) {
  return json::object{{"backup_id", backup_id}};
}

}  // namespace

std::string scheduled_export_key(std::string_view project_id, std::string_view slot) {
  return "scheduled:" + std::string(project_id) + ":" + std::string(slot);
}

std::string_view to_string(JobType type) {
  switch (type) {
    case JobType::kExport:
      return "export";
    case JobType::kRestore:
      return "restore";
    case JobType::kTelegramSend:
      return "telegram_send";
    case JobType::kTelegramFetch:
      return "telegram_fetch";
    case JobType::kTelegramDelete:
      return "telegram_delete";
    case JobType::kFleetExport:
      return "fleet_export";
    case JobType::kVerify:
      return "verify";
  }
  return "unknown";
}

std::optional<JobType> parse_job_type(std::string_view text) {
  for (auto t : kAllJobTypes) {
    if (to_string(t) == text) return t;
  }
  return std::nullopt;
}

std::string_view to_string(BackupStatus status) {
  switch (status) {
    case BackupStatus::kCompleted:
      return "completed";
    case BackupStatus::kFailed:
      return "failed";
    case BackupStatus::kDeleted:
      return "deleted";
    case BackupStatus::kExpired:
      return "expired";
  }
  return "unknown";
}

BackupStatus parse_backup_status(std::string_view text) {
  for (auto s : kAllBackupStatuses) {
    if (to_string(s) == text) return s;
  }
  throw Error(ErrorCode::kInternal, "internal error",
              "unknown backup status '" + std::string(text) + "'");
}

bool ExportPayload::wants(std::string_view destination) const {
  return std::find(destinations.begin(), destinations.end(), destination) != destinations.end();
}

bool ExportPayload::wants_telegram() const {
  return wants("telegram");
}

json::object to_json(const ExportPayload& p) {
  json::object o{{"kind", p.kind},
                 {"format", p.format},
                 {"compression", p.compression},
                 {"compression_level", compression_level_json(p.compression_level)},
                 {"destinations", json::value_from(p.destinations)}};
  put_optional(o, "notify_email", p.notify_email);
  put_optional(o, "storage_path", p.storage_path);
  put_optional(o, "telegram_chat_id", p.telegram_chat_id);
  put_optional(o, "slot", p.slot);
  if (p.fleet) o["fleet"] = json::object{{"run", p.fleet->run}, {"batch_dir", p.fleet->batch_dir}};
  return o;
}

json::object to_json(const FleetExportPayload& p) {
  json::object o{{"kind", p.kind}, {"projects", json::value_from(p.projects)}};
  put_optional(o, "slot", p.slot);
  return o;
}

json::object to_json(const RestorePayload& p) {
  return json::object{{"backup_id", p.backup_id}, {"requested_by", p.requested_by}};
}

json::object to_json(const VerifyPayload& p) {
  return json::object{
      {"backup_id", p.backup_id}, {"kind", p.kind}, {"requested_by", p.requested_by}};
}

json::object to_json(const TelegramSendPayload& p) {
  auto o = backup_ref(p.backup_id);
  put_optional(o, "telegram_chat_id", p.telegram_chat_id);
  return o;
}

json::object to_json(const TelegramFetchPayload& p) {
  return backup_ref(p.backup_id);
}
json::object to_json(const TelegramDeletePayload& p) {
  return backup_ref(p.backup_id);
}

template <>
ExportPayload from_json<ExportPayload>(const json::object& payload) {
  FieldReader r(payload);
  ExportPayload p;
  p.kind = backup_kind(r, p.kind);
  if (auto format = r.string("format", 8)) {
    require_one_of("format", *format, {"sql", "tar"});
    p.format = *format;
  }
  if (auto compression = r.string("compression", 8)) {
    require_one_of("compression", *compression, {"zstd", "gzip", "none"});
    p.compression = *compression;
  }
  // Absent in a job queued before levels existed: the default.
  if (auto level = read_compression_level(r)) {
    check_compression_level("compression_level", p.compression, *level);
    p.compression_level = *level;
  }
  if (auto destinations = r.string_array("destinations", 16, 16)) {
    for (const auto& d : *destinations)
      require_one_of("destinations", d, {"local", "telegram", "s3"});
    p.destinations = std::move(*destinations);
  }
  p.notify_email = optional_text(r, "notify_email", 254);
  p.storage_path = optional_text(r, "storage_path", 200);
  p.telegram_chat_id = optional_text(r, "telegram_chat_id", 64);
  p.slot = optional_text(r, "slot", 64);
  if (const auto* fleet = r.object("fleet")) {
    FieldReader f(*fleet, "fleet");
    auto run = f.string("run", 36);
    if (!run || !is_uuid(*run))
      throw Error(ErrorCode::kValidation, "'fleet.run' must be a job id (uuid)", {}, "fleet.run");
    p.fleet = FleetRef{*run, f.string("batch_dir", 4096).value_or("")};
  }
  return p;
}

template <>
FleetExportPayload from_json<FleetExportPayload>(const json::object& payload) {
  FieldReader r(payload);
  FleetExportPayload p;
  p.kind = backup_kind(r, p.kind);
  if (auto projects = r.string_array("projects", 1000000, 128)) p.projects = std::move(*projects);
  p.slot = optional_text(r, "slot", 64);
  return p;
}

template <>
RestorePayload from_json<RestorePayload>(const json::object& payload) {
  FieldReader r(payload);
  RestorePayload p;
  p.backup_id = required_backup_id(r);
  p.requested_by = r.string("requested_by", 4096).value_or("");
  return p;
}

template <>
VerifyPayload from_json<VerifyPayload>(const json::object& payload) {
  FieldReader r(payload);
  VerifyPayload p;
  p.backup_id = required_backup_id(r);
  p.kind = backup_kind(r, p.kind);
  p.requested_by = r.string("requested_by", 4096).value_or("");
  return p;
}

template <>
TelegramSendPayload from_json<TelegramSendPayload>(const json::object& payload) {
  FieldReader r(payload);
  TelegramSendPayload p;
  p.backup_id = required_backup_id(r);
  p.telegram_chat_id = optional_text(r, "telegram_chat_id", 64);
  return p;
}

template <>
TelegramFetchPayload from_json<TelegramFetchPayload>(const json::object& payload) {
  FieldReader r(payload);
  return TelegramFetchPayload{required_backup_id(r)};
}

template <>
TelegramDeletePayload from_json<TelegramDeletePayload>(const json::object& payload) {
  FieldReader r(payload);
  return TelegramDeletePayload{required_backup_id(r)};
}

}  // namespace tb::model
