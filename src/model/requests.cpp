#include "model/requests.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "model/json_body.hpp"
#include "model/schedule.hpp"

namespace tb::model {
namespace {

bool is_hhmm(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return false;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!digit(s[0]) || !digit(s[1]) || !digit(s[3]) || !digit(s[4])) return false;
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  return h < 24 && m < 60;
}

// Five cron fields of digits, *, /, -, and commas (names not accepted);
// CronExpr::parse then checks the ranges. No std::regex: GCC 12 raises
// -Wmaybe-uninitialized inside <regex> under ASan at -O1.
bool is_cron_syntax(std::string_view expr) {
  if (expr.size() > 100) return false;
  int fields = 0;
  bool in_field = false;
  for (char c : expr) {
    if (c == ' ' || c == '\t') {
      in_field = false;
    } else if ((c >= '0' && c <= '9') || c == '*' || c == '/' || c == ',' || c == '-') {
      if (!in_field) ++fields;
      in_field = true;
    } else {
      return false;
    }
  }
  return fields == 5;
}

// `field`: "schedule" or "verify_schedule", the prefix of every refusal's field.
Schedule parse_schedule(const boost::json::object& obj, const std::string& field) {
  FieldReader r(obj, field);
  Schedule s;
  s.kind = r.string("kind", 16).value_or("off");
  require_one_of(field + ".kind", s.kind, {"off", "daily", "weekly", "cron"});
  auto time = r.string("time", 5);
  auto day = r.string("day", 3);
  auto expr = r.string("expr", 100);
  if (s.kind == "daily" || s.kind == "weekly") {
    if (!time || !is_hhmm(*time))
      throw_validation(field + ".time", "'" + field + ".time' must be HH:MM (UTC)");
    s.time = *time;
  }
  if (s.kind == "weekly") {
    if (!day)
      throw_validation(field + ".day", "'" + field + ".day' is required for a weekly schedule");
    require_one_of(field + ".day", *day, {"mon", "tue", "wed", "thu", "fri", "sat", "sun"});
    s.day = *day;
  }
  if (s.kind == "cron") {
    if (!expr || !is_cron_syntax(*expr)) {
      throw_validation(field + ".expr",
                       "'" + field + ".expr' must be a five-field cron expression");
    }
    CronExpr::parse(*expr);  // ranges and steps: refuses "61 * * * *" by name
    s.expr = *expr;
  }
  r.finish();
  return s;
}

}  // namespace

bool is_valid_project_id(std::string_view id) {
  if (id.empty() || id.size() > 100) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

bool is_plain_email(std::string_view a) {
  if (a.size() < 3 || a.size() > 254) return false;
  auto at = a.find('@');
  if (at == std::string_view::npos || at == 0 || at != a.rfind('@') || at + 1 >= a.size())
    return false;
  auto domain = a.substr(at + 1);
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.')
    return false;
  return std::all_of(a.begin(), a.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && c != 0x7f && c != '<' && c != '>' && c != ',' &&
           c != ';' && c != '"' && c != '\\' && c != '(' && c != ')' && c != '[' && c != ']' &&
           c != ':';
  });
}

bool is_valid_telegram_chat_id(std::string_view id) {
  // -?[0-9]{1,20} | @[A-Za-z][A-Za-z0-9_]{3,31}
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  if (!id.empty() && id[0] == '@') {
    auto name = id.substr(1);
    return name.size() >= 4 && name.size() <= 32 && alpha(name[0]) &&
           std::all_of(name.begin(), name.end(),
                       [&](char c) { return alpha(c) || digit(c) || c == '_'; });
  }
  auto num = !id.empty() && id[0] == '-' ? id.substr(1) : id;
  return !num.empty() && num.size() <= 20 && std::all_of(num.begin(), num.end(), digit);
}

