// store/locks: named locks that only the service's own role can take.
//
// Tenants' roles log in to the same database, and any login can take any
// PostgreSQL advisory lock (the keys are just numbers, easily guessed), so an
// advisory lock lets a tenant freeze another project's jobs or the scheduler.
// A lock here is instead a row of control_plane.locks, locked FOR NO KEY
// UPDATE by a transaction left open on a connection dedicated to it: locking
// a row needs UPDATE privilege on its table, and tenant roles have none on
// control_plane (the table also revokes everything from PUBLIC). Ending the
// transaction or the session releases the lock, as with a session advisory
// lock.
//
// Cost: the holding transaction has a transaction id while the lock is held,
// which holds back VACUUM's cleanup horizon the way the dump's own snapshot
// does; the lock connection does nothing else. Waiters probe with SKIP LOCKED
// and only when no holder is visible, so waiting burns no transaction ids.
#pragma once

#include <optional>
#include <string>

#include "db/connection.hpp"

namespace tb::store {

// Lock names: one per project, and the scheduler's leader lock.
std::string project_lock_name(const std::string& project_id);
inline constexpr const char* kSchedulerLeaderLock = "scheduler leader";

// Takes `name` if it is free. True: `conn` is left inside the transaction
// that holds it (run nothing else there; unlock() or closing releases it).
// False: someone else holds it, and no transaction is left open.
bool try_lock(db::Connection& conn, const std::string& name);
// Releases a lock taken by try_lock() on `conn` (rolls its transaction back).
void unlock(db::Connection& conn);

// The session holding `name` (other than `conn`'s own), if any.
struct LockHolder {
  int pid = 0;
  std::string application_name;
  std::string role;
};
std::optional<LockHolder> lock_holder(db::Connection& conn, const std::string& name);

}  // namespace tb::store
