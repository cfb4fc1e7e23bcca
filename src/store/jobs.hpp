// store/jobs: the PostgreSQL job queue (control_plane.jobs).
//
// Invariants:
// - Status moves pending -> running -> completed | failed | cancelled, or back
//   to pending for a retry. Only claim_job() makes a job running.
// - claim_job() uses FOR UPDATE SKIP LOCKED, so concurrent workers (threads,
//   processes, machines) never claim the same pending job.
// - A running job is owned by (locked_by, attempts). Every call that changes a
//   running job (renew, progress, complete, fail, release) is GUARDED by
//   id + locked_by + attempts + status='running': a worker that stalled past its
//   lease and lost the job to rescue_expired_jobs() + another worker's claim
//   cannot touch it any more; the call returns false / nullopt instead.
// - Leases use the database clock (now()), so machines with skewed clocks agree.
// - `errors` keeps every failed attempt's reason: [{attempt, at, error}];
//   last_error is the newest. A job whose cancel was requested that fails or
//   whose lease expires ends `cancelled`, not failed or retried.
// - Times are tb::SystemTime (microseconds from the database); to_json renders
//   RFC 3339 UTC strings.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "db/connection.hpp"
#include "model/jobs.hpp"

namespace tb::store {

enum class JobStatus { kPending, kRunning, kCompleted, kFailed, kCancelled };
std::string_view to_string(JobStatus s);
JobStatus parse_job_status(std::string_view s);  // throws kInternal on unknown
inline bool is_terminal(JobStatus s) {
  return s == JobStatus::kCompleted || s == JobStatus::kFailed || s == JobStatus::kCancelled;
}

struct Job {
  std::string id;  // uuid
  std::string type;
  std::optional<std::string> project_id;
  boost::json::object payload;
  JobStatus status = JobStatus::kPending;
  int attempts = 0;
  int max_attempts = 3;
  SystemTime run_at{};
  std::optional<std::string> locked_by;
  std::optional<SystemTime> locked_until;
  boost::json::value progress;  // null until reported
  boost::json::value result;    // null until completed
  std::optional<std::string> last_error;
  boost::json::array errors;  // [{attempt, at, error}]
  bool cancel_requested = false;
  std::optional<std::string> idempotency_key;
  SystemTime created_at{};
  std::optional<SystemTime> started_at;  // start of the latest attempt
  std::optional<SystemTime> completed_at;
};

// The API shape (GET /api/jobs/{id}): id, type, project_id, status, attempts,
// max_attempts, progress, result, last_error, errors, cancel_requested,
// run_at, created_at, started_at, completed_at (RFC 3339 or null).
boost::json::object to_json(const Job& job);

struct NewJob {
  std::string type;
  std::optional<std::string> project_id;
  boost::json::object payload;
  int max_attempts = 3;
  std::optional<SystemTime> run_at;  // default: now() (database clock)
  std::optional<std::string> idempotency_key;
};

// A NewJob for a typed payload (model/jobs.hpp): its type and JSON come
// from the payload struct, so the two cannot disagree.
template <class Payload>
NewJob new_job(const Payload& payload, std::optional<std::string> project_id, int max_attempts) {
  NewJob job;
  job.type = std::string(model::to_string(Payload::kType));
  job.project_id = std::move(project_id);
  job.payload = model::to_json(payload);
  job.max_attempts = max_attempts;
  return job;
}

// Retry delays: base * 2^(attempt-1), capped, times a jitter factor in
// [1 - jitter, 1 + jitter]. `unit_random` is a value in [0, 1) (injectable).
struct RetryPolicy {
  std::chrono::milliseconds base{2000};
  std::chrono::milliseconds cap{std::chrono::minutes(5)};
  double jitter = 0.2;
};
std::chrono::milliseconds retry_delay(const RetryPolicy& policy, int attempt, double unit_random);
using JitterSource = std::function<double()>;  // returns [0, 1)
JitterSource default_jitter();

// Inserts a pending job (the insert trigger NOTIFYs channel "tb_jobs"). With an
// idempotency key that already exists, returns the existing job instead (no error).
Job enqueue_job(db::Connection& conn, const NewJob& job);
std::optional<Job> get_job(db::Connection& conn,
                           const std::string& id);  // nullopt for a non-uuid too
std::vector<Job> list_jobs(db::Connection& conn, const std::string& project_id, int limit = 50);

// Claims the oldest due pending job of one of `types` (all types when empty):
// status running, attempts + 1, locked_by = worker_id, locked_until = now() + lease.
std::optional<Job> claim_job(db::Connection& conn, const std::string& worker_id,
                             std::chrono::milliseconds lease,
                             const std::vector<std::string>& types = {});

struct RenewResult {
  bool held = false;              // false: we lost the job, stop working on it
  bool cancel_requested = false;  // someone asked to cancel it
};
RenewResult renew_job(db::Connection& conn, const std::string& id, const std::string& worker_id,
                      int attempt, std::chrono::milliseconds lease);
bool update_job_progress(db::Connection& conn, const std::string& id, const std::string& worker_id,
                         int attempt, const boost::json::value& progress);
// Marks the job completed with `result`. False when the guard failed (lost lease).
bool complete_job(db::Connection& conn, const std::string& id, const std::string& worker_id,
                  int attempt, const boost::json::value& result);
// complete_job for an outcome with nothing else to commit, in one statement:
// completed with `result`, or cancelled (last_error "cancelled") when a cancel
// was requested meanwhile. nullopt when the guard failed (lost lease).
std::optional<JobStatus> complete_job_unless_cancelled(db::Connection& conn, const std::string& id,
                                                       const std::string& worker_id, int attempt,
                                                       const boost::json::value& result);
// Records the attempt's error; then pending again (run_at = now + retry_delay)
// when `retryable` and attempts < max_attempts, cancelled when a cancel was
// requested, failed otherwise. Returns the new status, nullopt when the guard failed.
// The attempt's entry in `errors` also carries `code`, the error's stable code
// (core/error's code_name, e.g. "PROJECT_BUSY").
std::optional<JobStatus> fail_job(db::Connection& conn, const std::string& id,
                                  const std::string& worker_id, int attempt,
                                  const std::string& error, bool retryable,
                                  const RetryPolicy& policy = {},
                                  const JitterSource& jitter = default_jitter(),
                                  std::string_view code = "INTERNAL");
// Inside the completion transaction: locks the job's row (FOR UPDATE) when
// this attempt still owns it and returns its cancel_requested; nullopt when
// the guard failed (lease lost), so nothing may be committed for it.
std::optional<bool> lock_owned_job(db::Connection& conn, const std::string& id,
                                   const std::string& worker_id, int attempt);
// Ends a running job as cancelled (its handler stopped after a cancel request).
bool finish_cancelled_job(db::Connection& conn, const std::string& id, const std::string& worker_id,
                          int attempt, const std::string& reason = "cancelled");
// Hands a running job back without counting the attempt (graceful shutdown):
// pending (cancelled if a cancel was requested meanwhile), run_at now(), attempts - 1.
bool release_job(db::Connection& conn, const std::string& id, const std::string& worker_id,
                 int attempt);
// A job that does its work in steps (a fleet run waiting for its tenants)
// ends this step: pending again at now() + delay with `progress` as its state,
// the attempt not counted (cancelled instead when a cancel was requested).
// nullopt when the guard failed.
std::optional<JobStatus> continue_job_later(db::Connection& conn, const std::string& id,
                                            const std::string& worker_id, int attempt,
                                            std::chrono::milliseconds delay,
                                            const boost::json::value& progress);
// Running jobs whose lease expired (worker lost): back to pending with backoff
// (jitter from the database's random()), or failed when out of attempts, or
// cancelled when a cancel was requested; the lost attempt is recorded in
// errors as "lease expired (worker lost)". Returns the rescued jobs as they
// are now; each comes back to exactly one caller, however many rescue at once.
std::vector<Job> rescue_expired_jobs(db::Connection& conn, const RetryPolicy& policy = {});
// Cancels: pending -> cancelled at once; running -> cancel_requested (the
// worker sees it on its next renewal and stops); terminal jobs unchanged.
// Returns the job after the change, nullopt when it does not exist.
std::optional<Job> cancel_job(db::Connection& conn, const std::string& id);
bool is_cancel_requested(db::Connection& conn, const std::string& id);

}  // namespace tb::store
