// Fleet runs end to end, against the real binary, cluster, pg_dump, psql and
// pg_restore: a fleet of 200 tenants backed up by `export --all`, every
// backup restoring alone into an empty database with its tenant's data and
// nothing of any other; a locked tenant held up alone while the rest
// complete; the lock budget splitting batches; a cancel that stops the run
// and its tenants; the scheduler's fleet run of the projects due in a slot;
// a fleet run refused to a project's token.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <set>
#include <thread>

#include "support/child_process.hpp"
#include "support/deployed_suite.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/service_process.hpp"
#include "support/table_lock.hpp"

namespace tb::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr int kFleet = 200;

// Projects t000..t199 with schemas of three small tables (every 4th backs up
// as tar), and "big" with twelve tables.
const char* kSeed = R"SQL(
INSERT INTO control_plane.projects (id, slug, name)
  SELECT 't' || lpad(i::text, 3, '0'), 't' || lpad(i::text, 3, '0'), 'Tenant ' || i
  FROM generate_series(0, 199) i;
INSERT INTO control_plane.backup_settings (project_id, format)
  SELECT id, 'tar' FROM control_plane.projects WHERE substr(id, 2)::int % 4 = 0;
DO $$ BEGIN
  FOR i IN 0 .. 199 LOOP
    EXECUTE format('CREATE SCHEMA tenant_t%1$s;
                    CREATE TABLE tenant_t%1$s.accounts (id int PRIMARY KEY, name text);
                    CREATE TABLE tenant_t%1$s.orders (id int PRIMARY KEY, account_id int REFERENCES tenant_t%1$s.accounts, total numeric);
                    CREATE TABLE tenant_t%1$s.notes (body text);
                    INSERT INTO tenant_t%1$s.accounts SELECT g, %2$L || g FROM generate_series(1, 3 + %3$s %% 7) g;
                    INSERT INTO tenant_t%1$s.orders SELECT g, 1 + g %% 3, g * %3$s FROM generate_series(1, 10) g;
                    INSERT INTO tenant_t%1$s.notes VALUES (%2$L);',
                   lpad(i::text, 3, '0'), 'tenant ' || i, i);
  END LOOP;
END $$;
INSERT INTO control_plane.projects (id, slug, name) VALUES ('big', 'big', 'Big');
CREATE SCHEMA tenant_big;
DO $$ BEGIN
  FOR i IN 1 .. 12 LOOP
    EXECUTE format('CREATE TABLE tenant_big.t%s (id int PRIMARY KEY); INSERT INTO tenant_big.t%s VALUES (%s)', i, i, i);
  END LOOP;
END $$;
)SQL";

std::string project(int i) {
  char id[8];
  std::snprintf(id, sizeof id, "t%03d", i);
  return id;
}

// One comparable string for all of a small tenant's rows.
std::string tenant_digest(const std::string& db, const std::string& schema) {
  return PgCluster::shared().query_value(db,
                                         "SELECT md5(string_agg(x, '|' ORDER BY x)) FROM ("
                                         "SELECT a::text AS x FROM " +
                                             schema +
                                             ".accounts a UNION ALL "
                                             "SELECT o::text FROM " +
                                             schema +
                                             ".orders o UNION ALL "
                                             "SELECT n::text FROM " +
                                             schema + ".notes n) rows");
}

class FleetE2e : public DeployedSuite<FleetE2e> {
 protected:
  static void SetUpTestSuite() {
    auto o = served_options("e2e_fleet");
    // The API alone: each test starts the worker its settings need.
    o.serve = {"serve", "--no-worker", "--no-scheduler"};
    o.seed_sql = kSeed;
    o.token_args = {"--role", "admin", "--sub", "root"};
    deploy(o);
  }

  // A worker process with these fleet settings.
  static std::unique_ptr<ServiceProcess> worker(const std::map<std::string, std::string>& extra) {
    auto env = env_;
    for (auto& [k, v] : extra) env[k] = v;
    return std::make_unique<ServiceProcess>(std::vector<std::string>{"worker"}, env, false);
  }

  static std::string start_fleet(const std::vector<std::string>& projects) {
    json::object body{{"projects", json::value_from(projects)}};
    auto r = http_post_json(url("/api/backup/export-all"), json::serialize(body), token_);
    EXPECT_EQ(r.status, 202) << r.body;
    return std::string(r.json().at("data").at("job_id").as_string());
  }

