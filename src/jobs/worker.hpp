// jobs: the worker runtime of the PostgreSQL job queue (control_plane.jobs).
//
// A Worker runs `concurrency` threads; each claims one job at a time
// (store::claim_job, FOR UPDATE SKIP LOCKED) and runs the handler registered
// for its type. While a handler runs, a renewer thread extends the lease every
// lease/3 and raises the job's cancel flag when someone requested a cancel or
// when the lease was lost. A maintenance thread LISTENs on "tb_jobs" (new jobs
// wake idle threads within milliseconds) and periodically hands expired leases
// of dead workers back (store::rescue_expired_jobs).
//
// Outcomes:
// - handler returns: one transaction does the guarded complete_job AND the
//   handler's in_completion_tx (e.g. insert the backups row): both commit or
//   neither. If the guard fails (lease lost) or a cancel was requested, the
//   outcome is discarded (on_discarded runs) and nothing is written.
// - handler throws: the error's code decides (tb::is_retryable). A retryable
//   code (INTERNAL, UNAVAILABLE, PROJECT_BUSY) or any exception that is not a
//   tb::Error is retried with exponential backoff until max_attempts; any
//   other code (bad input, a refusal, a missing object) fails the job at once.
//   The error's public message() and code are stored with the attempt. A job
//   whose cancel was requested ends `cancelled` whichever way its handler ends.
// - stop(): claims stop; running handlers get `stop_timeout` to finish, then
//   their cancel flag is raised and the jobs they give up are handed back
//   (pending, the attempt not counted) for another worker.
// Handlers must honour cancel_flag() (kill pg_dump, stop uploads) promptly.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "db/connection.hpp"
#include "db/listener.hpp"
#include "jobs/lease_keeper.hpp"
#include "model/jobs.hpp"
#include "store/jobs.hpp"

namespace tb::jobs {

// The job's payload as its type's struct (model/jobs.hpp). A payload that does
// not parse fails the job for good: every retry would read the same bytes.
template <class Payload>
Payload payload_of(const JobContext& ctx);

class JobContext {
 public:
  JobContext(store::Job job, db::Connection& conn, std::string worker_id,
             std::chrono::milliseconds progress_interval);

  const store::Job& job() const { return job_; }
  const std::string& worker_id() const { return worker_id_; }

  // Stores `progress` in jobs.progress, at most every progress_interval (the
  // latest value is flushed when the handler ends). Thread-safe; never throws.
  void report_progress(boost::json::object progress);
  // Stores `progress` now, unthrottled, before returning (same guard by worker
  // id and attempt; a failed guard marks the lease lost and raises the cancel
  // flag). For records a retry relies on, e.g. a Telegram part Telegram has
  // confirmed: it must be durable before the next part is sent, or a worker
  // killed in between makes the retry send that part again. Thread-safe; never
  // throws. Returns whether the record is stored: false after a database
  // error (logged; the record stays pending for the final flush) or a failed
  // guard — the caller should not go on as if it were durable.
  bool save_progress_now(boost::json::object progress);

  // Raised when a cancel was requested, the lease was lost, or the worker is
  // shutting down: stop and throw (or return) soon.
  bool cancel_requested() const { return cancel_.load(); }
  const std::atomic<bool>& cancel_flag() const { return cancel_; }
  // True when another worker may own the job now: nothing the handler does
  // will be committed.
  bool lease_lost() const { return lost_.load(); }

  // The worker thread's connection, for reads the handler needs. Use it only
  // from the handler's own thread and leave no transaction open.
  db::Connection& db() { return conn_; }

 private:
  friend class Worker;
  friend class LeaseKeeper;
  void flush_progress();
  bool write_unsent_progress();

