// End to end through the real binary: the HTTP contract of README.md's API
// section. This file: who may call what (tokens, other projects' resources),
// refused requests with their stable codes, settings and the rate limit.
// Exports and restores are in api_export_test.cpp, downloads in
// api_download_test.cpp.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "api_fixture.hpp"
#include "support/http_client.hpp"

namespace tb::test {
namespace {

namespace json = boost::json;

TEST_F(ApiTest, HealthAndAuthBasics) {
  EXPECT_EQ(http_get(url("/healthz")).status, 200);
  EXPECT_EQ(http_get(url("/readyz")).status, 200);
  auto unknown = "/api/jobs/123e4567-e89b-42d3-a456-426614174000";
  auto r = http_get(url(unknown));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.json().at("error").at("code").as_string(), "UNAUTHORIZED");
  EXPECT_EQ(http_get(url(unknown), "not-a-jwt").status, 401);
  r = http_get(url(unknown), token_);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.json().at("error").at("code").as_string(), "NOT_FOUND");
  auto metrics = http_get(url("/metrics"));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("tb_http_requests_total"), std::string::npos);
}

TEST_F(ApiTest, ForbiddenAndUnknownProjectsCreateNoJob) {
  int jobs_before = count("SELECT count(*) FROM control_plane.jobs");
  auto r = http_post_json(url("/api/backup/export"), R"({"project_id":"acme"})", other_token_);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.json().at("error").at("code").as_string(), "FORBIDDEN");
  r = http_post_json(url("/api/backup/export"), R"({"project_id":"acme2"})", token_);
  EXPECT_EQ(r.status, 403);
  r = http_post_json(url("/api/backup/export"), R"({"project_id":"nope"})", admin_token_);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(http_get(url("/api/backup/history?project_id=acme"), other_token_).status, 403);
  EXPECT_EQ(count("SELECT count(*) FROM control_plane.jobs"), jobs_before);
}

TEST_F(ApiTest, AnotherProjectsJobsAndBackupsAreNotFound) {
  auto job = export_and_wait(R"({"project_id":"acme"})");
  auto job_id = std::string(job.at("id").as_string());
  auto backup_id = std::string(job.at("result").at("backup_id").as_string());
  EXPECT_EQ(http_get(url("/api/jobs/" + job_id), other_token_).status, 404);
  EXPECT_EQ(http_get(url("/api/backups/" + backup_id), other_token_).status, 404);
  EXPECT_EQ(http_get(url("/api/backups/" + backup_id + "/download"), other_token_).status, 404);
  HttpRequest del{
      "DELETE", url("/api/backups/" + backup_id), "", {"Authorization: Bearer " + other_token_}};
  EXPECT_EQ(http_call(del).status, 404);
  EXPECT_EQ(count("SELECT count(*) FROM control_plane.backups WHERE id = '" + backup_id +
                  "' AND deleted_at IS NULL"),
            1);
}

TEST_F(ApiTest, BadRequestsAreRefusedWithStableCodes) {
  int jobs_before = count("SELECT count(*) FROM control_plane.jobs");
  auto r =
      http_post_json(url("/api/backup/export"), R"({"project_id":"acme","format":"xml"})", token_);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json().at("error").at("code").as_string(), "VALIDATION_ERROR");
  EXPECT_EQ(r.json().at("error").at("field").as_string(), "format");
  r = http_post_json(url("/api/backup/export"),
                     R"({"project_id":"acme","storage_path":"../../etc"})", token_);
  EXPECT_EQ(r.status, 400);
  r = http_post_json(url("/api/backup/export"), R"({"project_id":"acme","unknown":true})", token_);
  EXPECT_EQ(r.status, 400);
  r = http_post_json(url("/api/backup/export"), std::string(70 * 1024, ' ') + "{}", token_);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.json().at("error").at("code").as_string(), "PAYLOAD_TOO_LARGE");
  HttpRequest text{"POST",
                   url("/api/backup/export"),
                   R"({"project_id":"acme"})",
                   {"Content-Type: text/plain", "Authorization: Bearer " + token_}};
  EXPECT_EQ(http_call(text).status, 415);
  EXPECT_EQ(count("SELECT count(*) FROM control_plane.jobs"), jobs_before);
}

TEST_F(ApiTest, SettingsPersistAndRefuseBadFields) {
  HttpRequest put{
      "PUT",
      url("/api/projects/acme/backup-settings"),
      R"({"retention_days":7,"schedule":{"kind":"daily","time":"03:15"},"notify_email":"ops@example.com"})",
      {"Content-Type: application/json", "Authorization: Bearer " + token_}};
  auto r = http_call(put);
  ASSERT_EQ(r.status, 200) << r.body;
  auto got =
      http_get(url("/api/projects/acme/backup-settings"), token_).json().at("data").as_object();
  EXPECT_EQ(got.at("retention_days").as_int64(), 7);
  EXPECT_EQ(got.at("schedule").at("time").as_string(), "03:15");
  put.body = R"({"retention_days":0})";
  r = http_call(put);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json().at("error").at("field").as_string(), "retention_days");
  put.headers = {"Content-Type: application/json", "Authorization: Bearer " + other_token_};
  put.body = R"({"retention_days":9})";
  EXPECT_EQ(http_call(put).status, 403);
  // Back to the default so other tests see 30-day expiry.
  put.headers = {"Content-Type: application/json", "Authorization: Bearer " + token_};
  put.body = R"({"retention_days":30})";
  EXPECT_EQ(http_call(put).status, 200);
  auto audit = http_get(url("/api/projects/acme/audit?format=text"), token_);
  EXPECT_EQ(audit.status, 200);
  EXPECT_NE(audit.body.find("settings.update"), std::string::npos);
  EXPECT_NE(audit.body.find("alice"), std::string::npos);
}

