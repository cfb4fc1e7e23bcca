// workflows::ProjectLock against a real database, connected as a NON-superuser
// role (what a deployment should run as): a holder whose job attempt still
// owns its job (valid lease) is waited for, never broken; a holder whose
// attempt is stale (job moved on, lease expired) is terminated together with
// every session carrying its name (its pg_dump/psql), and the waiter gets the
// lock; a holder that is not a job session is never touched.
#include "workflows/project_lock.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <future>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "db/connection.hpp"
#include "metrics/registry.hpp"
#include "store/jobs.hpp"
#include "store/locks.hpp"
#include "store/projects.hpp"
#include "support/migrated_database.hpp"
#include "support/pg_cluster.hpp"

namespace tb::workflows {
namespace {

using namespace std::chrono_literals;
using tb::test::PgCluster;

const std::string kRole = "tb_lock_service";  // LOGIN, NOSUPERUSER, no pg_signal_backend

class ProjectLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    ASSERT_EQ(
        db_.conn().query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").text(0, 0),
        "f");
    store::upsert_project(db_.conn(), "acme", "acme");
  }

  // An export job claimed by "worker-a" (attempt 1, lease 30 s).
  store::Job claimed_job() {
    store::NewJob j;
    j.type = "export";
    j.project_id = "acme";
    store::enqueue_job(db_.conn(), j);
    auto job = store::claim_job(db_.conn(), "worker-a", 30s, {"export"});
    EXPECT_TRUE(job.has_value());
    return *job;
  }
  // Sessions (other than ours) whose application_name is `name`.
  std::string sessions_named(const std::string& name) {
    return db_.conn()
        .query(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND pid <> "
            "pg_backend_pid()",
            name)
        .text(0, 0);
  }

  tb::test::MigratedDatabase db_{"projlock", {.owner_role = kRole}};
};

TEST(ProjectLockNames, SessionNamesRoundTripAndOtherNamesAreNotJobs) {
  const std::string id = "0b6f1c1e-8c8a-4c8e-9d55-2f1f0c3b7a10";
  auto name = job_session_name(id, 3);
  EXPECT_EQ(name, "tb job " + id + " attempt 3");
  auto parsed = parse_job_session_name(name);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->job_id, id);
  EXPECT_EQ(parsed->attempt, 3);
  // PostgreSQL keeps 63 bytes of an application_name: the longest name fits.
  EXPECT_LE(job_session_name(id, std::numeric_limits<int>::max()).size(), 63u);
  EXPECT_TRUE(
      parse_job_session_name(job_session_name(id, std::numeric_limits<int>::max())).has_value());
  for (const std::string& bad : std::vector<std::string>{
           "", "psql", "pg_dump", "tb job  attempt 1", "tb job " + id, "tb job " + id + " attempt ",
           "tb job " + id + " attempt 0", "tb job " + id + " attempt 2x",
           "tb job x'; DROP attempt 1", "tb job " + id + " attempt -1"}) {
    EXPECT_FALSE(parse_job_session_name(bad).has_value()) << bad;
  }
}

TEST_F(ProjectLockTest, ApplicationNameReachesTheSessionFromKeywordAndUrlForms) {
  auto& pg = PgCluster::shared();
  for (const auto& base :
       {db_.conninfo(), pg.url(db_.name()), db_.conninfo() + " application_name=other"}) {
    auto c = db::Connection::open(with_application_name(base, "tb job x attempt 1"));
    EXPECT_EQ(c.query("SELECT current_setting('application_name')").text(0, 0),
              "tb job x attempt 1")
        << base;
  }
  // Quotes and backslashes in values survive.
  auto c = db::Connection::open(with_application_name(db_.conninfo(), "it's a \\ name"));
  EXPECT_EQ(c.query("SELECT current_setting('application_name')").text(0, 0), "it's a \\ name");
  EXPECT_THROW(with_application_name("host='unterminated", "n"), Error);
}

TEST_F(ProjectLockTest, ALiveHolderIsWaitedForAndCancelEndsTheWait) {
  auto job = claimed_job();
  std::atomic<bool> never{false};
  ProjectLock held(db_.conninfo(), "acme", job_session_name(job), never);

  std::atomic<bool> cancel{false};
  auto waiter = std::async(std::launch::async, [&] {
    ProjectLock second(db_.conninfo(), "acme",
                       "tb job 00000000-0000-0000-0000-000000000001 attempt 1", cancel);
  });
  // Several looks at the holder (about one a second): it is live, so untouched.
  EXPECT_EQ(waiter.wait_for(2500ms), std::future_status::timeout);
  EXPECT_NO_THROW(held.ensure_held());
  EXPECT_EQ(sessions_named(job_session_name(job)), "1");
  cancel = true;
  ASSERT_EQ(waiter.wait_for(5s), std::future_status::ready);
  try {
    waiter.get();
    FAIL() << "the wait should end cancelled";
  } catch (const Cancelled& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCancelled);
  }
  EXPECT_NO_THROW(held.ensure_held());
}