  store::Job job_;
  db::Connection& conn_;
  std::string worker_id_;
  std::chrono::milliseconds progress_interval_;
  std::atomic<bool> cancel_{false};
  std::atomic<bool> user_cancel_{false};  // cancel_requested seen in the database
  std::atomic<bool> lost_{false};
  std::mutex progress_mutex_;
  std::optional<boost::json::object> unsent_progress_;
  std::chrono::steady_clock::time_point last_progress_{};
};

struct JobOutcome {
  boost::json::value result;  // stored in jobs.result
  // Runs inside the completion transaction, after the guarded complete.
  std::function<void(db::Connection&)> in_completion_tx;
  // Runs after that transaction committed (e-mails, metrics). Errors logged.
  std::function<void()> after_commit;
  // Runs when the outcome is thrown away (lease lost, cancelled, completion
  // failed): clean up what the handler made (uploaded files). Errors logged.
  std::function<void()> on_discarded;
  // Set: the job is not done; it runs again after this delay (a new attempt
  // that does not count), with `result` as its progress, which the next run
  // reads as its state. in_completion_tx and after_commit are not run.
  std::optional<std::chrono::milliseconds> continue_after;
};

using Handler = std::function<JobOutcome(JobContext&)>;

template <class Payload>
Payload payload_of(const JobContext& ctx) {
  try {
    return model::from_json<Payload>(ctx.job().payload);
  } catch (const Error& e) {
    throw Error(ErrorCode::kValidation, "the job's payload cannot be read: " + e.message(),
                e.detail());
  }
}

struct WorkerOptions {
  std::string conninfo;
  int concurrency = 2;
  std::chrono::milliseconds lease{std::chrono::seconds(30)};
  std::string worker_id;                          // "host:pid:n" when empty; threads append "/<i>"
  std::chrono::milliseconds poll_interval{2000};  // idle re-check without a NOTIFY
  std::chrono::milliseconds rescue_interval{5000};   // rescue_expired_jobs period
  std::chrono::milliseconds progress_interval{250};  // report_progress throttle
  std::chrono::milliseconds stop_timeout{std::chrono::seconds(30)};
  store::RetryPolicy retry;
  store::JitterSource jitter;  // default: random
  // Runs for each job a rescue ended for good (its last attempt's worker was
  // lost, so no handler ran to the end to clean up or tell anyone). It runs
  // once per job, on the worker whose rescue claimed it. Errors are logged.
  std::function<void(const store::Job&)> on_lost_for_good;
};

class Worker {
 public:
  Worker(WorkerOptions options, std::map<std::string, Handler> handlers_by_type);
  ~Worker();  // stop()
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  void stop();
  // Tests and the CLI: claims and runs at most one job on the calling thread
  // (with lease renewal); returns whether one ran. Do not mix with start().
  bool run_once();
  // One rescue pass (what the maintenance thread does periodically).
  int rescue_once();

  const std::string& worker_id() const { return options_.worker_id; }
  int running_jobs() const;

 private:
  struct Slot {
    std::string id;
    std::unique_ptr<db::Connection> conn;
    std::unique_ptr<LeaseKeeper> keeper;  // created with the slot's first job
  };
  bool run_one(Slot& slot);
  void finish(Slot& slot, JobContext& ctx, const Handler& handler);
  // Records a handler's outcome under the job's guard: completed (then its
  // after_commit hook), cancelled or no longer ours (then on_discarded).
  // Errors propagate to finish(), which records them as a failed attempt.
  void commit_outcome(db::Connection& conn, const std::string& slot_id, const store::Job& job,
                      JobOutcome& outcome, std::int64_t ms);
  void slot_loop(Slot& slot);
  void maintenance_loop();

  WorkerOptions options_;
  std::map<std::string, Handler> handlers_;
  std::vector<std::string> types_;

  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> shutdown_abort_{false};
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::thread> threads_;
  std::thread maintenance_;
  Slot sync_slot_;
  std::unique_ptr<db::Connection> rescue_conn_;

  mutable std::mutex mutex_;  // guards wake_generation_, active_
  std::condition_variable wake_;
  std::uint64_t wake_generation_ = 0;
  std::set<JobContext*> active_;
  std::condition_variable idle_cv_;  // active_ became empty
  std::unique_ptr<db::Listener> listener_;
};

}  // namespace tb::jobs
