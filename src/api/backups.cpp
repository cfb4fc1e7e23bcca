// POST /api/backup/export, GET /api/backup/history, GET|DELETE /api/backups/{id},
// GET /api/backups/{id}/download (from the Telegram parts when the local copy
// is gone), POST /api/backups/{id}/download-link, POST /api/backups/{id}/telegram.
#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>

#include "api/routes.hpp"
#include "auth/signed_link.hpp"
#include "workflows/files.hpp"
#include "workflows/telegram.hpp"
#include "destinations/local.hpp"
#include "model/requests.hpp"
#include "store/backups.hpp"
#include "store/jobs.hpp"
#include "store/projects.hpp"
#include "store/settings.hpp"

namespace tb::api {

store::Project find_project_for(db::Connection& conn, const auth::Principal& who, const std::string& id);

namespace {

constexpr auto kLinkLifetime = std::chrono::minutes(10);

bool contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// A backup the caller may see; another project's backup is "not found".
store::Backup visible_backup(db::Connection& conn, const auth::Principal& who, const std::string& id) {
  auto backup = store::get_backup(conn, id);
  if (!backup || !who.can_access(backup->project_id)) throw_not_found("backup not found");
  return *backup;
}

http::Response enqueue_export(ApiContext& ctx, http::Request& req) {
  auto who = authenticate(ctx, req);
  auto body = model::parse_export_request(req.body);
  auto conn = ctx.pool.acquire();
  auto project = find_project_for(*conn, who, body.project_id);
  auto settings = store::get_backup_settings(*conn, project.id);

  auto destinations = body.destinations.empty() ? settings.destinations : body.destinations;
  if (contains(destinations, "telegram")) {
    if (ctx.config.telegram_bot_token.empty()) {
      throw_validation("destinations", "Telegram is not configured on this server (TELEGRAM_BOT_TOKEN is unset)");
    }
    if (!settings.telegram_chat_id) {
      throw_validation("telegram_chat_id", "set the project's Telegram chat id in its backup settings first");
    }
  }
  if (body.storage_path) {
    // Checked on the real filesystem now (symlinks escaping STORAGE_DIR), and
    // again by the job when it writes.
    destinations::resolve_storage_path(ctx.config.storage_dir, *body.storage_path);
  }

  boost::json::object payload{{"kind", "manual"},
                              {"format", body.format},
                              {"compression", body.compression},
                              {"destinations", boost::json::value_from(destinations)}};
  auto email = body.notify_email ? body.notify_email : settings.notify_email;
  if (email) payload["notify_email"] = *email;
  if (body.storage_path) payload["storage_path"] = *body.storage_path;
  // The chat checked here is the one the job sends to.
  if (contains(destinations, "telegram")) payload["telegram_chat_id"] = *settings.telegram_chat_id;

  store::NewJob job;
  job.type = "export";
  job.project_id = project.id;
  job.payload = std::move(payload);
  job.max_attempts = ctx.config.job_max_attempts;
  auto created = store::enqueue_job(*conn, job);
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
    if (text.empty() || *end != '\0' || v < 1 || v > 100) throw_validation("limit", "'limit' must be between 1 and 100");
    limit = static_cast<int>(v);
  }
  std::optional<std::string> cursor;
  if (req.query.contains("cursor")) cursor = req.query["cursor"];
  auto conn = ctx.pool.acquire();
  auto project = find_project_for(*conn, who, project_id);
  auto page = store::list_backups(*conn, project.id, limit, cursor);
  boost::json::array items;
  for (const auto& b : page.items) items.push_back(store::to_json(b));
  boost::json::object out{{"items", std::move(items)}};
  out["next_cursor"] = page.next_cursor ? boost::json::value(*page.next_cursor) : boost::json::value(nullptr);
  return http::json_data(std::move(out));
}

// The local file of a completed backup, verified against its recorded
// SHA-256 before a single byte is served: a damaged copy is refused, not sent.
http::Response download(ApiContext& ctx, http::Request& req) {
  auto id = require_uuid_param(req, "id", "backup");
  auto conn = ctx.pool.acquire();
  std::optional<store::Backup> backup;
  std::string actor;
  std::optional<auth::Principal> who;
  if (req.query.contains("sig")) {
    if (!auth::verify_link(ctx.link_key, id, req.query["sig"], ctx.clock.now())) {
      throw Error(ErrorCode::kUnauthorized, "download link is invalid or expired");
    }
    backup = store::get_backup(*conn, id);
    if (!backup) throw_not_found("backup not found");
    who = auth::Principal{"signed-link", {backup->project_id}, false, ""};
  } else {
    who = authenticate(ctx, req);
    backup = visible_backup(*conn, *who, id);
  }
  if (backup->status != "completed") throw_conflict("backup is " + backup->status + ", not downloadable");
  auto path = workflows::local_file_of(ctx.config.storage_dir, backup->locations);
  if (!path || !std::filesystem::exists(*path)) {
    // The local copy is gone: a verified copy fetched from the Telegram parts.
    if (!workflows::telegram_location_of(backup->locations)) {
      throw Error(ErrorCode::kNotFound, "the local copy of this backup is gone");
    }
    try {
      path = workflows::cached_copy_from_telegram(ctx.config, *backup);
    } catch (const Error& e) {
      record_audit(*conn, req, *who, backup->project_id, "backup.download", id, "failed: " + e.message());
      if (e.code() == ErrorCode::kNotFound || e.code() == ErrorCode::kConflict) throw;
      throw Error(ErrorCode::kInternal, "the backup could not be fetched from Telegram: " + e.message(), e.detail());
    }
  }
  if (!backup->sha256 || workflows::sha256_of_file(*path) != *backup->sha256) {
    record_audit(*conn, req, *who, backup->project_id, "backup.download", id, "refused: checksum mismatch");
    throw Error(ErrorCode::kConflict, "the stored file does not match its SHA-256: it is damaged and will not be served",
                *path);
  }
  record_audit(*conn, req, *who, backup->project_id, "backup.download", id, "ok");
  auto name = std::filesystem::path(*path).filename().string();
  return http::file_response(*path, name, workflows::content_type_for_name(name));
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
    throw_validation("destinations", "Telegram is not configured on this server (TELEGRAM_BOT_TOKEN is unset)");
  }
  auto settings = store::get_backup_settings(*conn, backup.project_id);
  if (!settings.telegram_chat_id) {
    throw_validation("telegram_chat_id", "set the project's Telegram chat id in its backup settings first");
  }
  if (backup.status != "completed") throw_conflict("backup is " + backup.status + ", it cannot be sent");
  if (workflows::telegram_location_of(backup.locations)) throw_conflict("this backup is already in Telegram");
  auto path = workflows::local_file_of(ctx.config.storage_dir, backup.locations);
  if (!path || !std::filesystem::exists(*path)) throw_conflict("the local copy of this backup is gone");

