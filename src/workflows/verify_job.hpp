// The "verify" job: does a backup restore, and does it hold what it says?
//
// The job fetches the backup wherever it is (local copy, S3, Telegram;
// workflows/backup_file), then backup::run_restore replays it — SHA-256
// first, age decryption when encrypted, the restore guard, as the tenant and
// never as the service — into a throwaway database of the scratch cluster
// (backup/scratch_database.hpp), and compares every table's count(*) with
// the manifest counted when the backup was made. A table in one and not the
// other fails. The scratch database and its role are dropped whichever way
// the job ends; the live schema is never touched, and two verifications (of
// one tenant too) never share a database.
//
// The result is recorded on the backup (`verification`: passed | failed,
// at, detail). A failure is also e-mailed to the project's notify address,
// counted in tb_verification_failures_total and audited, and fails the job
// for good (CONFLICT). What cannot run for reasons outside the backup (the
// scratch cluster unreachable) is retried like any job and records nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "backup/manifest.hpp"
#include "core/clock.hpp"
#include "db/connection.hpp"
#include "jobs/worker.hpp"
#include "store/backups.hpp"
#include "store/jobs.hpp"
#include "workflows/handlers.hpp"

namespace tb::workflows {

// Refuses (CONFLICT) a backup that cannot be verified: not restorable
// (require_restorable), or made before manifests were recorded.
void require_verifiable(const store::Backup& backup, SystemTime now);

// The refusal when this server has no VERIFY_DATABASE_URL.
inline constexpr std::string_view kVerifyNotConfigured =
    "verification is not set up on this server (VERIFY_DATABASE_URL is unset): ask the "
    "operator to configure a scratch database";

// Checks require_verifiable(), then enqueues the job.
store::Job enqueue_verify(db::Connection& conn, const store::Backup& backup, SystemTime now,
                          const model::VerifyPayload& payload, int max_attempts);

jobs::JobOutcome run_verify_job(const Dependencies& deps, jobs::JobContext& ctx);

// What a restore and its manifest disagree on, "" when every table matches.
std::string compare_with_manifest(const backup::Manifest& manifest,
                                  const std::map<std::string, std::uint64_t>& restored);

// Drops the scratch databases and roles of verifications that no longer run
// (a process died mid-way). Returns how many names it removed.
int sweep_verify_leftovers(const Options& options, db::Connection& control);

}  // namespace tb::workflows
