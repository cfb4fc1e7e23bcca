// The "restore" job and how one is requested.
//
// Invariants:
// - At most one restore per project is pending or running: enqueue_restore()
//   checks and inserts holding the project's row locked, so two
//   concurrent requests (API, CLI, several servers) cannot both pass.
// - Only a completed, unexpired backup is restored; the job re-checks this
//   when it starts (the backup may have been deleted meanwhile).
// - While a restore job runs it holds ProjectLock (workflows/project_lock.hpp);
//   an export job of the same project waits for it (and vice versa).
// - The job's result names the set-aside schema (`pre_restore_schema`, null
//   when the schema did not exist); it is kept for RESTORE_KEEP_DAYS (the
//   retention sweep drops `tenant_<slug>__pre_restore_*` schemas).
#pragma once

#include <string>

#include "core/clock.hpp"
#include "db/connection.hpp"
#include "jobs/worker.hpp"
#include "store/backups.hpp"
#include "store/jobs.hpp"
#include "workflows/handlers.hpp"
#include "workflows/project_lock.hpp"

namespace tb::workflows {

// Refuses (tb::Error kConflict, public message) a backup that is not
// restorable at `now`: deleted, expired, failed, or without a checksum.
void require_restorable(const store::Backup& backup, SystemTime now);

// Checks require_restorable() and that no restore of the backup's project is
// pending or running (409 CONFLICT otherwise), then enqueues the job
// (max_attempts 1: a restore is never retried behind the user's back).
// `requested_by` is recorded in the payload for the audit log.
store::Job enqueue_restore(db::Connection& conn, const store::Backup& backup, SystemTime now,
                           const std::string& requested_by);

jobs::JobOutcome run_restore_job(const Dependencies& deps, jobs::JobContext& ctx);

}  // namespace tb::workflows
