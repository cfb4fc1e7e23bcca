// POST /api/backup/export, GET /api/backup/history, GET|DELETE /api/backups/{id},
// GET /api/backups/{id}/download, POST /api/backups/{id}/download-link,
// POST /api/backups/{id}/telegram, POST /api/backups/{id}/fetch.
//
// No handler here waits for Telegram or reads a backup file whole: a backup
// whose local copy is gone is fetched by a job (POST .../fetch) and then
// downloaded; deleting a backup's Telegram messages is a job too. A download's
// checksum runs on the HTTP file pool (FileBody::check), once per version of
// the file (workflows::VerifiedFiles), holding no database connection.
#include "store/backups.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <memory>

#include "api/routes.hpp"
#include "auth/signed_link.hpp"
#include "destinations/local.hpp"
#include "model/jobs.hpp"
#include "model/requests.hpp"
#include "store/backup_runs.hpp"
#include "store/job_queries.hpp"
#include "store/jobs.hpp"
#include "store/projects.hpp"
#include "store/settings.hpp"
#include "workflows/export_destinations.hpp"
#include "workflows/files.hpp"
#include "workflows/s3_copies.hpp"
#include "workflows/telegram.hpp"
#include "workflows/telegram_jobs.hpp"
#include "workflows/verified_files.hpp"

