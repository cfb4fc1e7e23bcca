// The libpq layer against a real PostgreSQL: bound parameters, error classes,
// transactions, migrations, the pool and LISTEN/NOTIFY. (Server restarts are in
// integration/db_restart: they affect the shared cluster.)
#include <gtest/gtest.h>

#include <thread>

#include "db/connection.hpp"
#include "db/listener.hpp"
#include "db/migrate.hpp"
#include "db/pool.hpp"
#include "support/pg_cluster.hpp"

namespace tb::db {
namespace {

using tb::test::PgCluster;
using namespace std::chrono_literals;

class Db : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = PgCluster::shared().create_database("db");
    info_ = PgCluster::shared().conninfo(name_);
  }
  void TearDown() override { PgCluster::shared().drop_database(name_); }
  std::string name_;
  std::string info_;
};

TEST_F(Db, BoundParametersKeepQuotesUnicodeAndNull) {
  auto c = Connection::open(info_);
  c.exec("CREATE TABLE t (id int, s text, j jsonb)");
  std::string nasty = "it's \"quoted\"; DROP TABLE t; -- ü 日本 🎉";
  boost::json::value j = {{"k", nasty}, {"n", 3}};
  c.query("INSERT INTO t VALUES ($1, $2, $3)", 1, nasty, j);
  c.query("INSERT INTO t VALUES ($1, $2, $3)", 2, std::optional<std::string>{}, std::nullopt);
  auto r = c.query("SELECT id, s, j FROM t ORDER BY id");
  ASSERT_EQ(r.rows(), 2);
  EXPECT_EQ(r.text(0, 1), nasty);
  EXPECT_EQ(r.json(0, 2).at("k").as_string(), nasty);
  EXPECT_EQ(r.int64(0, 0), 1);
  EXPECT_TRUE(r.is_null(1, 1));
  EXPECT_FALSE(r.opt(1, 1).has_value());
  EXPECT_TRUE(r.json(1, 2).is_null());
  EXPECT_EQ(r.column("j"), 2);
  EXPECT_EQ(PgCluster::shared().query_value(name_, "SELECT count(*) FROM t"), "2");
}

TEST_F(Db, TimestampsRoundTripExactly) {
  auto c = Connection::open(info_);
  auto now = c.exec("SELECT now()").time(0, 0);
  auto back = c.query("SELECT $1::timestamptz", now).time(0, 0);
  EXPECT_EQ(back, now);
  auto diff = std::chrono::system_clock::now() - now;
  EXPECT_LT(std::chrono::abs(diff), 60s);
}

TEST_F(Db, UniqueViolationIsClassifiedAndInternal) {
  auto c = Connection::open(info_);
  c.exec("CREATE TABLE u (k text CONSTRAINT u_k_key UNIQUE)");
  c.query("INSERT INTO u VALUES ($1)", "a");
  try {
    c.query("INSERT INTO u VALUES ($1)", "a");
    FAIL() << "expected a unique violation";
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), DbError::Kind::kUniqueViolation);
    EXPECT_EQ(e.sqlstate(), "23505");
    EXPECT_EQ(e.constraint(), "u_k_key");
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
    EXPECT_EQ(e.message().find("INSERT"), std::string::npos);  // no SQL in the public message
    EXPECT_NE(e.detail().find("u_k_key"), std::string::npos);
  }
  // The connection is still usable after an error.
  EXPECT_EQ(c.exec("SELECT count(*) FROM u").int64(0, 0), 1);
}

TEST_F(Db, SyntaxErrorAndCanceledQueryAreClassified) {
  auto c = Connection::open(info_);
  try {
    c.exec("SELEC 1");
    FAIL();
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), DbError::Kind::kOther);
    EXPECT_EQ(e.sqlstate(), "42601");
  }
  c.exec("SET statement_timeout = '50ms'");
  try {
    c.exec("SELECT pg_sleep(2)");
    FAIL();
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), DbError::Kind::kQueryCanceled);
  }
}