  static json::object wait_long(const std::string& id) { return poll(id, job_ended, 600); }

  // The run's tenant jobs: project -> (status, batch_dir).
  static std::map<std::string, std::pair<std::string, std::string>> tenant_jobs(
      const std::string& run) {
    std::map<std::string, std::pair<std::string, std::string>> out;
    auto& pg = PgCluster::shared();
    auto rows = pg.query_column(db_,
                                "SELECT project_id || ' ' || status || ' ' || "
                                "coalesce(payload->'fleet'->>'batch_dir', '') FROM "
                                "control_plane.jobs WHERE payload->'fleet'->>'run' = '" +
                                    run + "'");
    for (const auto& row : rows) {
      auto a = row.find(' '), b = row.find(' ', a + 1);
      out[row.substr(0, a)] = {row.substr(a + 1, b - a - 1), row.substr(b + 1)};
    }
    return out;
  }
};

TEST_F(FleetE2e, EveryTenantOfAFleetRunRestoresAloneWithItsDataAndNothingOfAnyOther) {
  auto w = worker({{"FLEET_BATCH_TENANTS", "70"}});
  ChildProcess cli({binary_path(), "export", "--all"}, env_);
  ASSERT_EQ(cli.wait(std::chrono::seconds(900)), 0) << cli.output() << w->log();
  auto out = cli.output();
  EXPECT_NE(out.find("tenants done"), std::string::npos) << out;  // progress was shown
  while (!out.empty() && out.back() == '\n') out.pop_back();
  auto run = json::parse(out.substr(out.rfind('\n') + 1)).as_object();
  const std::string run_id(run.at("id").as_string());
  // Its progress shows counts, not the plan of every batch nor where the dumps were.
  const auto& progress = run.at("progress").as_object();
  EXPECT_EQ(progress.at("batches"), json::value(3)) << json::serialize(progress);
  EXPECT_EQ(progress.at("next_batch"), json::value(3));
  EXPECT_FALSE(progress.contains("current_dir"));
  const auto& result = run.at("result").as_object();
  EXPECT_EQ(result.at("tenants_completed").as_int64(), kFleet + 1) << json::serialize(result);
  EXPECT_EQ(result.at("tenants_failed").as_int64(), 0);
  EXPECT_EQ(result.at("batches").as_int64(), 3);  // 200 in 70s; "big" fits a batch too
  EXPECT_GT(result.at("tenants_per_second").as_double(), 0);

  // Each tenant's backup: its own row and file, from this run.
  auto& pg = PgCluster::shared();
  auto rows =
      pg.query_column(db_,
                      "SELECT project_id || ' ' || format || ' ' || (locations->0->>'path') FROM "
                      "control_plane.backups WHERE status = 'completed' AND fleet_run = '" +
                          run_id + "' AND project_id <> 'big' ORDER BY project_id");
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kFleet));
  // A tenant's cut went through the export's chain: adaptive zstd, its levels
  // recorded, and the manifest counted from the uncompressed archive.
  EXPECT_EQ(pg.query_value(db_, "SELECT count(*) FROM control_plane.backups WHERE fleet_run = '" +
                                    run_id +
                                    "' AND compression_level->>'requested' = 'adaptive' AND "
                                    "(compression_level->>'lowest')::int >= 1 AND "
                                    "jsonb_array_length(tables) = 3"),
            std::to_string(kFleet));
  const auto scratch = pg.create_database("fleet_scratch");
  for (const auto& row : rows) {
    auto a = row.find(' '), b = row.find(' ', a + 1);
    const auto id = row.substr(0, a), format = row.substr(a + 1, b - a - 1),
               path = row.substr(b + 1);
    const auto schema = "tenant_" + id;
    ASSERT_EQ(pg.query_value(scratch,
                             "SELECT count(*) FROM pg_namespace WHERE nspname LIKE "
                             "'tenant%'"),
              "0");
    const std::string replay = format == "tar"
                                   ? pg.bin_dir() + "/pg_restore --no-owner --exit-on-error -d '"
                                   : pg.bin_dir() + "/psql -X -q -v ON_ERROR_STOP=1 '";
    run_command("zstd -dc " + storage_ + "/" + path + " | " + replay + pg.conninfo(scratch) + "'");
    EXPECT_EQ(tenant_digest(scratch, schema), tenant_digest(db_, schema)) << id << " " << format;
    // Nothing of another tenant came with it.
    EXPECT_EQ(pg.query_value(scratch,
                             "SELECT string_agg(nspname, ',') FROM pg_namespace WHERE "
                             "nspname LIKE 'tenant%'"),
              schema);
    pg.exec(scratch, "DROP SCHEMA " + schema + " CASCADE");
  }
  pg.drop_database(scratch);
  EXPECT_FALSE(fs::exists(storage_ + "/.fleet/" + run_id)) << "the batch dumps were left behind";
  // The API says where each backup came from.
  auto history = http_get(url("/api/backup/history?project_id=t007"), token_);
  ASSERT_EQ(history.status, 200);
  EXPECT_EQ(history.json().at("data").at("items").at(0).at("fleet_run"), json::value(run_id))
      << history.body;
}