namespace tb::api {

store::Project find_project_for(db::Connection& conn, const auth::Principal& who,
                                const std::string& id);

namespace {

constexpr auto kLinkLifetime = std::chrono::minutes(10);

metrics::Counter& hashes_counter(ApiContext& ctx) {
  return ctx.metrics.counter(
      "tb_download_file_hashes_total",
      "Backup files read whole to check their SHA-256 before a download (once per version).");
}

// A backup the caller may see; another project's backup is "not found".
store::Backup visible_backup(db::Connection& conn, const auth::Principal& who,
                             const std::string& id) {
  auto backup = store::get_backup(conn, id);
  if (!backup || !who.can_access(backup->project_id)) throw_not_found("backup not found");
  return *backup;
}

// Backups as the API shows them: each row, and how its run went ("run": the
// export job's size before compression, times and attempts; null when no job
// made it), read for the whole page at once.
boost::json::array backups_json(db::Connection& conn, const std::vector<store::Backup>& backups) {
  std::vector<std::string> job_ids;
  for (const auto& b : backups)
    if (b.job_id) job_ids.push_back(*b.job_id);
  auto runs = store::backup_runs(conn, job_ids);
  boost::json::array out;
  for (const auto& b : backups) {
    auto o = store::to_json(b);
    auto run = b.job_id ? runs.find(*b.job_id) : runs.end();
    o["run"] = run == runs.end() ? boost::json::value(nullptr) : store::to_json(run->second);
    out.push_back(std::move(o));
  }
  return out;
}

http::Response enqueue_export(ApiContext& ctx, http::Request& req) {
  auto who = authenticate(ctx, req);
  auto body = model::parse_export_request(req.body);
  auto conn = ctx.pool.acquire();
  auto project = find_project_for(*conn, who, body.project_id);
  auto settings = store::get_backup_settings(*conn, project.id);

  auto destinations =
      workflows::export_destinations(body.destinations, settings, servable_destinations(ctx));
  if (body.storage_path) {
    // Inside the project's own folder, checked on the real filesystem now
    // (symlinks included), and again by the job when it writes.
    destinations::resolve_project_storage_path(ctx.config.storage_dir, project.id,
                                               *body.storage_path);
  }

  model::ExportPayload payload;
  payload.format = body.format;
  payload.compression = body.compression;
  payload.compression_level = model::level_for_export(
      body.compression_level, body.compression, settings.compression, settings.compression_level);
  payload.destinations = destinations;
  payload.notify_email = body.notify_email ? body.notify_email : settings.notify_email;
  payload.storage_path = body.storage_path;
  // The chat checked here is the one the job sends to.
  if (payload.wants_telegram()) payload.telegram_chat_id = settings.telegram_chat_id;

  auto created =
      store::enqueue_job(*conn, store::new_job(payload, project.id, ctx.config.job_max_attempts));
  record_audit(*conn, req, who, project.id, "backup.export", created.id, "accepted");
  return http::json_data(boost::json::object{{"job_id", created.id},
                                             {"status", store::to_string(created.status)},
                                             {"project_id", project.id},
                                             {"created_at", format_rfc3339(created.created_at)}},
                         202);
}

http::Response history(ApiContext& ctx, http::Request& req) {
  auto who = authenticate(ctx, req);
  auto project_id = req.query.contains("project_id") ? req.query["project_id"] : "";
  if (project_id.empty()) throw_validation("project_id", "'project_id' is required");
  int limit = 20;
  if (req.query.contains("limit")) {
    const auto& text = req.query["limit"];
    char* end = nullptr;
    long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < 1 || v > 100)
      throw_validation("limit", "'limit' must be between 1 and 100");
    limit = static_cast<int>(v);
  }
  std::optional<std::string> cursor;
  if (req.query.contains("cursor")) cursor = req.query["cursor"];
  auto conn = ctx.pool.acquire();
  auto project = find_project_for(*conn, who, project_id);
  auto page = store::list_backups(*conn, project.id, limit, cursor);
  boost::json::object out{{"items", backups_json(*conn, page.items)}};
  out["next_cursor"] =
      page.next_cursor ? boost::json::value(*page.next_cursor) : boost::json::value(nullptr);
  // So a pager can say "page 2 of 5" (the rows of every page, not of this one).
  out["total"] = store::count_backups(*conn, project.id);
  // On every page: a schedule that stopped working shows as an old date here.
  auto last = store::last_completed_at(*conn, project.id);
  out["last_successful_backup_at"] =
      last ? boost::json::value(format_rfc3339(*last)) : boost::json::value(nullptr);
  return http::json_data(std::move(out));
}

// Where a completed backup is downloaded from: its local copy, or the copy a
// "telegram_fetch" job put in the download cache. Only looks (stat): nothing
// is read or fetched here.
std::string downloadable_path(const ApiContext& ctx, const store::Backup& backup) {
  if (backup.status != model::BackupStatus::kCompleted)
    throw_conflict("backup is " + std::string(model::to_string(backup.status)) +
                   ", not downloadable");
  std::error_code ec;
  auto path = workflows::local_file_of(ctx.config.storage_dir, backup.locations);
  if (path && std::filesystem::exists(*path, ec)) return *path;
  const bool in_s3 = workflows::live_s3_key(backup.locations).has_value();
  if (!in_s3 && !workflows::telegram_location_of(backup.locations)) {
    throw Error(ErrorCode::kNotFound, "the local copy of this backup is gone");
  }
  auto cached = workflows::telegram_cache_path(ctx.config.storage_dir, backup);
  if (std::filesystem::exists(cached, ec)) return cached;
  throw_conflict(
      std::string(in_s3 ? "this backup is kept in S3 and has not been fetched yet"
                        : "the local copy of this backup is gone and its copy in "
                          "Telegram has not been fetched yet") +
      ": POST /api/backups/" + backup.id +
      "/fetch starts a job that fetches it (verified against its SHA-256), then download it");
}

// An audit entry written from the file pool, after the handler returned: a
// connection is taken for that one insert only.
void audit_download(ApiContext& ctx, const http::Request& req, const auth::Principal& who,
                    const std::string& project_id, const std::string& id,
                    const std::string& outcome) {
  try {
    auto conn = ctx.pool.acquire();
    record_audit(*conn, req, who, project_id, "backup.download", id, outcome);
  } catch (const std::exception& e) {
    spdlog::error("audit write failed for backup.download {} on {}: {}", id, project_id, e.what());
  }
}

// The file of a completed backup, verified against its recorded SHA-256
// before a single byte is served: a damaged copy is refused, not sent.
http::Response download(ApiContext& ctx, http::Request& req) {
  auto id = require_uuid_param(req, "id", "backup");
  store::Backup backup;
  auth::Principal who;
  {
    // For the lookups only: no connection is held while the file is checked or sent.
    auto conn = ctx.pool.acquire();
    if (req.query.contains("sig")) {
      if (!auth::verify_link(ctx.link_key, id, req.query["sig"], ctx.clock.now())) {
        throw Error(ErrorCode::kUnauthorized, "download link is invalid or expired");
      }
      auto found = store::get_backup(*conn, id);
      if (!found) throw_not_found("backup not found");
      backup = std::move(*found);
      who = auth::Principal{"signed-link", {backup.project_id}, false, ""};
    } else {
      who = authenticate(ctx, req);
      backup = visible_backup(*conn, who, id);
    }
    if (!backup.sha256) {
      record_audit(*conn, req, who, backup.project_id, "backup.download", id,
                   "refused: no recorded SHA-256");
      throw_conflict(
          "this backup has no recorded SHA-256: it cannot be verified and will not be served");
    }
  }
  auto path = downloadable_path(ctx, backup);
  auto name = std::filesystem::path(path).filename().string();
  auto response = http::file_response(path, name, workflows::content_type_for_name(name));
  // The check runs after this handler returned: it keeps its own copies.
  auto audit_req = std::make_shared<const http::Request>(req);
  response.file->check = [&ctx, audit_req, who, id, project = backup.project_id,
                          sha = *backup.sha256](int fd) {
    bool hashed = false;
    try {
      workflows::VerifiedFiles::shared().check(fd, sha, &hashed);
    } catch (const Error& e) {
      if (hashed) hashes_counter(ctx).inc();
      audit_download(ctx, *audit_req, who, project, id, "refused: " + e.message());
      throw;
    }
    if (hashed) hashes_counter(ctx).inc();
    audit_download(ctx, *audit_req, who, project, id, "ok");
  };
  return response;
}

// POST /api/backups/{id}/fetch: a job that fetches a Telegram backup whose
// local copy is gone into the download cache. A fetch already under way for
// the backup is answered instead of starting a second one.
http::Response fetch_from_telegram(ApiContext& ctx, http::Request& req) {
  auto who = authenticate(ctx, req);
  auto id = require_uuid_param(req, "id", "backup");
  auto conn = ctx.pool.acquire();
  auto backup = visible_backup(*conn, who, id);
  if (backup.status != model::BackupStatus::kCompleted)
    throw_conflict("backup is " + std::string(model::to_string(backup.status)) +
                   ", it cannot be fetched");
  const bool in_s3 = workflows::live_s3_key(backup.locations).has_value();
  if (!in_s3 && !workflows::telegram_location_of(backup.locations))
    throw_conflict("this backup has no copy in Telegram or S3");
  if (in_s3 && !ctx.s3.configured)
    throw_conflict("S3 is not configured on this server (S3_BUCKET is unset)");
  if (!in_s3 && ctx.config.telegram_bot_token.empty()) {
    throw_conflict(std::string(kNoTelegramBot));
  }
  std::error_code ec;
  auto local = workflows::local_file_of(ctx.config.storage_dir, backup.locations);
  if (local && std::filesystem::exists(*local, ec))
    throw_conflict("the local copy of this backup is present: download it");
  std::optional<store::Job> job;
  if (auto active = store::active_backup_job(*conn, model::JobType::kTelegramFetch, id)) {
    job = store::get_job(*conn, *active);
  }
  if (!job) {
    job = store::enqueue_job(*conn, store::new_job(model::TelegramFetchPayload{backup.id},
                                                   backup.project_id, ctx.config.job_max_attempts));
    record_audit(*conn, req, who, backup.project_id, "backup.fetch", id, "accepted");
  }
  return http::json_data(boost::json::object{{"job_id", job->id},
                                             {"status", store::to_string(job->status)},
                                             {"project_id", backup.project_id},
                                             {"created_at", format_rfc3339(job->created_at)}},
                         202);
}

// DELETE /api/backups/{id}: the row first, then the files; the Telegram
// messages are deleted by a job enqueued in the same transaction. The S3
// object and its sidecar are deleted here, with one try each: a refusal is
// recorded ("remote_remains") and the retention sweep retries it.
http::Response delete_backup(ApiContext& ctx, http::Request& req) {
  auto who = authenticate(ctx, req);
  auto id = require_uuid_param(req, "id", "backup");
  auto conn = ctx.pool.acquire();
  auto backup = visible_backup(*conn, who, id);
  if (backup.status == model::BackupStatus::kDeleted) throw_conflict("backup is already deleted");
  // The reference goes first: a crash between the two steps leaves an
  // unlisted file (swept later), never a listed backup without its file.
  std::optional<std::string> telegram_job;
  {
    db::Transaction tx(*conn);
    if (!store::mark_backup_deleted(*conn, id)) throw_conflict("backup is already deleted");
    telegram_job = workflows::enqueue_telegram_delete(*conn, backup, ctx.config.job_max_attempts);
    tx.commit();
  }
  workflows::remove_local_files(ctx.config.storage_dir, backup.locations);
  workflows::remove_telegram_cache(ctx.config.storage_dir, id);
  std::string outcome =
      telegram_job ? "ok: Telegram messages are deleted by job " + *telegram_job : "ok";
  if (workflows::live_s3_key(backup.locations)) {
    auto locations = workflows::delete_s3_copies(ctx.s3, backup.locations, /*attempts=*/1);
    store::update_backup_locations(*conn, id, locations);
    if (workflows::live_s3_key(locations))
      outcome += "; the S3 object remains (retried by the sweep)";
  }
  record_audit(*conn, req, who, backup.project_id, "backup.delete", id, outcome);
  auto out = store::to_json(*store::get_backup(*conn, id));
  if (telegram_job) out["telegram_delete_job_id"] = *telegram_job;
  return http::json_data(std::move(out));
}

// POST /api/backups/{id}/telegram: a job that sends the local copy to the
// project's chat. Refused before any job exists when Telegram is not set up,
// the backup is not completed, its local copy is gone, or it is already there.
http::Response send_to_telegram(ApiContext& ctx, http::Request& req) {
  auto who = authenticate(ctx, req);
  auto id = require_uuid_param(req, "id", "backup");
  auto conn = ctx.pool.acquire();
  auto backup = visible_backup(*conn, who, id);
  if (ctx.config.telegram_bot_token.empty()) {
    throw_validation("destinations", std::string(kNoTelegramBot));
  }
  auto settings = store::get_backup_settings(*conn, backup.project_id);
  if (!settings.telegram_chat_id) {
    throw_validation("telegram_chat_id",
                     "set the project's Telegram chat id in its backup settings first");
  }
  if (backup.status != model::BackupStatus::kCompleted) {
    throw_conflict("backup is " + std::string(model::to_string(backup.status)) +
                   ", it cannot be sent");
  }
  if (workflows::telegram_location_of(backup.locations))
    throw_conflict("this backup is already in Telegram");
  auto path = workflows::local_file_of(ctx.config.storage_dir, backup.locations);
  if (!path || !std::filesystem::exists(*path))
    throw_conflict("the local copy of this backup is gone");

  auto created = store::enqueue_job(
      *conn, store::new_job(model::TelegramSendPayload{backup.id, settings.telegram_chat_id},
                            backup.project_id, ctx.config.job_max_attempts));
  record_audit(*conn, req, who, backup.project_id, "backup.telegram", id, "accepted");
  return http::json_data(boost::json::object{{"job_id", created.id},
                                             {"status", store::to_string(created.status)},
                                             {"project_id", backup.project_id},
                                             {"created_at", format_rfc3339(created.created_at)}},
                         202);
}

}  // namespace

