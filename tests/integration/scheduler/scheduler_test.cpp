// The scheduler against a real database with a ManualClock: one job per
// (project, slot) across two schedulers, leader election by a control-plane row lock,
// one catch-up after downtime, deterministic jitter, the job's payload; the
// projects due in one slot as one fleet run, exactly once across two leaders.
#include "schedule/scheduler.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "db/connection.hpp"
#include "model/schedule.hpp"
#include "store/backups.hpp"
#include "store/jobs.hpp"
#include "store/projects.hpp"
#include "store/settings.hpp"
#include "support/migrated_database.hpp"
#include "support/pg_cluster.hpp"

namespace tb::schedule {
namespace {

using namespace std::chrono;
using tb::test::PgCluster;

SystemTime at(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return SystemTime{sys_days{year{y} / month{mo} / day{d}}} + hours(h) + minutes(mi) + seconds(s);
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override { spdlog::set_level(spdlog::level::warn); }
  // A project with a schedule saved at `saved_at`.
  void scheduled(const std::string& id, const std::string& schedule_json, SystemTime saved_at) {
    store::upsert_project(db_.conn(), id, id);
    store::BackupSettings s;
    s.project_id = id;
    s.schedule = model::schedule_to_text(model::schedule_from_text(schedule_json));
    s.notify_email = "ops@example.com";
    s.compression = "gzip";
    store::put_backup_settings(db_.conn(), s);
    db_.conn().query(
        "UPDATE control_plane.backup_settings SET updated_at = $1 WHERE project_id = $2", saved_at,
        id);
  }
  std::vector<store::Job> jobs(const std::string& project) {
    return store::list_jobs(db_.conn(), project, 100);
  }
  SchedulerOptions options() {
    SchedulerOptions o;
    o.conninfo = db_.conninfo();
    o.tick = seconds(30);
    o.jitter_window = seconds(300);
    return o;
  }

  tb::test::MigratedDatabase db_{"sched"};
};

TEST_F(SchedulerTest, DueSlotIsEnqueuedOnceAcrossTwoSchedulers) {
  scheduled("acme", R"({"kind":"daily","time":"02:00"})", at(2026, 3, 1));
  ManualClock clock(at(2026, 3, 4, 1, 59));
  Scheduler a(options());
  Scheduler b(options());
  // Before the slot: yesterday's slot is due (the schedule is older than it).
  auto first = a.tick(clock.now());
  auto second = b.tick(clock.now());
  EXPECT_TRUE(first.leader);
  EXPECT_FALSE(second.leader);  // the leader lock has one holder
  ASSERT_EQ(jobs("acme").size(), 1u);
  EXPECT_EQ(jobs("acme")[0].idempotency_key, idempotency_key("acme", at(2026, 3, 3, 2, 0)));
  // Both tick through the slot many times: one more job, for today's slot.
  for (int i = 0; i < 10; ++i) {
    clock.advance(seconds(30));
    a.tick(clock.now());
    b.tick(clock.now());
  }
  auto list = jobs("acme");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].idempotency_key, idempotency_key("acme", at(2026, 3, 4, 2, 0)));
  // The leader leaves: the other takes over and enqueues nothing twice.
  a.resign();
  clock.advance(minutes(5));
  EXPECT_TRUE(b.tick(clock.now()).leader);
  EXPECT_EQ(jobs("acme").size(), 2u);
}

TEST_F(SchedulerTest, TwoOverlappingLeadersStillEnqueueOnce) {
  // No leader election here: two connections racing enqueue_due at once, as
  // two processes that both believe they lead would. Each project runs its
  // own export (the fleet grouping is off).
  for (int p = 0; p < 20; ++p) {
    scheduled("p" + std::to_string(p), R"({"kind":"cron","expr":"*/15 * * * *"})", at(2026, 3, 1));
  }
  auto now = at(2026, 3, 4, 10, 20);
  auto alone = options();
  alone.fleet_min_projects = 0;
  std::vector<std::thread> threads;
  threads.reserve(2);
  std::atomic<int> enqueued{0};
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      auto c = db::Connection::open(db_.conninfo());
      for (int round = 0; round < 3; ++round) enqueued += enqueue_due(c, now, alone).enqueued;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(db_.conn().exec("SELECT count(*) FROM control_plane.jobs").int64(0, 0), 20);
  EXPECT_EQ(db_.conn()
                .exec("SELECT count(DISTINCT idempotency_key) FROM control_plane.jobs "
                      "WHERE idempotency_key LIKE 'scheduled:%:2026-03-04T10:15:00.000Z'")
                .int64(0, 0),
            20);
  EXPECT_GE(enqueued.load(), 20);
}

