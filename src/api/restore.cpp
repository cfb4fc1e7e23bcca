// POST /api/backup/restore {backup_id} → 202 job. Another project's backup (or
// an unknown one) is "not found", like GET /api/backups/{id}; a backup that is
// deleted or expired, or a second restore of a project while one is pending or
// running, is 409 CONFLICT and changes nothing.
//
// POST /api/backups/{id}/verify → 202 job: a test restore into a throwaway
// scratch database, compared with the backup's manifest
// (workflows/verify_job.hpp). 409 when the backup cannot be verified (not
// restorable, no manifest) or the server has no VERIFY_DATABASE_URL.
#include <boost/json.hpp>
#include <functional>
#include <string>

#include "api/routes.hpp"
#include "model/requests.hpp"
#include "store/backups.hpp"
#include "store/jobs.hpp"
#include "workflows/restore_job.hpp"
#include "workflows/verify_job.hpp"

namespace tb::api {
namespace {

// Queues a job on `backup` (`enqueue` throws CONFLICT when it may not run),
// audited as `action` whether accepted or refused; the 202 answer.
http::Response enqueue_backup_job(http::Request& req, const auth::Principal& who,
                                  db::Connection& conn, const store::Backup& backup,
                                  const std::string& action,
                                  const std::function<store::Job()>& enqueue) {
  store::Job job;
  try {
    job = enqueue();
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kConflict) {
      record_audit(conn, req, who, backup.project_id, action, backup.id, "refused: " + e.message());
    }
    throw;
  }
  record_audit(conn, req, who, backup.project_id, action, backup.id, "accepted");
  return http::json_data(boost::json::object{{"job_id", job.id},
                                             {"status", store::to_string(job.status)},
                                             {"project_id", job.project_id.value_or("")},
                                             {"backup_id", backup.id},
                                             {"created_at", format_rfc3339(job.created_at)}},
                         202);
}

http::Response enqueue_restore(ApiContext& ctx, http::Request& req) {
  auto who = authenticate(ctx, req);
  auto body = model::parse_restore_request(req.body);
  auto conn = ctx.pool.acquire();
  auto backup = store::get_backup(*conn, body.backup_id);
  if (!backup || !who.can_access(backup->project_id)) throw_not_found("backup not found");
  return enqueue_backup_job(req, who, *conn, *backup, "backup.restore", [&] {
    return workflows::enqueue_restore(*conn, *backup, ctx.clock.now(), who.subject);
  });
}

http::Response enqueue_verify(ApiContext& ctx, http::Request& req) {
  auto who = authenticate(ctx, req);
  auto id = require_uuid_param(req, "id", "backup");
  auto conn = ctx.pool.acquire();
  auto backup = store::get_backup(*conn, id);
  if (!backup || !who.can_access(backup->project_id)) throw_not_found("backup not found");
  return enqueue_backup_job(req, who, *conn, *backup, "backup.verify", [&] {
    if (ctx.config.verify_database_url.empty())
      throw_conflict(std::string(workflows::kVerifyNotConfigured));
    model::VerifyPayload payload;
    payload.backup_id = backup->id;
    payload.requested_by = who.subject;
    return workflows::enqueue_verify(*conn, *backup, ctx.clock.now(), payload,
                                     ctx.config.job_max_attempts);
  });
}

}  // namespace

std::vector<http::Route> restore_routes(ApiContext& ctx) {
  return {
      {"POST", "/api/backup/restore", http::RateClass::kWork,
       [&ctx](http::Request& req) { return enqueue_restore(ctx, req); }},
      {"POST", "/api/backups/{id}/verify", http::RateClass::kWork,
       [&ctx](http::Request& req) { return enqueue_verify(ctx, req); }},
  };
}

}  // namespace tb::api
