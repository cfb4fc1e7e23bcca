#include "workflows/retention.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "backup/restore.hpp"
#include "core/error.hpp"
#include "core/units.hpp"
#include "db/connection.hpp"
#include "notify/email.hpp"
#include "store/job_queries.hpp"
#include "store/projects.hpp"
#include "workflows/files.hpp"

namespace tb::workflows {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono;

bool has_backup_extension(const std::string& name) {
  for (const char* ext : {".sql", ".tar", ".zst", ".gz", ".age"}) {
    if (name.ends_with(ext)) return true;
  }
  return false;
}

std::optional<SystemTime> mtime_of(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return std::nullopt;
  return SystemTime{duration_cast<SystemTime::duration>(seconds(st.st_mtim.tv_sec) +
                                                        nanoseconds(st.st_mtim.tv_nsec))};
}

struct Notice {
  std::string id;
  SystemTime created_at;
  SystemTime expires_at;
  std::int64_t size_bytes;
  std::string format;
  std::string compression;
};

std::string notice_text(const RetentionOptions& options, const std::string& project_id,
                        const std::vector<Notice>& items) {
  std::string base = options.public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string text = "These backups of project " + project_id +
                     " will be deleted by the retention policy on the dates shown:\n\n";
  for (const auto& n : items) {
    text += "Backup:   " + n.id + "\n";
    text += "Created:  " + format_rfc3339(n.created_at) + "\n";
    text += "Expires:  " + format_rfc3339(n.expires_at) + "\n";
    text += "Size:     " + human_size(static_cast<std::uint64_t>(n.size_bytes)) + " (" + n.format +
            ", " + n.compression + ")\n";
    text += "Download: " + base + "/api/backups/" + n.id + "/download\n\n";
  }
  text +=
      "To keep a backup, download it before it expires (the links above need your API token), "
      "or raise the project's retention_days in its backup settings and apply it to existing "
      "backups (PUT /api/projects/" +
      project_id + "/backup-settings with \"apply_to_existing\": true).\n";
  return text;
}

}  // namespace

std::vector<store::Backup> mark_expired_backups(db::Connection& conn, SystemTime now, int limit) {
  std::vector<store::Backup> marked;
  for (auto& b : store::list_expired_backups(conn, now, limit)) {
    // Guarded (completed -> expired): a concurrent sweeper or a user's delete
    // wins the row, and then its files are theirs to remove.
    if (store::mark_backup_expired(conn, b.id)) {
      b.status = model::BackupStatus::kExpired;
      marked.push_back(std::move(b));
    }
  }
  return marked;
}

int remove_backup_files(db::Connection& conn, const RetentionOptions& options,
                        const std::vector<store::Backup>& expired) {
  int removed = 0;
  for (const auto& b : expired) {
    try {
      if (auto path = local_file_of(options.storage_dir, b.locations)) {
        std::error_code ec;
        if (fs::remove(*path, ec)) ++removed;
        if (ec)
          spdlog::warn("retention: cannot remove '{}' of backup {}: {}", *path, b.id, ec.message());
      }
    } catch (const std::exception& e) {
      // A location that fails the storage checks is left for an operator.
      spdlog::warn("retention: local copy of backup {} not removed: {}", b.id, e.what());
    }
    if (options.delete_remote_copies) {
      try {
        options.delete_remote_copies(conn, b);
      } catch (const std::exception& e) {
        spdlog::warn("retention: remote copies of backup {} not removed: {}", b.id, e.what());
      }
    }
  }
  return removed;
}

int expire_backups(db::Connection& conn, const RetentionOptions& options, SystemTime now,
                   SweepReport* report) {
  auto marked = mark_expired_backups(conn, now, options.batch);
  int files = remove_backup_files(conn, options, marked);
  // A failed run's entry is kept as long as a backup would be; it has no file.
  int failures = store::remove_expired_failures(conn, now);
  if (report) {
    report->expired += static_cast<int>(marked.size());
    report->files_removed += files;
    report->failures_removed += failures;
  }
  if (!marked.empty())
    spdlog::info("retention: {} backup(s) expired, {} file(s) removed", marked.size(), files);
  if (failures > 0) spdlog::info("retention: {} failed run(s) past their expiry removed", failures);
  return static_cast<int>(marked.size());
}