TEST_F(Db, KilledBackendIsConnectionLostAndUnavailable) {
  auto c = Connection::open(info_);
  auto pid = c.exec("SELECT pg_backend_pid()").text(0, 0);
  PgCluster::shared().exec(name_, "SELECT pg_terminate_backend(" + pid + ")");
  try {
    c.exec("SELECT 1");
    FAIL();
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), DbError::Kind::kConnectionLost);
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
  }
  EXPECT_FALSE(c.ok());
  c.reset();
  EXPECT_EQ(c.exec("SELECT 41 + 1").int64(0, 0), 42);
}

TEST_F(Db, PreparedStatementsSurviveResetErrorsAndAFullCache) {
  auto c = Connection::open(info_);
  c.exec("CREATE TABLE kv (k int PRIMARY KEY, v text)");
  const std::string insert = "INSERT INTO kv VALUES ($1::int, $2) RETURNING v";
  EXPECT_EQ(c.query(insert, 1, std::string("one")).text(0, 0), "one");
  EXPECT_EQ(c.query(insert, 2, std::string("two")).text(0, 0), "two");  // by name now
  // An error raised by the prepared statement is classified like any other.
  EXPECT_THROW(c.query(insert, 1, std::string("again")), DbError);
  // A statement that does not parse is never cached: it fails every time.
  EXPECT_THROW(c.query("SELEC $1::int", 1), DbError);
  EXPECT_THROW(c.query("SELEC $1::int", 1), DbError);
  // More distinct texts than the cache holds: the rest run unnamed.
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(c.query("SELECT $1::int + " + std::to_string(i), 1).int64(0, 0), 1 + i);
  }
  // A new session has no prepared statements: the cache starts again.
  auto pid = c.exec("SELECT pg_backend_pid()").text(0, 0);
  PgCluster::shared().exec(name_, "SELECT pg_terminate_backend(" + pid + ")");
  EXPECT_THROW(c.exec("SELECT 1"), DbError);
  c.reset();
  EXPECT_EQ(c.query(insert, 3, std::string("three")).text(0, 0), "three");
  EXPECT_EQ(PgCluster::shared().query_value(name_, "SELECT string_agg(v, ',' ORDER BY k) FROM kv"),
            "one,two,three");
}

TEST_F(Db, CannotConnectIsUnavailable) {
  try {
    Connection::open("host=/nonexistent-socket-dir port=1 dbname=x connect_timeout=1");
    FAIL();
  } catch (const tb::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
  }
}

TEST_F(Db, TransactionRollsBackUnlessCommitted) {
  auto c = Connection::open(info_);
  c.exec("CREATE TABLE t (x int)");
  {
    Transaction tx(c);
    c.exec("INSERT INTO t VALUES (1)");
  }
  {
    Transaction tx(c);
    c.exec("INSERT INTO t VALUES (2)");
    tx.commit();
  }
  try {
    Transaction tx(c);
    c.exec("INSERT INTO t VALUES (3)");
    c.exec("SELECT 1/0");
    tx.commit();
  } catch (const DbError&) {
  }
  EXPECT_TRUE(c.idle());
  EXPECT_EQ(PgCluster::shared().query_column(name_, "SELECT x FROM t"),
            std::vector<std::string>{"2"});
}

TEST_F(Db, MigrateCreatesTheSchemaAndIsIdempotent) {
  auto c = Connection::open(info_);
  EXPECT_EQ(schema_version(c), 0);
  EXPECT_EQ(migrate(c), static_cast<int>(migrations().size()));
  EXPECT_EQ(schema_version(c), migrations().back().version);
  EXPECT_EQ(migrate(c), 0);
  auto tables = PgCluster::shared().query_column(name_,
                                                 "SELECT table_name FROM information_schema.tables "
                                                 "WHERE table_schema = 'control_plane' ORDER BY 1");
  EXPECT_EQ(tables,
            (std::vector<std::string>{"audit_log", "backup_settings", "backups", "jobs", "locks",
                                      "projects", "replay_logins", "schema_migrations"}));
  EXPECT_EQ(PgCluster::shared().query_value(name_,
                                            "SELECT count(*) FROM control_plane.schema_migrations"),
            std::to_string(migrations().size()));
}

