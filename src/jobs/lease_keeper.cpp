#include "jobs/lease_keeper.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/error.hpp"
#include "jobs/worker.hpp"
#include "store/jobs.hpp"

namespace tb::jobs {

LeaseKeeper::LeaseKeeper(std::string conninfo, std::string slot_id, std::chrono::milliseconds lease)
    : conninfo_(std::move(conninfo)),
      slot_id_(std::move(slot_id)),
      lease_(lease),
      period_(std::max(lease / 3, std::chrono::milliseconds(10))) {}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
    current_ = nullptr;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LeaseKeeper::watch(JobContext& ctx) {
  {
    std::lock_guard lock(mutex_);
    current_ = &ctx;
    ++generation_;
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  cv_.notify_all();
}

void LeaseKeeper::unwatch() {
  std::unique_lock lock(mutex_);
  current_ = nullptr;
  cv_.notify_all();
  cv_.wait(lock, [this] { return !renewing_; });
}

void LeaseKeeper::run() {
  std::unique_lock lock(mutex_);
  while (!quit_) {
    if (current_ == nullptr) {
      cv_.wait(lock, [this] { return quit_ || current_ != nullptr; });
      continue;
    }
    // Sleep one period unless the job ends or another one starts meanwhile.
    const auto seen = generation_;
    if (cv_.wait_for(lock, period_,
                     [&] { return quit_ || current_ == nullptr || generation_ != seen; })) {
      continue;
    }
    JobContext* ctx = current_;
    if (ctx->lost_) continue;  // nothing left to keep
    renewing_ = true;
    lock.unlock();
    renew(*ctx);
    lock.lock();
    renewing_ = false;
    cv_.notify_all();
  }
}

void LeaseKeeper::renew(JobContext& ctx) {
  const auto& job = ctx.job();
  try {
    db::reconnect_if_broken(conn_, conninfo_);
    auto r = store::renew_job(*conn_, job.id, slot_id_, job.attempts, lease_);
    if (!r.held) {
      spdlog::warn("job {}: lease lost by {}: stopping its handler", job.id, slot_id_);
      ctx.lost_ = true;
      ctx.cancel_ = true;
    } else if (r.cancel_requested && !ctx.user_cancel_) {
      spdlog::info("job {}: cancel requested", job.id);
      ctx.user_cancel_ = true;
      ctx.cancel_ = true;
    }
  } catch (const std::exception& e) {
    // Keep the handler going: the next renewal may succeed before the lease ends.
    spdlog::warn("job {}: lease renewal failed: {}", job.id, e.what());
    conn_.reset();
  }
}

}  // namespace tb::jobs
