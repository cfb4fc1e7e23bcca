// The Telegram destination end to end through the real binary: `serve` with
// TELEGRAM_API_URL pointing at the fake Bot API server. A backup arrives in
// parts whose concatenation has the recorded SHA-256; with its local copy
// deleted a job fetches it back (the download itself never calls Telegram)
// and it downloads byte-identically and restores with psql; deleting it
// deletes its messages in a job; a permanent Telegram error fails the job with Telegram's reason
// and records no backup; the bot token appears in no log line and no job JSON.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

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

class TelegramE2e : public DeployedSuite<TelegramE2e> {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeTelegram();
    auto o = served_options("e2e_tg");
    o.env = {{"JOB_LEASE_SECONDS", "5"},
             {"JOB_MAX_ATTEMPTS", "1"},
             {"TELEGRAM_BOT_TOKEN", fake_->token()},
             {"TELEGRAM_API_URL", fake_->url()},
             {"TELEGRAM_PART_SIZE", "1MiB"}};
    // ~2.5 MB of incompressible bytes (md5 chains): a zstd dump of 3 parts.
    o.seed_sql = R"sql(
      INSERT INTO control_plane.projects (id, slug, name) VALUES ('acme', 'acme', 'Acme'), ('other', 'other', 'Other');
      INSERT INTO control_plane.backup_settings (project_id, destinations, telegram_chat_id)
        VALUES ('acme', '["local","telegram"]', '-100777');
      CREATE SCHEMA tenant_acme;
      CREATE TABLE tenant_acme.blobs (id int PRIMARY KEY, note text, payload bytea);
      INSERT INTO tenant_acme.blobs
        SELECT g, 'blob ' || g, decode(string_agg(md5(g::text || ':' || i), '' ORDER BY i), 'hex')
        FROM generate_series(1, 200) g, generate_series(1, 800) i GROUP BY g;
      CREATE SCHEMA tenant_other;
      CREATE TABLE tenant_other.t (x int);
    )sql";
    deploy(o);
    other_token_ = other_project_token("bob");
  }
  static void TearDownTestSuite() {
    DeployedSuite::TearDownTestSuite();
    delete fake_;
    fake_ = nullptr;
  }

  json::object wait_for_job(const std::string& job_id) {
    // Every job JSON seen is kept: the token check reads them all.
    auto seen = [](const json::object& job) {
      job_bodies_ += json::serialize(job);
      return job_ended(job);
    };
    return poll(job_id, seen, 120);
  }
  json::object export_and_wait(const std::string& body) {
    auto r = http_post_json(url("/api/backup/export"), body, token_);
    EXPECT_EQ(r.status, 202) << r.body;
    return wait_for_job(std::string(r.json().at("data").at("job_id").as_string()));
  }
  json::object backup(const std::string& id) {
    auto r = http_get(url("/api/backups/" + id), token_);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json().at("data").as_object();
  }
  // Seconds since the epoch, the clock the fake Bot API stamps arrivals with.
  static double wall_seconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static const json::object* telegram_of(const json::object& b) {
    for (const auto& l : b.at("locations").as_array()) {
      if (l.at("type") == "telegram") return &l.as_object();
    }
    return nullptr;
  }

  static inline FakeTelegram* fake_ = nullptr;
  static inline std::string other_token_;
  static inline std::string job_bodies_;  // every job JSON seen (token check)
};

