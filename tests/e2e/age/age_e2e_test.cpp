// Encryption at rest end to end through the real binary: a project with
// encryption on gets age files that hold no plaintext (stored file and
// Telegram parts alike), that the tenant opens with `age -d -i` and restores
// with psql / pg_restore while a stranger's key opens nothing, that the
// service restores; a file made by the `age` CLI to the service's key is
// read by the service; an altered file is refused and the schema stays.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "age_e2e_support.hpp"
#include "support/deployed_suite.hpp"
#include "support/fake_telegram.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"

namespace tb::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// A value of the tenant's that must never be readable in a stored byte.
constexpr const char* kMarker = "MARKER-zebra-plaintext-4711";

class AgeE2e : public DeployedSuite<AgeE2e> {
 protected:
  static void SetUpTestSuite() {
    keys_ = make_temp_dir("tb-e2e-age-keys");
    service_key_ = make_age_key(keys_, "service.key");
    tenant_key_ = make_age_key(keys_, "tenant.key");
    stranger_key_ = make_age_key(keys_, "stranger.key");
    fake_ = new FakeTelegram();
    auto o = served_options("e2e_age");
    o.env = {{"JOB_MAX_ATTEMPTS", "1"},
             {"AGE_IDENTITY_FILE", service_key_.path},
             {"TELEGRAM_BOT_TOKEN", fake_->token()},
             {"TELEGRAM_API_URL", fake_->url()},
             {"TELEGRAM_PART_SIZE", "1MiB"}};
    // ~2.6 MB of SQL uncompressed: three Telegram parts, forty age chunks.
    o.seed_sql = std::string(kAcmeSeed) + "UPDATE tenant_acme.items SET body = '" + kMarker +
                 "' WHERE id = 777;";
    deploy(o);
  }
  static void TearDownTestSuite() {
    DeployedSuite::TearDownTestSuite();
    delete fake_;
    fake_ = nullptr;
    fs::remove_all(keys_);
  }

  static HttpResponse put(const std::string& body) {
    return http_call({"PUT",
                      url("/api/projects/acme/backup-settings"),
                      body,
                      {"Content-Type: application/json", "Authorization: Bearer " + token_}});
  }
  // Encryption on, to the tenant's key (besides the service's).
  static void encrypt_to_tenant() {
    auto r = put(R"({"encryption":{"enabled":true,"recipients":[")" + tenant_key_.recipient +
                 R"("]},"telegram_chat_id":"-100777"})");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  static json::object export_backup(const std::string& body) {
    auto r = http_post_json(url("/api/backup/export"), body, token_);
    EXPECT_EQ(r.status, 202) << r.body;
    auto job = wait_for_job(std::string(r.json().at("data").at("job_id").as_string()));
    EXPECT_EQ(job.at("status"), "completed") << json::serialize(job) << server_->log();
    auto id = std::string(job.at("result").at("backup_id").as_string());
    return http_get(url("/api/backups/" + id), token_).json().at("data").as_object();
  }
  static std::string local_path(const json::object& backup) {
    for (const auto& l : backup.at("locations").as_array()) {
      if (l.at("type") == "local") return storage_ + "/" + std::string(l.at("path").as_string());
    }
    return {};
  }
  static json::object restore(const std::string& backup_id) {
    auto r =
        http_post_json(url("/api/backup/restore"), R"({"backup_id":")" + backup_id + "\"}", token_);
    EXPECT_EQ(r.status, 202) << r.body;
    return wait_for_job(std::string(r.json().at("data").at("job_id").as_string()));
  }
  static std::string digest() { return table_digest(db_, "tenant_acme.items"); }
  static std::string aside_schemas() {
    return value("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tenant\\_acme\\_\\_pre%'");
  }
  static std::string first_error(const json::object& job) {
    return json::serialize(job.at("errors").as_array().back());
  }

  static inline FakeTelegram* fake_ = nullptr;
  static inline std::string keys_;
  static inline AgeKey service_key_, tenant_key_, stranger_key_;
};

