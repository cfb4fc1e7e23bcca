#include "db/pool.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>

namespace tb::db {

Pool::Pool(std::string conninfo, int size)
    : conninfo_(std::move(conninfo)), size_(size < 1 ? 1 : size) {}

Pool::~Pool() = default;

Pool::Lease::~Lease() {
  if (pool_ != nullptr && conn_) pool_->release(std::move(conn_));
}

bool Pool::looks_alive(Connection& conn) {
  if (!conn.ok() || !conn.idle()) return false;
  // An idle pooled connection has nothing to read. If its socket is readable,
  // the server sent something unprompted: the FATAL of a shutdown or a
  // terminated backend, or EOF. Drop it: at worst (a rare asynchronous
  // ParameterStatus) that costs one reconnect.
  pollfd p{PQsocket(conn.raw()), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

Pool::Lease Pool::acquire(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_ptr<Connection> conn;
  {
    std::unique_lock lock(mutex_);
    while (idle_.empty() && open_ >= size_) {
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
          open_ >= size_) {
        throw tb::Error(
            ErrorCode::kUnavailable, "the database is unavailable",
            "timed out waiting for a database connection (pool of " + std::to_string(size_) + ")");
      }
    }
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;  // reserve a slot; the connect happens outside the lock
    }
  }
  if (conn && !looks_alive(*conn)) {
    spdlog::info("db pool: dropping a connection the server closed");
    conn.reset();  // keep the slot reserved and reconnect below
  }
  if (!conn) {
    try {
      conn = std::make_unique<Connection>(Connection::open(conninfo_));
    } catch (...) {
      std::lock_guard lock(mutex_);
      --open_;
      cv_.notify_one();
      throw;
    }
  }
  return Lease(this, std::move(conn));
}

void Pool::release(std::unique_ptr<Connection> conn) {
  if (conn->ok() && !conn->idle()) {
    // Left inside a transaction (a caller forgot a Transaction object).
    try {
      conn->exec("ROLLBACK");
    } catch (const std::exception& e) {
      // Not thrown on: the caller is done with it. The connection is not idle,
      // so it is closed below instead of going back to the pool.
      spdlog::warn("db pool: rolling back a connection left in a transaction failed: {}", e.what());
    }
  }
  std::lock_guard lock(mutex_);
  if (conn->ok() && conn->idle()) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
  cv_.notify_one();
}

int Pool::open_connections() const {
  std::lock_guard lock(mutex_);
  return open_;
}

int Pool::idle_connections() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(idle_.size());
}

}  // namespace tb::db
