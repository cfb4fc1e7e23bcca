// schedule: the scheduler that turns backup settings' schedules into "export"
// jobs, and a small periodic-loop helper for background sweeps.
//
// Invariants:
// - Exactly once per (project, slot): every scheduled job carries the
//   idempotency key "scheduled:<project>:<slot RFC 3339>", and the queue's
//   unique key makes a second enqueue of the same slot return the first job.
//   So two schedulers that both believe they lead still enqueue a slot once.
// - One leader: only the process holding the store lock
//   store::kSchedulerLeaderLock (a control_plane row lock, which a tenant's
//   role cannot take; held on a connection of its own) enqueues. A lost
//   connection loses the lock; the next tick reconnects and tries again.
// - Only the LATEST due slot (<= now) is considered, so a scheduler that was
//   down for days catches up one slot, never a burst. Slots before the
//   schedule was saved (settings.updated_at, minus a grace of two ticks) are
//   not caught up.
// - Spread: run_at = slot + jitter(project), a deterministic hash of the
//   project id in [0, jitter_window), so thousands of projects scheduled at
//   the same minute start over the window; the workers' WORKER_CONCURRENCY
//   bounds how many run at once.
// - Together: when at least fleet_min_projects projects are due in the same
//   slot, they are one "fleet_export" job (key "scheduled-fleet:<slot>",
//   payload.projects = them, run at the slot): their schemas are dumped in
//   batches that share the catalog read. The run gives each project its own
//   export job under that project's key "scheduled:<project>:<slot>", so a
//   project is still backed up once per slot. A project due in the slot that
//   the slot's fleet job does not list (its schedule was saved after that
//   job was enqueued, or another scheduler enqueued it first with fewer) gets
//   its own export job as above.
// - A project's verify_schedule works the same way: at its latest due slot
//   a "verify" job of its newest completed backup (key "verify:<project>:<slot>").
// Time is injected: tick(now) does one pass and never sleeps (tests).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "db/connection.hpp"
#include "store/settings.hpp"

namespace tb::schedule {

struct SchedulerOptions {
  std::string conninfo;
  std::chrono::seconds tick{30};            // how often serve calls tick()
  std::chrono::seconds jitter_window{300};  // SCHEDULE_JITTER_SECONDS; 0 = none
  int max_attempts = 3;                     // of the enqueued export jobs
  // SCHEDULE_FLEET_MIN_PROJECTS: this many projects due in one slot run as one
  // fleet run; 0 = every project runs its own export.
  int fleet_min_projects = 2;
};

// The deterministic spread of a project's jobs: a value in [0, window).
std::chrono::seconds jitter_for(const std::string& project_id, std::chrono::seconds window);
// "scheduled:<project>:<slot RFC 3339>".
std::string idempotency_key(const std::string& project_id, SystemTime slot);
// "scheduled-fleet:<slot RFC 3339>": the fleet run of the projects due in a slot.
std::string fleet_idempotency_key(SystemTime slot);

struct TickResult {
  bool leader = false;
  int due = 0;         // projects with a due slot considered this tick
  int enqueued = 0;    // new jobs inserted (an existing key is not counted)
  int fleet_runs = 0;  // of which fleet runs
};

// One pass without leader election (the leader calls it; tests call it from
// two connections to prove idempotency): for every scheduled project, the
// latest slot <= now gets its export job. `skip` lets the caller avoid
// re-asking the database about slots it already enqueued.
TickResult enqueue_due(db::Connection& conn, SystemTime now, const SchedulerOptions& options,
                       std::map<std::string, SystemTime>* last_enqueued = nullptr);

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Tries to become (or checks it still is) the leader, then enqueues due
  // slots if it leads. Database errors are logged and end the pass (the
  // connection is dropped and re-opened next time); never throws.
  TickResult tick(SystemTime now);
  bool is_leader() const { return leader_; }
  // Gives the leadership up (closes the connection), e.g. before stopping.
  void resign();

 private:
  bool ensure_leader();

  SchedulerOptions options_;
  std::unique_ptr<db::Connection> lock_conn_;  // holds the leader lock's transaction, nothing else
  std::unique_ptr<db::Connection> conn_;       // the leader's enqueues
  bool leader_ = false;
  std::map<std::string, SystemTime> last_enqueued_;  // project -> slot, while leading
};

// Runs `task` every `interval` on its own thread until stop() (first run at
// once). Exceptions from the task are logged, never end the loop.
class PeriodicTask {
 public:
  PeriodicTask(std::string name, std::chrono::milliseconds interval, std::function<void()> task);
  ~PeriodicTask();  // stop()
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  void start();
  void stop();

 private:
  void loop();

  std::string name_;
  std::chrono::milliseconds interval_;
  std::function<void()> task_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tb::schedule
