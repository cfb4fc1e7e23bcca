// End to end through the real binary: the promise that matters most — a
// backup that says "completed" restores, with the real psql, into a fresh
// database with the same data — and what follows a backup: its history with
// expiry, its deletion, the failure of a dump and the notification e-mail.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "api_fixture.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"

namespace tb::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

TEST_F(ApiTest, ExportCompletesAndRestoresInEveryFormat) {
  struct Case {
    std::string body, format, compression, suffix;
  };
  const std::vector<Case> cases = {
      {R"({"project_id":"acme"})", "sql", "zstd", ".sql.zst"},
      {R"({"project_id":"acme","compression":"gzip"})", "sql", "gzip", ".sql.gz"},
      {R"({"project_id":"acme","compress":false})", "sql", "none", ".sql"},
      {R"({"project_id":"acme","format":"tar"})", "tar", "zstd", ".tar.zst"},
      {R"({"project_id":"acme","format":"tar","compression":"gzip"})", "tar", "gzip", ".tar.gz"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    auto job = export_and_wait(c.body);
    ASSERT_EQ(job.at("status").as_string(), "completed") << json::serialize(job) << server_->log();
    const auto& result = job.at("result").as_object();
    auto backup_id = std::string(result.at("backup_id").as_string());
    auto backup = http_get(url("/api/backups/" + backup_id), token_).json().at("data").as_object();
    EXPECT_EQ(backup.at("format").as_string(), c.format);
    EXPECT_EQ(backup.at("compression").as_string(), c.compression);
    EXPECT_EQ(backup.at("status").as_string(), "completed");
    EXPECT_EQ(backup.at("kind").as_string(), "manual");
    // How the run went, from its job: the dump's size before compression, the file, the time.
    const auto& run = backup.at("run").as_object();
    EXPECT_EQ(run.at("dump_bytes").to_number<std::int64_t>(),
              result.at("dump_bytes").to_number<std::int64_t>());
    if (c.compression == "none") {
      EXPECT_EQ(run.at("dump_bytes"), backup.at("size_bytes"));
    }
    EXPECT_EQ(run.at("file_name"), result.at("file_name"));
    EXPECT_EQ(run.at("attempts").as_int64(), 1);
    EXPECT_GE(run.at("seconds").to_number<double>(), 0.0);

    auto dl = http_get(url("/api/backups/" + backup_id + "/download"), token_);
    ASSERT_EQ(dl.status, 200);
    EXPECT_NE(dl.header("content-disposition").find(c.suffix + "\""), std::string::npos)
        << dl.header("content-disposition");
    EXPECT_EQ(static_cast<std::int64_t>(dl.body.size()), backup.at("size_bytes").as_int64());
    auto file = download_to_file(backup_id);
    EXPECT_EQ(run_command("sha256sum " + file).substr(0, 64),
              std::string(backup.at("sha256").as_string()));
    expect_restores(file, c.format, c.compression);
  }
}

TEST_F(ApiTest, HistoryShowsBackupsNewestFirstWithThirtyDayExpiry) {
  auto first = export_and_wait(R"({"project_id":"acme"})");
  auto second = export_and_wait(R"({"project_id":"acme"})");
  ASSERT_EQ(second.at("status").as_string(), "completed");
  auto r = http_get(url("/api/backup/history?project_id=acme&limit=1"), token_);
  ASSERT_EQ(r.status, 200) << r.body;
  auto page = r.json().at("data").as_object();
  ASSERT_EQ(page.at("items").as_array().size(), 1u);
  auto newest = page.at("items").as_array()[0].as_object();
  EXPECT_EQ(newest.at("id"), second.at("result").at("backup_id"));
  EXPECT_TRUE(newest.at("error").is_null());
  // Each item says how its run went (the UI's detail view shows it).
  EXPECT_EQ(newest.at("run").at("dump_bytes").to_number<std::int64_t>(),
            second.at("result").at("dump_bytes").to_number<std::int64_t>());
  // The newest completed backup's time, on every page.
  EXPECT_EQ(page.at("last_successful_backup_at"), newest.at("created_at"));
  // expires_at = created_at + 30 days.
  auto created = value(
      "SELECT extract(epoch FROM expires_at - created_at)::bigint FROM control_plane.backups WHERE "
      "id = '" +
      std::string(newest.at("id").as_string()) + "'");
  EXPECT_EQ(created, std::to_string(30 * 86400));
  ASSERT_TRUE(page.at("next_cursor").is_string());
  auto next = http_get(url("/api/backup/history?project_id=acme&limit=1&cursor=" +
                           std::string(page.at("next_cursor").as_string())),
                       token_)
                  .json()
                  .at("data")
                  .as_object();
  EXPECT_EQ(next.at("items").as_array()[0].at("id"), first.at("result").at("backup_id"));
}

TEST_F(ApiTest, DeleteRemovesTheFileAndMarksTheRow) {
  auto job = export_and_wait(R"({"project_id":"acme"})");
  auto backup_id = std::string(job.at("result").at("backup_id").as_string());
  auto path = value("SELECT locations->0->>'path' FROM control_plane.backups WHERE id = '" +
                    backup_id + "'");
  ASSERT_TRUE(fs::exists(storage_ + "/" + path));
  HttpRequest del{
      "DELETE", url("/api/backups/" + backup_id), "", {"Authorization: Bearer " + token_}};
  EXPECT_EQ(http_call(del).status, 200);
  EXPECT_FALSE(fs::exists(storage_ + "/" + path));
  EXPECT_EQ(count("SELECT count(*) FROM control_plane.backups WHERE id = '" + backup_id +
                  "' AND deleted_at IS NOT NULL"),
            1);
  EXPECT_EQ(http_get(url("/api/backups/" + backup_id + "/download"), token_).status, 409);
}

TEST_F(ApiTest, FailedDumpGivesTheRealReasonAndNoFile) {
  // A project whose schema does not exist: pg_dump --strict-names refuses.
  exec(
      "INSERT INTO control_plane.projects (id, slug, name) VALUES ('ghost', 'ghost', 'Ghost') ON "
      "CONFLICT DO NOTHING");
  auto admin_job =
      http_post_json(url("/api/backup/export"), R"({"project_id":"ghost"})", admin_token_);
  ASSERT_EQ(admin_job.status, 202);
  auto job =
      wait_for_job(std::string(admin_job.json().at("data").at("job_id").as_string()), admin_token_);
  EXPECT_EQ(job.at("status").as_string(), "failed") << json::serialize(job);
  EXPECT_EQ(job.at("attempts"), 1) << "a missing schema was retried: " << json::serialize(job);
  EXPECT_NE(std::string(job.at("last_error").as_string()).find("tenant_ghost"), std::string::npos)
      << json::serialize(job);
  EXPECT_FALSE(fs::exists(storage_ + "/ghost") && !fs::is_empty(storage_ + "/ghost"));
  EXPECT_EQ(count("SELECT count(*) FROM control_plane.backups WHERE project_id = 'ghost' "
                  "AND status <> 'failed'"),
            0);

  // The history lists the run, failed, with the job's reason; nothing to download.
  auto history = http_get(url("/api/backup/history?project_id=ghost"), admin_token_);
  ASSERT_EQ(history.status, 200) << history.body;
  auto page = history.json().at("data").as_object();
  EXPECT_TRUE(page.at("last_successful_backup_at").is_null());
  ASSERT_EQ(page.at("items").as_array().size(), 1u) << history.body;
  auto run = page.at("items").as_array()[0].as_object();
  EXPECT_EQ(run.at("status").as_string(), "failed");
  EXPECT_EQ(run.at("job_id"), job.at("id"));
  EXPECT_EQ(run.at("kind").as_string(), "manual");
  EXPECT_EQ(run.at("error"), job.at("last_error"));
  EXPECT_EQ(run.at("error_code"), "NOT_FOUND");
  EXPECT_TRUE(run.at("locations").as_array().empty());
  auto id = std::string(run.at("id").as_string());
  EXPECT_EQ(http_get(url("/api/backups/" + id + "/download"), admin_token_).status, 409);
  EXPECT_EQ(http_post_json(url("/api/backups/" + id + "/download-link"), "", admin_token_).status,
            409);
  EXPECT_EQ(
      http_post_json(url("/api/backup/restore"), R"({"backup_id":")" + id + R"("})", admin_token_)
          .status,
      409);
  // Activity has it as a failure.
  auto audit = http_get(url("/api/projects/ghost/audit?format=text"), admin_token_);
  EXPECT_NE(audit.body.find("failed: "), std::string::npos) << audit.body;
}

TEST_F(ApiTest, NotifyEmailArrivesOnSuccessAndOnFailure) {
  auto job = export_and_wait(R"({"project_id":"acme","notify_email":"owner@example.com"})");
  ASSERT_EQ(job.at("status").as_string(), "completed");
  auto sha = std::string(job.at("result").at("sha256").as_string());
  auto mails = smtp_->wait_for_emails(emails_seen_ + 1, std::chrono::seconds(120));
  emails_seen_ = mails.size();
  const auto& ok = mails.back();
  ASSERT_EQ(ok.rcpt_to.size(), 1u);
  EXPECT_EQ(ok.rcpt_to[0], "owner@example.com");
  EXPECT_NE(ok.raw.find("completed"), std::string::npos) << ok.raw;
  EXPECT_NE(ok.raw.find(sha), std::string::npos) << ok.raw;

  exec(
      "INSERT INTO control_plane.projects (id, slug, name) VALUES ('ghost2', 'ghost2', 'G') ON "
      "CONFLICT DO NOTHING");
  auto r =
      http_post_json(url("/api/backup/export"),
                     R"({"project_id":"ghost2","notify_email":"owner@example.com"})", admin_token_);
  ASSERT_EQ(r.status, 202);
  auto failed =
      wait_for_job(std::string(r.json().at("data").at("job_id").as_string()), admin_token_);
  EXPECT_EQ(failed.at("status").as_string(), "failed");
  mails = smtp_->wait_for_emails(emails_seen_ + 1, std::chrono::seconds(120));
  emails_seen_ = mails.size();
  EXPECT_NE(mails.back().raw.find("FAILED"), std::string::npos) << mails.back().raw;
  EXPECT_NE(mails.back().raw.find("tenant_ghost2"), std::string::npos) << mails.back().raw;
}

// What the page needs to keep its promises: the history's row count (a pager
// that says "of N"), how long a restore keeps the schema it sets aside, when a
// saved schedule runs next, and whether raising retention reached the
// existing backups (only when asked, and how many).
TEST_F(ApiTest, SettingsSayWhatTheyChangeAndWhenTheScheduleRunsNext) {
  auto job = export_and_wait(R"({"project_id":"acme"})");
  ASSERT_EQ(job.at("status").as_string(), "completed");
  const auto id = std::string(job.at("result").at("backup_id").as_string());
  auto page = http_get(url("/api/backup/history?project_id=acme&limit=1"), token_)
                  .json()
                  .at("data")
                  .as_object();
  EXPECT_EQ(std::to_string(page.at("total").as_int64()),
            value("SELECT count(*) FROM control_plane.backups WHERE project_id = 'acme' "
                  "AND status <> 'deleted'"));
  EXPECT_EQ(http_get(url("/api/system"), token_).json().at("data").at("restore_keep_days"), 7);

  const auto days_kept = [&] {
    return value(
        "SELECT extract(day FROM expires_at - created_at)::int FROM "
        "control_plane.backups WHERE id = '" +
        id + "'");
  };
  HttpRequest put{"PUT",
                  url("/api/projects/acme/backup-settings"),
                  R"({"retention_days":365,"schedule":{"kind":"daily","time":"03:00"}})",
                  {"Content-Type: application/json", "Authorization: Bearer " + token_}};
  auto r = http_call(put);
  ASSERT_EQ(r.status, 200) << r.body;
  auto saved = r.json().at("data").as_object();
  EXPECT_FALSE(saved.contains("existing_backups_updated"));
  EXPECT_EQ(days_kept(), "30");  // new backups only
  const auto next = std::string(saved.at("next_run_at").as_string());
  EXPECT_TRUE(next.ends_with("T03:00:00.000Z")) << next;
  EXPECT_EQ(value("SELECT '" + next + "'::timestamptz > now() AND '" + next +
                  "'::timestamptz <= now() + interval '1 day'"),
            "t");

  put.body = R"({"retention_days":365,"apply_to_existing":true,"schedule":{"kind":"off"}})";
  r = http_call(put);
  ASSERT_EQ(r.status, 200) << r.body;
  saved = r.json().at("data").as_object();
  EXPECT_EQ(std::to_string(saved.at("existing_backups_updated").as_int64()),
            value("SELECT count(*) FROM control_plane.backups WHERE project_id = 'acme' "
                  "AND status = 'completed'"));
  EXPECT_EQ(days_kept(), "365");
  EXPECT_TRUE(saved.at("next_run_at").is_null());

  // Back to the default for the other tests.
  put.body = R"({"retention_days":30,"apply_to_existing":true})";
  ASSERT_EQ(http_call(put).status, 200);
  EXPECT_EQ(days_kept(), "30");
}

}  // namespace
}  // namespace tb::test
