#pragma once
// TableLock: holds ACCESS EXCLUSIVE on a table on its own connection, so that
// pg_dump (which needs ACCESS SHARE), or any other session touching the
// table, waits until release(). The fault tests use it to stop a job at an
// exact point.
#include <libpq-fe.h>

#include <stdexcept>
#include <string>

namespace tb::test {

class TableLock {
 public:
  TableLock(const std::string& conninfo, const std::string& table) : conn_(PQconnectdb(conninfo.c_str())) {
    exec("BEGIN");
    exec("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
  }
  ~TableLock() { PQfinish(conn_); }
  TableLock(const TableLock&) = delete;
  TableLock& operator=(const TableLock&) = delete;
  void release() { exec("ROLLBACK"); }

 private:
  void exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) throw std::runtime_error("TableLock: " + sql + ": " + PQerrorMessage(conn_));
  }
  PGconn* conn_;
};

}  // namespace tb::test
