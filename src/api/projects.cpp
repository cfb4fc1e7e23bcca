// GET /api/projects, GET|PUT /api/projects/{id}/backup-settings,
// GET /api/projects/{id}/audit.
#include "store/projects.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <optional>

#include "api/routes.hpp"
#include "model/json_body.hpp"
#include "model/requests.hpp"
#include "model/schedule.hpp"
#include "store/audit.hpp"
#include "store/settings.hpp"
#include "workflows/retention.hpp"

namespace tb::api {
namespace {

// 400 for a malformed id, 403 when not covered, 404 when unknown — in that
// order, so a forbidden caller learns nothing about which projects exist.
store::Project require_project(db::Connection& conn, const auth::Principal& who,
                               const std::string& id) {
  if (!model::is_valid_project_id(id))
    throw_validation("project_id", "'project_id' must match ^[A-Za-z0-9_-]{1,100}$");
  require_access(who, id);
  auto project = store::get_project(conn, id);
  if (!project) throw_not_found("project '" + id + "' not found");
  return *project;
}

boost::json::object project_json(const store::Project& p) {
  return {{"id", p.id}, {"slug", p.slug}, {"name", p.name}, {"schema", "tenant_" + p.slug}};
}

// Settings travel as JSON with the schedule as an object; the store keeps
// the schedule as its text form (model/schedule.hpp).
model::BackupSettings to_model(const store::BackupSettings& s) {
  model::BackupSettings m;
  m.schedule = model::schedule_from_text(s.schedule);
  m.verify_schedule = model::schedule_from_text(s.verify_schedule);
  m.retention_days = s.retention_days;
  m.destinations = s.destinations;
  m.telegram_chat_id = s.telegram_chat_id;
  m.notify_email = s.notify_email;
  m.format = s.format;
  m.compression = s.compression;
  m.compression_level = s.compression_level;
  m.encryption = s.encryption;
  return m;
}

store::BackupSettings to_store(const std::string& project_id, const model::BackupSettings& m) {
  store::BackupSettings s;
  s.project_id = project_id;
  s.schedule = model::schedule_to_text(m.schedule);
  s.verify_schedule = model::schedule_to_text(m.verify_schedule);
  s.retention_days = m.retention_days;
  s.destinations = m.destinations;
  s.telegram_chat_id = m.telegram_chat_id;
  s.notify_email = m.notify_email;
  s.format = m.format;
  s.compression = m.compression;
  s.compression_level = m.compression_level;
  s.encryption = m.encryption;
  return s;
}

boost::json::object settings_json(const ApiContext& ctx, const store::BackupSettings& s) {
  auto o = store::to_json(s);
  const auto schedule = model::schedule_from_text(s.schedule);
  o["schedule"] = model::schedule_json(schedule);
  const auto next = model::next_slot(schedule, ctx.clock.now());
  o["next_run_at"] = next ? boost::json::value(format_rfc3339(*next)) : boost::json::value(nullptr);
  const auto verify = model::schedule_from_text(s.verify_schedule);
  o["verify_schedule"] = model::schedule_json(verify);
  const auto next_verify = model::next_slot(verify, ctx.clock.now());
  o["next_verify_at"] =
      next_verify ? boost::json::value(format_rfc3339(*next_verify)) : boost::json::value(nullptr);
  return o;
}

}  // namespace

store::Project find_project_for(db::Connection& conn, const auth::Principal& who,
                                const std::string& id);
store::Project find_project_for(db::Connection& conn, const auth::Principal& who,
                                const std::string& id) {
  return require_project(conn, who, id);
}

std::vector<http::Route> project_routes(ApiContext& ctx) {
  using http::RateClass;
  using http::Request;
  return {
      {"GET", "/api/projects", RateClass::kRead,
       [&ctx](Request& req) {
         auto who = authenticate(ctx, req);
         auto conn = ctx.pool.acquire();
         boost::json::array out;
         for (const auto& p : store::list_projects(*conn)) {
           if (who.can_access(p.id)) out.push_back(project_json(p));
         }
         return http::json_data(std::move(out));
       }},
      {"GET", "/api/projects/{id}/backup-settings", RateClass::kRead,
       [&ctx](Request& req) {
         auto who = authenticate(ctx, req);
         auto conn = ctx.pool.acquire();
         auto project = require_project(*conn, who, req.params["id"]);
         return http::json_data(settings_json(ctx, store::get_backup_settings(*conn, project.id)));
       }},
      {"PUT", "/api/projects/{id}/backup-settings", RateClass::kRead,
       [&ctx](Request& req) {
         auto who = authenticate(ctx, req);
         auto conn = ctx.pool.acquire();
         auto project = require_project(*conn, who, req.params["id"]);
         auto current = store::get_backup_settings(*conn, project.id);
         auto updated = model::parse_settings_update(req.body, to_model(current));
         // Settings this server cannot honour would make every export of the
         // project fail, the scheduled ones included: refused when saved.
         workflows::refuse_unserved(updated.destinations, servable_destinations(ctx));
         // The service must be able to read what it writes: without an
         // identity of its own it could not restore an encrypted backup.
         if (updated.encryption.enabled && !ctx.encryption) {
           throw_validation("encryption.enabled",
                            "encryption needs a key of this service, and it has none "
                            "(AGE_IDENTITY_FILE is unset): ask the operator to configure one");
         }
         // Settings and the recomputed expiry dates change together or not at all.
         db::Transaction tx(*conn);
         auto saved = store::put_backup_settings(*conn, to_store(project.id, updated));
         std::optional<int> recomputed;
         if (updated.apply_to_existing) {
           recomputed =
               workflows::apply_retention_to_existing(*conn, project.id, saved.retention_days);
         }
         tx.commit();
         record_audit(*conn, req, who, project.id, "settings.update", project.id, "ok");
         auto out = settings_json(ctx, saved);
         // How many existing backups got a new expiry date (only when asked).
         if (recomputed) out["existing_backups_updated"] = *recomputed;
         return http::json_data(std::move(out));
       }},
      {"GET", "/api/projects/{id}/audit", RateClass::kRead,
       [&ctx](Request& req) {
         auto who = authenticate(ctx, req);
         auto conn = ctx.pool.acquire();
         auto project = require_project(*conn, who, req.params["id"]);
         auto format = req.query.contains("format") ? req.query["format"] : "json";
         model::require_one_of("format", format, {"json", "text"});
         auto entries = store::list_audit(*conn, project.id, 1000);
         if (format == "text") {
           http::Response res;
           res.content_type = "text/plain; charset=utf-8";
           res.body = store::to_text(entries);
           return res;
         }
         boost::json::array items;
         for (const auto& e : entries) items.push_back(store::to_json(e));
         return http::json_data(boost::json::object{{"items", std::move(items)}});
       }},
  };
}

}  // namespace tb::api