bool is_valid_storage_path_syntax(std::string_view path) {
  if (path.empty() || path.size() > 200 || path.front() == '/') return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    auto seg = path.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == ".." || seg.front() == '.') return false;
    for (char c : seg) {
      bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-' || c == '.';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

std::vector<std::string> validate_destinations(const std::string& field,
                                               const std::vector<std::string>& in) {
  std::vector<std::string> out;
  if (in.empty()) throw_validation(field, "'" + field + "' must name at least one destination");
  for (const auto& d : in) {
    require_one_of(field, d, {"local", "telegram", "s3"});
    if (std::find(out.begin(), out.end(), d) != out.end()) {
      throw_validation(field, "'" + field + "' names '" + d + "' twice");
    }
    out.push_back(d);
  }
  // Telegram sends parts of a local file: with Telegram alone that file is the
  // local copy (kept). With "s3" the object is the copy; a Telegram upload
  // next to it then works from a temporary local file.
  auto has = [&](const char* d) { return std::find(out.begin(), out.end(), d) != out.end(); };
  if (!has("local") && !has("s3")) out.insert(out.begin(), "local");
  return out;
}

ExportRequest parse_export_request(std::string_view body) {
  auto obj = parse_json_object(body);
  FieldReader r(obj);
  ExportRequest req;
  auto project = r.string("project_id", 100);
  if (!project) throw_validation("project_id", "'project_id' is required");
  if (!is_valid_project_id(*project)) {
    throw_validation("project_id", "'project_id' must match ^[A-Za-z0-9_-]{1,100}$");
  }
  req.project_id = *project;
  req.format = r.string("format", 8).value_or(std::string(kDefaultFormat));
  require_one_of("format", req.format, {"sql", "tar"});
  bool compress = r.boolean("compress").value_or(true);
  auto compression = r.string("compression", 8);
  if (compression) require_one_of("compression", *compression, {"zstd", "gzip"});
  if (!compress && compression) {
    throw_validation("compression", "'compression' cannot be set when 'compress' is false");
  }
  req.compression = compress ? compression.value_or(std::string(kDefaultCompression)) : "none";
  req.compression_level = read_compression_level(r);
  if (req.compression_level)
    check_compression_level("compression_level", req.compression, *req.compression_level);
  if (auto d = r.string_array("destinations", 4, 16))
    req.destinations = validate_destinations("destinations", *d);
  req.notify_email = r.string("notify_email", 254);
  if (req.notify_email && !is_plain_email(*req.notify_email)) {
    throw_validation("notify_email", "'notify_email' must be a plain e-mail address");
  }
  req.storage_path = r.string("storage_path", 200);
  if (req.storage_path && !is_valid_storage_path_syntax(*req.storage_path)) {
    throw_validation("storage_path",
                     "'storage_path' must be a relative path of letters, digits, '-', '_' and '.', "
                     "without '..'");
  }
  r.finish();
  return req;
}

RestoreRequest parse_restore_request(std::string_view body) {
  auto obj = parse_json_object(body);
  FieldReader r(obj);
  auto id = r.string("backup_id", 36);
  if (!id || !is_uuid(*id)) throw_validation("backup_id", "'backup_id' must be a backup id (uuid)");
  r.finish();
  return RestoreRequest{*id};
}

BackupSettings parse_settings_update(std::string_view body, const BackupSettings& current) {
  auto obj = parse_json_object(body);
  FieldReader r(obj);
  BackupSettings s = current;
  if (const auto* sched = r.object("schedule")) s.schedule = parse_schedule(*sched, "schedule");
  if (const auto* sched = r.object("verify_schedule"))
    s.verify_schedule = parse_schedule(*sched, "verify_schedule");
  if (const auto* enc = r.object("encryption")) s.encryption = parse_encryption(*enc, s.encryption);
  if (auto days = r.integer("retention_days", 1, 3650)) s.retention_days = static_cast<int>(*days);
  if (auto d = r.string_array("destinations", 4, 16))
    s.destinations = validate_destinations("destinations", *d);
  if (r.is_null("telegram_chat_id")) s.telegram_chat_id.reset();
  if (auto chat = r.string("telegram_chat_id", 40)) {
    if (chat->empty()) {
      s.telegram_chat_id.reset();
    } else if (!is_valid_telegram_chat_id(*chat)) {
      throw_validation("telegram_chat_id",
                       "'telegram_chat_id' must be a numeric chat id or @channelname");
    } else {
      s.telegram_chat_id = *chat;
    }
  }
  if (r.is_null("notify_email")) s.notify_email.reset();
  if (auto email = r.string("notify_email", 254)) {
    if (email->empty()) {
      s.notify_email.reset();
    } else if (!is_plain_email(*email)) {
      throw_validation("notify_email", "'notify_email' must be a plain e-mail address");
    } else {
      s.notify_email = *email;
    }
  }
  if (auto f = r.string("format", 8)) {
    require_one_of("format", *f, {"sql", "tar"});
    s.format = *f;
  }
  if (auto c = r.string("compression", 8)) {
    require_one_of("compression", *c, {"zstd", "gzip", "none"});
    s.compression = *c;
  }
  if (auto level = read_compression_level(r)) {
    s.compression_level = *level;
  } else if (s.compression != current.compression) {
    // A level belongs to its compression: one the new compression cannot
    // take goes back to the default rather than refusing the change.
    try {
      check_compression_level("compression_level", s.compression, s.compression_level);
    } catch (const Error&) {
      s.compression_level = std::string(kAdaptiveLevel);
    }
  }
  // Checked against the compression it goes with, whichever of the two changed.
  check_compression_level("compression_level", s.compression, s.compression_level);
  s.apply_to_existing = r.boolean("apply_to_existing").value_or(false);
  r.finish();
  if (std::find(s.destinations.begin(), s.destinations.end(), "telegram") != s.destinations.end() &&
      !s.telegram_chat_id) {
    throw_validation("telegram_chat_id",
                     "'telegram_chat_id' is required when Telegram is a destination");
  }
  return s;
}

}  // namespace tb::model