// The fleet job of a slot, by its key; nullopt when there is none.
std::optional<store::Job> fleet_job(db::Connection& conn, SystemTime slot) {
  auto r = conn.query("SELECT id FROM control_plane.jobs WHERE idempotency_key = $1",
                      fleet_idempotency_key(slot));
  if (r.empty()) return std::nullopt;
  return store::get_job(conn, r.text(0, 0));
}

std::set<std::string> listed_projects(const store::Job& job) {
  std::set<std::string> out;
  for (const auto& p : job.payload.at("projects").as_array())
    out.insert(std::string(p.as_string()));
  return out;
}

TEST_F(SchedulerTest, ProjectsDueInTheSameSlotAreOneFleetRunAcrossTwoLeaders) {
  std::set<std::string> quarter;
  for (int p = 0; p < 20; ++p) {
    quarter.insert("p" + std::to_string(p));
    scheduled("p" + std::to_string(p), R"({"kind":"cron","expr":"*/15 * * * *"})", at(2026, 3, 1));
  }
  scheduled("daily", R"({"kind":"daily","time":"02:00"})", at(2026, 3, 1));
  auto now = at(2026, 3, 4, 10, 20);
  std::vector<std::thread> threads;
  threads.reserve(2);
  std::atomic<int> fleets{0};
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      auto c = db::Connection::open(db_.conninfo());
      for (int round = 0; round < 3; ++round) fleets += enqueue_due(c, now, options()).fleet_runs;
    });
  }
  for (auto& t : threads) t.join();
  // One fleet run for the 10:15 slot, listing the twenty, run at the slot;
  // the project due in another slot (02:00) runs alone, once.
  EXPECT_GE(fleets.load(), 1);  // both may have believed theirs new; the key kept one
  auto slot = at(2026, 3, 4, 10, 15);
  auto fleet = fleet_job(db_.conn(), slot);
  ASSERT_TRUE(fleet);
  EXPECT_EQ(fleet->type, "fleet_export");
  EXPECT_EQ(fleet->run_at, slot);
  EXPECT_EQ(fleet->payload.at("kind").as_string(), "scheduled");
  EXPECT_EQ(fleet->payload.at("slot").as_string(), "2026-03-04T10:15:00.000Z");
  EXPECT_EQ(listed_projects(*fleet), quarter);
  EXPECT_EQ(db_.conn().exec("SELECT count(*) FROM control_plane.jobs").int64(0, 0), 2);
  ASSERT_EQ(jobs("daily").size(), 1u);
  EXPECT_EQ(jobs("daily")[0].idempotency_key, idempotency_key("daily", at(2026, 3, 4, 2, 0)));
  EXPECT_TRUE(jobs("p0").empty());  // the run makes the twenty's exports when it runs
}

TEST_F(SchedulerTest, AProjectDueInASlotItsFleetRunDoesNotListRunsAloneOnce) {
  scheduled("a", R"({"kind":"cron","expr":"*/15 * * * *"})", at(2026, 3, 1));
  scheduled("b", R"({"kind":"cron","expr":"*/15 * * * *"})", at(2026, 3, 1));
  auto slot = at(2026, 3, 4, 10, 15);
  EXPECT_EQ(enqueue_due(db_.conn(), slot, options()).fleet_runs, 1);
  // Saved just after the slot (within the grace of two ticks): due in the
  // same slot, but the slot's fleet run was enqueued without it.
  scheduled("late", R"({"kind":"cron","expr":"*/15 * * * *"})", slot + seconds(20));
  auto r = enqueue_due(db_.conn(), slot + seconds(30), options());
  EXPECT_EQ(r.fleet_runs, 0);
  EXPECT_EQ(r.enqueued, 1);
  ASSERT_EQ(jobs("late").size(), 1u);
  EXPECT_EQ(jobs("late")[0].type, "export");
  EXPECT_EQ(jobs("late")[0].idempotency_key, idempotency_key("late", slot));
  EXPECT_EQ(listed_projects(*fleet_job(db_.conn(), slot)), (std::set<std::string>{"a", "b"}));
  // Asked again (a new leader, no memory): nothing more for the slot.
  EXPECT_EQ(enqueue_due(db_.conn(), slot + seconds(60), options()).enqueued, 0);
  EXPECT_EQ(db_.conn().exec("SELECT count(*) FROM control_plane.jobs").int64(0, 0), 2);
  // A project whose own export for the slot exists is not listed again: the
  // next slot's run lists the three.
  auto next = enqueue_due(db_.conn(), at(2026, 3, 4, 10, 30), options());
  EXPECT_EQ(next.fleet_runs, 1);
  EXPECT_EQ(listed_projects(*fleet_job(db_.conn(), at(2026, 3, 4, 10, 30))),
            (std::set<std::string>{"a", "b", "late"}));
}