int send_expiry_notices(db::Connection& conn, const RetentionOptions& options, SystemTime now) {
  if (options.smtp_url.empty()) return 0;
  // Claim first (one statement: concurrent sweepers claim disjoint rows).
  auto r = conn.query(
      "UPDATE control_plane.backups b SET expiry_notice_for = b.expires_at "
      "FROM control_plane.backup_settings s "
      "WHERE b.id IN (SELECT b2.id FROM control_plane.backups b2 "
      "               JOIN control_plane.backup_settings s2 ON s2.project_id = b2.project_id "
      "               WHERE b2.status = 'completed' AND b2.expires_at > $1::timestamptz "
      "                 AND b2.expires_at <= $1::timestamptz + $2::interval "
      "                 AND b2.expiry_notice_for IS DISTINCT FROM b2.expires_at "
      "                 AND coalesce(s2.notify_email, '') <> '' "
      "               ORDER BY b2.expires_at LIMIT 500 FOR UPDATE OF b2 SKIP LOCKED) "
      "  AND s.project_id = b.project_id "
      "RETURNING b.id, b.project_id, b.created_at, b.expires_at, b.size_bytes, b.format, "
      "b.compression, "
      "          s.notify_email",
      now, options.expiry_notice);
  std::map<std::pair<std::string, std::string>, std::vector<Notice>>
      by_project;  // (project, email)
  for (int i = 0; i < r.rows(); ++i) {
    by_project[{r.text(i, 1), r.text(i, 7)}].push_back(Notice{
        r.text(i, 0), r.time(i, 2), r.time(i, 3), r.int64(i, 4), r.text(i, 5), r.text(i, 6)});
  }
  int sent = 0;
  for (auto& [key, items] : by_project) {
    const auto& [project_id, email] = key;
    std::sort(items.begin(), items.end(),
              [](const Notice& a, const Notice& b) { return a.expires_at < b.expires_at; });
    std::string subject =
        std::to_string(items.size()) + " backup(s) of " + project_id + " expire soon";
    try {
      notify::send_email(notify::SmtpOptions{options.smtp_url, options.smtp_from},
                         notify::Email{email, subject, notice_text(options, project_id, items)});
      ++sent;
    } catch (const std::exception& e) {
      spdlog::warn("retention: expiry notice for '{}' to {} failed (retried next sweep): {}",
                   project_id, email, e.what());
      std::vector<std::string> ids;
      for (const auto& n : items) ids.push_back(n.id);
      conn.query(
          "UPDATE control_plane.backups SET expiry_notice_for = NULL WHERE id = ANY($1::uuid[])",
          db::text_array(ids));
    }
  }
  return sent;
}

std::optional<SystemTime> pre_restore_schema_time(const std::string& schema) {
  static constexpr std::string_view kMarker = "__pre_restore_";
  auto at = schema.rfind(kMarker);
  if (!schema.starts_with("tenant_") || at == std::string::npos) return std::nullopt;
  std::string digits;
  for (char c : schema.substr(at + kMarker.size())) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits += c;
    } else if (c != 't' && c != 'T' && c != 'z' && c != 'Z' && c != '_' && c != '-') {
      return std::nullopt;
    }
  }
  auto num = [&](std::size_t pos, std::size_t len) { return std::stoi(digits.substr(pos, len)); };
  if (digits.size() == 14 || digits.size() == 8) {
    year_month_day ymd{year{num(0, 4)}, month{static_cast<unsigned>(num(4, 2))},
                       day{static_cast<unsigned>(num(6, 2))}};
    if (!ymd.ok()) return std::nullopt;
    SystemTime t{sys_days{ymd}};
    if (digits.size() == 14) {
      int h = num(8, 2), m = num(10, 2), s = num(12, 2);
      if (h > 23 || m > 59 || s > 60) return std::nullopt;
      t += hours(h) + minutes(m) + seconds(s);
    }
    return t;
  }
  if (digits.size() == 10) return SystemTime{seconds(std::stoll(digits))};
  if (digits.size() == 13) return SystemTime{milliseconds(std::stoll(digits))};
  return std::nullopt;
}

