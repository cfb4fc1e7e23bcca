// A real PostgreSQL 15 cluster for tests: initdb in a fresh temporary folder,
// listening on a unix socket in that folder only (no TCP port to collide on),
// run as an unprivileged user when the tests run as root (initdb refuses
// root). One cluster per test process; removed at exit.
#pragma once

#include <string>
#include <vector>

namespace tb::test {

class PgCluster {
 public:
  // The process-wide cluster, started on first use.
  static PgCluster& shared();

  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // libpq keyword/value connection string for `dbname` (superuser "postgres").
  std::string conninfo(const std::string& dbname = "postgres") const;
  // postgresql:// URL form of the same.
  std::string url(const std::string& dbname = "postgres") const;
  // Creates a new, empty database with a unique name derived from `prefix`; returns its name.
  std::string create_database(const std::string& prefix);
  void drop_database(const std::string& name);
  // Runs SQL (several statements allowed) and throws on error.
  void exec(const std::string& dbname, const std::string& sql) const;
  // First column of every row of a query, as text ("" for NULL).
  std::vector<std::string> query_column(const std::string& dbname, const std::string& sql) const;
  std::string query_value(const std::string& dbname, const std::string& sql) const;

  void stop();   // pg_ctl stop -m fast
  void start();  // pg_ctl start (after stop)
  const std::string& dir() const { return dir_; }
  const std::string& socket_dir() const { return dir_; }
  int port() const { return port_; }
  const std::string& bin_dir() const { return bin_dir_; }

 private:
  PgCluster();
  std::string as_owner(const std::string& command) const;
  std::string dir_;
  std::string bin_dir_ = "/usr/lib/postgresql/15/bin";
  std::string os_user_;  // "" when not root
  int port_ = 0;
  int db_counter_ = 0;
};

// The rows of `table` in `db` as one comparable string: their count and an
// md5 of all of them in order. Equal digests = the same data.
std::string table_digest(const std::string& db, const std::string& table);

// Runs a shell command, throws with its output when it fails. Test-only.
std::string run_command(const std::string& command);
// A fresh temporary folder, removed by the caller (or left for inspection).
std::string make_temp_dir(const std::string& prefix);

}  // namespace tb::test
