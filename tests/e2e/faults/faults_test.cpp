// Faults on purpose, then check what a user would: the backup listed as
// completed restores, a stuck dump fails with a clear reason, a killed worker's
// job is finished by another, and the API survives a database restart.
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
#include "support/smtp_server.hpp"
#include "support/table_lock.hpp"

namespace tb::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// A database with the control plane and one seeded tenant (kAcmeSeed), a
// short job lease (so lost workers are noticed quickly), and `extra` variables.
DeploymentOptions faults(std::map<std::string, std::string> extra = {}) {
  DeploymentOptions o;
  o.prefix = "faults";
  o.env = {{"JOB_LEASE_SECONDS", "3"}};
  for (const auto& [k, v] : extra) o.env[k] = v;
  return o;
}

json::object job_json(const std::string& base, const std::string& token, const std::string& id) {
  auto r = http_get(base + "/api/jobs/" + id, token);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.json().at("data").as_object();
}

// What a worker logs when an attempt it ran turns out to be no longer its own.
std::vector<std::string> stale_attempt_ended(const std::string& job_id) {
  return {"job " + job_id + ": lease was lost", "job " + job_id + ": no longer ours",
          "job " + job_id + ": database lost while completing"};
}

std::string start_export(const std::string& base, const std::string& token,
                         const std::string& body = R"({"project_id":"acme"})") {
  auto r = http_post_json(base + "/api/backup/export", body, token);
  EXPECT_EQ(r.status, 202) << r.body;
  return std::string(r.json().at("data").at("job_id").as_string());
}

// The names of the temporary files (".<name>.tmp-<random>") in `dir`.
std::vector<std::string> temporary_files(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.starts_with(".") && name.find(".tmp-") != std::string::npos) names.push_back(name);
  }
  return names;
}