int drop_old_pre_restore_schemas(db::Connection& conn, SystemTime now, std::chrono::hours keep) {
  // What a set-aside schema of each project starts with, and the projects'
  // own schemas: a live schema is never dropped, even one whose slug makes
  // it look set aside (slugs containing "__pre_restore" are refused now, but
  // may predate that rule).
  std::set<std::string> live;
  std::vector<std::string> aside_prefixes;
  for (const auto& p : store::list_projects(conn)) {
    live.insert(p.schema());
    auto sample = backup::aside_schema_name(p.schema(), SystemTime{});
    aside_prefixes.push_back(
        sample.substr(0, sample.rfind(backup::kAsideMarker) + backup::kAsideMarker.size()));
  }
  auto r = conn.exec(
      "SELECT nspname, quote_ident(nspname) FROM pg_namespace "
      "WHERE nspname LIKE 'tenant\\_%\\_\\_pre\\_restore\\_%' ORDER BY nspname");
  int dropped = 0;
  for (int i = 0; i < r.rows(); ++i) {
    auto name = r.text(i, 0);
    if (live.contains(name)) continue;
    if (std::none_of(aside_prefixes.begin(), aside_prefixes.end(),
                     [&](const std::string& prefix) { return name.starts_with(prefix); })) {
      continue;  // no project's: not ours to drop
    }
    auto made = pre_restore_schema_time(name);
    if (!made) {
      spdlog::warn("retention: kept schema '{}': its timestamp cannot be read", name);
      continue;
    }
    if (now - *made < keep) continue;
    // IF EXISTS: another sweeper may have dropped it a moment ago.
    conn.exec("DROP SCHEMA IF EXISTS " + r.text(i, 1) + " CASCADE");
    spdlog::info("retention: dropped pre-restore schema '{}'", name);
    ++dropped;
  }
  return dropped;
}

namespace {

using FileId = std::pair<dev_t, ino_t>;

// ENOENT for a backup's path says its file is gone only when the path's
// nearest existing ancestor is a directory. When it is a dangling symlink (a
// folder link being re-pointed, the link to a disk not mounted yet), the
// file may well exist under another spelling the sweep walks: it cannot be
// checked now.
bool surely_gone(const fs::path& path) {
  for (auto p = path.parent_path(); !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0) return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    if (errno != ENOENT || p == p.root_path()) return false;
  }
  return false;
}

// The files completed backups refer to, by identity (device, inode), so that
// no spelling of a path (a symlinked STORAGE_DIR or folder) can make a live
// backup's file look unreferenced. Throws when any of them cannot be checked:
// the sweep then deletes nothing (a transient error must not make a live
// backup's file look orphaned).
std::set<FileId> referenced_files(db::Connection& conn, const std::string& storage_dir) {
  std::set<FileId> referenced;
  auto r = conn.exec("SELECT id, locations FROM control_plane.backups WHERE status = 'completed'");
  for (int i = 0; i < r.rows(); ++i) {
    std::optional<std::string> path;
    try {
      path = local_file_of(storage_dir, r.json(i, 1));
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kInternal, "orphan sweep skipped",
                  "the local copy of backup " + r.text(i, 0) + " cannot be resolved: " + e.what());
    }
    if (!path) continue;
    struct stat st {};
    if (::stat(path->c_str(), &st) == 0) {
      referenced.insert({st.st_dev, st.st_ino});
    } else if (const int err = errno; err != ENOENT || !surely_gone(*path)) {
      throw Error(ErrorCode::kInternal, "orphan sweep skipped",
                  "the local copy of backup " + r.text(i, 0) + " ('" + *path +
                      "') cannot be checked: " + std::strerror(err));
    }
  }
  return referenced;
}

