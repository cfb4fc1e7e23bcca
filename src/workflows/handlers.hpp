// The job types, end to end: what a worker does for an "export" job, and for
// "restore", "telegram_send", "telegram_fetch" and "telegram_delete". Each handler loads what it
// needs from the control plane, runs the use case from backup/, and returns
// the rows to record in the same transaction that completes the job.
#pragma once

#include <map>
#include <string>

#include "core/clock.hpp"
#include "jobs/worker.hpp"
#include "metrics/registry.hpp"
#include "workflows/options.hpp"
#include "workflows/project_lock.hpp"

namespace tb::workflows {

struct Dependencies {
  const Options& options;
  const Clock& clock;
  // tb_project_lock_wait_timeouts_total; null when nothing is exported (CLI, tests).
  metrics::Counter* lock_wait_timeouts = nullptr;
  // Fleet runs' figures (tb_fleet_*); null when nothing is exported.
  metrics::Registry* metrics = nullptr;
  // tb_verification_failures_total; null when nothing is exported.
  metrics::Counter* verification_failures = nullptr;
};

inline ProjectLockOptions project_lock_options(const Dependencies& deps) {
  return ProjectLockOptions{deps.options.project_lock_wait, deps.lock_wait_timeouts};
}

// The project's lock for this job attempt, its session named after the
// attempt (job_session_name), so that if this worker freezes past its lease
// the project's next job can end its sessions instead of waiting for it.
inline ProjectLock lock_project_for_job(const Dependencies& deps, jobs::JobContext& ctx,
                                        const std::string& project_id) {
  return ProjectLock(deps.options.database_url, project_id, job_session_name(ctx.job()),
                     ctx.cancel_flag(), project_lock_options(deps));
}

// The handler of every job type (handlers.cpp), keyed by model::JobType's names.
std::map<std::string, jobs::Handler> job_handlers(const Dependencies& deps);
// What follows when a job's last attempt was lost with its worker
// (jobs::WorkerOptions::on_lost_for_good): an export's failure notice.
void job_lost_for_good(const Dependencies& deps, const store::Job& job);

}  // namespace tb::workflows
