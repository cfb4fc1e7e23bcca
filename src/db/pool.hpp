// db::Pool: a bounded, thread-safe set of connections handed out as leases.
//
// Invariants:
// - At most `size` connections exist at once; acquire() waits (up to its
//   timeout) when all are leased, then throws kUnavailable.
// - Connections are opened lazily, outside the lock.
// - A connection is never handed out broken: on return, a connection that is
//   bad or left inside a transaction that cannot be rolled back is dropped; on
//   acquire, an idle connection whose socket shows the server hung up (a
//   PostgreSQL restart) is dropped and replaced. So the pool survives a server
//   restart: requests fail with kUnavailable while it is down and work again
//   as soon as it is back.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "db/connection.hpp"

namespace tb::db {

class Pool {
 public:
  Pool(std::string conninfo, int size);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) {
      other.pool_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    Connection& operator*() { return *conn_; }
    Connection* operator->() { return conn_.get(); }
    Connection& get() { return *conn_; }

   private:
    friend class Pool;
    Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  // Throws tb::Error(kUnavailable) on timeout or when the server is unreachable.
  Lease acquire(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  const std::string& conninfo() const { return conninfo_; }
  int size() const { return size_; }
  int open_connections() const;  // leased + idle
  int idle_connections() const;

 private:
  void release(std::unique_ptr<Connection> conn);
  static bool looks_alive(Connection& conn);

  std::string conninfo_;
  int size_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;  // leased + idle + being opened
};

}  // namespace tb::db