TEST_F(Db, ConcurrentMigrationsAreSafe) {
  std::vector<std::thread> threads;
  std::atomic<int> applied{0};
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      try {
        auto c = Connection::open(info_);
        applied += migrate(c);
      } catch (...) {
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(applied.load(), static_cast<int>(migrations().size()));
}

TEST_F(Db, PoolIsBoundedAndReusesConnections) {
  Pool pool(info_, 2);
  {
    auto a = pool.acquire();
    auto b = pool.acquire();
    EXPECT_EQ(pool.open_connections(), 2);
    auto t0 = std::chrono::steady_clock::now();
    try {
      pool.acquire(100ms);
      FAIL() << "a third lease from a pool of two";
    } catch (const tb::Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    }
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 90ms);
  }
  EXPECT_EQ(pool.idle_connections(), 2);
  // Many threads share two connections.
  std::vector<std::thread> threads;
  std::atomic<int> sum{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 10; ++k) {
        auto l = pool.acquire();
        sum += static_cast<int>(l->query("SELECT $1::int", i).int64(0, 0));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(sum.load(), 10 * (0 + 1 + 2 + 3 + 4 + 5 + 6 + 7));
  EXPECT_LE(pool.open_connections(), 2);
}

TEST_F(Db, PoolReplacesAConnectionTheServerKilled) {
  Pool pool(info_, 1);
  std::string pid;
  {
    auto l = pool.acquire();
    pid = l->exec("SELECT pg_backend_pid()").text(0, 0);
  }
  PgCluster::shared().exec(name_, "SELECT pg_terminate_backend(" + pid + ")");
  // Gone from the server (polled: a busy machine only takes longer).
  for (int i = 0;
       i < 6000 && PgCluster::shared().query_value(
                       name_, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid) != "0";
       ++i) {
    std::this_thread::sleep_for(50ms);
  }
  auto l = pool.acquire();
  EXPECT_NE(l->exec("SELECT pg_backend_pid()").text(0, 0), pid);
}

TEST_F(Db, PoolDropsAConnectionLeftInATransaction) {
  Pool pool(info_, 1);
  {
    auto l = pool.acquire();
    l->exec("CREATE TABLE t (x int)");
    l->exec("BEGIN");
    l->exec("INSERT INTO t VALUES (1)");
  }  // returned mid-transaction: rolled back, not leaked to the next user
  auto l = pool.acquire();
  EXPECT_TRUE(l->idle());
  EXPECT_EQ(l->exec("SELECT count(*) FROM t").int64(0, 0), 0);
}

TEST_F(Db, ListenerReceivesNotifications) {
  Listener listener(info_);
  listener.listen("tb_jobs");
  listener.listen("other channel");
  EXPECT_TRUE(listener.wait(50ms).empty());  // connects; nothing yet
  auto c = Connection::open(info_);
  c.query("SELECT pg_notify($1, $2)", "tb_jobs", "export");
  c.query("SELECT pg_notify($1, $2)", "other channel", "x");
  std::vector<Notification> got;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (got.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    auto n = listener.wait(1s);
    got.insert(got.end(), n.begin(), n.end());
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].channel, "tb_jobs");
  EXPECT_EQ(got[0].payload, "export");
  EXPECT_EQ(got[1].channel, "other channel");
}

TEST_F(Db, ListenerWaitReturnsOnInterrupt) {
  Listener listener(info_);
  listener.listen("tb_jobs");
  std::thread t([&] {
    std::this_thread::sleep_for(100ms);
    listener.interrupt();
  });
  // Without the interrupt the wait would last its full 10 minutes; the
  // bound is generous for a loaded machine and still far below that.
  auto t0 = std::chrono::steady_clock::now();
  listener.wait(600s);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 120s);
  t.join();
}

TEST_F(Db, JobInsertNotifiesTbJobs) {
  auto c = Connection::open(info_);
  migrate(c);
  Listener listener(info_);
  listener.listen("tb_jobs");
  listener.wait(10ms);
  c.exec("INSERT INTO control_plane.projects (id, slug) VALUES ('p1', 'p1')");
  c.exec(
      "INSERT INTO control_plane.jobs (id, type, project_id) VALUES (gen_random_uuid(), 'export', "
      "'p1')");
  auto n = listener.wait(5s);
  ASSERT_FALSE(n.empty());
  EXPECT_EQ(n[0].channel, "tb_jobs");
  EXPECT_EQ(n[0].payload, "export");
}

}  // namespace
}  // namespace tb::db
