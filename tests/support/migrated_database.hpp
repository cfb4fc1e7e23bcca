// A fresh database in the shared test cluster with the control plane migrated
// (db::migrate), dropped again when the object goes. Integration fixtures hold
// one per test: `tb::test::MigratedDatabase db_{"queue"};`.
//
// With `owner_role`, the database belongs to that role (created LOGIN
// NOSUPERUSER when missing) and conninfo()/conn() connect as it, so the
// migration and the test run with what a deployment's service role has.
//
// Lives in its own library (tb_test_db, linking tb_db) so that tests of
// modules below db do not link the database layer.
#pragma once

#include <optional>
#include <string>

#include "db/connection.hpp"

namespace tb::test {

class MigratedDatabase {
 public:
  struct Options {
    std::string owner_role;  // "" = the cluster's superuser
  };

  explicit MigratedDatabase(const std::string& prefix) : MigratedDatabase(prefix, Options{}) {}
  MigratedDatabase(const std::string& prefix, const Options& options);
  ~MigratedDatabase();  // closes conn(), then drops the database (WITH FORCE)
  MigratedDatabase(const MigratedDatabase&) = delete;
  MigratedDatabase& operator=(const MigratedDatabase&) = delete;

  const std::string& name() const { return name_; }
  // libpq keyword/value string, as owner_role when one was given.
  const std::string& conninfo() const { return conninfo_; }
  // One open connection (the one the migration ran on).
  db::Connection& conn() { return *conn_; }
  // First column of the first row of `sql`, run as the superuser.
  std::string value(const std::string& sql) const;
  // Runs `sql` as the superuser.
  void exec(const std::string& sql) const;

 private:
  std::string name_;
  std::string conninfo_;
  std::optional<db::Connection> conn_;
};

}  // namespace tb::test
