// ProjectLock: one job at a time per project (a running export or restore),
// and the session names that make a frozen worker's lock breakable.
//
// Invariants:
// - While an export or restore job runs it holds ProjectLock (the store lock
//   "project <id>", a control_plane row lock on a dedicated connection, which
//   a tenant's role cannot take); another job of the same project waits for
//   it, at most `max_wait`.
// - Every database session a job opens for its project work (the lock's
//   connection, pg_dump, psql, pg_restore) carries the application_name
//   job_session_name(job) = "tb job <id> attempt <n>" (at most 63 bytes,
//   PostgreSQL's limit). A waiter whose lock is held by an attempt the queue
//   no longer runs (job not running, a later attempt, or its lease expired: a
//   frozen or hung worker) terminates that attempt's sessions and takes the
//   lock; a holder whose lease is valid is never touched.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "db/connection.hpp"
#include "metrics/registry.hpp"
#include "store/jobs.hpp"
#include "store/locks.hpp"

namespace tb::workflows {

// "tb job <id> attempt <n>": the application_name of every
// database session the attempt opens for its project work.
std::string job_session_name(const std::string& job_id, int attempt);
inline std::string job_session_name(const store::Job& job) {
  return job_session_name(job.id, job.attempts);
}

// Which job attempt a session name names; nullopt when `name` is not one
// (another program, an operator's psql, an older version of the service).
struct JobAttempt {
  std::string job_id;
  int attempt = 0;
};
std::optional<JobAttempt> parse_job_session_name(std::string_view name);

// `conninfo` (keyword/value or URL) with application_name set to `name`, as a
// keyword/value string (the password, if any, stays in it: this string goes
// to libpq or, through backup::pg_dump_command, to a child's environment).
// Throws tb::Error kInternal (without the conninfo) when it does not parse.
std::string with_application_name(const std::string& conninfo, const std::string& name);

struct ProjectLockOptions {
  // How long to wait for the project's other job (PROJECT_LOCK_WAIT_SECONDS).
  std::chrono::milliseconds max_wait{std::chrono::hours(6)};
  // Counts the waits that ran out (tb_project_lock_wait_timeouts_total); may be null.
  metrics::Counter* wait_timeouts = nullptr;
};

// The project's lock (store::project_lock_name) on its own connection, held
// for a job's duration. Waits (polling, so `cancel` is honoured) until it is
// free; throws tb::Error kConflict "cancelled" when cancel turned true first,
// and tb::Error kProjectBusy (retryable, public words) when `max_wait` passed
// first.
//
// Liveness: the lock's connection is named `session_name` (a
// job_session_name()). While waiting, it looks up the holder's
// application_name; when that names a job attempt that no longer owns its job
// (status not running, attempts moved on, or locked_until passed), it calls
// pg_terminate_backend() on every session carrying that name (the stale
// lock, its pg_dump/psql), logs a warning naming the job, and tries again.
// A holder with a valid lease, or one that is not a job session, is waited
// for. Terminating a session of the same role needs no superuser (PostgreSQL
// allows it to members of the role); if the server refuses, it is logged once
// and the lock is simply waited for.
class ProjectLock {
 public:
  ProjectLock(const std::string& conninfo, const std::string& project_id,
              const std::string& session_name, const std::atomic<bool>& cancel,
              const ProjectLockOptions& options = {});
  ~ProjectLock();  // closing the connection releases the lock
  ProjectLock(const ProjectLock&) = delete;
  ProjectLock& operator=(const ProjectLock&) = delete;

  // Throws tb::Error (kUnavailable, retryable) when the lock's session is
  // gone — the project's next job judged this attempt stale and broke it, or
  // the database restarted: whatever this attempt made must not be recorded.
  void ensure_held();

 private:
  // One look at the holder; true when a stale holder was terminated.
  bool break_stale_holder(const std::string& project_id, const store::LockHolder& holder);

  std::unique_ptr<db::Connection> conn_;
  std::string session_name_;
  bool warned_refused_ = false;
};

}  // namespace tb::workflows
