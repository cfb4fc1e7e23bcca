#include "store/settings.hpp"

namespace tb::store {
namespace {

constexpr const char* kColumns =
    "project_id, schedule, retention_days, destinations, telegram_chat_id, notify_email, format, "
    "compression, updated_at, encryption_enabled, encryption_recipients, verify_schedule, "
    "compression_level";

BackupSettings settings_from(const db::Result& r, int row) {
  BackupSettings s;
  s.project_id = r.text(row, 0);
  s.schedule = r.text(row, 1);
  s.retention_days = static_cast<int>(r.int64(row, 2));
  s.destinations.clear();
  auto d = r.json(row, 3);
  if (d.is_array()) {
    for (const auto& v : d.as_array()) {
      if (v.is_string()) s.destinations.emplace_back(v.as_string());
    }
  }
  s.telegram_chat_id = r.opt(row, 4);
  s.notify_email = r.opt(row, 5);
  s.format = r.text(row, 6);
  s.compression = r.text(row, 7);
  s.updated_at = r.time(row, 8);
  s.encryption.enabled = r.boolean(row, 9);
  auto e = r.json(row, 10);
  if (e.is_array()) {
    for (const auto& v : e.as_array()) {
      if (v.is_string()) s.encryption.recipients.emplace_back(v.as_string());
    }
  }
  s.verify_schedule = r.text(row, 11);
  s.compression_level = r.text(row, 12);
  return s;
}

boost::json::array to_array(const std::vector<std::string>& v) {
  boost::json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

}  // namespace

boost::json::object to_json(const BackupSettings& s) {
  boost::json::object o;
  o["project_id"] = s.project_id;
  o["schedule"] = s.schedule;
  o["verify_schedule"] = s.verify_schedule;
  o["retention_days"] = s.retention_days;
  o["destinations"] = to_array(s.destinations);
  o["telegram_chat_id"] = s.telegram_chat_id ? boost::json::value(*s.telegram_chat_id) : nullptr;
  o["notify_email"] = s.notify_email ? boost::json::value(*s.notify_email) : nullptr;
  o["format"] = s.format;
  o["compression"] = s.compression;
  o["compression_level"] = model::compression_level_json(s.compression_level);
  o["encryption"] = model::to_json(s.encryption);
  o["updated_at"] = s.updated_at ? boost::json::value(format_rfc3339(*s.updated_at)) : nullptr;
  return o;
}

BackupSettings get_backup_settings(db::Connection& conn, const std::string& project_id) {
  auto r = conn.query(std::string("SELECT ") + kColumns +
                          " FROM control_plane.backup_settings WHERE project_id = $1",
                      project_id);
  if (r.empty()) {
    BackupSettings defaults;
    defaults.project_id = project_id;
    return defaults;
  }
  return settings_from(r, 0);
}

BackupSettings put_backup_settings(db::Connection& conn, const BackupSettings& s) {
  auto r = conn.query(
      std::string(
          "INSERT INTO control_plane.backup_settings (project_id, schedule, retention_days, "
          "destinations, telegram_chat_id, notify_email, format, compression, encryption_enabled, "
          "encryption_recipients, verify_schedule, compression_level, updated_at) "
          "VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, now()) "
          "ON CONFLICT (project_id) DO UPDATE SET schedule = EXCLUDED.schedule, "
          "retention_days = EXCLUDED.retention_days, destinations = EXCLUDED.destinations, "
          "telegram_chat_id = EXCLUDED.telegram_chat_id, notify_email = EXCLUDED.notify_email, "
          "format = EXCLUDED.format, compression = EXCLUDED.compression, "
          "encryption_enabled = EXCLUDED.encryption_enabled, "
          "encryption_recipients = EXCLUDED.encryption_recipients, "
          "verify_schedule = EXCLUDED.verify_schedule, "
          "compression_level = EXCLUDED.compression_level, updated_at = now() "
          "RETURNING ") +
          kColumns,
      s.project_id, s.schedule, s.retention_days, to_array(s.destinations), s.telegram_chat_id,
      s.notify_email, s.format, s.compression, s.encryption.enabled,
      to_array(s.encryption.recipients), s.verify_schedule, s.compression_level);
  return settings_from(r, 0);
}

std::vector<BackupSettings> list_scheduled_settings(db::Connection& conn) {
  auto r =
      conn.exec(std::string("SELECT ") + kColumns +
                " FROM control_plane.backup_settings WHERE schedule <> 'off' ORDER BY project_id");
  return r.map_rows(settings_from);
}

model::ExportPayload export_payload_of(const BackupSettings& s, std::string kind) {
  model::ExportPayload p;
  p.kind = std::move(kind);
  p.format = s.format;
  p.compression = s.compression;
  p.compression_level = s.compression_level;
  p.destinations = s.destinations;
  p.notify_email = s.notify_email;
  return p;
}

}  // namespace tb::store

namespace tb::store {

std::vector<BackupSettings> list_verify_scheduled_settings(db::Connection& conn) {
  auto r = conn.exec(std::string("SELECT ") + kColumns +
                     " FROM control_plane.backup_settings WHERE verify_schedule <> 'off' "
                     "ORDER BY project_id");
  return r.map_rows(settings_from);
}

}  // namespace tb::store