// The job tags (first 8 characters of the job id, as backup::file_name_for
// puts them in a file name) of exports that are pending or running: their
// file is renamed into place before the row that lists it commits (a
// Telegram upload can take hours in between), and a retry reuses it.
std::set<std::string> active_export_tags(db::Connection& conn) {
  std::set<std::string> tags;
  for (const auto& id : store::active_job_ids(conn, model::JobType::kExport))
    tags.insert(id.substr(0, 8));
  return tags;
}

}  // namespace

int remove_orphan_files(db::Connection& conn, const RetentionOptions& options, SystemTime now) {
  std::error_code ec;
  if (!fs::is_directory(options.storage_dir, ec)) return 0;
  // Active exports first: an export that completes in between has its row
  // committed by then, so the second read sees it as referenced. (Read the
  // other way round, a file renamed into place long ago and still uploading
  // to Telegram would be in neither set.)
  const auto active = active_export_tags(conn);
  const auto referenced = referenced_files(conn, options.storage_dir);
  int removed = 0;
  fs::recursive_directory_iterator it(options.storage_dir,
                                      fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const auto& entry = *it;
    std::error_code type_ec;
    if (!entry.is_regular_file(type_ec) || type_ec || entry.is_symlink(type_ec) || type_ec)
      continue;
    auto name = entry.path().filename().string();
    bool temp = is_temporary_file_name(name);
    if (!temp && !has_backup_extension(name)) continue;
    struct stat st {};
    if (::lstat(entry.path().c_str(), &st) != 0) continue;  // cannot tell: keep it
    if (referenced.count({st.st_dev, st.st_ino}) != 0) continue;
    if (auto tag = job_tag_of_file(name); !tag.empty() && active.count(tag) != 0) continue;
    auto mtime = mtime_of(entry.path());
    if (!mtime || now - *mtime < options.orphan_grace) continue;
    std::error_code rm_ec;
    if (fs::remove(entry.path(), rm_ec)) {
      spdlog::info("retention: removed orphan file '{}'", entry.path().string());
      ++removed;
    } else if (rm_ec) {
      // Kept; the next sweep tries again.
      spdlog::warn("retention: cannot remove orphan file '{}': {}", entry.path().string(),
                   rm_ec.message());
    }
  }
  if (ec)
    spdlog::warn("retention: orphan sweep of '{}' stopped: {}", options.storage_dir, ec.message());
  return removed;
}

int apply_retention_to_existing(db::Connection& conn, const std::string& project_id,
                                int retention_days) {
  auto r = conn.query(
      "UPDATE control_plane.backups SET expires_at = created_at + make_interval(days => $2::int) "
      "WHERE project_id = $1 AND status = 'completed'",
      project_id, retention_days);
  return static_cast<int>(r.affected());
}

RetentionSweeper::RetentionSweeper(std::string conninfo, RetentionOptions options)
    : conninfo_(std::move(conninfo)), options_(std::move(options)) {}

SweepReport RetentionSweeper::run_once(SystemTime now) {
  SweepReport report;
  auto step = [&](const char* name, const std::function<void(db::Connection&)>& body) {
    try {
      body(db::reconnect_if_broken(conn_, conninfo_));
    } catch (const std::exception& e) {
      spdlog::warn("retention: {} failed: {}", name, e.what());
      if (conn_ && !conn_->idle()) conn_.reset();
    }
  };
  step("expiry", [&](db::Connection& c) { expire_backups(c, options_, now, &report); });
  step("expiry notices",
       [&](db::Connection& c) { report.notices_sent = send_expiry_notices(c, options_, now); });
  step("pre-restore schemas", [&](db::Connection& c) {
    report.schemas_dropped = drop_old_pre_restore_schemas(c, now, options_.restore_keep);
  });
  step("orphan files",
       [&](db::Connection& c) { report.orphans_removed = remove_orphan_files(c, options_, now); });
  if (options_.sweep_remote)
    step("remote copies", [&](db::Connection& c) { options_.sweep_remote(c, now); });
  return report;
}

}  // namespace tb::workflows