TEST_F(ProjectLockTest, ARescuedAttemptsSessionsAreTerminatedAndTheRetryTakesTheLock) {
  auto job = claimed_job();
  std::atomic<bool> never{false};
  auto stale_name = job_session_name(job);
  ProjectLock stale(db_.conninfo(), "acme", stale_name, never);
  // The frozen attempt's pg_dump: a session of the same name in a transaction.
  auto dump = db::Connection::open(with_application_name(db_.conninfo(), stale_name));
  dump.exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
  dump.exec("SELECT count(*) FROM control_plane.jobs");

  // The lease runs out, the queue hands the job back, worker B claims attempt 2.
  db_.conn().exec("UPDATE control_plane.jobs SET locked_until = now() - interval '1 second'");
  ASSERT_EQ(store::rescue_expired_jobs(db_.conn(), store::RetryPolicy{1ms, 1ms, 0.0}).size(), 1u);
  // Claimable once its (1 ms) retry backoff passed.
  std::optional<store::Job> retry;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!(retry = store::claim_job(db_.conn(), "worker-b", 30s, {"export"})) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(retry.has_value());
  ASSERT_EQ(retry->attempts, 2);

  // `stale` never lets go: the retry gets the lock only by breaking it. Were
  // the stale holder waited for, the bounded wait would end in PROJECT_BUSY
  // (a thrown Error fails the test) instead of hanging for the default 6 h.
  std::optional<ProjectLock> fresh;
  fresh.emplace(db_.conninfo(), "acme", job_session_name(*retry), never, ProjectLockOptions{120s});
  EXPECT_NO_THROW(fresh->ensure_held());
  // pg_terminate_backend() signals; each backend exits on its own, shortly.
  deadline = std::chrono::steady_clock::now() + 60s;
  while (sessions_named(stale_name) != "0" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(sessions_named(stale_name), "0");
  // The stale attempt finds out instead of crashing or recording anything.
  try {
    stale.ensure_held();
    FAIL() << "the stale lock should be gone";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
  }
  EXPECT_THROW(dump.exec("SELECT 1"), db::DbError);
}

TEST_F(ProjectLockTest, AHolderPastItsLeaseIsBrokenEvenBeforeTheQueueRescuesIt) {
  auto job = claimed_job();
  std::atomic<bool> never{false};
  ProjectLock stale(db_.conninfo(), "acme", job_session_name(job), never);
  db_.conn().exec("UPDATE control_plane.jobs SET locked_until = now() - interval '1 second'");
  ProjectLock other(db_.conninfo(), "acme", "tb job 00000000-0000-0000-0000-000000000002 attempt 1",
                    never);
  EXPECT_THROW(stale.ensure_held(), Error);
}

TEST_F(ProjectLockTest, AWaitThatRunsOutEndsWithProjectBusyCountedAndTheHolderKeepsTheLock) {
  auto job = claimed_job();
  std::atomic<bool> never{false};
  ProjectLock held(db_.conninfo(), "acme", job_session_name(job), never);
  metrics::Counter timeouts;
  auto started = std::chrono::steady_clock::now();
  try {
    ProjectLock second(db_.conninfo(), "acme",
                       "tb job 00000000-0000-0000-0000-000000000004 attempt 1", never,
                       ProjectLockOptions{1s, &timeouts});
    FAIL() << "took a lock that is held";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kProjectBusy);
    EXPECT_EQ(
        e.message(),
        "another backup or restore of this project was still running after 1 second; this job "
        "stopped waiting for it");
  }
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_EQ(timeouts.value(), 1.0);
  EXPECT_NO_THROW(held.ensure_held());
}

TEST_F(ProjectLockTest, AHolderThatIsNotAJobSessionIsNeverTouched) {
  // An operator's session (or an older service) holding the lock.
  auto other = db::Connection::open(with_application_name(db_.conninfo(), "psql"));
  ASSERT_TRUE(store::try_lock(other, store::project_lock_name("acme")));
  std::atomic<bool> cancel{false};
  auto waiter = std::async(std::launch::async, [&] {
    ProjectLock lock(db_.conninfo(), "acme",
                     "tb job 00000000-0000-0000-0000-000000000003 attempt 1", cancel);
  });
  EXPECT_EQ(waiter.wait_for(1500ms), std::future_status::timeout);
  cancel = true;
  EXPECT_THROW(waiter.get(), Error);
  EXPECT_NO_THROW(other.query("SELECT 1"));
}

}  // namespace
}  // namespace tb::workflows
