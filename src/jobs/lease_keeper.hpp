#pragma once
// LeaseKeeper: keeps the lease of the job a worker slot is running.
//
// One per slot, and one thread per keeper for the slot's whole life (not one
// per job: a thread started and joined per job was a measurable share of a
// short job's cost). While a job is watched, every lease/3 it renews
// jobs.locked_until with the job's guard (worker id + attempt) on its own
// connection, so a slow handler never blocks its own renewal. A renewal that
// finds the guard gone marks the job lost (the handler's outcome will be
// discarded); one that sees cancel_requested raises the handler's cancel flag.
// A failed renewal (database down) is logged and retried: the lease may still
// be valid at the next attempt.
//
// watch()/unwatch() bracket one handler run; after unwatch() returns, the
// keeper will not touch that JobContext again.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "db/connection.hpp"

namespace tb::jobs {

class JobContext;

class LeaseKeeper {
 public:
  LeaseKeeper(std::string conninfo, std::string slot_id, std::chrono::milliseconds lease);
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // Starts keeping ctx's lease (the thread is started on first use).
  void watch(JobContext& ctx);
  // Stops; waits for a renewal in flight so ctx may be destroyed afterwards.
  void unwatch();

 private:
  void run();
  void renew(JobContext& ctx);

  const std::string conninfo_;
  const std::string slot_id_;
  const std::chrono::milliseconds lease_;
  const std::chrono::milliseconds period_;
  std::unique_ptr<db::Connection> conn_;  // used by the keeper thread only

  std::mutex mutex_;
  std::condition_variable cv_;
  JobContext* current_ = nullptr;  // guarded by mutex_
  std::uint64_t generation_ = 0;   // bumped by every watch(): a new job restarts the period
  bool renewing_ = false;          // a renewal of current_ is in flight
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace tb::jobs
