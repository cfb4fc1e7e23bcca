// Key rotation through restarts of the real binary: backups made with
// identity A still restore after a new identity B is put first in the key
// file (and new ones go to B alone); once A is gone from the file, A's
// backups fail with a message saying the key is no longer held; with no key
// file at all, an encrypting project's export fails instead of writing
// plaintext.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>
#include <memory>

#include "age_e2e_support.hpp"
#include "support/deployment.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/service_process.hpp"

namespace tb::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

class AgeRotation : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = make_temp_dir("tb-e2e-age-rot");
    a_ = make_age_key(keys_, "a.key");
    b_ = make_age_key(keys_, "b.key");
    key_file_ = keys_ + "/service.keys";
    write_key_file(key_file_, {a_});
    DeploymentOptions o;
    o.prefix = "e2e_age_rot";
    // Default JOB_MAX_ATTEMPTS (3): a refusal must fail at its first attempt.
    o.env = {{"AGE_IDENTITY_FILE", key_file_}};
    d_ = std::make_unique<Deployment>(o);
  }
  void TearDown() override {
    service_.reset();
    d_.reset();
    fs::remove_all(keys_);
  }

  // (Re)starts `serve`, which reads the key file once.
  void restart(bool with_key = true) {
    if (service_) {
      service_->signal(SIGTERM);
      ASSERT_EQ(service_->wait(), 0) << service_->log();
    }
    auto env = d_->env;
    if (!with_key) env.erase("AGE_IDENTITY_FILE");
    service_ = std::make_unique<ServiceProcess>(std::vector<std::string>{"serve"}, env);
  }
  std::string url(const std::string& path) const { return service_->base_url() + path; }
  json::object run(const std::string& path, const std::string& body) {
    auto r = http_post_json(url(path), body, d_->token);
    EXPECT_EQ(r.status, 202) << r.body;
    return poll_job(service_->base_url(), d_->token,
                    std::string(r.json().at("data").at("job_id").as_string()), job_ended, 90,
                    [this] { return service_->log(); });
  }
  // An encrypted export; returns the backup's id and stored file.
  std::pair<std::string, std::string> backup() {
    auto job = run("/api/backup/export", R"({"project_id":"acme"})");
    EXPECT_EQ(job.at("status"), "completed") << json::serialize(job) << service_->log();
    auto id = std::string(job.at("result").at("backup_id").as_string());
    auto b = http_get(url("/api/backups/" + id), d_->token).json().at("data").as_object();
    EXPECT_EQ(b.at("encrypted"), true);
    return {id, d_->storage + "/" +
                    std::string(b.at("locations").as_array()[0].at("path").as_string())};
  }
  json::object restore(const std::string& id) {
    return run("/api/backup/restore", R"({"backup_id":")" + id + "\"}");
  }
  std::string digest() const { return table_digest(d_->db, "tenant_acme.items"); }

  std::string keys_, key_file_;
  AgeKey a_, b_;
  std::unique_ptr<Deployment> d_;
  std::unique_ptr<ServiceProcess> service_;
};

TEST_F(AgeRotation, OldBackupsRestoreAfterANewKeyIsAddedFirst) {
  restart();
  auto put = http_call({"PUT",
                        url("/api/projects/acme/backup-settings"),
                        R"({"encryption":{"enabled":true}})",
                        {"Content-Type: application/json", "Authorization: Bearer " + d_->token}});
  ASSERT_EQ(put.status, 200) << put.body;
  const auto [old_id, old_file] = backup();
  const auto tmp = keys_ + "/plain";
  EXPECT_TRUE(age_decrypts(a_, old_file, tmp));
  EXPECT_FALSE(age_decrypts(b_, old_file, tmp));

  // Rotation: B first, A kept for reading.
  write_key_file(key_file_, {b_, a_});
  restart();
  EXPECT_TRUE(service_->wait_for_log({b_.recipient})) << service_->log();
  const auto [new_id, new_file] = backup();
  EXPECT_TRUE(age_decrypts(b_, new_file, tmp));
  EXPECT_FALSE(age_decrypts(a_, new_file, tmp)) << "a new backup still goes to the old key";

  const auto before = digest();
  d_->exec("DELETE FROM tenant_acme.items WHERE id > 10");
  auto job = restore(old_id);
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job) << service_->log();
  EXPECT_EQ(digest(), before);

  // A dropped from the file: its backups cannot be read, and the job says why.
  write_key_file(key_file_, {b_});
  restart();
  d_->exec("DELETE FROM tenant_acme.items WHERE id > 10");
  const auto changed = digest();
  job = restore(old_id);
  ASSERT_EQ(job.at("status"), "failed") << json::serialize(job);
  const auto error = json::serialize(job.at("errors").as_array().back());
  EXPECT_TRUE(contains(error, "a key this service no longer holds")) << error;
  EXPECT_TRUE(contains(error, "CONFLICT")) << error;
  EXPECT_EQ(digest(), changed);
  job = restore(new_id);
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job) << service_->log();
  EXPECT_EQ(digest(), before);

  // No key file at all, encryption still on in the settings: the export
  // fails for good rather than write plaintext.
  restart(/*with_key=*/false);
  const std::string stored_backups =
      "SELECT count(*) FROM control_plane.backups WHERE status <> 'failed'";
  const auto backups = d_->value(stored_backups);
  job = run("/api/backup/export", R"({"project_id":"acme"})");
  ASSERT_EQ(job.at("status"), "failed") << json::serialize(job);
  EXPECT_EQ(job.at("attempts"), 1) << "retried";
  const auto why = json::serialize(job.at("errors").as_array().back());
  EXPECT_TRUE(contains(why, "no unencrypted backup was written")) << why;
  // No stored backup; the history lists the failed run with its reason.
  EXPECT_EQ(d_->value(stored_backups), backups);
  EXPECT_EQ(d_->value("SELECT count(*) FROM control_plane.backups WHERE status = 'failed' "
                      "AND error LIKE '%no unencrypted backup was written%'"),
            "1");
}

}  // namespace
}  // namespace tb::test
