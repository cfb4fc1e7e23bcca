// A migrated database per test and one project "p1" (schema tenant_p1).
#pragma once

#include <gtest/gtest.h>

#include "db/connection.hpp"
#include "db/migrate.hpp"
#include "store/projects.hpp"
#include "support/pg_cluster.hpp"

namespace tb::store::testing {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& pg = tb::test::PgCluster::shared();
    name_ = pg.create_database("store");
    info_ = pg.conninfo(name_);
    conn_.emplace(db::Connection::open(info_));
    db::migrate(*conn_);
    upsert_project(*conn_, "p1", "p1", "Project one");
  }
  void TearDown() override {
    conn_.reset();
    tb::test::PgCluster::shared().drop_database(name_);
  }
  db::Connection& conn() { return *conn_; }
  std::string value(const std::string& sql) { return tb::test::PgCluster::shared().query_value(name_, sql); }

  std::string name_;
  std::string info_;
  std::optional<db::Connection> conn_;
};

}  // namespace tb::store::testing
