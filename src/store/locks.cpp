#include "store/locks.hpp"

namespace tb::store {

std::string project_lock_name(const std::string& project_id) {
  return "project " + project_id;
}

bool try_lock(db::Connection& conn, const std::string& name) {
  // Committed first, so that every session sees the row it must lock.
  conn.query("INSERT INTO control_plane.locks (name) VALUES ($1) ON CONFLICT DO NOTHING", name);
  conn.exec("BEGIN");
  try {
    bool taken =
        !conn.query(
                 "SELECT 1 FROM control_plane.locks WHERE name = $1 FOR NO KEY UPDATE SKIP LOCKED",
                 name)
             .empty();
    if (!taken) {
      conn.exec("ROLLBACK");
      return false;
    }
    // A server-wide idle_in_transaction_session_timeout would end the session
    // and so drop the lock while its job still runs.
    conn.exec("SET LOCAL idle_in_transaction_session_timeout = 0");
    return true;
  } catch (...) {
    try {
      if (conn.ok() && !conn.idle()) conn.exec("ROLLBACK");
    } catch (const std::exception&) {
      // The session is broken; its end releases whatever it held.
    }
    throw;
  }
}

void unlock(db::Connection& conn) {
  if (!conn.idle()) conn.exec("ROLLBACK");
}

std::optional<LockHolder> lock_holder(db::Connection& conn, const std::string& name) {
  // A row lock leaves the locker's transaction id in the row's xmax, and
  // every transaction holds an ExclusiveLock on its own id until it ends:
  // that lock names the holder's backend. An xmax of a transaction that has
  // ended matches nothing.
  auto r = conn.query(
      "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, '') "
      "FROM control_plane.locks k "
      "JOIN pg_catalog.pg_locks l ON l.locktype = 'transactionid' AND l.transactionid = k.xmax "
      "  AND l.mode = 'ExclusiveLock' AND l.granted "
      "JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
      "WHERE k.name = $1 AND l.pid <> pg_backend_pid()",
      name);
  if (r.empty()) return std::nullopt;
  return LockHolder{static_cast<int>(r.int64(0, 0)), r.text(0, 1), r.text(0, 2)};
}

}  // namespace tb::store
