// What one tenant can do to the service or to another project, through the
// real binary on a real cluster:
// - a tenant's own database role (LOGIN, not superuser, owning its schema)
//   takes every advisory lock the service used to rely on, and still blocks
//   no export, no restore request and not the scheduler; the locks that guard
//   them now are out of its reach;
// - a job that waits for its project's other job too long ends with
//   PROJECT_BUSY in words a project owner reads, and /metrics counts it;
// - storage_path cannot point into another project's folder;
// - a job whose pg_dump cannot connect shows the tenant no socket path, port
//   or database name; the service log keeps them.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "support/deployment.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/service_process.hpp"

namespace tb::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

const std::string kTenantRole = "tb_tenant_acme";  // LOGIN, NOSUPERUSER, owns tenant_acme

// The advisory keys the service used before (any login may take any of them):
// ProjectLock's (0x74620002, hashtext(project)), the restore request check's
// (0x74620001, hashtext(project)) and the scheduler leader's ("tbsched").
const std::string kOldProjectLock = "SELECT pg_advisory_lock(1952579586, hashtext('acme'))";
const std::string kOldRequestLock = "SELECT pg_advisory_lock(1952579585, hashtext('acme'))";
const std::string kOldLeaderLock = "SELECT pg_advisory_lock(524149520431732292)";

// One libpq session kept open (locks live as long as it does).
class Session {
 public:
  explicit Session(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn_));
  }
  ~Session() { PQfinish(conn_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // "" when `sql` succeeded, else the server's message.
  std::string try_exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    auto st = PQresultStatus(r);
    std::string error =
        (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? "" : PQerrorMessage(conn_);
    PQclear(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && error.empty()) error = "failed";
    return error;
  }
  void exec(const std::string& sql) {
    auto error = try_exec(sql);
    if (!error.empty()) throw std::runtime_error(sql + ": " + error);
  }

 private:
  PGconn* conn_;
};

// Projects acme (its schema owned by the tenant's own role, kTenantRole) and
// evil; a short job lease and `extra` variables.
DeploymentOptions isolation(std::map<std::string, std::string> extra = {}) {
  DeploymentOptions o;
  o.prefix = "isolation";
  o.env = {{"JOB_LEASE_SECONDS", "3"}};
  for (const auto& [k, v] : extra) o.env[k] = v;
  o.seed_sql =
      "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + kTenantRole +
      "') THEN CREATE ROLE " + kTenantRole +
      " LOGIN NOSUPERUSER; END IF; END $$;"
      "INSERT INTO control_plane.projects (id, slug, name) VALUES ('acme', 'acme', 'Acme'), "
      "('evil', 'evil', 'Evil');"
      "CREATE SCHEMA tenant_acme AUTHORIZATION " +
      kTenantRole +
      "; CREATE SCHEMA tenant_evil;"
      "SET ROLE " +
      kTenantRole +
      "; CREATE TABLE tenant_acme.items (id int PRIMARY KEY, body text);"
      "INSERT INTO tenant_acme.items SELECT g, md5(g::text) FROM generate_series(1, "
      "2000) g; RESET ROLE;";
  return o;
}

std::string post_export(const ServiceProcess& s, const std::string& token,
                        const std::string& body) {
  auto r = http_post_json(s.base_url() + "/api/backup/export", body, token);
  EXPECT_EQ(r.status, 202) << r.body;
  return r.status == 202 ? std::string(r.json().at("data").at("job_id").as_string())
                         : std::string();
}

std::set<std::string> files_under(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.insert(e.path().string());
  }
  return out;
}

