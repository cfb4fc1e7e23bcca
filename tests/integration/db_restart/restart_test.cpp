// The pool and the listener across a real PostgreSQL restart. Its own binary:
// stopping the shared cluster would disturb other tests.
#include <gtest/gtest.h>

#include <thread>

#include "db/connection.hpp"
#include "db/listener.hpp"
#include "db/pool.hpp"
#include "support/pg_cluster.hpp"

namespace tb::db {
namespace {

using tb::test::PgCluster;
using namespace std::chrono_literals;

TEST(DbRestart, PoolIsUnavailableWhileDownAndWorksAfter) {
  auto& pg = PgCluster::shared();
  auto name = pg.create_database("restart");
  Pool pool(pg.conninfo(name), 2);
  {
    auto l = pool.acquire();
    EXPECT_EQ(l->exec("SELECT 1").int64(0, 0), 1);
  }
  pg.stop();
  try {
    auto l = pool.acquire(2s);
    l->exec("SELECT 1");
    FAIL() << "the database is down";
  } catch (const tb::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable) << e.detail();
  }
  pg.start();
  // The first request after the restart already works: the dead idle
  // connection is detected and replaced on acquire.
  auto l = pool.acquire();
  EXPECT_EQ(l->exec("SELECT 2").int64(0, 0), 2);
}

TEST(DbRestart, ListenerListensAgainAfterARestart) {
  auto& pg = PgCluster::shared();
  auto name = pg.create_database("restart_listen");
  Listener listener(pg.conninfo(name), 100ms);
  listener.listen("tb_jobs");
  listener.wait(10ms);
  ASSERT_TRUE(listener.connected());
  pg.stop();
  listener.wait(300ms);  // notices the loss, retries quietly
  EXPECT_FALSE(listener.connected());
  pg.start();
  // Within a few waits it reconnects and reports "you may have missed some".
  bool saw_reconnect = false;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!saw_reconnect && std::chrono::steady_clock::now() < deadline) {
    for (const auto& n : listener.wait(200ms)) {
      if (n.channel.empty()) saw_reconnect = true;
    }
  }
  ASSERT_TRUE(saw_reconnect);
  EXPECT_EQ(listener.reconnects(), 1);
  auto c = Connection::open(pg.conninfo(name));
  c.query("SELECT pg_notify('tb_jobs', $1)", "after restart");
  std::vector<Notification> got;
  while (got.empty() && std::chrono::steady_clock::now() < deadline) got = listener.wait(1s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "after restart");
}

}  // namespace
}  // namespace tb::db
