#include <gtest/gtest.h>

#include "support/pg_cluster.hpp"

namespace tb::test {
namespace {

TEST(PgCluster, StartsAndRunsSql) {
  auto& pg = PgCluster::shared();
  auto db = pg.create_database("harness");
  pg.exec(db, "CREATE TABLE t(x int); INSERT INTO t VALUES (1), (2);");
  EXPECT_EQ(pg.query_value(db, "SELECT sum(x) FROM t"), "3");
  EXPECT_EQ(pg.query_value(db, "SHOW server_version_num").substr(0, 2), "15");
  pg.drop_database(db);
}

}  // namespace
}  // namespace tb::test