TEST(TenantIsolation, ATenantRoleHoldingEveryOldAdvisoryLockBlocksNoExportRestoreOrScheduler) {
  Deployment d(isolation({{"SCHEDULER_TICK_SECONDS", "1"}, {"SCHEDULE_JITTER_SECONDS", "0"}}));
  // A schedule saved long ago that is due every minute: the leader enqueues its latest slot at
  // once.
  d.value(
      "INSERT INTO control_plane.backup_settings (project_id, schedule, updated_at) VALUES "
      "('acme', '{\"kind\":\"cron\",\"expr\":\"* * * * *\"}', now() - interval '1 day') RETURNING "
      "1");

  Session tenant(d.conninfo() + " user=" + kTenantRole);
  ASSERT_EQ(tenant.try_exec("SELECT 1 FROM pg_roles WHERE rolname = current_user AND NOT rolsuper"),
            "");
  // Advisory locks have no privileges: the tenant gets all of them, as before.
  ASSERT_EQ(tenant.try_exec(kOldProjectLock), "");
  ASSERT_EQ(tenant.try_exec(kOldRequestLock), "");
  ASSERT_EQ(tenant.try_exec(kOldLeaderLock), "");
  // The row locks that guard exports, restores and the scheduler now are out of its reach.
  for (const auto* sql :
       {"SELECT 1 FROM control_plane.locks FOR NO KEY UPDATE",
        "SELECT 1 FROM control_plane.projects WHERE id = 'acme' FOR NO KEY UPDATE",
        "LOCK TABLE control_plane.locks IN ACCESS EXCLUSIVE MODE"}) {
    tenant.exec("BEGIN");  // session advisory locks outlive the transaction
    auto error = tenant.try_exec(sql);
    EXPECT_NE(error.find("permission denied"), std::string::npos) << sql << ": " << error;
    tenant.exec("ROLLBACK");
  }

  ServiceProcess service({"serve"}, d.env);
  // The scheduler leads and enqueues.
  EXPECT_TRUE(d.wait_for(
      "SELECT count(*) > 0 FROM control_plane.jobs WHERE idempotency_key LIKE 'scheduled:acme:%'",
      "t"))
      << service.log();
  // An export completes.
  auto id = post_export(service, d.token, R"({"project_id":"acme"})");
  auto job =
      poll_job(service.base_url(), d.token, id, job_ended, 90, [&] { return service.log(); });
  ASSERT_EQ(job.at("status").as_string(), "completed") << json::serialize(job);
  // A restore is accepted and runs.
  auto backup_id = std::string(job.at("result").at("backup_id").as_string());
  auto r = http_post_json(service.base_url() + "/api/backup/restore",
                          R"({"backup_id":")" + backup_id + "\"}", d.token);
  ASSERT_EQ(r.status, 202) << r.body;
  auto restore = poll_job(service.base_url(), d.token,
                          std::string(r.json().at("data").at("job_id").as_string()), job_ended, 90,
                          [&] { return service.log(); });
  EXPECT_EQ(restore.at("status").as_string(), "completed") << json::serialize(restore);
}

TEST(TenantIsolation, AWaitForTheProjectsOtherJobIsBoundedEndsWithProjectBusyAndIsCounted) {
  Deployment d(isolation({{"PROJECT_LOCK_WAIT_SECONDS", "2"}, {"JOB_MAX_ATTEMPTS", "1"}}));
  ServiceProcess service({"serve", "--no-scheduler"}, d.env);
  // A live holder of the project's lock that is not a job attempt (never broken).
  Session holder(d.conninfo());
  holder.exec(
      "INSERT INTO control_plane.locks (name) VALUES ('project acme') ON CONFLICT DO NOTHING");
  holder.exec("BEGIN");
  holder.exec("SELECT 1 FROM control_plane.locks WHERE name = 'project acme' FOR NO KEY UPDATE");

  auto posted = std::chrono::steady_clock::now();
  auto id = post_export(service, d.token, R"({"project_id":"acme"})");
  auto job =
      poll_job(service.base_url(), d.token, id, job_ended, 90, [&] { return service.log(); });
  EXPECT_GE(std::chrono::steady_clock::now() - posted, 2s);
  EXPECT_EQ(job.at("status").as_string(), "failed") << json::serialize(job);
  EXPECT_EQ(json::value_to<std::string>(job.at("last_error")),
            "another backup or restore of this project was still running after 2 seconds; this job "
            "stopped "
            "waiting for it");
  ASSERT_EQ(job.at("errors").as_array().size(), 1u) << json::serialize(job);
  EXPECT_EQ(job.at("errors").as_array()[0].at("code").as_string(), "PROJECT_BUSY");
  auto metrics = http_get(service.base_url() + "/metrics").body;
  EXPECT_NE(metrics.find("\ntb_project_lock_wait_timeouts_total 1\n"), std::string::npos)
      << metrics;

  // Once the holder is gone the project works again.
  holder.exec("ROLLBACK");
  auto next = poll_job(service.base_url(), d.token,
                       post_export(service, d.token, R"({"project_id":"acme"})"));
  EXPECT_EQ(next.at("status").as_string(), "completed") << json::serialize(next);
}

