#include "jobs/worker.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "core/public_text.hpp"

namespace tb::jobs {
namespace {

using Clock = std::chrono::steady_clock;

std::string default_worker_id() {
  static std::atomic<int> counter{0};
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "localhost");
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + std::to_string(++counter);
}

// What a failed attempt records: the reason shown to users (public messages
// only; the internal detail goes to the log) and the stable code, which also
// decides whether the job is tried again. Anything that is not a tb::Error is
// unexpected: INTERNAL, retried.
struct Failure {
  std::string reason = "internal error";
  ErrorCode code = ErrorCode::kInternal;
  bool retryable() const { return is_retryable(code); }
};

Failure failure_of(const tb::Error& e) {
  return {hide_internals(e.message()), e.code()};
}

void log_failure(const store::Job& job, const char* stage, const Failure& f,
                 const std::exception& e) {
  if (f.retryable()) {
    spdlog::warn("job {}: attempt {} {} failed ({}): {}", job.id, job.attempts, stage,
                 code_name(f.code), e.what());
  } else {
    spdlog::warn("job {}: {} failed for good ({}): {}", job.id, stage, code_name(f.code), e.what());
  }
}

template <typename F>
void run_hook(const char* what, const std::string& job_id, F& f) {
  if (!f) return;
  try {
    f();
  } catch (const std::exception& e) {
    spdlog::error("job {}: {} hook failed: {}", job_id, what, e.what());
  }
}

}  // namespace

// ---------------------------------------------------------------- JobContext

JobContext::JobContext(store::Job job, db::Connection& conn, std::string worker_id,
                       std::chrono::milliseconds progress_interval)
    : job_(std::move(job)),
      conn_(conn),
      worker_id_(std::move(worker_id)),
      progress_interval_(progress_interval) {}

void JobContext::report_progress(boost::json::object progress) {
  std::lock_guard lock(progress_mutex_);
  unsent_progress_ = std::move(progress);
  auto now = Clock::now();
  if (now - last_progress_ < progress_interval_) return;
  last_progress_ = now;
  write_unsent_progress();
}

bool JobContext::save_progress_now(boost::json::object progress) {
  std::lock_guard lock(progress_mutex_);
  unsent_progress_ = std::move(progress);
  last_progress_ = Clock::now();
  return write_unsent_progress();
}

// Caller holds progress_mutex_. A failed guard means another worker may own
// the job now: stop, nothing this attempt does will be committed.
bool JobContext::write_unsent_progress() {
  try {
    bool stored =
        store::update_job_progress(conn_, job_.id, worker_id_, job_.attempts, *unsent_progress_);
    if (!stored) {
      lost_ = true;
      cancel_ = true;
    }
    unsent_progress_.reset();
    return stored;
  } catch (const std::exception& e) {
    spdlog::warn("job {}: progress update failed: {}", job_.id, e.what());
    return false;
  }
}

void JobContext::flush_progress() {
  std::lock_guard lock(progress_mutex_);
  if (!unsent_progress_ || lost_) return;
  write_unsent_progress();
}

// ---------------------------------------------------------------- Worker

Worker::Worker(WorkerOptions options, std::map<std::string, Handler> handlers_by_type)
    : options_(std::move(options)), handlers_(std::move(handlers_by_type)) {
  if (options_.worker_id.empty()) options_.worker_id = default_worker_id();
  if (options_.concurrency < 1) options_.concurrency = 1;
  if (!options_.jitter) options_.jitter = store::default_jitter();
  for (const auto& [type, handler] : handlers_) types_.push_back(type);
  sync_slot_.id = options_.worker_id + "/sync";
}

Worker::~Worker() {
  stop();
}

int Worker::running_jobs() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(active_.size());
}

void Worker::start() {
  if (started_.exchange(true)) return;
  listener_ = std::make_unique<db::Listener>(options_.conninfo);
  listener_->listen("tb_jobs");
  for (int i = 0; i < options_.concurrency; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->id = options_.worker_id + "/" + std::to_string(i);
    slots_.push_back(std::move(slot));
  }
  for (auto& slot : slots_) threads_.emplace_back([this, s = slot.get()] { slot_loop(*s); });
  maintenance_ = std::thread([this] { maintenance_loop(); });
  spdlog::info("worker {}: started {} thread(s) for job types [{}]", options_.worker_id,
               options_.concurrency, fmt::join(types_, ", "));
}

