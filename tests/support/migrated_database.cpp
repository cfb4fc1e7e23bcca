#include "support/migrated_database.hpp"

#include "db/migrate.hpp"
#include "support/pg_cluster.hpp"

namespace tb::test {
namespace {

// Creates the database (and the owner role) and returns the conninfo to use.
std::string create(const std::string& name, const MigratedDatabase::Options& options) {
  auto& pg = PgCluster::shared();
  if (options.owner_role.empty()) return pg.conninfo(name);
  pg.exec("postgres", "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" +
                          options.owner_role + "') THEN CREATE ROLE \"" + options.owner_role +
                          "\" LOGIN NOSUPERUSER; END IF; END $$");
  pg.exec("postgres", "ALTER DATABASE \"" + name + "\" OWNER TO \"" + options.owner_role + "\"");
  // The later "user=" wins in a libpq keyword/value string.
  return pg.conninfo(name) + " user=" + options.owner_role;
}

}  // namespace

MigratedDatabase::MigratedDatabase(const std::string& prefix, const Options& options)
    : name_(PgCluster::shared().create_database(prefix)), conninfo_(create(name_, options)) {
  try {
    conn_.emplace(db::Connection::open(conninfo_));
    db::migrate(*conn_);
  } catch (...) {
    conn_.reset();
    PgCluster::shared().drop_database(name_);
    throw;
  }
}

MigratedDatabase::~MigratedDatabase() {
  conn_.reset();
  try {
    PgCluster::shared().drop_database(name_);
  } catch (...) {
    // The cluster is removed at exit anyway; a failed drop must not abort the run.
  }
}

std::string MigratedDatabase::value(const std::string& sql) const {
  return PgCluster::shared().query_value(name_, sql);
}

void MigratedDatabase::exec(const std::string& sql) const {
  PgCluster::shared().exec(name_, sql);
}

}  // namespace tb::test
