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
};

inline ProjectLockOptions project_lock_options(const Dependencies& deps) {
  return ProjectLockOptions{deps.options.project_lock_wait, deps.lock_wait_timeouts};
}

std::map<std::string, jobs::Handler> job_handlers(const Dependencies& deps);

}  // namespace tb::workflows
