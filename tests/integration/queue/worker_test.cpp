// The worker runtime against a real database: outcomes committed atomically,
// retries, cancel, NOTIFY wake-up, several worker PROCESSES sharing one queue
// (every job runs exactly once), and a worker killed with SIGKILL mid-job.
#include "jobs/worker.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <thread>

#include "db/connection.hpp"
#include "store/jobs.hpp"
#include "store/projects.hpp"
#include "support/migrated_database.hpp"
#include "support/pg_cluster.hpp"

namespace tb::jobs {
namespace {

using namespace std::chrono_literals;
using store::JobStatus;
using tb::test::PgCluster;

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    store::upsert_project(db_.conn(), "p1", "p1");
    db_.conn().exec("CREATE TABLE runs (job_id uuid PRIMARY KEY, pid int NOT NULL)");
    db_.conn().exec("CREATE TABLE dupes (job_id uuid, pid int)");
  }
  db::Connection& conn() { return db_.conn(); }
  std::string value(const std::string& sql) { return db_.value(sql); }

  store::Job enqueue(const std::string& type = "t", int max_attempts = 3) {
    store::NewJob j;
    j.type = type;
    j.project_id = "p1";
    j.max_attempts = max_attempts;
    return store::enqueue_job(conn(), j);
  }
  WorkerOptions options() {
    WorkerOptions o;
    o.conninfo = db_.conninfo();
    o.lease = 2s;
    o.poll_interval = 200ms;
    o.rescue_interval = 200ms;
    o.retry = store::RetryPolicy{1ms, 1ms, 0.0};
    o.stop_timeout = 5s;
    return o;
  }
  // A worker whose "t" handler sets `started`, waits (up to two minutes) until
  // the job's cancel reaches it, then ends the way `end` says. Lease renewals,
  // which carry the cancel, come every 100 ms.
  std::unique_ptr<Worker> cancellable_worker(std::atomic<bool>& started, Handler end) {
    auto o = options();
    o.lease = 300ms;
    return std::make_unique<Worker>(
        o, std::map<std::string, Handler>{
               {"t", [&started, end = std::move(end)](JobContext& ctx) -> JobOutcome {
                  started = true;
                  for (int i = 0; i < 12000 && !ctx.cancel_requested(); ++i)
                    std::this_thread::sleep_for(10ms);
                  return end(ctx);
                }}});
  }
  // Polls until `pred` or the deadline; returns pred().
  template <typename P>
  bool eventually(P pred, std::chrono::milliseconds limit = 20s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }

  tb::test::MigratedDatabase db_{"queue"};
};

TEST_F(WorkerTest, SuccessCommitsResultAndCompletionTxTogether) {
  auto job = enqueue();
  bool after = false;
  Worker w(options(), {{"t", [&](JobContext& ctx) {
                          ctx.report_progress({{"bytes", 10}});
                          ctx.report_progress({{"bytes", 20}});  // throttled, flushed at the end
                          JobOutcome out;
                          out.result = {{"backup_id", "b1"}};
                          out.in_completion_tx = [id = ctx.job().id](db::Connection& c) {
                            c.query("INSERT INTO runs VALUES ($1::uuid, 0)", id);
                          };
                          out.after_commit = [&] { after = true; };
                          return out;
                        }}});
  EXPECT_TRUE(w.run_once());
  EXPECT_FALSE(w.run_once());
  auto done = store::get_job(conn(), job.id);
  EXPECT_EQ(done->status, JobStatus::kCompleted);
  EXPECT_EQ(done->result.at("backup_id").as_string(), "b1");
  EXPECT_EQ(done->progress.at("bytes").as_int64(), 20);
  EXPECT_EQ(value("SELECT count(*) FROM runs"), "1");
  EXPECT_TRUE(after);
}

TEST_F(WorkerTest, FailingCompletionTxRollsBackTheCompleteAndRetries) {
  auto job = enqueue();
  bool discarded = false;
  int calls = 0;
  Worker w(options(), {{"t", [&](JobContext& ctx) {
                          ++calls;
                          JobOutcome out;
                          out.result = {{"ok", true}};
                          out.in_completion_tx = [id = ctx.job().id, calls](db::Connection& c) {
                            c.query("INSERT INTO runs VALUES ($1::uuid, 0)", id);
                            if (calls == 1) c.exec("SELECT 1/0");  // the backups insert fails
                          };
                          out.on_discarded = [&] { discarded = true; };
                          return out;
                        }}});
  EXPECT_TRUE(w.run_once());
  auto j = store::get_job(conn(), job.id);
  EXPECT_EQ(j->status, JobStatus::kPending);  // neither completed nor the row kept
  EXPECT_EQ(value("SELECT count(*) FROM runs"), "0");
  EXPECT_TRUE(discarded);
  // The retry is claimable once its (1 ms) backoff passed.
  EXPECT_TRUE(eventually([&] { return w.run_once(); }));
  EXPECT_EQ(store::get_job(conn(), job.id)->status, JobStatus::kCompleted);
  EXPECT_EQ(value("SELECT count(*) FROM runs"), "1");
}

