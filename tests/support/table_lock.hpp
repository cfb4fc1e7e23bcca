#pragma once
// HeldLock: runs a lock-taking statement in a transaction on its own
// connection and keeps it until release() (or destruction). The constructor
// returns once the lock is held, so a test needs no sleep before relying on
// it. TableLock: ACCESS EXCLUSIVE on a table, so that pg_dump (which needs
// ACCESS SHARE), or any other session touching the table, waits until
// release(). The fault tests use them to stop a job at an exact point.
#include <libpq-fe.h>

#include <stdexcept>
#include <string>

namespace tb::test {

class HeldLock {
 public:
  // `lock_sql`: e.g. "SELECT 1 FROM t WHERE k = 'x' FOR UPDATE".
  HeldLock(const std::string& conninfo, const std::string& lock_sql)
      : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(conn_);
      PQfinish(conn_);
      throw std::runtime_error("HeldLock: connect: " + msg);
    }
    exec("BEGIN");
    exec(lock_sql);
  }
  ~HeldLock() { PQfinish(conn_); }
  HeldLock(const HeldLock&) = delete;
  HeldLock& operator=(const HeldLock&) = delete;
  void release() { exec("ROLLBACK"); }

 private:
  void exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    auto st = PQresultStatus(r);
    PQclear(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      throw std::runtime_error("HeldLock: " + sql + ": " + PQerrorMessage(conn_));
    }
  }
  PGconn* conn_;
};

class TableLock : public HeldLock {
 public:
  TableLock(const std::string& conninfo, const std::string& table)
      : HeldLock(conninfo, "LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE") {}
};

}  // namespace tb::test
