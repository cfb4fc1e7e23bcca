// store/job_queries: what other modules ask the job queue about its jobs
// (is one of this kind already under way, is a lock holder's job still
// alive), so that the SQL on control_plane.jobs stays in store/.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "db/connection.hpp"
#include "model/jobs.hpp"
#include "store/jobs.hpp"

namespace tb::store {

// The id of a pending or running job of `type` for the project, if any.
std::optional<std::string> active_project_job(db::Connection& conn, const std::string& project_id,
                                              model::JobType type);
// The id of the oldest pending or running job of `type` whose payload names
// `backup_id`, if any.
std::optional<std::string> active_backup_job(db::Connection& conn, model::JobType type,
                                             const std::string& backup_id);
// The ids of every pending or running job of `type`.
std::vector<std::string> active_job_ids(db::Connection& conn, model::JobType type);
// Whether a job with this idempotency key exists (in any status).
bool job_key_exists(db::Connection& conn, const std::string& idempotency_key);

// Who runs a job now, by the database clock.
struct JobLease {
  JobStatus status = JobStatus::kPending;
  int attempts = 0;
  bool lease_live = false;  // locked_until is in the future
};
std::optional<JobLease> job_lease(db::Connection& conn, const std::string& id);

// Holds the project's row locked until the transaction ends: serialises
// "check, then enqueue" per project. A row lock, not an advisory lock: a
// tenant's role may take any advisory lock and hold it.
void lock_project_row(db::Connection& conn, const std::string& project_id);

}  // namespace tb::store
