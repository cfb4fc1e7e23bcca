#include "support/pg_cluster.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>

#include "support/child_process.hpp"

namespace tb::test {
namespace fs = std::filesystem;

namespace {
const char* kTestUser = "tenant-backup";

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

struct PgConn {
  explicit PgConn(const std::string& conninfo) : conn(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(conn);
      PQfinish(conn);
      throw std::runtime_error("test cluster connect failed: " + msg);
    }
  }
  ~PgConn() { PQfinish(conn); }
  PGconn* conn;
};
}  // namespace

std::string run_command(const std::string& command) {
  return run_shell(command);
}

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
  return tmpl;
}

PgCluster& PgCluster::shared() {
  static PgCluster cluster;
  return cluster;
}

PgCluster::PgCluster() {
  dir_ = make_temp_dir("tb-pg");
  std::random_device rd;
  port_ = 20000 + static_cast<int>(rd() % 40000);
  if (geteuid() == 0) {
    os_user_ = kTestUser;
    run_command("id -u " + os_user_ + " >/dev/null 2>&1 || useradd --system --no-create-home " +
                os_user_);
    run_command("chown " + os_user_ + " " + shell_quote(dir_));
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  }
  run_command(as_owner(bin_dir_ + "/initdb -D " + shell_quote(dir_ + "/data") +
                       " -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync"));
  // Tuned for tests: no TCP, socket in our folder, nothing durable slows us.
  std::string conf = "listen_addresses = ''\nunix_socket_directories = '" + dir_ +
                     "'\nport = " + std::to_string(port_) +
                     "\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                     "max_connections = 200\nshared_buffers = 64MB\n";
  run_command("printf %s " + shell_quote(conf) + " >> " +
              shell_quote(dir_ + "/data/postgresql.conf"));
  start();
}

PgCluster::~PgCluster() {
  try {
    stop();
  } catch (...) {
  }
  std::error_code ec;
  if (std::getenv("TB_KEEP_CLUSTER") == nullptr) fs::remove_all(dir_, ec);
}

std::string PgCluster::as_owner(const std::string& command) const {
  if (os_user_.empty()) return command;
  return "runuser -u " + os_user_ + " -- " + command;
}

void PgCluster::start() {
  run_command(as_owner(bin_dir_ + "/pg_ctl -D " + shell_quote(dir_ + "/data") + " -l " +
                       shell_quote(dir_ + "/server.log") + " -w -t 60 start"));
}

void PgCluster::stop() {
  run_command(
      as_owner(bin_dir_ + "/pg_ctl -D " + shell_quote(dir_ + "/data") + " -m fast -w stop"));
}

std::string PgCluster::conninfo(const std::string& dbname) const {
  return "host=" + dir_ + " port=" + std::to_string(port_) + " user=postgres dbname=" + dbname;
}

std::string PgCluster::url(const std::string& dbname) const {
  // The host is a path: percent-encode the slashes.
  std::string host;
  for (char c : dir_) {
    if (c == '/')
      host += "%2F";
    else
      host += c;
  }
  return "postgresql://postgres@" + host + ":" + std::to_string(port_) + "/" + dbname;
}

std::string PgCluster::create_database(const std::string& prefix) {
  std::string name = prefix + "_" + std::to_string(getpid()) + "_" + std::to_string(++db_counter_);
  exec("postgres", "CREATE DATABASE \"" + name + "\"");
  return name;
}

void PgCluster::drop_database(const std::string& name) {
  exec("postgres", "DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)");
}

void PgCluster::exec(const std::string& dbname, const std::string& sql) const {
  PgConn c(conninfo(dbname));
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c.conn, sql.c_str()), &PQclear);
  auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    throw std::runtime_error("test SQL failed: " + std::string(PQerrorMessage(c.conn)) + "\n" +
                             sql);
  }
}

std::vector<std::string> PgCluster::query_column(const std::string& dbname,
                                                 const std::string& sql) const {
  PgConn c(conninfo(dbname));
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c.conn, sql.c_str()), &PQclear);
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    throw std::runtime_error("test query failed: " + std::string(PQerrorMessage(c.conn)) + "\n" +
                             sql);
  }
  std::vector<std::string> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.emplace_back(PQgetvalue(r.get(), i, 0));
  return out;
}

std::string PgCluster::query_value(const std::string& dbname, const std::string& sql) const {
  auto col = query_column(dbname, sql);
  if (col.empty()) throw std::runtime_error("test query returned no row: " + sql);
  return col.front();
}

std::string table_digest(const std::string& db, const std::string& table) {
  return PgCluster::shared().query_value(
      db,
      "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
      "FROM " +
          table + " t");
}

}  // namespace tb::test