TEST_F(TelegramE2e, BackupGoesToTelegramInPartsAndComesBackFromThemAlone) {
  fake_->reset();
  const double posted = wall_seconds();  // before the export exists, so before any send starts
  auto job = export_and_wait(R"({"project_id":"acme"})");  // destinations from the settings
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job) << server_->log();
  auto id = std::string(job.at("result").at("backup_id").as_string());
  auto b = backup(id);
  auto* tg = telegram_of(b);
  ASSERT_NE(tg, nullptr) << json::serialize(b);
  const auto& parts = tg->at("parts").as_array();
  EXPECT_GE(parts.size(), 3u);
  EXPECT_EQ(tg->at("chat_id"), "-100777");

  // What Telegram holds: the parts, in order, concatenate to the backup.
  auto st = fake_->state();
  const auto& msgs = st.at("messages").as_array();
  ASSERT_EQ(msgs.size(), parts.size());
  std::string joined;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    EXPECT_EQ(msgs[i].at("file_id"), parts[i].at("file_id"));
    EXPECT_EQ(msgs[i].at("message_id"), parts[i].at("message_id"));
    EXPECT_LE(msgs[i].at("size").as_int64(), 1 << 20);
    EXPECT_TRUE(std::string(msgs[i].at("file_name").as_string())
                    .ends_with("of00" + std::to_string(parts.size())));
    joined += read_text_file(std::string(msgs[i].at("path").as_string()));
  }
  auto local = storage_ + "/" + std::string(b.at("locations").as_array()[0].at("path").as_string());
  auto original = read_text_file(local);
  EXPECT_EQ(joined, original);
  EXPECT_EQ(joined.size(), static_cast<std::size_t>(b.at("size_bytes").as_int64()));
  // Sent at most one a second to the chat. Only lower bounds hold on a busy
  // machine: part k cannot start before k-1 pacing intervals after the export
  // was posted, and it arrives after it started. (Gaps between arrivals do
  // shrink under load; the pacer's own spacing is tested with a manual clock
  // in integration_telegram.)
  for (std::size_t k = 0; k < msgs.size(); ++k) {
    EXPECT_GE(msgs[k].at("at").as_double() - posted, static_cast<double>(k) - 0.01)
        << "part " << k + 1;
  }

  // The local copy is gone. No request waits for Telegram: the download (and
  // its link) answer 409 at once without a Bot API call, saying how to get it.
  fs::remove(local);
  const auto calls_before = fake_->state().at("calls").as_array().size();
  auto refused = http_get(url("/api/backups/" + id + "/download"), token_);
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("/api/backups/" + id + "/fetch"), std::string::npos) << refused.body;
  EXPECT_EQ(http_post_json(url("/api/backups/" + id + "/download-link"), "", token_).status, 409);
  EXPECT_EQ(fake_->state().at("calls").as_array().size(), calls_before)
      << "a request thread called the Bot API";
  // A job fetches the parts; then the download comes from them, byte for byte.
  auto fetch = http_post_json(url("/api/backups/" + id + "/fetch"), "", token_);
  ASSERT_EQ(fetch.status, 202) << fetch.body;
  auto fetched = wait_for_job(std::string(fetch.json().at("data").at("job_id").as_string()));
  ASSERT_EQ(fetched.at("status"), "completed") << json::serialize(fetched) << server_->log();
  EXPECT_EQ(fetched.at("type"), "telegram_fetch");
  EXPECT_EQ(fetched.at("result").at("sha256"), b.at("sha256"));
  auto r = http_get(url("/api/backups/" + id + "/download"), token_);
  ASSERT_EQ(r.status, 200) << r.body << server_->log();
  ASSERT_EQ(r.body, original);
  EXPECT_EQ(http_post_json(url("/api/backups/" + id + "/download-link"), "", token_).status, 200);
  auto dump = make_temp_dir("tb-e2e-tg-dl") + "/dump.sql.zst";
  std::ofstream(dump, std::ios::binary) << r.body;
  auto& pg = PgCluster::shared();
  auto target = pg.create_database("tg_restore");
  run_command("zstd -dc " + dump + " | " + pg.bin_dir() + "/psql -q -v ON_ERROR_STOP=1 '" +
              pg.conninfo(target) + "'");
  EXPECT_EQ(table_digest(target, "tenant_acme.blobs"), table_digest(db_, "tenant_acme.blobs"));
  pg.drop_database(target);

  // A restore with the local copy gone reads the backup back from the parts.
  const auto before = table_digest(db_, "tenant_acme.blobs");
  pg.exec(db_, "DELETE FROM tenant_acme.blobs");
  auto restore =
      http_post_json(url("/api/backup/restore"), R"({"backup_id":")" + id + "\"}", token_);
  ASSERT_EQ(restore.status, 202) << restore.body;
  auto restored = wait_for_job(std::string(restore.json().at("data").at("job_id").as_string()));
  ASSERT_EQ(restored.at("status"), "completed") << json::serialize(restored) << server_->log();
  EXPECT_EQ(table_digest(db_, "tenant_acme.blobs"), before);

  // Delete: the messages are deleted by a job (the request does not wait
  // for Telegram); one Telegram refuses stays, recorded.
  fake_->fault("deleteMessage", "refuse_delete", 1);
  auto del =
      http_call({"DELETE", url("/api/backups/" + id), "", {"Authorization: Bearer " + token_}});
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(del.json().at("data").at("status"), "deleted");
  auto del_job =
      wait_for_job(std::string(del.json().at("data").at("telegram_delete_job_id").as_string()));
  ASSERT_EQ(del_job.at("status"), "completed") << json::serialize(del_job) << server_->log();
  EXPECT_EQ(del_job.at("result").at("remaining_parts"), 1);
  auto after = backup(id);
  EXPECT_EQ(after.at("status"), "deleted");
  auto* tg_after = telegram_of(after);
  ASSERT_NE(tg_after, nullptr);
  EXPECT_TRUE(tg_after->at("remote_remains").as_bool());
  EXPECT_EQ(fake_->state().at("deleted").as_array().size(), parts.size() - 1);
}