// The worker running job `id` is SIGKILLed while its pg_dump waits on
// `lock`, with its half-written file in `dir`; then the lock is released for
// whoever retries the job.
void kill_worker_mid_dump(std::unique_ptr<ServiceProcess>& worker, TableLock& lock,
                          const std::string& base, const std::string& token, const std::string& id,
                          const std::string& dir) {
  poll_job(base, token, id,
           [](const json::object& j) { return j.at("status").as_string() == "running"; });
  // The file is opened before pg_dump starts: wait for it, so that every run
  // kills the worker with it there (the status says running a moment before).
  for (int i = 0; i < 600 && temporary_files(dir).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(temporary_files(dir).size(), 1u) << worker->log();
  worker->signal(SIGKILL);
  worker->wait();
  worker.reset();
  lock.release();
}

TEST(Faults, WorkerKilledMidDumpIsRetriedByAnotherAndTheBackupRestores) {
  Deployment d(faults());
  ServiceProcess api({"serve", "--no-worker"}, d.env);
  TableLock lock(PgCluster::shared().conninfo(d.db), "tenant_acme.items");
  auto worker_a =
      std::make_unique<ServiceProcess>(std::vector<std::string>{"worker"}, d.env, false);
  auto id = start_export(api.base_url(), d.token);
  kill_worker_mid_dump(worker_a, lock, api.base_url(), d.token, id, d.storage + "/acme");
  ServiceProcess worker_b({"worker"}, d.env, false);

  auto job = poll_job(api.base_url(), d.token, id, job_ended);
  ASSERT_EQ(job.at("status").as_string(), "completed") << json::serialize(job) << worker_b.log();
  EXPECT_EQ(job.at("attempts").as_int64(), 2);
  EXPECT_NE(json::serialize(job.at("errors")).find("lease expired"), std::string::npos)
      << json::serialize(job);
  // Exactly one backup, and it is whole: restore it and compare.
  EXPECT_EQ(d.value("SELECT count(*) FROM control_plane.backups"), "1");
  // The killed attempt's half-written file went when the retry began.
  EXPECT_EQ(temporary_files(d.storage + "/acme"), std::vector<std::string>{});
  auto backup_id = std::string(job.at("result").at("backup_id").as_string());
  auto dl = http_get(api.base_url() + "/api/backups/" + backup_id + "/download", d.token);
  ASSERT_EQ(dl.status, 200);
  auto dir = make_temp_dir("tb-faults-dl");
  { std::ofstream(dir + "/dump.sql.zst", std::ios::binary) << dl.body; }
  auto& pg = PgCluster::shared();
  auto target = pg.create_database("faults_restore");
  run_command("zstd -dc " + dir + "/dump.sql.zst | " + pg.bin_dir() +
              "/psql -q -v ON_ERROR_STOP=1 '" + pg.conninfo(target) + "'");
  const std::string digest =
      "SELECT count(*) || md5(string_agg(body, '' ORDER BY id)) FROM tenant_acme.items";
  EXPECT_EQ(pg.query_value(target, digest), pg.query_value(d.db, digest));
}

// The last attempt's worker dies: no handler runs to its end, so the worker
// whose rescue ends the job is the one to tell the owner.
TEST(Faults, AWorkerLostOnTheLastAttemptFailsTheJobAndTheOwnerIsTold) {
  SmtpServer smtp;
  smtp.start();
  Deployment d(faults(
      {{"JOB_MAX_ATTEMPTS", "1"}, {"SMTP_URL", smtp.url()}, {"SMTP_FROM", "backups@example.com"}}));
  ServiceProcess api({"serve", "--no-worker"}, d.env);
  TableLock lock(PgCluster::shared().conninfo(d.db), "tenant_acme.items");
  auto worker_a =
      std::make_unique<ServiceProcess>(std::vector<std::string>{"worker"}, d.env, false);
  auto id = start_export(api.base_url(), d.token,
                         R"({"project_id":"acme","notify_email":"owner@example.com"})");
  kill_worker_mid_dump(worker_a, lock, api.base_url(), d.token, id, d.storage + "/acme");
  ServiceProcess worker_b({"worker"}, d.env, false);

  auto job = poll_job(api.base_url(), d.token, id, job_ended);
  ASSERT_EQ(job.at("status").as_string(), "failed") << json::serialize(job) << worker_b.log();
  EXPECT_EQ(job.at("attempts").as_int64(), 1);
  auto mails = smtp.wait_for_emails(1, std::chrono::seconds(120));
  ASSERT_EQ(mails.size(), 1u);
  ASSERT_EQ(mails[0].rcpt_to.size(), 1u);
  EXPECT_EQ(mails[0].rcpt_to[0], "owner@example.com");
  EXPECT_NE(mails[0].raw.find("FAILED"), std::string::npos) << mails[0].raw;
  EXPECT_NE(mails[0].raw.find("worker"), std::string::npos) << mails[0].raw;
  // The run is in the history as failed, and nothing was stored for it: the
  // half-written file went before the owner was told.
  EXPECT_EQ(d.value("SELECT string_agg(status, ',') FROM control_plane.backups"), "failed");
  EXPECT_TRUE(fs::is_empty(d.storage + "/acme"));
}

TEST(Faults, AWorkerStoppedPastItsLeaseCannotCompleteTheJobAnotherFinished) {
  Deployment d(faults());
  ServiceProcess api({"serve", "--no-worker"}, d.env);
  TableLock lock(PgCluster::shared().conninfo(d.db), "tenant_acme.items");
  ServiceProcess stale({"worker"}, d.env, false);
  auto id = start_export(api.base_url(), d.token);
  poll_job(api.base_url(), d.token, id,
           [](const json::object& j) { return j.at("status").as_string() == "running"; });

  stale.signal(SIGSTOP);  // frozen with the job claimed and pg_dump waiting
  ServiceProcess fresh({"worker"}, d.env, false);
  // The lease (3 s) runs out, the job is rescued and claimed again by `fresh`.
  auto rescued = poll_job(
      api.base_url(), d.token, id,
      [](const json::object& j) { return j.at("attempts").as_int64() == 2; }, 60);
  ASSERT_EQ(rescued.at("attempts").as_int64(), 2) << json::serialize(rescued) << fresh.log();
  lock.release();
  // `fresh` has ended the stale attempt's sessions (its project lock, its
  // pg_dump) and taken the lock; woken up, the stale worker finds its lease
  // gone, its dump failed, and commits nothing (see stale_lock_test.cpp for
  // the job completing while it is still stopped).
  stale.signal(SIGCONT);
  auto job = poll_job(api.base_url(), d.token, id, job_ended);
  ASSERT_EQ(job.at("status").as_string(), "completed")
      << json::serialize(job) << stale.log() << fresh.log();
  EXPECT_EQ(job.at("attempts").as_int64(), 2);
  // The resumed attempt ends, recording nothing.
  EXPECT_TRUE(stale.wait_for_log(stale_attempt_ended(id))) << stale.log();
  auto after = job_json(api.base_url(), d.token, id);
  EXPECT_EQ(json::serialize(after.at("result")), json::serialize(job.at("result")));
  EXPECT_EQ(d.value("SELECT count(*) FROM control_plane.backups"), "1");
}

TEST(Faults, WorkerKilledAfterTheFileIsRenamedButBeforeTheRowListsNothingHalfDone) {
  Deployment d(faults());
  ServiceProcess api({"serve", "--no-worker"}, d.env);
  // The completion transaction inserts into backups: holding this lock makes
  // the worker stop exactly there — file renamed and fsynced, row not written.
  TableLock lock(PgCluster::shared().conninfo(d.db), "control_plane.backups");
  auto worker_a =
      std::make_unique<ServiceProcess>(std::vector<std::string>{"worker"}, d.env, false);
  auto id = start_export(api.base_url(), d.token);
  auto acme_dir = fs::path(d.storage) / "acme";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto final_files = [&] {
    int n = 0;
    if (fs::exists(acme_dir)) {
      for (const auto& e : fs::directory_iterator(acme_dir))
        n += e.path().filename().string().front() != '.';
    }
    return n;
  };
  while (final_files() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(final_files(), 1) << worker_a->log();
  // It is now waiting on the row insert.
  ASSERT_TRUE(
      d.wait_for("SELECT count(*) > 0 FROM pg_locks WHERE relation = "
                 "'control_plane.backups'::regclass AND NOT granted",
                 "t"))
      << worker_a->log();
  worker_a->signal(SIGKILL);
  worker_a->wait();
  worker_a.reset();
  lock.release();
  // Nothing is listed for the dead attempt; the retry lists one whole backup.
  EXPECT_EQ(d.value("SELECT count(*) FROM control_plane.backups"), "0");
  ServiceProcess worker_b({"worker"}, d.env, false);
  auto job = poll_job(api.base_url(), d.token, id, job_ended);
  ASSERT_EQ(job.at("status").as_string(), "completed") << json::serialize(job) << worker_b.log();
  EXPECT_EQ(job.at("attempts").as_int64(), 2);
  EXPECT_EQ(d.value("SELECT count(*) FROM control_plane.backups"), "1");
  auto listed = d.value("SELECT locations->0->>'path' FROM control_plane.backups");
  auto dl = http_get(api.base_url() + "/api/backups/" +
                         std::string(job.at("result").at("backup_id").as_string()) + "/download",
                     d.token);
  EXPECT_EQ(dl.status, 200);  // its checksum matched the listed file
  // The first attempt's file is unlisted: an orphan for the retention sweep.
  EXPECT_EQ(final_files(), 2);
  EXPECT_TRUE(fs::exists(fs::path(d.storage) / listed));
}

TEST(Faults, FullDiskFailsTheExportCleanlyAndKeepsEarlierBackups) {
  auto mount_point = make_temp_dir("tb-full-disk");
  if (std::system(("mount -t tmpfs -o size=1m tmpfs " + mount_point + " 2>/dev/null").c_str()) !=
      0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root and mount rights)";
  }
  struct Unmount {
    std::string dir;
    ~Unmount() { (void)std::system(("umount " + dir).c_str()); }
  } unmount{mount_point};
  Deployment d(faults({{"STORAGE_DIR", mount_point}, {"JOB_MAX_ATTEMPTS", "1"}}));
  ServiceProcess service({"serve"}, d.env);
  auto base = service.base_url();
  auto first = poll_job(base, d.token, start_export(base, d.token), job_ended);
  ASSERT_EQ(first.at("status").as_string(), "completed") << json::serialize(first);
  auto first_id = std::string(first.at("result").at("backup_id").as_string());

  // Now about 3 MB of incompressible bytes: more than the disk has left.
  PgCluster::shared().exec(d.db, R"sql(
    CREATE TABLE tenant_acme.noise (id int PRIMARY KEY, b bytea);
    INSERT INTO tenant_acme.noise
      SELECT g, decode(string_agg(md5(g::text || ':' || i), '' ORDER BY i), 'hex')
      FROM generate_series(1, 200) g, generate_series(1, 1000) i GROUP BY g;
  )sql");
  auto job = poll_job(base, d.token, start_export(base, d.token), job_ended);
  EXPECT_EQ(job.at("status").as_string(), "failed");
  EXPECT_NE(std::string(job.at("last_error").as_string()).find("no space"), std::string::npos)
      << json::serialize(job);
  // No temporary file is left, the earlier backup is intact, the service serves.
  for (const auto& e : fs::recursive_directory_iterator(mount_point)) {
    EXPECT_NE(e.path().filename().string().front(), '.') << "left behind: " << e.path();
  }
  EXPECT_EQ(d.value("SELECT count(*) FROM control_plane.backups WHERE status = 'completed'"), "1");
  EXPECT_EQ(d.value("SELECT count(*) FROM control_plane.backups WHERE status = 'failed'"), "1");
  EXPECT_EQ(http_get(base + "/api/backups/" + first_id + "/download", d.token).status, 200);
  EXPECT_EQ(http_get(base + "/healthz").status, 200);
}

TEST(Faults, HangingDumpTimesOutWithAClearErrorAndLeavesNoFile) {
  Deployment d(faults({{"PG_DUMP_TIMEOUT_SECONDS", "2"}, {"JOB_MAX_ATTEMPTS", "1"}}));
  ServiceProcess service({"serve"}, d.env);
  TableLock lock(PgCluster::shared().conninfo(d.db), "tenant_acme.items");
  auto id = start_export(service.base_url(), d.token);
  auto job = poll_job(service.base_url(), d.token, id, job_ended, 60);
  lock.release();
  EXPECT_EQ(job.at("status").as_string(), "failed");
  EXPECT_NE(std::string(job.at("last_error").as_string()).find("timed out"), std::string::npos)
      << json::serialize(job);
  // Listed only as a failed run (no file, nothing to download).
  EXPECT_EQ(d.value("SELECT string_agg(status || ' ' || locations::text, ',') "
                    "FROM control_plane.backups"),
            "failed []");
  for (const auto& entry : fs::recursive_directory_iterator(d.storage)) {
    EXPECT_FALSE(entry.is_regular_file()) << "left behind: " << entry.path();
  }
  // The service keeps serving.
  EXPECT_EQ(http_get(service.base_url() + "/healthz").status, 200);
}

TEST(Faults, SigtermDuringAnExportExitsPromptlyAndTheJobIsFinishedLater) {
  Deployment d(faults({{"SHUTDOWN_GRACE_SECONDS", "2"}}));
  auto service = std::make_unique<ServiceProcess>(std::vector<std::string>{"serve"}, d.env);
  auto base = service->base_url();
  TableLock lock(PgCluster::shared().conninfo(d.db), "tenant_acme.items");
  auto id = start_export(base, d.token);
  poll_job(base, d.token, id,
           [](const json::object& j) { return j.at("status").as_string() == "running"; });
  // The export is stuck on the lock for good: only the grace period can end
  // the process (waited for generously; a busy machine is slower, not wrong).
  service->signal(SIGTERM);
  int status = service->wait(std::chrono::seconds(300));
  EXPECT_EQ(status, 0) << service->log();
  service.reset();
  lock.release();
  // Nothing half-done is listed; a new process finishes the job.
  EXPECT_EQ(d.value("SELECT count(*) FROM control_plane.backups"), "0");
  ServiceProcess again({"serve"}, d.env);
  auto job = poll_job(again.base_url(), d.token, id, job_ended);
  EXPECT_EQ(job.at("status").as_string(), "completed") << json::serialize(job);
  EXPECT_EQ(d.value("SELECT count(*) FROM control_plane.backups WHERE status = 'completed'"), "1");
}

// Last: it restarts the shared cluster.
TEST(FaultsZ, DatabaseRestartGives503ThenRecoversAndJobsStillRun) {
  Deployment d(faults());
  ServiceProcess service({"serve"}, d.env);
  auto base = service.base_url();
  ASSERT_EQ(http_get(base + "/readyz").status, 200);
  auto& pg = PgCluster::shared();
  pg.stop();
  auto down = http_get(base + "/readyz");
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(down.json().at("error").at("code").as_string(), "UNAVAILABLE");
  auto api_down = http_get(base + "/api/backup/history?project_id=acme", d.token);
  EXPECT_EQ(api_down.status, 503) << api_down.body;
  EXPECT_EQ(http_get(base + "/healthz").status, 200);  // alive, just not ready
  pg.start();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  long ready = 0;
  while (std::chrono::steady_clock::now() < deadline && ready != 200) {
    ready = http_get(base + "/readyz").status;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(ready, 200);
  // The worker reconnected (LISTEN re-established or polling): a new export completes.
  auto id = start_export(base, d.token);
  auto job = poll_job(base, d.token, id, job_ended, 60);
  EXPECT_EQ(job.at("status").as_string(), "completed") << json::serialize(job) << service.log();
}

}  // namespace
}  // namespace tb::test