void Worker::stop() {
  if (!started_.load() || stopping_.exchange(true)) return;
  if (listener_) listener_->interrupt();
  {
    std::unique_lock lock(mutex_);
    ++wake_generation_;
    wake_.notify_all();
    // Let running jobs finish, up to the bound; then ask them to stop and
    // hand their jobs back.
    if (!idle_cv_.wait_for(lock, options_.stop_timeout, [this] { return active_.empty(); })) {
      spdlog::warn(
          "worker {}: {} job(s) still running after {} ms: cancelling and handing them back",
          options_.worker_id, active_.size(), options_.stop_timeout.count());
      shutdown_abort_ = true;
      for (auto* ctx : active_) ctx->cancel_ = true;
    }
  }
  for (auto& t : threads_) t.join();
  if (maintenance_.joinable()) maintenance_.join();
  threads_.clear();
  spdlog::info("worker {}: stopped", options_.worker_id);
}

void Worker::slot_loop(Slot& slot) {
  auto backoff = std::chrono::milliseconds(100);
  while (!stopping_) {
    std::uint64_t seen;
    {
      std::lock_guard lock(mutex_);
      seen = wake_generation_;
    }
    bool ran = false;
    try {
      ran = run_one(slot);
      backoff = std::chrono::milliseconds(100);
    } catch (const std::exception& e) {
      // Database down or similar: drop the connection, wait, try again.
      spdlog::warn("worker {}: {}", slot.id, e.what());
      slot.conn.reset();
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, backoff, [this] { return stopping_.load(); });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    if (ran) continue;  // there may be more
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, options_.poll_interval,
                   [&] { return stopping_.load() || wake_generation_ != seen; });
  }
}

void Worker::maintenance_loop() {
  auto next_rescue = Clock::now();
  auto step =
      std::min({options_.poll_interval, options_.rescue_interval, std::chrono::milliseconds(1000)});
  while (!stopping_) {
    auto notes = listener_->wait(step);
    if (stopping_) break;
    if (!notes.empty()) {
      // One NOTIFY is one new job: wake one idle slot per job, not all of
      // them (the others would only run an empty claim). Busy slots claim
      // again by themselves when they finish.
      std::lock_guard lock(mutex_);
      ++wake_generation_;
      for (std::size_t i = 0; i < std::min(notes.size(), slots_.size()); ++i) wake_.notify_one();
    }
    if (Clock::now() >= next_rescue) {
      next_rescue = Clock::now() + options_.rescue_interval;
      try {
        if (rescue_once() > 0) {
          std::lock_guard lock(mutex_);
          ++wake_generation_;
          wake_.notify_all();
        }
      } catch (const std::exception& e) {
        spdlog::warn("worker {}: rescue of expired leases failed: {}", options_.worker_id,
                     e.what());
        rescue_conn_.reset();
      }
    }
  }
}

int Worker::rescue_once() {
  db::reconnect_if_broken(rescue_conn_, options_.conninfo);
  auto rescued = store::rescue_expired_jobs(*rescue_conn_, options_.retry);
  if (!rescued.empty())
    spdlog::warn("worker {}: rescued {} job(s) whose worker was lost", options_.worker_id,
                 rescued.size());
  for (const auto& job : rescued) {
    if (job.status != store::JobStatus::kFailed || !options_.on_lost_for_good) continue;
    try {
      options_.on_lost_for_good(job);
    } catch (const std::exception& e) {
      spdlog::warn("worker {}: job {} (lost for good): {}", options_.worker_id, job.id, e.what());
    }
  }
  return static_cast<int>(rescued.size());
}

bool Worker::run_once() {
  try {
    return run_one(sync_slot_);
  } catch (...) {
    sync_slot_.conn.reset();
    throw;
  }
}

bool Worker::run_one(Slot& slot) {
  db::reconnect_if_broken(slot.conn, options_.conninfo);
  if (stopping_ && started_) return false;
  auto claimed = store::claim_job(*slot.conn, slot.id, options_.lease, types_);
  if (!claimed) return false;
  auto it = handlers_.find(claimed->type);
  if (it == handlers_.end()) throw_internal("claimed a job of unknown type " + claimed->type);
  spdlog::info("job {}: {} attempt {}/{} started by {}", claimed->id, claimed->type,
               claimed->attempts, claimed->max_attempts, slot.id);
  JobContext ctx(std::move(*claimed), *slot.conn, slot.id, options_.progress_interval);
  // Registered while it runs, so stop() can find it; unregistered on every path.
  struct Registration {
    Worker& w;
    JobContext& ctx;
    Registration(Worker& worker, JobContext& c) : w(worker), ctx(c) {
      std::lock_guard lock(w.mutex_);
      w.active_.insert(&ctx);
      if (w.shutdown_abort_) ctx.cancel_ = true;
    }
    ~Registration() {
      std::lock_guard lock(w.mutex_);
      w.active_.erase(&ctx);
      if (w.active_.empty()) w.idle_cv_.notify_all();
    }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
  } registration(*this, ctx);
  finish(slot, ctx, it->second);
  return true;
}