TEST_F(TelegramE2e, APermanentTelegramErrorFailsTheJobWithItsReason) {
  fake_->reset();
  fake_->fault("sendDocument", "400", 1,
               json::object{{"description", "Bad Request: chat not found"}});
  auto before = value("SELECT count(*) FROM control_plane.backups WHERE status = 'completed'");
  auto job = export_and_wait(R"({"project_id":"acme","destinations":["local","telegram"]})");
  ASSERT_EQ(job.at("status"), "failed") << json::serialize(job);
  std::string last_error(job.at("last_error").as_string());
  EXPECT_NE(last_error.find("telegram destination failed: Bad Request: chat not found"),
            std::string::npos)
      << last_error;
  EXPECT_EQ(value("SELECT count(*) FROM control_plane.backups WHERE status = 'completed'"), before);
  // The run is listed as failed, with the same reason.
  EXPECT_EQ(value("SELECT error FROM control_plane.backups WHERE job_id = '" +
                  std::string(job.at("id").as_string()) + "'"),
            last_error);
  // The local copy made for the failed job is not left behind.
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(storage_)) {
    if (e.is_regular_file() && e.path().string().find("/.cache/") == std::string::npos) ++files;
  }
  EXPECT_EQ(files, 0);
}

TEST_F(TelegramE2e, RetriesServerErrorsThenSendsALocalBackupLater) {
  fake_->reset();
  // A local-only backup, then "send to Telegram" for it.
  auto job = export_and_wait(R"({"project_id":"acme","destinations":["local"]})");
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job);
  auto id = std::string(job.at("result").at("backup_id").as_string());
  EXPECT_EQ(telegram_of(backup(id)), nullptr);
  EXPECT_EQ(fake_->state().at("messages").as_array().size(), 0u);

  fake_->fault("sendDocument", "500", 1);
  fake_->fault("sendDocument", "429", 1, json::object{{"retry_after", 1}});
  auto r = http_post_json(url("/api/backups/" + id + "/telegram"), "", token_);
  ASSERT_EQ(r.status, 202) << r.body;
  auto sent = wait_for_job(std::string(r.json().at("data").at("job_id").as_string()));
  ASSERT_EQ(sent.at("status"), "completed") << json::serialize(sent);
  auto with_tg = backup(id);
  auto* tg = telegram_of(with_tg);
  ASSERT_NE(tg, nullptr);
  EXPECT_EQ(tg->at("parts").as_array().size(), fake_->state().at("messages").as_array().size());
  // Sending it again is refused: it is there already.
  EXPECT_EQ(http_post_json(url("/api/backups/" + id + "/telegram"), "", token_).status, 409);
}

TEST_F(TelegramE2e, TelegramWithoutAChatIsRefusedBeforeAnyJob) {
  auto jobs_before = value("SELECT count(*) FROM control_plane.jobs");
  auto r =
      http_post_json(url("/api/backup/export"),
                     R"({"project_id":"other","destinations":["local","telegram"]})", other_token_);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("telegram_chat_id"), std::string::npos) << r.body;
  EXPECT_EQ(value("SELECT count(*) FROM control_plane.jobs"), jobs_before);
}

// Last (gtest runs in order within a file): everything above went through.
TEST_F(TelegramE2e, TheBotTokenAppearsNowhere) {
  auto secret = fake_->token().substr(fake_->token().find(':') + 1);
  auto log = server_->log();
  EXPECT_FALSE(log.empty());
  EXPECT_EQ(log.find(secret), std::string::npos) << "the service log holds the bot token";
  EXPECT_EQ(job_bodies_.find(secret), std::string::npos) << "a job's JSON holds the bot token";
  auto jobs = PgCluster::shared().query_value(
      db_,
      "SELECT coalesce(string_agg(payload::text || coalesce(progress::text, '') || "
      "coalesce(result::text, '') || "
      "coalesce(last_error, '') || coalesce(errors::text, ''), ' '), '') FROM control_plane.jobs");
  EXPECT_EQ(jobs.find(secret), std::string::npos);
  auto metrics = http_get(url("/metrics"));
  EXPECT_EQ(metrics.body.find(secret), std::string::npos);
}

}  // namespace
}  // namespace tb::test
