// Restore and cancellation end to end through the real binary (`serve` on a
// real cluster): POST /api/backup/restore brings a backup back over changed
// data and keeps the changed schema aside; refusals (another project's or a
// deleted backup, a second restore of the project) change nothing; a running
// export cancelled through the API stops pg_dump and keeps no file.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <thread>

#include "support/deployed_suite.hpp"
#include "support/http_client.hpp"
#include "support/service_process.hpp"
#include "support/table_lock.hpp"

namespace tb::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// workflows::ProjectLock's lock: the row of control_plane.locks named "project acme".
const std::string kProjectLock =
    "SELECT 1 FROM control_plane.locks WHERE name = 'project acme' FOR NO KEY UPDATE";

class RestoreE2E : public DeployedSuite<RestoreE2E> {
 protected:
  static void SetUpTestSuite() {
    auto o = served_options("e2e_restore");
    o.env = {{"JOB_LEASE_SECONDS", "3"}};
    o.seed_sql = R"sql(
      INSERT INTO control_plane.projects (id, slug, name) VALUES ('acme', 'acme', 'Acme'), ('other', 'other', 'Other');
      CREATE SCHEMA tenant_acme;
      CREATE TABLE tenant_acme.customers (id serial PRIMARY KEY, name text NOT NULL, photo bytea);
      INSERT INTO tenant_acme.customers (name, photo) SELECT 'customer ' || g, decode(md5(g::text), 'hex')
        FROM generate_series(1, 2000) g;
      CREATE SCHEMA tenant_other;
    )sql";
    deploy(o);
    other_token_ = other_project_token();
  }

  static std::string digest() {
    return value(
        "SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM "
        "tenant_acme.customers t");
  }

  // Waits until the job is running (claimed by the worker).
  void wait_running(const std::string& job_id) {
    poll(
        job_id, [](const json::object& j) { return j.at("status").as_string() == "running"; }, 120);
  }

  std::string backup_now() {
    auto r = http_post_json(url("/api/backup/export"), R"({"project_id":"acme"})", token_);
    EXPECT_EQ(r.status, 202) << r.body;
    auto job = wait_for_job(std::string(r.json().at("data").at("job_id").as_string()));
    EXPECT_EQ(job.at("status").as_string(), "completed") << json::serialize(job);
    return std::string(job.at("result").at("backup_id").as_string());
  }

  static HttpResponse post_restore(const std::string& backup_id, const std::string& token) {
    return http_post_json(url("/api/backup/restore"), R"({"backup_id":")" + backup_id + R"("})",
                          token);
  }

  // Holds `lock_sql` on a session of its own until release(): the lock is
  // held when this returns and as long as the test needs it.
  static std::unique_ptr<HeldLock> hold(const std::string& lock_sql) {
    return std::make_unique<HeldLock>(deployment_->conninfo(), lock_sql);
  }

  static inline std::string other_token_;
};

TEST_F(RestoreE2E, RestoreBringsTheBackupBackAndKeepsTheChangedSchemaAside) {
  const std::string at_backup = digest();
  auto backup_id = backup_now();
  exec(
      "UPDATE tenant_acme.customers SET name = 'changed'; DELETE FROM tenant_acme.customers WHERE "
      "id > 1500");
  const std::string changed = digest();

  auto r = post_restore(backup_id, token_);
  ASSERT_EQ(r.status, 202) << r.body;
  auto data = r.json().at("data").as_object();
  EXPECT_EQ(data.at("status").as_string(), "pending");
  EXPECT_EQ(data.at("project_id").as_string(), "acme");
  EXPECT_TRUE(data.contains("created_at"));
  auto job = wait_for_job(std::string(data.at("job_id").as_string()));
  ASSERT_EQ(job.at("status").as_string(), "completed") << json::serialize(job) << server_->log();
  EXPECT_EQ(digest(), at_backup);
  auto aside = std::string(job.at("result").at("pre_restore_schema").as_string());
  EXPECT_EQ(aside.rfind("tenant_acme__pre_restore_", 0), 0u) << aside;
  EXPECT_EQ(value("SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM " +
                  aside + ".customers t"),
            changed);
  EXPECT_EQ(value("SELECT string_agg(outcome, ',' ORDER BY id) FROM control_plane.audit_log WHERE "
                  "action = 'backup.restore' "
                  "AND target = '" +
                  backup_id + "'"),
            "accepted,completed");
  // The service (a superuser here) created the schema, so the replay ran as the
  // project's own roles: the objects belong to tb_owner_acme, and the replay
  // login cannot log in once the job is over.
  EXPECT_EQ(job.at("result").at("owner").as_string(), "tb_owner_acme");
  EXPECT_EQ(value("SELECT string_agg(DISTINCT relowner::regrole::text, ',') FROM pg_class "
                  "WHERE relnamespace = 'tenant_acme'::regnamespace"),
            "tb_owner_acme");
  EXPECT_EQ(value("SELECT rolcanlogin::text FROM pg_roles WHERE rolname = 'tb_replay_acme'"),
            "false");
}