TEST_F(AgeE2e, TheServerOffersEncryptionAndRefusesBadRecipients) {
  auto system = http_get(url("/api/system"), token_);
  ASSERT_EQ(system.status, 200) << system.body;
  EXPECT_EQ(system.json().at("data").at("encryption"), true);
  // The service logged its public key at start.
  EXPECT_TRUE(contains(server_->log(), service_key_.recipient)) << server_->log();

  auto typo = tenant_key_.recipient;
  typo[20] = typo[20] == 'q' ? 'p' : 'q';
  const auto settings_before =
      http_get(url("/api/projects/acme/backup-settings"), token_).json().at("data");
  auto r = put(R"({"encryption":{"enabled":true,"recipients":[")" + tenant_key_.recipient +
               R"(",")" + typo + R"("]}})");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json().at("error").at("code"), "VALIDATION_ERROR");
  EXPECT_EQ(r.json().at("error").at("field"), "encryption.recipients[1]");
  // Nothing was stored.
  EXPECT_EQ(http_get(url("/api/projects/acme/backup-settings"), token_).json().at("data"),
            settings_before);
}

TEST_F(AgeE2e, NoPlaintextIsStoredOrSentAndTheTenantKeyOpensTheDownload) {
  encrypt_to_tenant();
  fake_->reset();
  auto b = export_backup(
      R"({"project_id":"acme","compress":false,"destinations":["local","telegram"]})");
  EXPECT_EQ(b.at("encrypted"), true) << json::serialize(b);
  const auto file = local_path(b);
  ASSERT_TRUE(file.ends_with(".sql.age")) << file;
  const auto stored = read_text_file(file);
  EXPECT_TRUE(stored.starts_with("age-encryption.org/v1\n"));
  EXPECT_FALSE(contains(stored, kMarker)) << "the stored file holds plaintext";
  EXPECT_FALSE(contains(stored, "CREATE TABLE")) << "the stored file holds plaintext";
  // The recorded checksum and size are those of the stored bytes.
  EXPECT_EQ(b.at("sha256").as_string(), sha256_of(file));
  EXPECT_EQ(b.at("size_bytes").as_int64(), static_cast<std::int64_t>(stored.size()));

  // What Telegram holds: the same encrypted bytes, in parts, none readable.
  const auto messages = fake_->state().at("messages").as_array();
  ASSERT_GE(messages.size(), 2u);
  std::string joined;
  for (const auto& m : messages) {
    auto part = read_text_file(std::string(m.at("path").as_string()));
    EXPECT_FALSE(contains(part, kMarker)) << "a Telegram part holds plaintext";
    joined += part;
  }
  EXPECT_EQ(joined, stored);

  // The download is the stored file; the tenant's key opens it, and the
  // SQL restores with psql. A stranger's key opens nothing.
  auto dl =
      http_get(url("/api/backups/" + std::string(b.at("id").as_string()) + "/download"), token_);
  ASSERT_EQ(dl.status, 200) << dl.body;
  ASSERT_EQ(dl.body, stored);
  const auto dir = make_temp_dir("tb-e2e-age-dl");
  std::ofstream(dir + "/dl.sql.age", std::ios::binary) << dl.body;
  EXPECT_FALSE(age_decrypts(stranger_key_, dir + "/dl.sql.age", dir + "/stranger.sql"));
  ASSERT_TRUE(age_decrypts(tenant_key_, dir + "/dl.sql.age", dir + "/dump.sql"));
  EXPECT_TRUE(contains(read_text_file(dir + "/dump.sql"), kMarker));
  auto& pg = PgCluster::shared();
  auto target = pg.create_database("age_by_hand");
  run_command(pg.bin_dir() + "/psql -q -v ON_ERROR_STOP=1 -f " + dir + "/dump.sql '" +
              pg.conninfo(target) + "'");
  EXPECT_EQ(table_digest(target, "tenant_acme.items"), digest());
  pg.drop_database(target);
  fs::remove_all(dir);
}

