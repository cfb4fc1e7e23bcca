// Domain request types and their validation (the API's request bodies). Each reader takes a
// raw body, refuses unknown fields, applies defaults and returns a typed value;
// every refusal is a VALIDATION_ERROR naming the field.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/compression_level.hpp"
#include "model/encryption.hpp"
#include "model/jobs.hpp"

namespace tb::model {

bool is_valid_project_id(std::string_view id);
bool is_plain_email(std::string_view address);
// Telegram chat ids: a number (groups are negative) or @channelusername.
bool is_valid_telegram_chat_id(std::string_view id);
// Syntax only (relative, no "..", no empty or hidden segments, safe characters);
// confinement on the real filesystem is checked by destinations::resolve_storage_path.
bool is_valid_storage_path_syntax(std::string_view path);

struct ExportRequest {
  std::string project_id;
  std::string format{kDefaultFormat};            // sql | tar
  std::string compression{kDefaultCompression};  // zstd | gzip | none (compress: false)
  // "adaptive" or a fixed level; absent: the project's, when the request's
  // compression is the project's, else "adaptive" (model/compression_level.hpp).
  std::optional<std::string> compression_level;
  std::vector<std::string> destinations;  // empty: the project's settings decide
  std::optional<std::string> notify_email;
  std::optional<std::string> storage_path;
};
ExportRequest parse_export_request(std::string_view body);

struct RestoreRequest {
  std::string backup_id;
};
RestoreRequest parse_restore_request(std::string_view body);

struct Schedule {
  std::string kind = "off";  // off | daily | weekly | cron
  std::string time;          // HH:MM (UTC) for daily / weekly
  std::string day;           // mon..sun for weekly
  std::string expr;          // 5-field cron for cron
};

struct BackupSettings {
  Schedule schedule;
  // When the newest completed backup is restored into the scratch database
  // and checked against its manifest (off by default).
  Schedule verify_schedule;
  int retention_days = 30;
  std::vector<std::string> destinations{"local"};
  std::optional<std::string> telegram_chat_id;
  std::optional<std::string> notify_email;
  std::string format{kDefaultFormat};
  std::string compression{kDefaultCompression};
  std::string compression_level{kAdaptiveLevel};
  EncryptionSettings encryption;
  // Request-only (never stored): also recompute expires_at of the project's
  // completed backups from the new retention_days.
  bool apply_to_existing = false;
};
// PUT body: every field optional; absent fields keep `current`.
BackupSettings parse_settings_update(std::string_view body, const BackupSettings& current);

std::vector<std::string> validate_destinations(const std::string& field,
                                               const std::vector<std::string>& in);

}  // namespace tb::model
