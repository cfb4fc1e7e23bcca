// The "fleet_export" job: every project (or the listed ones) backed up in one
// run, their schemas dumped in batches that share one catalog read and one
// snapshot, each tenant still getting its own standalone backup.
//
// The run works in steps (jobs::JobOutcome::continue_after), so that it never
// holds a worker while its tenants run, whatever WORKER_CONCURRENCY is:
//   1. plan: the projects, their schemas' relation counts, the batches
//      (fleet/plan.hpp); tenants too big for a batch, and projects whose
//      schema is missing, get an export job of their own at once;
//   2. per batch: one pg_dump of its schemas into STORAGE_DIR/.fleet/<run>/
//      (fleet/batch_dump.hpp), then one "export" job per tenant that names
//      the run and the batch (payload.fleet): its first attempt cuts the
//      tenant out of the batch instead of running pg_dump; everything else
//      (settings, encryption, destinations, its backups row, history, retries,
//      notices) is a single export's. A table another session holds
//      exclusively fails the batch's pg_dump after FleetOptions::lock_wait;
//      its tenant then gets its own export job and the batch is dumped
//      again without it;
//   3. wait until the batch's tenants ended, remove its dump, next batch;
//   4. the result: how many completed, the failures (project, job, reason),
//      the duration and tenants per second.
// Cancelling the run cancels its tenants' jobs that did not end.
#pragma once

#include "jobs/worker.hpp"
#include "workflows/handlers.hpp"

namespace tb::workflows {

jobs::JobOutcome run_fleet_job(const Dependencies& deps, jobs::JobContext& ctx);

// Where a fleet run keeps its batch dumps.
std::string fleet_dir(const Options& options, const std::string& run);

}  // namespace tb::workflows