TEST_F(RestoreE2E, RefusalsChangeNothing) {
  auto backup_id = backup_now();
  const std::string before = digest();
  auto jobs_before = value("SELECT count(*) FROM control_plane.jobs WHERE type = 'restore'");
  // Another project's backup, an unknown one: not found.
  auto r = post_restore(backup_id, other_token_);
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(post_restore("123e4567-e89b-42d3-a456-426614174000", token_).status, 404);
  EXPECT_EQ(http_post_json(url("/api/backup/restore"),
                           R"({"backup_id":")" + backup_id + R"(","x":1})", token_)
                .status,
            400);
  EXPECT_EQ(post_restore(backup_id, "").status, 401);
  // Deleted: 409 with a clear message.
  ASSERT_EQ(
      http_call(
          {"DELETE", url("/api/backups/" + backup_id), "", {"Authorization: Bearer " + token_}})
          .status,
      200);
  r = post_restore(backup_id, token_);
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("deleted"), std::string::npos) << r.body;
  EXPECT_EQ(value("SELECT count(*) FROM control_plane.jobs WHERE type = 'restore'"), jobs_before);
  EXPECT_EQ(digest(), before);
}

TEST_F(RestoreE2E, OneRestoreOfAProjectAtATimeAndARunningOneCanBeCancelled) {
  auto backup_id = backup_now();
  const std::string before = digest();
  // An export of the project "runs" (holds the project lock): the restore waits, running.
  exec("INSERT INTO control_plane.locks (name) VALUES ('project acme') ON CONFLICT DO NOTHING");
  auto holder = hold(kProjectLock);
  auto first = post_restore(backup_id, token_);
  ASSERT_EQ(first.status, 202) << first.body;
  auto first_id = std::string(first.json().at("data").at("job_id").as_string());
  auto second = post_restore(backup_id, token_);
  EXPECT_EQ(second.status, 409) << second.body;
  EXPECT_EQ(second.json().at("error").at("code").as_string(), "CONFLICT");
  wait_running(first_id);
  EXPECT_EQ(post_restore(backup_id, token_).status, 409);

  auto c = http_post_json(url("/api/jobs/" + first_id + "/cancel"), "{}", token_);
  EXPECT_EQ(c.status, 202) << c.body;  // running: cancel requested
  auto job = wait_for_job(first_id);
  EXPECT_EQ(job.at("status").as_string(), "cancelled") << json::serialize(job);
  holder->release();
  EXPECT_EQ(digest(), before);
  // Once it ended, a new restore is accepted again.
  auto third = post_restore(backup_id, token_);
  ASSERT_EQ(third.status, 202) << third.body;
  EXPECT_EQ(wait_for_job(std::string(third.json().at("data").at("job_id").as_string()))
                .at("status")
                .as_string(),
            "completed");
}

TEST_F(RestoreE2E, CancellingARunningExportStopsPgDumpAndKeepsNoFile) {
  // pg_dump blocks on the table lock: the export is running, mid-dump.
  auto holder = hold("LOCK TABLE tenant_acme.customers IN ACCESS EXCLUSIVE MODE");
  auto files_before =
      std::distance(fs::recursive_directory_iterator(storage_), fs::recursive_directory_iterator());
  auto r = http_post_json(url("/api/backup/export"), R"({"project_id":"acme"})", token_);
  ASSERT_EQ(r.status, 202) << r.body;
  auto job_id = std::string(r.json().at("data").at("job_id").as_string());
  wait_running(job_id);
  // The attempt's sessions (ProjectLock's and pg_dump's) carry its name.
  const std::string sessions =
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tb job " + job_id +
      " attempt 1'";
  ASSERT_TRUE(deployment_->wait_for(sessions, "2")) << server_->log();
  auto c = http_post_json(url("/api/jobs/" + job_id + "/cancel"), "{}", token_);
  EXPECT_EQ(c.status, 202) << c.body;  // running: cancel requested
  auto job = wait_for_job(job_id);
  // Cancelled while pg_dump still waited: the lock is released only now.
  EXPECT_EQ(job.at("status").as_string(), "cancelled") << json::serialize(job);
  holder->release();
  EXPECT_TRUE(deployment_->wait_for(sessions, "0"));  // backends exit just after their client
  EXPECT_EQ(
      std::distance(fs::recursive_directory_iterator(storage_), fs::recursive_directory_iterator()),
      files_before);
  EXPECT_EQ(value("SELECT count(*) FROM control_plane.backups WHERE job_id = '" + job_id + "'"),
            "0");
}

}  // namespace
}  // namespace tb::test
