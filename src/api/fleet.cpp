// POST /api/backup/export-all: a fleet run (admin tokens only).
#include <boost/json.hpp>

#include "api/routes.hpp"
#include "model/json_body.hpp"
#include "store/jobs.hpp"
#include "store/projects.hpp"

namespace tb::api {
namespace {

// Body: {} or absent (every project), or {"projects": ["a", "b"]}.
model::FleetExportPayload parse_fleet_request(db::Connection& conn, const std::string& body) {
  model::FleetExportPayload payload;
  if (body.empty()) return payload;
  auto object = model::parse_json_object(body);
  model::FieldReader r(object);
  if (auto projects = r.string_array("projects", 100000, 128)) {
    if (projects->empty())
      throw_validation("projects", "'projects' must name at least one project");
    for (const auto& id : *projects) {
      if (!store::get_project(conn, id)) throw_not_found("project '" + id + "' not found");
    }
    payload.projects = std::move(*projects);
  }
  r.finish();
  return payload;
}

http::Response enqueue_fleet(ApiContext& ctx, http::Request& req) {
  auto who = authenticate(ctx, req);
  if (!who.admin) throw_forbidden("a fleet run backs up every project: it needs an admin token");
  auto conn = ctx.pool.acquire();
  auto payload = parse_fleet_request(*conn, req.body);
  auto created =
      store::enqueue_job(*conn, store::new_job(payload, std::nullopt, ctx.config.job_max_attempts));
  record_audit(*conn, req, who, "", "backup.export_all", created.id, "accepted");
  return http::json_data(boost::json::object{{"job_id", created.id},
                                             {"status", store::to_string(created.status)},
                                             {"created_at", format_rfc3339(created.created_at)}},
                         202);
}

}  // namespace

std::vector<http::Route> fleet_routes(ApiContext& ctx) {
  return {
      {"POST", "/api/backup/export-all", http::RateClass::kWork,
       [&ctx](http::Request& req) { return enqueue_fleet(ctx, req); }},
  };
}

}  // namespace tb::api