TEST_F(AgeE2e, TheServiceRestoresAnEncryptedTarAndTheTenantToo) {
  encrypt_to_tenant();
  auto b = export_backup(R"({"project_id":"acme","format":"tar","destinations":["local"]})");
  ASSERT_EQ(b.at("encrypted"), true);
  const auto file = local_path(b);
  ASSERT_TRUE(file.ends_with(".tar.zst.age")) << file;

  // By hand: age, zstd, pg_restore.
  const auto dir = make_temp_dir("tb-e2e-age-tar");
  ASSERT_TRUE(age_decrypts(tenant_key_, file, dir + "/dump.tar.zst"));
  auto& pg = PgCluster::shared();
  auto target = pg.create_database("age_tar_by_hand");
  run_command("zstd -dcq " + dir + "/dump.tar.zst > " + dir + "/dump.tar && " + pg.bin_dir() +
              "/pg_restore --no-owner --exit-on-error -d '" + pg.conninfo(target) + "' " + dir +
              "/dump.tar");
  EXPECT_EQ(table_digest(target, "tenant_acme.items"), digest());
  pg.drop_database(target);
  fs::remove_all(dir);

  // By the service.
  const auto before = digest();
  exec("DELETE FROM tenant_acme.items WHERE id > 100");
  auto job = restore(std::string(b.at("id").as_string()));
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job) << server_->log();
  EXPECT_EQ(digest(), before);
}

// A file the `age` CLI encrypted to the service's recipient alone, put in
// place of a backup (the row's checksum updated to match), is read by the
// service: its restore decrypts it.
TEST_F(AgeE2e, AFileTheAgeCliEncryptedToTheServiceIsRestored) {
  encrypt_to_tenant();
  auto b = export_backup(R"({"project_id":"acme","destinations":["local"]})");
  const auto file = local_path(b);
  const auto dir = make_temp_dir("tb-e2e-age-cli");
  ASSERT_TRUE(age_decrypts(tenant_key_, file, dir + "/dump.sql.zst"));
  run_command("age -r " + service_key_.recipient + " -o " + file + ".new " + dir +
              "/dump.sql.zst && mv " + file + ".new " + file);
  fs::remove_all(dir);
  exec("UPDATE control_plane.backups SET sha256 = '" + sha256_of(file) +
       "', size_bytes = " + std::to_string(fs::file_size(file)) + " WHERE id = '" +
       std::string(b.at("id").as_string()) + "'");
  // The tenant's key is not among its recipients any more.
  EXPECT_FALSE(age_decrypts(tenant_key_, file, file + ".plain"));

  const auto before = digest();
  exec("DELETE FROM tenant_acme.items WHERE id > 100");
  auto job = restore(std::string(b.at("id").as_string()));
  ASSERT_EQ(job.at("status"), "completed") << json::serialize(job) << server_->log();
  EXPECT_EQ(digest(), before);
}

// One byte flipped in the payload: refused by the checksum; and when the
// recorded checksum is made to match too (someone who can write both), by
// age's authentication. Either way the schema is as it was.
TEST_F(AgeE2e, AFlippedByteIsRefusedAndTheSchemaStays) {
  encrypt_to_tenant();
  auto b = export_backup(R"({"project_id":"acme","compress":false,"destinations":["local"]})");
  const auto id = std::string(b.at("id").as_string());
  const auto file = local_path(b);
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    // Well inside the payload: a chunk after the first ones went to psql.
    f.seekg(static_cast<std::streamoff>(fs::file_size(file) * 3 / 4));
    char c = 0;
    f.read(&c, 1);
    f.seekp(static_cast<std::streamoff>(fs::file_size(file) * 3 / 4));
    c = static_cast<char>(c ^ 0x01);
    f.write(&c, 1);
  }
  exec("UPDATE tenant_acme.items SET body = 'changed since' WHERE id = 1");
  const auto before = digest();
  const auto asides = aside_schemas();
  auto job = restore(id);
  ASSERT_EQ(job.at("status"), "failed") << json::serialize(job);
  EXPECT_TRUE(contains(first_error(job), "SHA-256")) << first_error(job);
  EXPECT_EQ(digest(), before);

  exec("UPDATE control_plane.backups SET sha256 = '" + sha256_of(file) + "' WHERE id = '" + id +
       "'");
  job = restore(id);
  ASSERT_EQ(job.at("status"), "failed") << json::serialize(job);
  EXPECT_TRUE(contains(first_error(job), "fails age authentication")) << first_error(job);
  EXPECT_TRUE(contains(first_error(job), "CONFLICT")) << first_error(job);
  EXPECT_EQ(digest(), before);
  EXPECT_EQ(aside_schemas(), asides) << "a failed restore left a set-aside schema";
}

}  // namespace
}  // namespace tb::test
