// An encrypted backup kept in S3 alone: the object in the bucket is the age
// file (what boto3 reads back has the backup's SHA-256, the stored bytes'),
// and the service restores it from there, decrypting with its own key.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "../age/age_e2e_support.hpp"
#include "s3_e2e_fixture.hpp"
#include "support/deployment.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/service_process.hpp"

namespace tb::test {
namespace {

namespace json = boost::json;

TEST(S3Age, AnEncryptedBackupInS3AloneIsAnAgeObjectAndRestoresFromTheBucket) {
  const auto keys = make_temp_dir("tb-e2e-s3-age");
  const auto service_key = make_age_key(keys, "service.key");
  DeploymentOptions o;
  o.prefix = "e2e_s3_age";
  o.env = s3_env("age/");
  o.env["AGE_IDENTITY_FILE"] = service_key.path;
  o.serve = {"serve", "--no-scheduler"};
  Deployment d(o);
  const auto base = d.service().base_url();
  auto put = http_call({"PUT",
                        base + "/api/projects/acme/backup-settings",
                        R"({"encryption":{"enabled":true}})",
                        {"Content-Type: application/json", "Authorization: Bearer " + d.token}});
  ASSERT_EQ(put.status, 200) << put.body;

  auto r = http_post_json(base + "/api/backup/export",
                          R"({"project_id":"acme","destinations":["s3"]})", d.token);
  ASSERT_EQ(r.status, 202) << r.body;
  auto job = poll_job(base, d.token, std::string(r.json().at("data").at("job_id").as_string()),
                      job_ended, 180);
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job) << d.service().log();
  const auto id = std::string(job.at("result").at("backup_id").as_string());
  auto b = http_get(base + "/api/backups/" + id, d.token).json().at("data").as_object();
  EXPECT_EQ(b.at("encrypted"), true);
  const auto* loc = s3_location(b);
  ASSERT_NE(loc, nullptr) << json::serialize(b);
  const auto key = std::string(loc->at("key").as_string());
  EXPECT_TRUE(key.ends_with(".age")) << key;
  auto object = s3_tool().get(key);
  ASSERT_TRUE(object.is_object()) << "no object at " << key;
  EXPECT_EQ(object.at("sha256"), b.at("sha256"));
  EXPECT_TRUE(stored_files(d.storage).empty()) << stored_files(d.storage)[0];

  const auto digest = table_digest(d.db, "tenant_acme.items");
  d.exec("DELETE FROM tenant_acme.items WHERE id % 3 = 0");
  auto restore =
      http_post_json(base + "/api/backup/restore", R"({"backup_id":")" + id + "\"}", d.token);
  ASSERT_EQ(restore.status, 202) << restore.body;
  auto restored =
      poll_job(base, d.token, std::string(restore.json().at("data").at("job_id").as_string()),
               job_ended, 180);
  ASSERT_EQ(restored.at("status"), "completed") << json::serialize(restored) << d.service().log();
  EXPECT_EQ(table_digest(d.db, "tenant_acme.items"), digest);
  std::filesystem::remove_all(keys);
}

}  // namespace
}  // namespace tb::test