TEST_F(SchedulerTest, MissedSlotsAfterDowntimeAreCaughtUpOnce) {
  scheduled("acme", R"({"kind":"daily","time":"03:00"})", at(2026, 3, 1));
  Scheduler s(options());
  ManualClock clock(at(2026, 3, 1, 3, 5));
  s.tick(clock.now());
  ASSERT_EQ(jobs("acme").size(), 1u);
  // Down for five days: one job for the latest slot, not five.
  clock.set(at(2026, 3, 6, 12, 0));
  Scheduler restarted(options());
  s.resign();
  restarted.tick(clock.now());
  restarted.tick(clock.now() + seconds(30));
  auto list = jobs("acme");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].idempotency_key, idempotency_key("acme", at(2026, 3, 6, 3, 0)));
}

TEST_F(SchedulerTest, SlotsBeforeTheScheduleWasSavedAreNotCaughtUp) {
  scheduled("fresh", R"({"kind":"daily","time":"02:00"})", at(2026, 3, 4, 9, 0));
  Scheduler s(options());
  s.tick(at(2026, 3, 4, 9, 1));
  EXPECT_TRUE(jobs("fresh").empty());
  s.tick(at(2026, 3, 5, 2, 0));
  EXPECT_EQ(jobs("fresh").size(), 1u);
}

TEST_F(SchedulerTest, JobCarriesSettingsAndASpreadRunAt) {
  scheduled("acme", R"({"kind":"weekly","day":"wed","time":"10:00"})", at(2026, 3, 1));
  scheduled("zeta", R"({"kind":"weekly","day":"wed","time":"10:00"})", at(2026, 3, 1));
  db_.conn().exec(
      "UPDATE control_plane.backup_settings SET schedule = 'off' WHERE project_id = 'zeta'");
  Scheduler s(options());
  auto r = s.tick(at(2026, 3, 4, 10, 0));
  EXPECT_EQ(r.enqueued, 1);  // "off" projects are not listed
  auto job = jobs("acme").at(0);
  EXPECT_EQ(job.type, "export");
  EXPECT_EQ(job.payload.at("kind").as_string(), "scheduled");
  EXPECT_EQ(job.payload.at("compression").as_string(), "gzip");
  EXPECT_EQ(job.payload.at("format").as_string(), "sql");
  EXPECT_EQ(job.payload.at("notify_email").as_string(), "ops@example.com");
  EXPECT_EQ(job.payload.at("destinations").as_array().size(), 1u);
  auto slot = at(2026, 3, 4, 10, 0);
  EXPECT_EQ(job.run_at, slot + jitter_for("acme", seconds(300)));
  // Jitter is deterministic, inside the window, and spreads projects.
  std::set<std::int64_t> spread;
  for (int p = 0; p < 200; ++p) {
    auto j = jitter_for("project-" + std::to_string(p), seconds(300));
    EXPECT_GE(j.count(), 0);
    EXPECT_LT(j.count(), 300);
    EXPECT_EQ(j, jitter_for("project-" + std::to_string(p), seconds(300)));
    spread.insert(j.count());
  }
  EXPECT_GT(spread.size(), 100u);
  EXPECT_EQ(jitter_for("acme", seconds(0)).count(), 0);
}

