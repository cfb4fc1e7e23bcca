// The s3 destination end to end through the real binary against a real S3
// server (radosgw), read back with boto3: an export to S3 alone streams into
// the bucket and keeps no local file; S3 next to local; S3 and Telegram
// without local (the file Telegram sends from is gone after the job); an
// S3-only backup
// downloads (through a verified fetch) and restores; DELETE and retention
// remove the object and its sidecar; a server without S3 refuses the
// destination naming the field.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "s3_e2e_fixture.hpp"
#include "support/child_process.hpp"
#include "support/deployed_suite.hpp"
#include "support/fake_telegram.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/service_process.hpp"

namespace tb::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const std::string kPrefix = "main/";
const std::string kDigest = "tenant_acme.items";

class S3E2e : public DeployedSuite<S3E2e> {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeTelegram();
    auto o = served_options("e2e_s3");
    o.env = s3_env(kPrefix);
    o.env["RETENTION_SWEEP_SECONDS"] = "1";
    o.env["TELEGRAM_BOT_TOKEN"] = fake_->token();
    o.env["TELEGRAM_API_URL"] = fake_->url();
    o.env["TELEGRAM_PART_SIZE"] = "256KiB";
    deploy(o);
  }
  static void TearDownTestSuite() {
    DeployedSuite::TearDownTestSuite();
    delete fake_;
    fake_ = nullptr;
  }
  static inline FakeTelegram* fake_ = nullptr;

  json::object export_and_wait(const std::string& body) {
    auto r = http_post_json(url("/api/backup/export"), body, token_);
    EXPECT_EQ(r.status, 202) << r.body;
    return poll(std::string(r.json().at("data").at("job_id").as_string()), job_ended, 180);
  }
  json::object backup(const std::string& id) {
    auto r = http_get(url("/api/backups/" + id), token_);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json().at("data").as_object();
  }
  static std::string key_of(const json::object& b) {
    auto* loc = s3_location(b);
    return loc ? std::string(loc->at("key").as_string()) : std::string();
  }
  // The object boto3 reads back has the backup's bytes, and the sidecar its SHA-256.
  static void expect_object_matches(const json::object& b) {
    const auto key = key_of(b);
    ASSERT_FALSE(key.empty()) << json::serialize(b);
    auto got = s3_tool().get(key);
    ASSERT_TRUE(got.is_object()) << "no object at " << key;
    EXPECT_EQ(got.at("sha256"), b.at("sha256"));
    EXPECT_EQ(got.at("size").as_int64(), b.at("size_bytes").as_int64());
    EXPECT_EQ(s3_tool().text(key + ".sha256").substr(0, 64),
              std::string(b.at("sha256").as_string()));
  }
};

TEST_F(S3E2e, AnExportToS3AloneIsInTheBucketAndLeavesNoLocalFile) {
  auto job = export_and_wait(R"({"project_id":"acme","destinations":["s3"]})");
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job) << server_->log();
  auto b = backup(std::string(job.at("result").at("backup_id").as_string()));
  EXPECT_EQ(b.at("status"), "completed");
  ASSERT_EQ(b.at("locations").as_array().size(), 1u) << json::serialize(b);
  auto* loc = s3_location(b);
  ASSERT_NE(loc, nullptr);
  EXPECT_EQ(loc->at("bucket").as_string(), rgw().bucket());
  EXPECT_TRUE(key_of(b).starts_with(kPrefix + "acme/acme-")) << key_of(b);
  EXPECT_EQ(loc->at("size").as_int64(), b.at("size_bytes").as_int64());
  EXPECT_FALSE(std::string(loc->at("etag").as_string()).empty());
  expect_object_matches(b);
  EXPECT_TRUE(stored_files(storage_).empty())
      << "a local file was kept: " << stored_files(storage_)[0];
  EXPECT_TRUE(s3_tool().uploads(kPrefix).empty());
}

TEST_F(S3E2e, S3AndLocalHoldTheSameBytes) {
  auto job =
      export_and_wait(R"({"project_id":"acme","destinations":["local","s3"],"format":"tar"})");
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job) << server_->log();
  auto b = backup(std::string(job.at("result").at("backup_id").as_string()));
  std::string local;
  for (const auto& l : b.at("locations").as_array()) {
    if (l.at("type") == "local") local = storage_ + "/" + std::string(l.at("path").as_string());
  }
  ASSERT_FALSE(local.empty()) << json::serialize(b);
  EXPECT_EQ(sha256_of_file(local), std::string(b.at("sha256").as_string()));
  expect_object_matches(b);
  // Deleting it removes both copies (and leaves the folder as the next tests expect).
  auto del = http_call({"DELETE",
                        url("/api/backups/" + std::string(b.at("id").as_string())),
                        "",
                        {"Authorization: Bearer " + token_}});
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_FALSE(fs::exists(local));
  EXPECT_TRUE(s3_tool().head(key_of(b)).is_null());
}

