// The "export" job: pg_dump of the project's schema → compression → SHA-256 →
// local file (atomic) → Telegram parts (when asked), then one transaction
// records the backups row and completes the job. A failure at any step leaves
// no row saying completed.
//
// With Telegram, the local copy is committed first and recorded in the job's
// progress (export_copy.hpp); a retried attempt reuses that file when its
// SHA-256 still matches (so its Telegram parts confirmed earlier are not sent
// again), and the file is removed when the job gives up for good.
//
// The payload's notify_email hears of the backup once: when it completed, or
// when the job failed for good.
#pragma once

#include "jobs/worker.hpp"
#include "workflows/handlers.hpp"

namespace tb::workflows {

jobs::JobOutcome export_job_with_notice(const Dependencies& deps, jobs::JobContext& ctx);

// A job whose last attempt's worker was lost (its lease expired): the notice
// goes out and the copy that attempt committed is removed, as when an attempt
// gives up by itself.
void export_lost_for_good(const Dependencies& deps, const store::Job& job);

}  // namespace tb::workflows
