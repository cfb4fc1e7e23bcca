// GET /api/jobs/{id}, POST /api/jobs/{id}/cancel.
#include "store/jobs.hpp"

#include <boost/json.hpp>

#include "api/routes.hpp"
#include "store/fleet.hpp"

namespace tb::api {
namespace {

// The job, when it exists and the caller may see its project. A job of
// another project is "not found": its existence is not revealed.
store::Job visible_job(db::Connection& conn, const auth::Principal& who, const std::string& id) {
  auto job = store::get_job(conn, id);
  bool visible = job && (job->project_id ? who.can_access(*job->project_id) : who.admin);
  if (!visible) throw_not_found("job not found");
  return *job;
}

}  // namespace

std::vector<http::Route> job_routes(ApiContext& ctx) {
  using http::RateClass;
  using http::Request;
  return {
      {"GET", "/api/jobs/{id}", RateClass::kRead,
       [&ctx](Request& req) {
         auto who = authenticate(ctx, req);
         auto id = require_uuid_param(req, "id", "job");
         auto conn = ctx.pool.acquire();
         return http::json_data(store::to_json(visible_job(*conn, who, id)));
       }},
      {"POST", "/api/jobs/{id}/cancel", RateClass::kRead,
       [&ctx](Request& req) {
         auto who = authenticate(ctx, req);
         auto id = require_uuid_param(req, "id", "job");
         auto conn = ctx.pool.acquire();
         auto job = visible_job(*conn, who, id);
         if (store::is_terminal(job.status)) {
           throw_conflict("job is already " + std::string(store::to_string(job.status)));
         }
         auto updated = store::cancel_job(*conn, id);
         if (!updated) throw_not_found("job not found");
         // A fleet run waiting between its steps is cancelled at once, and
         // never runs again to stop its tenants: they are cancelled here.
         if (job.type == model::to_string(model::JobType::kFleetExport))
           store::cancel_fleet_tenant_jobs(*conn, id);
         record_audit(*conn, req, who, job.project_id.value_or(""), "job.cancel", id, "requested");
         return http::json_data(store::to_json(*updated), 202);
       }},
  };
}

}  // namespace tb::api
