// A worker frozen (SIGSTOP) past its lease while holding the project's lock
// does not stall the project: the retry on another worker ends the frozen
// attempt's database sessions (its lock, its pg_dump), finishes the backup
// while the frozen process is still stopped, and the frozen worker, resumed,
// changes nothing. The service runs as a NON-superuser role here: ending the
// sessions of its own role needs no extra privilege.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/deployment.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/service_process.hpp"
#include "support/table_lock.hpp"

namespace tb::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const std::string kRole = "tb_service_nosuper";

int files_under(const std::string& dir) {
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

TEST(StaleLock, AFrozenWorkersLockIsBrokenAndTheRetryCompletesWhileItIsStillStopped) {
  // A database owned by a non-superuser role, migrated and seeded as that
  // role, with one tenant; the binary connects as that role.
  DeploymentOptions o;
  o.prefix = "stalelock";
  o.role = kRole;
  o.env = {{"JOB_LEASE_SECONDS", "3"}};
  Deployment d(o);
  auto& pg = PgCluster::shared();
  ServiceProcess api({"serve", "--no-worker"}, d.env);
  TableLock table(pg.conninfo(d.db), "tenant_acme.items");
  ServiceProcess frozen({"worker"}, d.env, false);
  auto r =
      http_post_json(api.base_url() + "/api/backup/export", R"({"project_id":"acme"})", d.token);
  ASSERT_EQ(r.status, 202) << r.body;
  auto id = std::string(r.json().at("data").at("job_id").as_string());
  const std::string attempt1 = "tb job " + id + " attempt 1";
  // Wait until attempt 1 holds the lock and its pg_dump is connected (blocked
  // on the table lock): both sessions carry the attempt's name.
  const std::string named =
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + attempt1 + "'";
  ASSERT_TRUE(d.wait_for(named, "2")) << frozen.log();

  frozen.signal(SIGSTOP);  // frozen holding the project's lock, pg_dump waiting
  ServiceProcess fresh({"worker"}, d.env, false);
  auto rescued = poll_job(
      api.base_url(), d.token, id,
      [](const json::object& j) { return j.at("attempts").as_int64() == 2; }, 60);
  ASSERT_EQ(rescued.at("attempts").as_int64(), 2) << json::serialize(rescued) << fresh.log();
  table.release();

  // Completes with `frozen` still stopped: its sessions were ended.
  auto job = poll_job(api.base_url(), d.token, id, job_ended, 60);
  ASSERT_EQ(job.at("status").as_string(), "completed") << json::serialize(job) << fresh.log();
  EXPECT_EQ(job.at("attempts").as_int64(), 2);
  EXPECT_EQ(d.value(named), "0");
  EXPECT_NE(fresh.log().find("job " + id + " attempt 1 still held the project's lock"),
            std::string::npos)
      << fresh.log();
  EXPECT_EQ(d.value("SELECT count(*) FROM control_plane.backups"), "1");

  // The backup is whole: the download matches its SHA-256 and restores the same rows.
  auto backup_id = std::string(job.at("result").at("backup_id").as_string());
  auto sha = std::string(job.at("result").at("sha256").as_string());
  auto dl = http_get(api.base_url() + "/api/backups/" + backup_id + "/download", d.token);
  ASSERT_EQ(dl.status, 200);
  auto dir = make_temp_dir("tb-stalelock-dl");
  { std::ofstream(dir + "/dump.sql.zst", std::ios::binary) << dl.body; }
  EXPECT_EQ(run_command("sha256sum " + dir + "/dump.sql.zst").substr(0, 64), sha);
  auto target = pg.create_database("stalelock_restore");
  run_command("zstd -dc " + dir + "/dump.sql.zst | " + pg.bin_dir() +
              "/psql -q -v ON_ERROR_STOP=1 '" + pg.conninfo(target) + "'");
  const std::string digest =
      "SELECT count(*) || md5(string_agg(body, '' ORDER BY id)) FROM tenant_acme.items";
  EXPECT_EQ(pg.query_value(target, digest), pg.query_value(d.db, digest));

  // Resumed, the stale worker finds its lease and its sessions gone: it
  // records nothing and leaves no file; it keeps running.
  frozen.signal(SIGCONT);
  EXPECT_TRUE(
      frozen.wait_for_log({"job " + id + ": lease was lost", "job " + id + ": no longer ours",
                           "job " + id + ": database lost while completing"}))
      << frozen.log();
  auto after = poll_job(api.base_url(), d.token, id, job_ended);
  EXPECT_EQ(after.at("status").as_string(), "completed");
  EXPECT_EQ(after.at("attempts").as_int64(), 2);
  EXPECT_EQ(json::serialize(after.at("result")), json::serialize(job.at("result")));
  EXPECT_EQ(d.value("SELECT count(*) FROM control_plane.backups"), "1");
  EXPECT_EQ(files_under(d.storage), 1);
  EXPECT_EQ(frozen.wait(std::chrono::milliseconds(200)), -1) << frozen.log();  // still running
}

}  // namespace
}  // namespace tb::test