// Telegram sends parts of a file: with s3 + telegram (no "local") that file
// exists only while the job runs.
TEST_F(S3E2e, S3AndTelegramWithoutLocalKeepNoLocalFile) {
  exec(
      "INSERT INTO control_plane.backup_settings (project_id, telegram_chat_id) VALUES ('acme', "
      "'-100777') "
      "ON CONFLICT (project_id) DO UPDATE SET telegram_chat_id = '-100777'");
  fake_->reset();
  auto job = export_and_wait(R"({"project_id":"acme","destinations":["s3","telegram"]})");
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job) << server_->log();
  auto b = backup(std::string(job.at("result").at("backup_id").as_string()));
  std::vector<std::string> types;
  for (const auto& l : b.at("locations").as_array()) types.emplace_back(l.at("type").as_string());
  EXPECT_EQ(types, (std::vector<std::string>{"s3", "telegram"})) << json::serialize(b);
  expect_object_matches(b);
  std::string joined;
  const auto chat = fake_->state();
  for (const auto& m : chat.at("messages").as_array())
    joined += read_text_file(std::string(m.at("path").as_string()));
  EXPECT_EQ(joined.size(), static_cast<std::size_t>(b.at("size_bytes").as_int64()));
  auto parts = make_temp_dir("tb-e2e-s3-tg") + "/joined";
  std::ofstream(parts, std::ios::binary) << joined;
  EXPECT_EQ(sha256_of_file(parts), std::string(b.at("sha256").as_string()));
  EXPECT_TRUE(stored_files(storage_).empty())
      << "a local file was kept: " << stored_files(storage_)[0];
  exec("DELETE FROM control_plane.backup_settings WHERE project_id = 'acme'");
}

TEST_F(S3E2e, AnS3OnlyBackupDownloadsRestoresAndIsDeletedWithItsObject) {
  auto job = export_and_wait(R"({"project_id":"acme","destinations":["s3"]})");
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job) << server_->log();
  const auto id = std::string(job.at("result").at("backup_id").as_string());
  auto b = backup(id);
  const auto key = key_of(b);

  // No local copy: the download says how to fetch it; a job fetches it from
  // the bucket, verified, and the download then serves it.
  auto refused = http_get(url("/api/backups/" + id + "/download"), token_);
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("/api/backups/" + id + "/fetch"), std::string::npos) << refused.body;
  auto fetch = http_post_json(url("/api/backups/" + id + "/fetch"), "", token_);
  ASSERT_EQ(fetch.status, 202) << fetch.body;
  auto fetched = wait_for_job(std::string(fetch.json().at("data").at("job_id").as_string()));
  ASSERT_EQ(fetched.at("status"), "completed") << json::serialize(fetched) << server_->log();
  auto link = http_post_json(url("/api/backups/" + id + "/download-link"), "", token_);
  ASSERT_EQ(link.status, 200) << link.body;
  auto dl = http_get(url(std::string(link.json().at("data").at("url").as_string())));
  ASSERT_EQ(dl.status, 200) << dl.body;
  auto file = make_temp_dir("tb-e2e-s3-dl") + "/dump.sql.zst";
  std::ofstream(file, std::ios::binary) << dl.body;
  EXPECT_EQ(sha256_of_file(file), std::string(b.at("sha256").as_string()));

  // A restore reads it from the bucket (the download cache aside).
  fs::remove_all(storage_ + "/.cache");
  const auto before = table_digest(db_, kDigest);
  exec("DELETE FROM tenant_acme.items WHERE id % 2 = 0");
  auto restore =
      http_post_json(url("/api/backup/restore"), R"({"backup_id":")" + id + "\"}", token_);
  ASSERT_EQ(restore.status, 202) << restore.body;
  auto restored = wait_for_job(std::string(restore.json().at("data").at("job_id").as_string()));
  ASSERT_EQ(restored.at("status"), "completed") << json::serialize(restored) << server_->log();
  EXPECT_EQ(table_digest(db_, kDigest), before);
  EXPECT_TRUE(stored_files(storage_).empty()) << stored_files(storage_)[0];

  // DELETE removes the object and its sidecar.
  auto del =
      http_call({"DELETE", url("/api/backups/" + id), "", {"Authorization: Bearer " + token_}});
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_TRUE(s3_tool().head(key).is_null()) << key;
  EXPECT_TRUE(s3_tool().head(key + ".sha256").is_null());
  const auto after = backup(id);
  auto* loc = s3_location(after);
  ASSERT_NE(loc, nullptr);
  EXPECT_TRUE(loc->at("deleted").as_bool());
  EXPECT_EQ(loc->if_contains("remote_remains"), nullptr);
}

