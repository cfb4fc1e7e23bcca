#include "store/backups.hpp"

#include <array>

#include "core/ids.hpp"

namespace tb::store {
namespace {

constexpr const char* kColumns =
    "id, project_id, job_id, kind, format, compression, status, size_bytes, sha256, locations, "
    "created_at, expires_at, deleted_at, error, schema_owner, error_code, encrypted, fleet_run, "
    "tables, verification_status, verified_at, verification_detail, compression_level";

Backup backup_from(const db::Result& r, int row) {
  Backup b;
  b.id = r.text(row, 0);
  b.project_id = r.text(row, 1);
  b.job_id = r.opt(row, 2);
  b.kind = r.text(row, 3);
  b.format = r.text(row, 4);
  b.compression = r.text(row, 5);
  b.status = model::parse_backup_status(r.text(row, 6));
  b.size_bytes = r.int64(row, 7);
  b.sha256 = r.opt(row, 8);
  b.locations = r.json(row, 9);
  b.created_at = r.time(row, 10);
  b.expires_at = r.opt_time(row, 11);
  b.deleted_at = r.opt_time(row, 12);
  b.error = r.opt(row, 13);
  b.schema_owner = r.opt(row, 14);
  b.error_code = r.opt(row, 15);
  b.encrypted = r.boolean(row, 16);
  b.fleet_run = r.opt(row, 17);
  if (!r.is_null(row, 18)) b.tables = r.json(row, 18);
  if (auto status = r.opt(row, 19))
    b.verification = Backup::Verification{*status, r.time(row, 20), r.opt(row, 21).value_or("")};
  if (!r.is_null(row, 22)) b.compression_level = r.json(row, 22);
  return b;
}

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url_encode(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (i + 2 == in.size()) {
    unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view in) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    auto pos = kAlphabet.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::int64_t micros(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

boost::json::value time_or_null(const std::optional<SystemTime>& t) {
  if (!t) return nullptr;
  return boost::json::string(format_rfc3339(*t));
}

template <typename T>
boost::json::value or_null(const std::optional<T>& v) {
  if (!v) return nullptr;
  return boost::json::value(*v);
}

}  // namespace

boost::json::object to_json(const Backup& b) {
  boost::json::object o;
  o["id"] = b.id;
  o["job_id"] = or_null(b.job_id);
  o["project_id"] = b.project_id;
  o["kind"] = b.kind;
  o["format"] = b.format;
  o["compression"] = b.compression;
  o["compression_level"] = b.compression_level;
  o["size_bytes"] = b.size_bytes;
  o["sha256"] = or_null(b.sha256);
  o["encrypted"] = b.encrypted;
  o["status"] = model::to_string(b.status);
  o["locations"] = b.locations;
  o["created_at"] = time_or_null(b.created_at);
  o["expires_at"] = time_or_null(b.expires_at);
  o["deleted_at"] = time_or_null(b.deleted_at);
  o["error"] = or_null(b.error);
  o["error_code"] = or_null(b.error_code);
  o["fleet_run"] = or_null(b.fleet_run);
  o["tables"] = b.tables;
  if (b.verification) {
    o["verification"] = boost::json::object{{"status", b.verification->status},
                                            {"at", format_rfc3339(b.verification->at)},
                                            {"detail", b.verification->detail}};
  } else {
    o["verification"] = nullptr;
  }
  return o;
}

std::string encode_backup_cursor(SystemTime created_at, const std::string& id) {
  return base64url_encode(std::to_string(micros(created_at)) + "|" + id);
}

Backup insert_backup(db::Connection& conn, const Backup& b) {
  auto r = conn.query(
      std::string("INSERT INTO control_plane.backups (id, project_id, job_id, kind, format, "
                  "compression, status, size_bytes, sha256, locations, created_at, expires_at, "
                  "error, schema_owner, encrypted, fleet_run, tables, compression_level) "
                  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, "
                  "coalesce($11::timestamptz, now()), $12, $13, $14, $15, $16::uuid, $17::jsonb, "
                  "nullif($18::jsonb, 'null'::jsonb)) "
                  "RETURNING ") +
          kColumns,
      b.id.empty() ? new_uuid() : b.id, b.project_id, b.job_id, b.kind, b.format, b.compression,
      std::string(model::to_string(b.status)), b.size_bytes, b.sha256, b.locations, b.created_at,
      b.expires_at, b.error, b.schema_owner, b.encrypted, b.fleet_run,
      b.tables.is_null() ? std::nullopt : std::optional<boost::json::value>(b.tables),
      b.compression_level);
  return backup_from(r, 0);
}

std::optional<Backup> get_backup(db::Connection& conn, const std::string& id) {
  if (!is_uuid(id)) return std::nullopt;
  auto r = conn.query(
      std::string("SELECT ") + kColumns + " FROM control_plane.backups WHERE id = $1::uuid", id);
  if (r.empty()) return std::nullopt;
  return backup_from(r, 0);
}

std::optional<Backup> get_backup_by_job(db::Connection& conn, const std::string& job_id) {
  if (!is_uuid(job_id)) return std::nullopt;
  auto r = conn.query(std::string("SELECT ") + kColumns +
                          " FROM control_plane.backups WHERE job_id = $1::uuid "
                          "ORDER BY created_at DESC LIMIT 1",
                      job_id);
  if (r.empty()) return std::nullopt;
  return backup_from(r, 0);
}

BackupPage list_backups(db::Connection& conn, const std::string& project_id, int limit,
                        const std::optional<std::string>& cursor) {
  std::optional<std::int64_t> after_micros;
  std::optional<std::string> after_id;
  if (cursor && !cursor->empty()) {
    auto decoded = base64url_decode(*cursor);
    auto bar = decoded ? decoded->find('|') : std::string::npos;
    if (bar == std::string::npos) throw_validation("cursor", "invalid cursor");
    try {
      std::size_t used = 0;
      after_micros = std::stoll(decoded->substr(0, bar), &used);
      if (used != bar) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw_validation("cursor", "invalid cursor");
    }
    after_id = decoded->substr(bar + 1);
    if (!is_uuid(*after_id)) throw_validation("cursor", "invalid cursor");
  }
  if (limit < 1) limit = 1;
  // One extra row tells whether there is a next page.
  auto r = conn.query(
      std::string("SELECT ") + kColumns +
          " FROM control_plane.backups WHERE project_id = $1 AND status <> 'deleted' "
          "AND ($2::bigint IS NULL OR (created_at, id) < "
          "     (timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::uuid)) "
          "ORDER BY created_at DESC, id DESC LIMIT $4",
      project_id, after_micros, after_id, limit + 1);
  BackupPage page;
  int n = std::min(r.rows(), limit);
  for (int i = 0; i < n; ++i) page.items.push_back(backup_from(r, i));
  if (r.rows() > limit) {
    const auto& last = page.items.back();
    page.next_cursor = encode_backup_cursor(*last.created_at, last.id);
  }
  return page;
}

std::int64_t count_backups(db::Connection& conn, const std::string& project_id) {
  auto r = conn.query(
      "SELECT count(*) FROM control_plane.backups WHERE project_id = $1 AND status <> 'deleted'",
      project_id);
  return r.int64(0, 0);
}

std::optional<SystemTime> last_completed_at(db::Connection& conn, const std::string& project_id) {
  auto r = conn.query(
      "SELECT max(created_at) FROM control_plane.backups "
      "WHERE project_id = $1 AND status = 'completed'",
      project_id);
  return r.opt_time(0, 0);
}

std::optional<Backup> newest_completed_backup(db::Connection& conn, const std::string& project_id) {
  auto r = conn.query(std::string("SELECT ") + kColumns +
                          " FROM control_plane.backups WHERE project_id = $1 AND status = "
                          "'completed' ORDER BY created_at DESC, id DESC LIMIT 1",
                      project_id);
  if (r.empty()) return std::nullopt;
  return backup_from(r, 0);
}

bool record_verification(db::Connection& conn, const std::string& id,
                         const Backup::Verification& result) {
  if (!is_uuid(id)) return false;
  return conn.query(
                 "UPDATE control_plane.backups SET verification_status = $2, verified_at = $3, "
                 "verification_detail = $4 WHERE id = $1::uuid",
                 id, result.status, result.at, result.detail)
             .affected() == 1;
}

int remove_expired_failures(db::Connection& conn, SystemTime now) {
  return static_cast<int>(
      conn.query("DELETE FROM control_plane.backups WHERE status = 'failed' AND expires_at <= $1",
                 now)
          .affected());
}

bool mark_backup_deleted(db::Connection& conn, const std::string& id) {
  if (!is_uuid(id)) return false;
  return conn.query(
                 "UPDATE control_plane.backups SET status = 'deleted', deleted_at = now() "
                 "WHERE id = $1::uuid AND status <> 'deleted'",
                 id)
             .affected() == 1;
}

bool mark_backup_expired(db::Connection& conn, const std::string& id) {
  if (!is_uuid(id)) return false;
  return conn.query(
                 "UPDATE control_plane.backups SET status = 'expired', deleted_at = now() "
                 "WHERE id = $1::uuid AND status = 'completed'",
                 id)
             .affected() == 1;
}

std::vector<Backup> list_expired_backups(db::Connection& conn, SystemTime now, int limit) {
  auto r = conn.query(std::string("SELECT ") + kColumns +
                          " FROM control_plane.backups WHERE status = 'completed' "
                          "AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2",
                      now, limit);
  return r.map_rows(backup_from);
}

bool update_backup_locations(db::Connection& conn, const std::string& id,
                             const boost::json::value& locations) {
  if (!is_uuid(id)) return false;
  return conn.query("UPDATE control_plane.backups SET locations = $2::jsonb WHERE id = $1::uuid",
                    id, locations)
             .affected() == 1;
}

}  // namespace tb::store