std::vector<http::Route> backup_routes(ApiContext& ctx) {
  using http::RateClass;
  using http::Request;
  return {
      {"POST", "/api/backup/export", RateClass::kWork,
       [&ctx](Request& req) { return enqueue_export(ctx, req); }},
      {"GET", "/api/backup/history", RateClass::kRead,
       [&ctx](Request& req) { return history(ctx, req); }},
      {"GET", "/api/backups/{id}", RateClass::kRead,
       [&ctx](Request& req) {
         auto who = authenticate(ctx, req);
         auto id = require_uuid_param(req, "id", "backup");
         auto conn = ctx.pool.acquire();
         auto one = backups_json(*conn, {visible_backup(*conn, who, id)});
         return http::json_data(std::move(one.at(0)));
       }},
      {"DELETE", "/api/backups/{id}", RateClass::kRead,
       [&ctx](Request& req) { return delete_backup(ctx, req); }},
      {"GET", "/api/backups/{id}/download", RateClass::kRead,
       [&ctx](Request& req) { return download(ctx, req); }},
      {"POST", "/api/backups/{id}/telegram", RateClass::kWork,
       [&ctx](Request& req) { return send_to_telegram(ctx, req); }},
      {"POST", "/api/backups/{id}/fetch", RateClass::kWork,
       [&ctx](Request& req) { return fetch_from_telegram(ctx, req); }},
      {"POST", "/api/backups/{id}/download-link", RateClass::kRead,
       [&ctx](Request& req) {
         auto who = authenticate(ctx, req);
         auto id = require_uuid_param(req, "id", "backup");
         auto conn = ctx.pool.acquire();
         // Refused when following the link could not give the file now (a
         // Telegram backup that must be fetched first: the UI then does so).
         downloadable_path(ctx, visible_backup(*conn, who, id));
         auto expires = ctx.clock.now() + kLinkLifetime;
         auto sig = auth::sign_link(ctx.link_key, id, expires);
         return http::json_data(
             boost::json::object{{"url", "/api/backups/" + id + "/download?sig=" + sig},
                                 {"expires_at", format_rfc3339(expires)}});
       }},
  };
}

}  // namespace tb::api
