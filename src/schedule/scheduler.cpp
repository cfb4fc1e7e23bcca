#include "schedule/scheduler.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <set>

#include "model/jobs.hpp"
#include "model/schedule.hpp"
#include "store/backups.hpp"
#include "store/job_queries.hpp"
#include "store/jobs.hpp"
#include "store/locks.hpp"

namespace tb::schedule {
namespace {

// FNV-1a 64: stable across compilers and runs (std::hash is not specified),
// so a project keeps its place in the window across restarts and leaders.
std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

model::ExportPayload payload_for(const store::BackupSettings& s, SystemTime slot) {
  auto p = store::export_payload_of(s, "scheduled");
  p.slot = format_rfc3339(slot);
  return p;
}

// The verification schedule's slot: a "verify" job of the project's newest
// completed backup, once per slot (key "verify:<project>:<slot>"). A project
// without a backup that has a manifest has nothing to verify at this slot.
bool enqueue_due_verification(db::Connection& conn, const store::BackupSettings& s, SystemTime slot,
                              const SchedulerOptions& options) {
  const auto key = "verify:" + s.project_id + ":" + format_rfc3339(slot);
  if (store::job_key_exists(conn, key)) return false;
  auto backup = store::newest_completed_backup(conn, s.project_id);
  if (!backup || backup->tables.is_null() || !backup->sha256) {
    spdlog::info("scheduler: '{}' has no backup with a manifest to verify at {}", s.project_id,
                 format_rfc3339(slot));
    return false;
  }
  model::VerifyPayload p;
  p.backup_id = backup->id;
  p.kind = "scheduled";
  auto job = store::new_job(p, s.project_id, options.max_attempts);
  job.run_at = slot + jitter_for(s.project_id, options.jitter_window);
  job.idempotency_key = key;
  store::enqueue_job(conn, job);
  spdlog::info("scheduler: enqueued the {} verification of '{}' (backup {})", format_rfc3339(slot),
               s.project_id, backup->id);
  return true;
}

// The project's own export job for the slot; false when its key exists.
bool enqueue_alone(db::Connection& conn, const store::BackupSettings& s, SystemTime slot,
                   const SchedulerOptions& options) {
  auto key = idempotency_key(s.project_id, slot);
  // The pre-check only saves work and tells "new" from "already there"; the
  // unique key is what makes the enqueue exactly-once under races.
  if (store::job_key_exists(conn, key)) return false;
  auto job = store::new_job(payload_for(s, slot), s.project_id, options.max_attempts);
  job.run_at = slot + jitter_for(s.project_id, options.jitter_window);
  job.idempotency_key = key;
  store::enqueue_job(conn, job);
  spdlog::info("scheduler: enqueued the {} backup of '{}'", format_rfc3339(slot), s.project_id);
  return true;
}

// The slot's fleet run of `due` (projects without their own job for the
// slot yet). Returns the projects it does not cover, which run alone: the
// slot's fleet job may exist already, enqueued by an earlier tick or another
// scheduler for fewer projects.
std::vector<const store::BackupSettings*> enqueue_fleet(
    db::Connection& conn, SystemTime slot, const std::vector<const store::BackupSettings*>& due,
    const SchedulerOptions& options, TickResult& result) {
  const auto key = fleet_idempotency_key(slot);
  const bool existed = store::job_key_exists(conn, key);
  model::FleetExportPayload payload;
  payload.kind = "scheduled";
  payload.slot = format_rfc3339(slot);
  payload.projects.reserve(due.size());
  for (const auto* s : due) payload.projects.push_back(s->project_id);
  auto job = store::new_job(payload, std::nullopt, options.max_attempts);
  job.run_at = slot;
  job.idempotency_key = key;
  const auto fleet = store::enqueue_job(conn, job);
  if (!existed) {
    ++result.enqueued;
    ++result.fleet_runs;
    spdlog::info("scheduler: enqueued the {} fleet run of {} projects (job {})",
                 format_rfc3339(slot), due.size(), fleet.id);
  }
  const auto listed = model::from_json<model::FleetExportPayload>(fleet.payload).projects;
  const std::set<std::string> covered(listed.begin(), listed.end());
  std::vector<const store::BackupSettings*> rest;
  for (const auto* s : due) {
    if (covered.count(s->project_id) == 0) rest.push_back(s);
  }
  return rest;
}

}  // namespace

std::chrono::seconds jitter_for(const std::string& project_id, std::chrono::seconds window) {
  if (window.count() <= 0) return std::chrono::seconds(0);
  return std::chrono::seconds(
      static_cast<std::int64_t>(fnv1a(project_id) % static_cast<std::uint64_t>(window.count())));
}

std::string idempotency_key(const std::string& project_id, SystemTime slot) {
  return model::scheduled_export_key(project_id, format_rfc3339(slot));
}

std::string fleet_idempotency_key(SystemTime slot) {
  return "scheduled-fleet:" + format_rfc3339(slot);
}

TickResult enqueue_due(db::Connection& conn, SystemTime now, const SchedulerOptions& options,
                       std::map<std::string, SystemTime>* last_enqueued) {
  TickResult result;
  result.leader = true;
  const auto scheduled = store::list_scheduled_settings(conn);
  // The projects due now, by slot, that this scheduler has not handled yet.
  std::map<SystemTime, std::vector<const store::BackupSettings*>> due_by_slot;
  for (const auto& s : scheduled) {
    std::optional<SystemTime> slot;
    try {
      slot = model::latest_slot(model::schedule_from_text(s.schedule), now);
    } catch (const std::exception& e) {
      // One bad row must not stop every other project's backups.
      spdlog::warn("scheduler: project '{}' has an unusable schedule '{}': {}", s.project_id,
                   s.schedule, e.what());
      continue;
    }
    if (!slot) continue;
    // A schedule applies from when it was saved: a slot earlier than that is
    // not "missed" (grace: the scheduler may not have ticked yet at save time).
    if (s.updated_at && *slot < *s.updated_at - 2 * options.tick) continue;
    if (last_enqueued) {
      auto it = last_enqueued->find(s.project_id);
      if (it != last_enqueued->end() && it->second >= *slot) continue;
    }
    ++result.due;
    due_by_slot[*slot].push_back(&s);
  }
  for (const auto& [slot, due] : due_by_slot) {
    std::vector<const store::BackupSettings*> waiting;  // no job of their own for the slot yet
    waiting.reserve(due.size());
    for (const auto* s : due) {
      if (!store::job_key_exists(conn, idempotency_key(s->project_id, slot))) waiting.push_back(s);
    }
    // Once the slot's fleet job exists, it is asked even for one project:
    // the project may be one it lists.
    const bool together = options.fleet_min_projects > 0 && !waiting.empty() &&
                          (waiting.size() >= static_cast<std::size_t>(options.fleet_min_projects) ||
                           store::job_key_exists(conn, fleet_idempotency_key(slot)));
    const auto alone = together ? enqueue_fleet(conn, slot, waiting, options, result) : waiting;
    for (const auto* s : alone) {
      if (enqueue_alone(conn, *s, slot, options)) ++result.enqueued;
    }
    if (last_enqueued) {
      for (const auto* s : due) (*last_enqueued)[s->project_id] = slot;
    }
  }
  for (const auto& s : store::list_verify_scheduled_settings(conn)) {
    std::optional<SystemTime> slot;
    try {
      slot = model::latest_slot(model::schedule_from_text(s.verify_schedule), now);
    } catch (const std::exception& e) {
      spdlog::warn("scheduler: project '{}' has an unusable verify schedule '{}': {}", s.project_id,
                   s.verify_schedule, e.what());
      continue;
    }
    if (!slot || (s.updated_at && *slot < *s.updated_at - 2 * options.tick)) continue;
    const auto memo = "verify:" + s.project_id;
    if (last_enqueued) {
      auto it = last_enqueued->find(memo);
      if (it != last_enqueued->end() && it->second >= *slot) continue;
    }
    ++result.due;
    if (enqueue_due_verification(conn, s, *slot, options)) ++result.enqueued;
    if (last_enqueued) (*last_enqueued)[memo] = *slot;
  }
  return result;
}

Scheduler::Scheduler(SchedulerOptions options) : options_(std::move(options)) {}

Scheduler::~Scheduler() {
  resign();
}

void Scheduler::resign() {
  // Release explicitly: closing the session releases the lock too, but only
  // once the server has noticed, so another process could miss its turn.
  if (leader_ && lock_conn_ && lock_conn_->ok()) {
    try {
      store::unlock(*lock_conn_);
    } catch (const std::exception& e) {
      // The session is going away anyway; its end releases the lock.
      spdlog::info(
          "scheduler: releasing the leader lock failed (the session's end releases it): {}",
          e.what());
    }
  }
  lock_conn_.reset();
  conn_.reset();
  leader_ = false;
  last_enqueued_.clear();
}

bool Scheduler::ensure_leader() {
  if ((lock_conn_ && !lock_conn_->ok()) || (conn_ && !conn_->ok())) resign();
  db::reconnect_if_broken(lock_conn_, options_.conninfo);
  if (leader_) {
    // The lock lives as long as its transaction: a round trip proves both.
    lock_conn_->exec("SELECT 1");
    return true;
  }
  leader_ = store::try_lock(*lock_conn_, store::kSchedulerLeaderLock);
  if (leader_) {
    db::reconnect_if_broken(conn_, options_.conninfo);
    spdlog::info("scheduler: this process is now the scheduling leader");
  }
  return leader_;
}

TickResult Scheduler::tick(SystemTime now) {
  TickResult result;
  try {
    if (!ensure_leader()) return result;
    result = enqueue_due(*conn_, now, options_, &last_enqueued_);
  } catch (const std::exception& e) {
    spdlog::warn("scheduler: tick failed: {}", e.what());
    resign();
    result.leader = false;
  }
  return result;
}

PeriodicTask::PeriodicTask(std::string name, std::chrono::milliseconds interval,
                           std::function<void()> task)
    : name_(std::move(name)), interval_(interval), task_(std::move(task)) {}

PeriodicTask::~PeriodicTask() {
  stop();
}

void PeriodicTask::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { loop(); });
}

void PeriodicTask::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeriodicTask::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      task_();
    } catch (const std::exception& e) {
      spdlog::warn("{}: {}", name_, e.what());
    }
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace tb::schedule