// The error's code decides: UNAVAILABLE (and anything unexpected) is tried
// again until max_attempts; VALIDATION_ERROR fails the job at once. Each
// attempt's public message and code are on record.
TEST_F(WorkerTest, AnErrorsCodeDecidesWhetherTheJobIsRetried) {
  auto unexpected = enqueue("unexpected", 2);
  auto unavailable = enqueue("unavailable", 3);
  auto invalid = enqueue("invalid", 3);
  Worker w(options(),
           {{"unexpected",
             [](JobContext&) -> JobOutcome { throw std::runtime_error("/secret/path broke"); }},
            {"unavailable",
             [](JobContext&) -> JobOutcome {
               throw Error(ErrorCode::kUnavailable, "the database is unavailable",
                           "/secret/socket");
             }},
            {"invalid", [](JobContext&) -> JobOutcome {
               throw_validation("format", "format must be sql or tar");
             }}});
  int ran = 0;
  EXPECT_TRUE(eventually([&] {
    if (w.run_once()) ++ran;
    return ran == 6;
  }));
  EXPECT_EQ(ran, 6);
  EXPECT_FALSE(w.run_once()) << "nothing is left to retry";

  auto r = store::get_job(conn(), unexpected.id);
  EXPECT_EQ(r->status, JobStatus::kFailed);
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(r->errors.size(), 2u);
  EXPECT_EQ(r->last_error, "internal error");  // no internal detail in what users see
  EXPECT_EQ(r->errors[0].as_object().at("code").as_string(), "INTERNAL");

  auto u = store::get_job(conn(), unavailable.id);
  EXPECT_EQ(u->status, JobStatus::kFailed);
  EXPECT_EQ(u->attempts, 3) << "UNAVAILABLE is tried again until max_attempts";
  ASSERT_EQ(u->errors.size(), 3u);
  for (const auto& e : u->errors) EXPECT_EQ(e.as_object().at("code").as_string(), "UNAVAILABLE");
  EXPECT_EQ(u->last_error, "the database is unavailable");

  auto v = store::get_job(conn(), invalid.id);
  EXPECT_EQ(v->status, JobStatus::kFailed);
  EXPECT_EQ(v->attempts, 1) << "VALIDATION_ERROR fails at once";
  ASSERT_EQ(v->errors.size(), 1u);
  EXPECT_EQ(v->errors[0].as_object().at("code").as_string(), "VALIDATION_ERROR");
  EXPECT_EQ(v->last_error, "format must be sql or tar");
}

// A cancel ends the job `cancelled`, with CANCELLED on record for the attempt.
TEST_F(WorkerTest, ACancelledHandlerIsRecordedAsCancelled) {
  auto job = enqueue();
  std::atomic<bool> started{false};
  auto w = cancellable_worker(
      started, [](JobContext&) -> JobOutcome { throw Cancelled("the export was cancelled"); });
  w->start();
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  store::cancel_job(conn(), job.id);
  ASSERT_TRUE(eventually(
      [&] { return store::get_job(conn(), job.id)->status == JobStatus::kCancelled; }, 120s));
  w->stop();
  auto j = store::get_job(conn(), job.id);
  ASSERT_EQ(j->errors.size(), 1u);
  EXPECT_EQ(j->errors[0].as_object().at("code").as_string(), "CANCELLED");
  EXPECT_EQ(j->last_error, "the export was cancelled");
}

TEST_F(WorkerTest, CancelStopsARunningHandlerAndEndsCancelled) {
  auto job = enqueue();
  std::atomic<bool> started{false};
  std::atomic<bool> saw_cancel{false};
  auto w = cancellable_worker(started, [&saw_cancel](JobContext& ctx) -> JobOutcome {
    saw_cancel = ctx.cancel_requested();
    throw std::runtime_error("pg_dump killed");
  });
  w->start();
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  auto c = store::cancel_job(conn(), job.id);
  EXPECT_TRUE(c->cancel_requested);
  ASSERT_TRUE(eventually(
      [&] { return store::get_job(conn(), job.id)->status == JobStatus::kCancelled; }, 120s));
  EXPECT_TRUE(saw_cancel);
  w->stop();
  EXPECT_EQ(store::get_job(conn(), job.id)->attempts, 1);
}

TEST_F(WorkerTest, NotifyWakesAnIdleWorkerQuickly) {
  auto o = options();
  o.poll_interval = 1h;  // only the NOTIFY can wake it within the test's deadline
  o.rescue_interval = 1h;
  std::atomic<int> ran{0};
  Worker w(o, {{"t", [&](JobContext&) {
                  ++ran;
                  return JobOutcome{};
                }}});
  w.start();
  // Idle: its listener session has run LISTEN and waits.
  ASSERT_TRUE(eventually([&] {
    return value(
               "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
               "state = 'idle' AND query LIKE 'LISTEN %'") != "0";
  }));
  auto job = enqueue();
  ASSERT_TRUE(eventually(
      [&] { return store::get_job(conn(), job.id)->status == JobStatus::kCompleted; }, 300s));
  w.stop();
  EXPECT_EQ(ran.load(), 1);
}