TEST_F(FleetE2e, ATenantWithALockedTableIsHeldUpAloneWhileTheOthersComplete) {
  auto w = worker({{"FLEET_LOCK_WAIT_SECONDS", "1"}});
  TableLock lock(PgCluster::shared().conninfo(db_), "tenant_t105.accounts");
  const auto run = start_fleet({"t104", "t105", "t106"});
  // The batch's pg_dump gives up on the lock; t105 gets its own export, which
  // waits for the lock; t104 and t106 complete from the batch without it.
  for (int i = 0; i < 600; ++i) {
    auto jobs = tenant_jobs(run);
    if (jobs["t104"].first == "completed" && jobs["t106"].first == "completed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto jobs = tenant_jobs(run);
  ASSERT_EQ(jobs["t104"].first, "completed") << w->log();
  ASSERT_EQ(jobs["t106"].first, "completed");
  EXPECT_NE(jobs["t104"].second, "");  // cut from the batch
  EXPECT_EQ(jobs["t105"].second, "");  // its own pg_dump
  EXPECT_NE(jobs["t105"].first, "completed");
  lock.release();
  auto done = wait_long(run);
  ASSERT_EQ(done.at("status").as_string(), "completed") << json::serialize(done);
  EXPECT_EQ(done.at("result").at("tenants_completed").as_int64(), 3) << json::serialize(done);
}

TEST_F(FleetE2e, BatchesStayWithinTheLockBudgetAndATenantOverItRunsAlone) {
  auto w = worker({{"FLEET_MAX_LOCKS", "10"}});
  std::vector<std::string> projects = {"big"};
  for (int i = 10; i < 19; ++i) projects.push_back(project(i));
  const auto run = start_fleet(projects);
  auto done = wait_long(run);
  ASSERT_EQ(done.at("status").as_string(), "completed") << json::serialize(done) << w->log();
  // Three tables a tenant: at most three tenants a batch; twelve tables is
  // more than a batch may lock, so "big" was dumped alone.
  EXPECT_EQ(done.at("result").at("batches").as_int64(), 3) << json::serialize(done);
  EXPECT_EQ(done.at("result").at("tenants_completed").as_int64(), 10);
  auto jobs = tenant_jobs(run);
  EXPECT_EQ(jobs["big"].second, "");
  std::set<std::string> batch_dirs;
  for (const auto& [id, job] : jobs) {
    if (id != "big") batch_dirs.insert(job.second);
  }
  EXPECT_EQ(batch_dirs.size(), 3u);
}

TEST_F(FleetE2e, CancellingARunStopsItAndEveryTenantItHadNotFinished) {
  auto w = worker({{"FLEET_BATCH_TENANTS", "10"}});
  // The second batch's pg_dump waits on this lock (FLEET_LOCK_WAIT_SECONDS is 30).
  TableLock lock(PgCluster::shared().conninfo(db_), "tenant_t135.accounts");
  std::vector<std::string> projects;
  for (int i = 120; i < 160; ++i) projects.push_back(project(i));
  const auto run = start_fleet(projects);
  // The first batch ended and the second is being dumped.
  ASSERT_TRUE(deployment_->wait_for(
      "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
      "WHERE c.relname = 'accounts' AND c.relnamespace = 'tenant_t135'::regnamespace "
      "AND NOT l.granted",
      "1"))
      << w->log();
  auto r = http_post_json(url("/api/jobs/" + run + "/cancel"), "{}", token_);
  ASSERT_EQ(r.status, 202) << r.body;
  auto done = wait_long(run);
  EXPECT_EQ(done.at("status").as_string(), "cancelled") << json::serialize(done);
  lock.release();
  // No tenant job is left to run, none of the later batches was queued, and
  // the run's dumps are gone.
  EXPECT_TRUE(deployment_->wait_for(
      "SELECT count(*) FROM control_plane.jobs WHERE payload->'fleet'->>'run' = '" + run +
          "' AND status IN ('pending', 'running')",
      "0"));
  auto jobs = tenant_jobs(run);
  EXPECT_LE(jobs.size(), 10u);
  EXPECT_EQ(jobs.count("t155"), 0u);
  EXPECT_FALSE(fs::exists(storage_ + "/.fleet/" + run));
}

// The scheduler: projects due in the same slot are one fleet run, and each
// is backed up once for that slot, under the key its own scheduled export
// would have had, its backup "scheduled".
TEST_F(FleetE2e, ProjectsDueInTheSameSlotAreBackedUpInOneScheduledFleetRun) {
  const std::vector<std::string> due = {"t170", "t171", "t172"};
  // Daily at 02:00, saved two days ago: the latest 02:00 is due at once.
  for (const auto& id : due) {
    exec("INSERT INTO control_plane.backup_settings (project_id, schedule, updated_at) VALUES ('" +
         id + R"(', '{"kind":"daily","time":"02:00"}', now() - interval '2 days') )" +
         "ON CONFLICT (project_id) DO UPDATE SET schedule = excluded.schedule, "
         "updated_at = excluded.updated_at");
  }
  std::string run;
  {
    auto env = env_;
    env["SCHEDULE_JITTER_SECONDS"] = "0";
    ServiceProcess scheduler({"serve"}, env);
    ASSERT_TRUE(deployment_->wait_for(
        "SELECT count(*) FROM control_plane.jobs WHERE type = 'fleet_export' "
        "AND idempotency_key LIKE 'scheduled-fleet:%' AND status = 'completed'",
        "1"))
        << scheduler.log();
    run = value("SELECT id FROM control_plane.jobs WHERE idempotency_key LIKE 'scheduled-fleet:%'");
  }
  for (const auto& id : due) {
    exec("UPDATE control_plane.backup_settings SET schedule = 'off' WHERE project_id = '" + id +
         "'");
  }
  auto done = wait_long(run);
  EXPECT_EQ(done.at("result").at("tenants_completed").as_int64(), 3) << json::serialize(done);
  const auto slot =
      value("SELECT payload->>'slot' FROM control_plane.jobs WHERE id = '" + run + "'");
  for (const auto& id : due) {
    // One export for the slot, the run's, under the project's scheduled key.
    EXPECT_EQ(value("SELECT count(*) FROM control_plane.jobs WHERE type = 'export' AND "
                    "project_id = '" +
                    id + "' AND idempotency_key = 'scheduled:" + id + ":" + slot +
                    "' AND payload->'fleet'->>'run' = '" + run + "' AND status = 'completed'"),
              "1")
        << id;
    EXPECT_EQ(value("SELECT string_agg(kind || ' ' || status, ',') FROM control_plane.backups "
                    "WHERE fleet_run = '" +
                    run + "' AND project_id = '" + id + "'"),
              "scheduled completed")
        << id;
  }
  // No project other than the three was part of it.
  EXPECT_EQ(value("SELECT count(*) FROM control_plane.jobs WHERE payload->'fleet'->>'run' = '" +
                  run + "'"),
            "3");
}

TEST_F(FleetE2e, AProjectsTokenCannotStartAFleetRun) {
  const auto before = value("SELECT count(*) FROM control_plane.jobs");
  auto tenant = mint({"--project", "t001", "--sub", "owner"});
  auto r = http_post_json(url("/api/backup/export-all"), "{}", tenant);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(value("SELECT count(*) FROM control_plane.jobs"), before);
  r = http_post_json(url("/api/backup/export-all"), R"({"projects":["nope"]})", token_);
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(value("SELECT count(*) FROM control_plane.jobs"), before);
}

}  // namespace
}  // namespace tb::test
