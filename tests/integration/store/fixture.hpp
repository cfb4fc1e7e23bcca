// A migrated database per test and one project "p1" (schema tenant_p1).
#pragma once

#include <gtest/gtest.h>

#include "db/connection.hpp"
#include "store/projects.hpp"
#include "support/migrated_database.hpp"

namespace tb::store::testing {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { upsert_project(conn(), "p1", "p1", "Project one"); }
  db::Connection& conn() { return db_.conn(); }
  std::string value(const std::string& sql) { return db_.value(sql); }

  tb::test::MigratedDatabase db_{"store"};
};

}  // namespace tb::store::testing