void Worker::commit_outcome(db::Connection& conn, const std::string& slot_id, const store::Job& job,
                            JobOutcome& outcome, std::int64_t ms) {
  std::optional<store::JobStatus> status;
  if (outcome.continue_after) {
    status = store::continue_job_later(conn, job.id, slot_id, job.attempts, *outcome.continue_after,
                                       outcome.result);
    if (status == store::JobStatus::kPending) {
      spdlog::debug("job {}: step done in {} ms; continues later", job.id, ms);
      return;
    }
  } else if (!outcome.in_completion_tx) {
    // Nothing else to commit with it: one guarded statement, no transaction.
    status =
        store::complete_job_unless_cancelled(conn, job.id, slot_id, job.attempts, outcome.result);
  } else {
    db::Transaction tx(conn);
    // Lock the row and re-check ownership and cancel inside the transaction.
    auto cancel_requested = store::lock_owned_job(conn, job.id, slot_id, job.attempts);
    if (!cancel_requested) {
      tx.rollback();
    } else if (*cancel_requested) {
      store::finish_cancelled_job(conn, job.id, slot_id, job.attempts);
      tx.commit();
      status = store::JobStatus::kCancelled;
    } else {
      store::complete_job(conn, job.id, slot_id, job.attempts, outcome.result);
      outcome.in_completion_tx(conn);
      tx.commit();
      status = store::JobStatus::kCompleted;
    }
  }
  if (status == store::JobStatus::kCompleted) {
    spdlog::info("job {}: completed in {} ms", job.id, ms);
    run_hook("after_commit", job.id, outcome.after_commit);
    return;
  }
  if (status) {
    spdlog::info("job {}: cancelled (handler finished after the cancel request)", job.id);
  } else {
    spdlog::warn("job {}: no longer ours at completion; outcome discarded", job.id);
  }
  run_hook("on_discarded", job.id, outcome.on_discarded);
}

void Worker::finish(Slot& slot, JobContext& ctx, const Handler& handler) {
  const auto& job = ctx.job();
  auto& conn = *slot.conn;
  if (!slot.keeper)
    slot.keeper = std::make_unique<LeaseKeeper>(options_.conninfo, slot.id, options_.lease);
  slot.keeper->watch(ctx);

  std::optional<JobOutcome> outcome;
  Failure failure;
  auto t0 = Clock::now();
  try {
    outcome = handler(ctx);
  } catch (const tb::Error& e) {
    failure = failure_of(e);
    log_failure(job, "handler", failure, e);
  } catch (const std::exception& e) {
    log_failure(job, "handler", failure, e);
  } catch (...) {
    // Not a std::exception: nothing to log but the fact. The attempt fails
    // (INTERNAL, retried) like any unexpected error; the worker goes on.
    spdlog::error("job {}: attempt {} failed with an exception that is not a std::exception",
                  job.id, job.attempts);
  }
  slot.keeper->unwatch();
  ctx.flush_progress();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();

  if (ctx.lost_) {
    spdlog::warn("job {}: lease was lost; the attempt's outcome is discarded", job.id);
    if (outcome) run_hook("on_discarded", job.id, outcome->on_discarded);
    return;
  }

  if (outcome) {
    try {
      commit_outcome(conn, slot.id, job, *outcome, ms);
      return;
    } catch (const tb::Error& e) {
      if (e.code() == ErrorCode::kUnavailable) {
        // The database is lost: the lease will expire and the job will be
        // rescued and retried. The slot reconnects.
        spdlog::error("job {}: database lost while completing: {}", job.id, e.what());
        run_hook("on_discarded", job.id, outcome->on_discarded);
        throw;
      }
      failure = failure_of(e);
      log_failure(job, "completion", failure, e);
    } catch (const std::exception& e) {
      log_failure(job, "completion", failure, e);
    }
    run_hook("on_discarded", job.id, outcome->on_discarded);
  }

  if (shutdown_abort_ && !ctx.user_cancel_) {
    if (store::release_job(conn, job.id, slot.id, job.attempts)) {
      spdlog::info("job {}: handed back for another worker (shutdown)", job.id);
    }
    return;
  }
  auto status =
      store::fail_job(conn, job.id, slot.id, job.attempts, failure.reason, failure.retryable(),
                      options_.retry, options_.jitter, code_name(failure.code));
  if (!status) {
    spdlog::warn("job {}: no longer ours when recording its failure", job.id);
  } else {
    spdlog::info("job {}: attempt {} ended, job is now {}", job.id, job.attempts,
                 store::to_string(*status));
  }
}

}  // namespace tb::jobs