TEST_F(WorkerTest, StopHandsBackAJobThatDoesNotFinishInTime) {
  auto job = enqueue();
  std::atomic<bool> started{false};
  auto o = options();
  o.stop_timeout = 200ms;
  Worker w(o, {{"t", [&](JobContext& ctx) -> JobOutcome {
                  started = true;
                  while (!ctx.cancel_requested()) std::this_thread::sleep_for(5ms);
                  throw std::runtime_error("stopped");
                }}});
  w.start();
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  w.stop();
  auto j = store::get_job(conn(), job.id);
  EXPECT_EQ(j->status, JobStatus::kPending);
  EXPECT_EQ(j->attempts, 0);  // a shutdown does not use up an attempt
}

// --- several processes -------------------------------------------------------

// Runs in a forked child: a Worker until no job is left (or a deadline), then _exit.
[[noreturn]] void child_worker(const std::string& info, WorkerOptions o,
                               std::map<std::string, Handler> handlers) {
  int code = 0;
  try {
    Worker w(std::move(o), std::move(handlers));
    w.start();
    auto c = db::Connection::open(info);
    auto deadline = std::chrono::steady_clock::now() + 90s;
    while (c.exec("SELECT count(*) FROM control_plane.jobs WHERE status IN ('pending', 'running')")
               .int64(0, 0) > 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        code = 2;
        break;
      }
      std::this_thread::sleep_for(100ms);
    }
    w.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "child worker failed: %s\n", e.what());
    code = 3;
  }
  std::fflush(nullptr);
  _exit(code);  // no atexit: the shared test cluster belongs to the parent
}

Handler recording_handler() {
  return [](JobContext& ctx) {
    auto r = ctx.db().query("INSERT INTO runs VALUES ($1::uuid, $2) ON CONFLICT DO NOTHING",
                            ctx.job().id, static_cast<int>(getpid()));
    if (r.affected() == 0)
      ctx.db().query("INSERT INTO dupes VALUES ($1::uuid, $2)", ctx.job().id,
                     static_cast<int>(getpid()));
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::hash<std::string>{}(ctx.job().id) % 4));
    JobOutcome out;
    out.result = {{"pid", static_cast<int>(getpid())}};
    return out;
  };
}

TEST_F(WorkerTest, ThreeProcessesRunThreeHundredJobsExactlyOnce) {
  conn().exec(
      "INSERT INTO control_plane.jobs (id, type, project_id) "
      "SELECT gen_random_uuid(), 't', 'p1' FROM generate_series(1, 300)");
  std::vector<pid_t> children;
  for (int i = 0; i < 3; ++i) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto o = options();
      o.worker_id = "proc" + std::to_string(i);
      child_worker(db_.conninfo(), o, {{"t", recording_handler()}});
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  EXPECT_EQ(
      value("SELECT count(*) FROM control_plane.jobs WHERE status = 'completed' AND attempts = 1"),
      "300");
  EXPECT_EQ(value("SELECT count(*) FROM runs"), "300");
  EXPECT_EQ(value("SELECT count(*) FROM dupes"), "0");
  // The work was shared: more than one process ran jobs.
  EXPECT_GE(std::stoi(value("SELECT count(DISTINCT pid) FROM runs")), 2);
}

TEST_F(WorkerTest, AJobOfAWorkerKilledWithSigkillIsRescuedAndCompletedElsewhere) {
  auto job = enqueue();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto o = options();
    o.worker_id = "doomed";
    Worker w(o, {{"t", [](JobContext&) -> JobOutcome {
                    for (;;) std::this_thread::sleep_for(1s);  // stuck until SIGKILL
                  }}});
    w.start();
    for (;;) std::this_thread::sleep_for(1s);
  }
  ASSERT_TRUE(eventually([&] {
    auto j = store::get_job(conn(), job.id);
    return j->status == JobStatus::kRunning && j->locked_by.value_or("").starts_with("doomed");
  }));
  ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));

  auto o = options();
  o.worker_id = "survivor";
  Worker w(o, {{"t", recording_handler()}});
  w.start();
  // Completes at all: only the rescue of the expired lease can hand it over.
  ASSERT_TRUE(eventually(
      [&] { return store::get_job(conn(), job.id)->status == JobStatus::kCompleted; }, 300s));
  w.stop();
  auto j = store::get_job(conn(), job.id);
  EXPECT_EQ(j->attempts, 2);
  ASSERT_EQ(j->errors.size(), 1u);
  EXPECT_EQ(j->errors[0].at("error").as_string(), "lease expired (worker lost)");
  EXPECT_TRUE(j->locked_by.value_or("").starts_with("survivor"));
  EXPECT_EQ(value("SELECT count(*) FROM runs"), "1");
}

}  // namespace
}  // namespace tb::jobs