  store::NewJob job;
  job.type = "telegram_send";
  job.project_id = backup.project_id;
  job.payload = boost::json::object{{"backup_id", backup.id}, {"telegram_chat_id", *settings.telegram_chat_id}};
  job.max_attempts = ctx.config.job_max_attempts;
  auto created = store::enqueue_job(*conn, job);
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
      {"POST", "/api/backup/export", RateClass::kWork, [&ctx](Request& req) { return enqueue_export(ctx, req); }},
      {"GET", "/api/backup/history", RateClass::kRead, [&ctx](Request& req) { return history(ctx, req); }},
      {"GET", "/api/backups/{id}", RateClass::kRead,
       [&ctx](Request& req) {
         auto who = authenticate(ctx, req);
         auto id = require_uuid_param(req, "id", "backup");
         auto conn = ctx.pool.acquire();
         return http::json_data(store::to_json(visible_backup(*conn, who, id)));
       }},
      {"DELETE", "/api/backups/{id}", RateClass::kRead,
       [&ctx](Request& req) {
         auto who = authenticate(ctx, req);
         auto id = require_uuid_param(req, "id", "backup");
         auto conn = ctx.pool.acquire();
         auto backup = visible_backup(*conn, who, id);
         if (backup.status == "deleted") throw_conflict("backup is already deleted");
         // The reference goes first: a crash between the two steps leaves an
         // unlisted file (swept later), never a listed backup without its file.
         store::mark_backup_deleted(*conn, id);
         workflows::remove_local_files(ctx.config.storage_dir, backup.locations);
         workflows::remove_telegram_cache(ctx.config, id);
         std::string outcome = "ok";
         if (workflows::telegram_location_of(backup.locations)) {
           // Bots may delete messages for 48 hours only: what Telegram refuses
           // is recorded as remaining, the delete itself does not fail.
           auto locations = workflows::delete_telegram_copies(ctx.config, backup.locations);
           store::update_backup_locations(*conn, id, locations);
           auto tg = workflows::telegram_location_of(locations);
           if (tg && tg->contains("remote_remains")) outcome = "ok: the Telegram copy remains";
         }
         record_audit(*conn, req, who, backup.project_id, "backup.delete", id, outcome);
         return http::json_data(store::to_json(*store::get_backup(*conn, id)));
       }},
      {"GET", "/api/backups/{id}/download", RateClass::kRead, [&ctx](Request& req) { return download(ctx, req); }},
      {"POST", "/api/backups/{id}/telegram", RateClass::kWork, [&ctx](Request& req) { return send_to_telegram(ctx, req); }},
      {"POST", "/api/backups/{id}/download-link", RateClass::kRead,
       [&ctx](Request& req) {
         auto who = authenticate(ctx, req);
         auto id = require_uuid_param(req, "id", "backup");
         auto conn = ctx.pool.acquire();
         visible_backup(*conn, who, id);
         auto expires = ctx.clock.now() + kLinkLifetime;
         auto sig = auth::sign_link(ctx.link_key, id, expires);
         return http::json_data(boost::json::object{{"url", "/api/backups/" + id + "/download?sig=" + sig},
                                                    {"expires_at", format_rfc3339(expires)}});
       }},
  };
}

}  // namespace tb::api