TEST_F(S3E2e, ADamagedObjectIsNotRestored) {
  auto job = export_and_wait(R"({"project_id":"acme","destinations":["s3"]})");
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job) << server_->log();
  const auto id = std::string(job.at("result").at("backup_id").as_string());
  // The recorded SHA-256 no longer matches what the bucket holds.
  exec("UPDATE control_plane.backups SET sha256 = repeat('0', 64) WHERE id = '" + id + "'");
  const auto before = table_digest(db_, kDigest);
  auto restore =
      http_post_json(url("/api/backup/restore"), R"({"backup_id":")" + id + "\"}", token_);
  ASSERT_EQ(restore.status, 202) << restore.body;
  auto failed = wait_for_job(std::string(restore.json().at("data").at("job_id").as_string()));
  EXPECT_EQ(failed.at("status"), "failed") << json::serialize(failed);
  EXPECT_NE(json::serialize(failed).find("does not match its SHA-256"), std::string::npos)
      << json::serialize(failed);
  EXPECT_EQ(table_digest(db_, kDigest), before);
  EXPECT_TRUE(stored_files(storage_).empty()) << stored_files(storage_)[0];
}

TEST_F(S3E2e, RetentionRemovesTheObject) {
  auto job = export_and_wait(R"({"project_id":"acme","destinations":["s3"]})");
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job) << server_->log();
  const auto id = std::string(job.at("result").at("backup_id").as_string());
  const auto key = key_of(backup(id));
  ASSERT_FALSE(s3_tool().head(key).is_null());
  exec("UPDATE control_plane.backups SET expires_at = now() - interval '1 minute' WHERE id = '" +
       id + "'");
  ASSERT_TRUE(deployment_->wait_for(
      "SELECT status || ':' || (locations @> '[{\"type\":\"s3\",\"deleted\":true}]')::text "
      "FROM control_plane.backups WHERE id = '" +
          id + "'",
      "expired:true"))
      << server_->log();
  EXPECT_TRUE(s3_tool().head(key).is_null()) << key;
  EXPECT_TRUE(s3_tool().head(key + ".sha256").is_null());
}

// `tenant-backup export --destination s3` queues the same job as the API
// (the running server's worker runs it); without S3 configured the command
// refuses before queueing anything.
TEST_F(S3E2e, TheCommandLineExportsToTheDestinationsAskedFor) {
  ChildProcess cli({binary_path(), "export", "--project", "acme", "--destination", "s3"}, env_);
  ASSERT_EQ(cli.wait(std::chrono::seconds(180)), 0) << cli.output() << server_->log();
  // stdout's last line is the finished job's JSON.
  auto out = cli.output();
  while (!out.empty() && out.back() == '\n') out.pop_back();
  auto job = json::parse(out.substr(out.rfind('\n') + 1)).as_object();
  EXPECT_EQ(value("SELECT payload->>'destinations' FROM control_plane.jobs WHERE id = '" +
                  std::string(job.at("id").as_string()) + "'"),
            R"(["s3"])");
  auto b = backup(std::string(job.at("result").at("backup_id").as_string()));
  expect_object_matches(b);

  auto env = env_;
  for (const auto& [k, v] : s3_env(kPrefix)) env.erase(k);
  const auto jobs_before = value("SELECT count(*) FROM control_plane.jobs");
  ChildProcess refused({binary_path(), "export", "--project", "acme", "--destination", "s3"}, env);
  EXPECT_EQ(refused.wait(), 1) << refused.output();
  EXPECT_NE(refused.output().find("S3 is not configured on this server"), std::string::npos)
      << refused.output();
  EXPECT_EQ(value("SELECT count(*) FROM control_plane.jobs"), jobs_before);
}

TEST_F(S3E2e, AServerWithoutS3RefusesTheDestinationNamingTheField) {
  auto env = env_;
  for (const auto& [k, v] : s3_env(kPrefix)) env.erase(k);
  ServiceProcess plain({"serve", "--no-worker", "--no-scheduler"}, env);
  const auto jobs_before = value("SELECT count(*) FROM control_plane.jobs");
  auto r = http_post_json(plain.base_url() + "/api/backup/export",
                          R"({"project_id":"acme","destinations":["s3"]})", token_);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json().at("error").at("code"), "VALIDATION_ERROR");
  EXPECT_EQ(r.json().at("error").at("field"), "destinations") << r.body;
  auto put = http_call({"PUT",
                        plain.base_url() + "/api/projects/acme/backup-settings",
                        R"({"destinations":["s3"]})",
                        {"Authorization: Bearer " + token_, "Content-Type: application/json"}});
  EXPECT_EQ(put.status, 400) << put.body;
  EXPECT_EQ(value("SELECT count(*) FROM control_plane.jobs"), jobs_before);
  // What each server offers the UI.
  auto plain_system = http_get(plain.base_url() + "/api/system", token_);
  ASSERT_EQ(plain_system.status, 200) << plain_system.body;
  EXPECT_EQ(json::serialize(plain_system.json().at("data").at("destinations")),
            R"(["local","telegram"])");
  auto system = http_get(url("/api/system"), token_);
  EXPECT_EQ(json::serialize(system.json().at("data").at("destinations")),
            R"(["local","telegram","s3"])");
}

}  // namespace
}  // namespace tb::test
