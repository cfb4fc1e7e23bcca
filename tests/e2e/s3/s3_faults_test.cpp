// The s3 destination when things go wrong, through the real binary against
// radosgw (boto3 reads back): wrong credentials fail the job at once with
// S3's reason and leave no unfinished upload; a worker killed while its
// upload is open leaves, after the retry, one object and no unfinished upload.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <memory>

#include "s3_e2e_fixture.hpp"
#include "support/deployment.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/service_process.hpp"
#include "support/table_lock.hpp"

namespace tb::test {
namespace {

namespace json = boost::json;

std::string start_export(const std::string& base, const std::string& token) {
  auto r = http_post_json(base + "/api/backup/export",
                          R"({"project_id":"acme","destinations":["s3"]})", token);
  EXPECT_EQ(r.status, 202) << r.body;
  return std::string(r.json().at("data").at("job_id").as_string());
}

TEST(S3Faults, WrongCredentialsFailTheJobWithAClearMessageAndLeaveNoUpload) {
  const std::string prefix = "badkey/";
  DeploymentOptions o;
  o.prefix = "e2e_s3_bad";
  o.env = s3_env(prefix);
  o.env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret-0123456789";
  o.serve = {"serve", "--no-scheduler"};
  Deployment d(o);
  auto& api = d.service();
  auto id = start_export(api.base_url(), d.token);
  auto job = poll_job(api.base_url(), d.token, id, job_ended, 180);
  ASSERT_EQ(job.at("status"), "failed") << json::serialize(job) << api.log();
  const auto error = std::string(job.at("last_error").as_string());
  EXPECT_NE(error.find("S3 refused the credentials"), std::string::npos) << error;
  EXPECT_EQ(job.at("attempts").as_int64(), 1) << "a refusal that cannot heal is not retried";
  EXPECT_EQ(json::serialize(job).find("not-the-secret"), std::string::npos);
  EXPECT_EQ(api.log().find("not-the-secret"), std::string::npos);
  EXPECT_EQ(d.value("SELECT count(*) FROM control_plane.backups WHERE status <> 'failed'"), "0");
  EXPECT_TRUE(s3_tool().uploads(prefix).empty());
  EXPECT_TRUE(s3_tool().keys(prefix).empty());
  EXPECT_TRUE(stored_files(d.storage).empty());
}

TEST(S3Faults, AWorkerKilledWithItsUploadOpenEndsWithOneObjectAndNoUpload) {
  const std::string prefix = "killed/";
  DeploymentOptions o;
  o.prefix = "e2e_s3_kill";
  o.env = s3_env(prefix);
  o.env["JOB_LEASE_SECONDS"] = "3";
  o.serve = {"serve", "--no-worker", "--no-scheduler"};
  Deployment d(o);
  auto& api = d.service();
  // pg_dump waits for this lock while the upload is already open.
  TableLock lock(PgCluster::shared().conninfo(d.db), "tenant_acme.items");
  auto worker_a =
      std::make_unique<ServiceProcess>(std::vector<std::string>{"worker"}, d.env, false);
  auto id = start_export(api.base_url(), d.token);
  poll_job(api.base_url(), d.token, id, [](const json::object& j) {
    auto* p = j.at("progress").is_object() ? j.at("progress").as_object().if_contains("s3_upload")
                                           : nullptr;
    return p != nullptr;
  });
  ASSERT_EQ(s3_tool().uploads(prefix).size(), 1u);

  worker_a->signal(SIGKILL);
  worker_a->wait();
  worker_a.reset();
  lock.release();
  ServiceProcess worker_b({"worker"}, d.env, false);
  auto job = poll_job(api.base_url(), d.token, id, job_ended, 180);
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job) << worker_b.log();
  EXPECT_EQ(job.at("attempts").as_int64(), 2);
  EXPECT_EQ(d.value("SELECT count(*) FROM control_plane.backups"), "1");
  // One object and its sidecar; the killed attempt's upload was aborted.
  EXPECT_TRUE(s3_tool().uploads(prefix).empty()) << worker_b.log();
  auto keys = s3_tool().keys(prefix);
  ASSERT_EQ(keys.size(), 2u) << keys.size();
  auto r = http_get(
      api.base_url() + "/api/backups/" + std::string(job.at("result").at("backup_id").as_string()),
      d.token);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto b = r.json().at("data").as_object();
  auto* loc = s3_location(b);
  ASSERT_NE(loc, nullptr);
  auto got = s3_tool().get(std::string(loc->at("key").as_string()));
  EXPECT_EQ(got.at("sha256"), b.at("sha256"));
}

}  // namespace
}  // namespace tb::test