// This server has no Telegram bot: settings that name Telegram would make
// every export of the project fail, so they are refused when saved, in words
// for the project's owner.
TEST_F(ApiTest, SettingsRefuseTelegramWhenTheServerHasNoBot) {
  auto system = http_get(url("/api/system"), token_).json().at("data").as_object();
  EXPECT_EQ(json::serialize(system.at("destinations")), R"(["local"])");
  HttpRequest put{"PUT",
                  url("/api/projects/acme/backup-settings"),
                  R"({"destinations":["local","telegram"],"telegram_chat_id":"-1001234567890"})",
                  {"Content-Type: application/json", "Authorization: Bearer " + token_}};
  auto r = http_call(put);
  ASSERT_EQ(r.status, 400) << r.body;
  const auto body = r.json();
  const auto& error = body.at("error").as_object();
  EXPECT_EQ(error.at("code").as_string(), "VALIDATION_ERROR");
  EXPECT_EQ(error.at("field").as_string(), "destinations");
  const auto message = std::string(error.at("message").as_string());
  EXPECT_NE(message.find("this server cannot send to Telegram"), std::string::npos) << message;
  EXPECT_EQ(message.find("TELEGRAM_BOT_TOKEN"), std::string::npos) << message;
  EXPECT_EQ(count("SELECT count(*) FROM control_plane.backup_settings "
                  "WHERE project_id = 'acme' AND destinations ? 'telegram'"),
            0);
  // An export that asks for Telegram is refused the same way, before any job.
  auto e = http_post_json(url("/api/backup/export"),
                          R"({"project_id":"acme","destinations":["telegram"]})", token_);
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.body.find("TELEGRAM_BOT_TOKEN"), std::string::npos) << e.body;
}

// This server has no AGE_IDENTITY_FILE: it does not offer encryption, and
// refuses to turn it on (it could not restore what it wrote); recipients are
// still checked.
TEST_F(ApiTest, EncryptionIsRefusedOnAServerWithoutAKey) {
  auto system = http_get(url("/api/system"), token_);
  ASSERT_EQ(system.status, 200) << system.body;
  EXPECT_EQ(system.json().at("data").at("encryption"), false);
  HttpRequest put{"PUT",
                  url("/api/projects/acme/backup-settings"),
                  R"({"encryption":{"enabled":true}})",
                  {"Content-Type: application/json", "Authorization: Bearer " + token_}};
  auto r = http_call(put);
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json().at("error").at("field"), "encryption.enabled");
  EXPECT_NE(r.body.find("AGE_IDENTITY_FILE"), std::string::npos) << r.body;
  put.body = R"({"encryption":{"recipients":["age1notakey"]}})";
  r = http_call(put);
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json().at("error").at("field"), "encryption.recipients[0]");
  auto got =
      http_get(url("/api/projects/acme/backup-settings"), token_).json().at("data").as_object();
  EXPECT_EQ(got.at("encryption").at("enabled"), false);
}

TEST_F(ApiTest, ProjectsListOnlyWhatTheTokenCovers) {
  auto r = http_get(url("/api/projects"), token_);
  ASSERT_EQ(r.status, 200);
  auto items = r.json().at("data").as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].at("id").as_string(), "acme");
}

TEST(ApiRateLimit, WorkRoutesAnswer429WithRetryAfter) {
  DeploymentOptions o;
  o.prefix = "e2e_rl";
  o.env = {{"RATE_LIMIT_PER_MINUTE", "3"}};
  o.seed_sql =
      "INSERT INTO control_plane.projects (id, slug, name) VALUES ('acme', 'acme', 'Acme')";
  o.serve = {"serve", "--no-worker"};
  Deployment d(o);
  auto& server = d.service();
  const auto& token = d.token;
  int accepted = 0, limited = 0;
  for (int i = 0; i < 6; ++i) {
    auto r =
        http_post_json(server.base_url() + "/api/backup/export", R"({"project_id":"acme"})", token);
    if (r.status == 202) ++accepted;
    if (r.status == 429) {
      ++limited;
      EXPECT_FALSE(r.header("retry-after").empty());
      EXPECT_EQ(r.json().at("error").at("code").as_string(), "RATE_LIMITED");
    }
  }
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(limited, 3);
  EXPECT_EQ(d.value("SELECT count(*) FROM control_plane.jobs"), "3");
}

}  // namespace
}  // namespace tb::test