TEST_F(SchedulerTest, AnUnusableScheduleDoesNotStopTheOthers) {
  scheduled("good", R"({"kind":"daily","time":"02:00"})", at(2026, 3, 1));
  scheduled("bad", R"({"kind":"daily","time":"02:00"})", at(2026, 3, 1));
  db_.conn().exec(
      "UPDATE control_plane.backup_settings SET schedule = '{\"kind\":\"cron\",\"expr\":\"99 * * * "
      "*\"}' "
      "WHERE project_id = 'bad'");
  Scheduler s(options());
  EXPECT_EQ(s.tick(at(2026, 3, 4, 2, 0)).enqueued, 1);
  EXPECT_EQ(jobs("good").size(), 1u);
}

TEST_F(SchedulerTest, PeriodicTaskRunsUntilStopped) {
  std::atomic<int> runs{0};
  PeriodicTask task("test", milliseconds(10), [&] {
    ++runs;
    if (runs == 2) throw std::runtime_error("a failing pass does not end the loop");
  });
  task.start();
  auto deadline = steady_clock::now() + seconds(10);
  while (runs < 5 && steady_clock::now() < deadline) std::this_thread::sleep_for(milliseconds(5));
  task.stop();
  int after = runs;
  EXPECT_GE(after, 5);
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(runs.load(), after);
}

}  // namespace
}  // namespace tb::schedule

namespace tb::schedule {
namespace {

// verify_schedule: at each due slot, one "verify" job of the project's newest
// completed backup that has a manifest; none while there is no such backup.
class VerifyScheduleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    store::upsert_project(db_.conn(), "acme", "acme");
    store::BackupSettings s;
    s.project_id = "acme";
    s.verify_schedule = model::schedule_to_text(
        model::schedule_from_text(R"({"kind":"weekly","day":"sun","time":"03:00"})"));
    store::put_backup_settings(db_.conn(), s);
    db_.conn().query("UPDATE control_plane.backup_settings SET updated_at = $1",
                     SystemTime{sys_days{year{2026} / 3 / 1}});
  }
  std::vector<store::Job> verify_jobs() {
    std::vector<store::Job> out;
    for (auto& j : store::list_jobs(db_.conn(), "acme", 100))
      if (j.type == "verify") out.push_back(j);
    return out;
  }
  std::string backup_at(SystemTime created, bool with_manifest) {
    store::Backup b;
    b.project_id = "acme";
    b.sha256 = std::string(64, 'a');
    b.created_at = created;
    b.expires_at = created + hours(24 * 365);
    if (with_manifest) b.tables = boost::json::parse(R"([{"name": "t", "rows": 1}])");
    return store::insert_backup(db_.conn(), b).id;
  }
  SchedulerOptions options() {
    SchedulerOptions o;
    o.conninfo = db_.conninfo();
    o.jitter_window = seconds(0);
    return o;
  }

  tb::test::MigratedDatabase db_{"sched_verify"};
};

TEST_F(VerifyScheduleTest, TheNewestBackupWithAManifestIsVerifiedOncePerSlot) {
  const auto sunday = SystemTime{sys_days{year{2026} / 3 / 8}} + hours(3);
  backup_at(sunday - hours(48), false);  // made before manifests: nothing to verify
  EXPECT_EQ(enqueue_due(db_.conn(), sunday + minutes(1), options()).enqueued, 0);
  EXPECT_TRUE(verify_jobs().empty());

  backup_at(sunday - hours(30), true);
  const auto newest = backup_at(sunday - hours(20), true);
  EXPECT_EQ(enqueue_due(db_.conn(), sunday + minutes(2), options()).enqueued, 1);
  EXPECT_EQ(enqueue_due(db_.conn(), sunday + minutes(3), options()).enqueued, 0);
  auto jobs = verify_jobs();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].payload.at("backup_id"), boost::json::value(newest));
  EXPECT_EQ(jobs[0].payload.at("kind"), "scheduled");
  EXPECT_EQ(jobs[0].run_at, sunday);
  // The next week's slot gets its own job.
  EXPECT_EQ(enqueue_due(db_.conn(), sunday + hours(24 * 7), options()).enqueued, 1);
}

}  // namespace
}  // namespace tb::schedule