TEST(TenantIsolation, StoragePathCannotPointIntoAnotherProjectsFolder) {
  Deployment d(isolation());
  ServiceProcess service({"serve", "--no-scheduler"}, d.env);
  auto evil_token = mint_token({"--project", "evil"}, d.env);
  // acme has a backup in its folder.
  auto acme_job = poll_job(service.base_url(), d.token,
                           post_export(service, d.token, R"({"project_id":"acme"})"));
  ASSERT_EQ(acme_job.at("status").as_string(), "completed") << json::serialize(acme_job);
  const auto acme_before = files_under(d.storage + "/acme");
  ASSERT_EQ(acme_before.size(), 1u);
  auto jobs_before = d.value("SELECT count(*) FROM control_plane.jobs");

  for (const auto* path : {"acme", "acme/evil", "nightly", "evil_twin", "evil2/x"}) {
    auto r = http_post_json(service.base_url() + "/api/backup/export",
                            std::string(R"({"project_id":"evil","storage_path":")") + path + "\"}",
                            evil_token);
    EXPECT_EQ(r.status, 400) << path << ": " << r.body;
    if (r.status != 400) continue;
    EXPECT_EQ(r.json().at("error").at("code").as_string(), "VALIDATION_ERROR");
    EXPECT_EQ(r.json().at("error").at("field").as_string(), "storage_path");
  }
  EXPECT_EQ(d.value("SELECT count(*) FROM control_plane.jobs"), jobs_before);
  // Its own folder, and folders inside it, are fine.
  auto own = poll_job(
      service.base_url(), evil_token,
      post_export(service, evil_token, R"({"project_id":"evil","storage_path":"evil/monthly"})"));
  ASSERT_EQ(own.at("status").as_string(), "completed") << json::serialize(own);
  EXPECT_EQ(files_under(d.storage + "/evil/monthly").size(), 1u);
  // acme's folder is untouched.
  EXPECT_EQ(files_under(d.storage + "/acme"), acme_before);

  // A backup written outside its project's folder by an earlier version
  // still downloads: stored locations are not re-judged.
  auto backup_id = std::string(acme_job.at("result").at("backup_id").as_string());
  auto old_path = d.value("SELECT locations->0->>'path' FROM control_plane.backups WHERE id = '" +
                          backup_id + "'");
  auto legacy = "legacy/" + fs::path(old_path).filename().string();
  fs::create_directories(d.storage + "/legacy");
  fs::rename(d.storage + "/" + old_path, d.storage + "/" + legacy);
  d.value(
      "UPDATE control_plane.backups SET locations = jsonb_set(locations, '{0,path}', to_jsonb('" +
      legacy + "'::text)) WHERE id = '" + backup_id + "' RETURNING 1");
  auto dl = http_get(service.base_url() + "/api/backups/" + backup_id + "/download", d.token);
  EXPECT_EQ(dl.status, 200) << dl.body;
  EXPECT_EQ(dl.body.size(), json::value_to<std::uint64_t>(acme_job.at("result").at("size_bytes")));
}

TEST(TenantIsolation, AJobWhosePgDumpCannotConnectShowsNoSocketPortOrDatabaseName) {
  Deployment d(isolation({{"JOB_MAX_ATTEMPTS", "1"}}));
  auto& pg = PgCluster::shared();
  ServiceProcess service({"serve", "--no-scheduler"}, d.env);
  Session admin(pg.conninfo("postgres"));
  Session holder(d.conninfo());
  // The export waits for the project's lock with its own session open; the
  // database then refuses new sessions, so pg_dump, started once the lock is
  // free, cannot connect.
  holder.exec(
      "INSERT INTO control_plane.locks (name) VALUES ('project acme') ON CONFLICT DO NOTHING");
  holder.exec("BEGIN");
  holder.exec("SELECT 1 FROM control_plane.locks WHERE name = 'project acme' FOR NO KEY UPDATE");
  auto id = post_export(service, d.token, R"({"project_id":"acme"})");
  ASSERT_TRUE(d.wait_for("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tb job " +
                             id + " attempt 1'",
                         "1"))
      << service.log();
  poll_job(service.base_url(), d.token, id,
           [](const json::object& j) { return j.at("status") == "running"; });
  admin.exec("ALTER DATABASE " + d.db + " ALLOW_CONNECTIONS false");
  holder.exec("ROLLBACK");
  auto job =
      poll_job(service.base_url(), d.token, id, job_ended, 90, [&] { return service.log(); });
  admin.exec("ALTER DATABASE " + d.db + " ALLOW_CONNECTIONS true");

  EXPECT_EQ(job.at("status").as_string(), "failed") << json::serialize(job);
  EXPECT_EQ(json::value_to<std::string>(job.at("last_error")),
            "pg_dump failed: could not connect to the database");
  const auto shown = http_get(service.base_url() + "/api/jobs/" + id, d.token).body;
  for (const auto& internal :
       {pg.socket_dir(), std::to_string(pg.port()), d.db, std::string(".s.PGSQL")}) {
    EXPECT_EQ(shown.find(internal), std::string::npos) << internal << " in " << shown;
  }
  // The log keeps the whole story.
  EXPECT_NE(service.log().find("is not currently accepting connections"), std::string::npos)
      << service.log();
  EXPECT_NE(service.log().find(pg.socket_dir()), std::string::npos);
}

}  // namespace
}  // namespace tb::test
