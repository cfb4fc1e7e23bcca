// End to end through the real binary: `serve` on a real cluster, the HTTP
// contract of README.md's API section, and the promise that matters most — a backup that
// says "completed" restores, with the real psql, into a fresh database with
// the same data.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/deployment.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/service_process.hpp"
#include "support/smtp_server.hpp"

namespace tb::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const std::string kSecret = "an-e2e-test-secret-that-is-long-enough-0123456789";

// The data that must survive a round trip, table by table.
std::string table_digest(const std::string& db, const std::string& table) {
  return PgCluster::shared().query_value(
      db, "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM " + table + " t");
}

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    smtp_ = new SmtpServer();
    smtp_->start();
    DeploymentOptions o;
    o.env = {{"SMTP_URL", smtp_->url()},
             {"SMTP_FROM", "backups@example.com"},
             {"JWT_SECRET", kSecret},
             {"JOB_LEASE_SECONDS", "5"}};
    o.seed_sql = R"sql(
      INSERT INTO control_plane.projects (id, slug, name) VALUES
        ('acme', 'acme', 'Acme'), ('acme2', 'acme2', 'Acme 2'), ('other', 'other', 'Other');
      CREATE SCHEMA tenant_acme;
      CREATE TABLE tenant_acme.customers (id serial PRIMARY KEY, name text NOT NULL, note text, tags text[], data jsonb, photo bytea);
      INSERT INTO tenant_acme.customers (name, note, tags, data, photo)
        SELECT 'customer ' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'naïve café ☕ ' || g END,
               ARRAY['a', 'b' || g], jsonb_build_object('n', g, 'nested', jsonb_build_array(g, 'x')),
               decode(md5(g::text), 'hex')
        FROM generate_series(1, 500) g;
      CREATE TABLE tenant_acme."Order Items" (id bigint PRIMARY KEY, customer_id int REFERENCES tenant_acme.customers(id), "select" numeric(10,2));
      INSERT INTO tenant_acme."Order Items" SELECT g, 1 + g % 500, g * 1.25 FROM generate_series(1, 300) g;
      CREATE SCHEMA tenant_acme2;
      CREATE TABLE tenant_acme2.secret_table (x int);
      CREATE SCHEMA tenant_other;
      CREATE TABLE tenant_other.other_table (y int);
    )sql";
    o.token_args = {"--project", "acme", "--sub", "alice"};
    o.serve = {"serve"};
    deployment_ = new Deployment(o);
    db_ = deployment_->db;
    storage_ = deployment_->storage;
    server_ = &deployment_->service();
    token_ = deployment_->token;
    other_token_ = deployment_->mint({"--project", "other", "--sub", "mallory"});
    admin_token_ = deployment_->mint({"--role", "admin", "--sub", "root"});
  }
  static void TearDownTestSuite() {
    server_ = nullptr;
    delete deployment_;
    deployment_ = nullptr;
    delete smtp_;
    smtp_ = nullptr;
  }

  std::string url(const std::string& path) const { return server_->base_url() + path; }

  int count(const std::string& sql) const { return std::stoi(PgCluster::shared().query_value(db_, sql)); }

  // Polls a job until it ends; returns its final JSON.
  json::object wait_for_job(const std::string& job_id, const std::string& token) {
    return poll_job(server_->base_url(), token, job_id, job_ended, 90, [] { return server_->log(); });
  }

  json::object export_and_wait(const std::string& body) {
    auto r = http_post_json(url("/api/backup/export"), body, token_);
    EXPECT_EQ(r.status, 202) << r.body;
    auto data = r.json().at("data").as_object();
    EXPECT_EQ(data.at("status").as_string(), "pending");
    EXPECT_EQ(data.at("project_id").as_string(), "acme");
    return wait_for_job(std::string(data.at("job_id").as_string()), token_);
  }

  // Restores a downloaded dump with the real tools into a fresh database and
  // compares every table with the source.
  void expect_restores(const std::string& file, const std::string& format, const std::string& compression) {
    auto& pg = PgCluster::shared();
    auto target = pg.create_database("restore");
    std::string decompress = compression == "zstd"   ? "zstd -dc " + file
                             : compression == "gzip" ? "gzip -dc " + file
                                                     : "cat " + file;
    if (format == "sql") {
      run_command(decompress + " | " + pg.bin_dir() + "/psql -q -v ON_ERROR_STOP=1 '" + pg.conninfo(target) + "'");
    } else {
      run_command(decompress + " | " + pg.bin_dir() + "/pg_restore --exit-on-error -d '" + pg.conninfo(target) + "'");
    }
    for (const auto* table : {"tenant_acme.customers", "tenant_acme.\"Order Items\""}) {
      EXPECT_EQ(table_digest(target, table), table_digest(db_, table)) << table;
    }
    // Nothing of another tenant came along, not even one whose name starts alike.
    EXPECT_EQ(pg.query_value(target, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tenant_%'"), "1");
    pg.drop_database(target);
  }

  std::string download_to_file(const std::string& backup_id) {
    auto r = http_get(url("/api/backups/" + backup_id + "/download"), token_);
    EXPECT_EQ(r.status, 200) << r.body;
    auto path = make_temp_dir("tb-dl") + "/dump";
    std::ofstream(path, std::ios::binary) << r.body;
    return path;
  }

  static inline Deployment* deployment_ = nullptr;
  static inline std::string db_;
  static inline std::string storage_;
  static inline ServiceProcess* server_ = nullptr;
  static inline SmtpServer* smtp_ = nullptr;
  static inline std::size_t emails_seen_ = 0;
  static inline std::string token_, other_token_, admin_token_;
};

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

    auto dl = http_get(url("/api/backups/" + backup_id + "/download"), token_);
    ASSERT_EQ(dl.status, 200);
    EXPECT_NE(dl.header("content-disposition").find(c.suffix + "\""), std::string::npos) << dl.header("content-disposition");
    EXPECT_EQ(static_cast<std::int64_t>(dl.body.size()), backup.at("size_bytes").as_int64());
    auto file = download_to_file(backup_id);
    EXPECT_EQ(run_command("sha256sum " + file).substr(0, 64), std::string(backup.at("sha256").as_string()));
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
  // expires_at = created_at + 30 days.
  auto created = PgCluster::shared().query_value(
      db_, "SELECT extract(epoch FROM expires_at - created_at)::bigint FROM control_plane.backups WHERE id = '" +
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
  HttpRequest del{"DELETE", url("/api/backups/" + backup_id), "", {"Authorization: Bearer " + other_token_}};
  EXPECT_EQ(http_call(del).status, 404);
  EXPECT_EQ(count("SELECT count(*) FROM control_plane.backups WHERE id = '" + backup_id + "' AND deleted_at IS NULL"), 1);
}

TEST_F(ApiTest, BadRequestsAreRefusedWithStableCodes) {
  int jobs_before = count("SELECT count(*) FROM control_plane.jobs");
  auto r = http_post_json(url("/api/backup/export"), R"({"project_id":"acme","format":"xml"})", token_);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json().at("error").at("code").as_string(), "VALIDATION_ERROR");
  EXPECT_EQ(r.json().at("error").at("field").as_string(), "format");
  r = http_post_json(url("/api/backup/export"), R"({"project_id":"acme","storage_path":"../../etc"})", token_);
  EXPECT_EQ(r.status, 400);
  r = http_post_json(url("/api/backup/export"), R"({"project_id":"acme","unknown":true})", token_);
  EXPECT_EQ(r.status, 400);
  r = http_post_json(url("/api/backup/export"), std::string(70 * 1024, ' ') + "{}", token_);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.json().at("error").at("code").as_string(), "PAYLOAD_TOO_LARGE");
  HttpRequest text{"POST", url("/api/backup/export"), R"({"project_id":"acme"})",
                   {"Content-Type: text/plain", "Authorization: Bearer " + token_}};
  EXPECT_EQ(http_call(text).status, 415);
  EXPECT_EQ(count("SELECT count(*) FROM control_plane.jobs"), jobs_before);
}

TEST_F(ApiTest, DownloadSupportsRangesAndRefusesADamagedFile) {
  auto job = export_and_wait(R"({"project_id":"acme","compress":false})");
  auto backup_id = std::string(job.at("result").at("backup_id").as_string());
  auto full = http_get(url("/api/backups/" + backup_id + "/download"), token_);
  ASSERT_EQ(full.status, 200);
  HttpRequest range{"GET", url("/api/backups/" + backup_id + "/download"), "",
                    {"Authorization: Bearer " + token_, "Range: bytes=10-109"}};
  auto part = http_call(range);
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, full.body.substr(10, 100));

  // A signed link works without the bearer header, and only for its backup.
  auto link = http_post_json(url("/api/backups/" + backup_id + "/download-link"), "", token_);
  ASSERT_EQ(link.status, 200) << link.body;
  auto link_url = std::string(link.json().at("data").at("url").as_string());
  EXPECT_EQ(http_get(url(link_url)).body, full.body);
  EXPECT_EQ(http_get(url(link_url + "x")).status, 401);

  // Flip one byte of the stored file: the download is refused, not served.
  auto path = PgCluster::shared().query_value(
      db_, "SELECT locations->0->>'path' FROM control_plane.backups WHERE id = '" + backup_id + "'");
  auto file = storage_ + "/" + path;
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    char c = 0;
    f.seekg(20);
    f.get(c);
    f.seekp(20);
    f.put(static_cast<char>(c ^ 0x01));
  }
  auto refused = http_get(url("/api/backups/" + backup_id + "/download"), token_);
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("SHA-256"), std::string::npos);
}

// A counter's value in /metrics (0 before its first sample).
double metric_value(const std::string& base_url, const std::string& name) {
  std::istringstream lines(http_get(base_url + "/metrics").body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return 0;
}

// Waits until the file's last change is older than the coarse timestamp
// granularity the download check allows for (VerifiedFiles::kSettled, 2 s):
// only then is its verification remembered. A lower bound on time only.
void wait_until_settled(const std::string& path) {
  for (;;) {
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    struct timespec now {};
    ::clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec - st.st_ctim.tv_sec > 3) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

TEST_F(ApiTest, ADownloadHashesTheStoredFileOncePerVersionNotPerRequest) {
  auto job = export_and_wait(R"({"project_id":"acme","compress":false})");
  auto backup_id = std::string(job.at("result").at("backup_id").as_string());
  auto file = storage_ + "/" +
              PgCluster::shared().query_value(
                  db_, "SELECT locations->0->>'path' FROM control_plane.backups WHERE id = '" +
                           backup_id + "'");
  wait_until_settled(file);
  const auto hashes = [&] {
    return metric_value(server_->base_url(), "tb_download_file_hashes_total");
  };
  const auto before = hashes();
  auto dl = url("/api/backups/" + backup_id + "/download");
  auto full = http_get(dl, token_);
  ASSERT_EQ(full.status, 200) << full.body;
  for (int i = 0; i < 4; ++i) {
    auto part = http_call({"GET", dl, "", {"Authorization: Bearer " + token_, "Range: bytes=0-0"}});
    EXPECT_EQ(part.status, 206);
    EXPECT_EQ(part.body, full.body.substr(0, 1));
  }
  EXPECT_EQ(hashes() - before, 1) << "the stored file was read whole for more than one request";

  // The same bytes written again make a new version: it is checked again, once.
  std::ofstream(file, std::ios::binary | std::ios::trunc) << full.body;
  wait_until_settled(file);
  EXPECT_EQ(http_get(dl, token_).body, full.body);
  EXPECT_EQ(
      http_call({"GET", dl, "", {"Authorization: Bearer " + token_, "Range: bytes=1-1"}}).status,
      206);
  EXPECT_EQ(hashes() - before, 2);
  // A byte changed in place, at once (no settling): refused, never served.
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5);
    f.put(static_cast<char>(full.body[5] ^ 0x01));
  }
  EXPECT_EQ(
      http_call({"GET", dl, "", {"Authorization: Bearer " + token_, "Range: bytes=0-0"}}).status,
      409);
}

TEST_F(ApiTest, SixteenRangeRequestsOnALargeBackupDoNotStallOtherCalls) {
  auto job = export_and_wait(R"({"project_id":"acme"})");
  auto job_id = std::string(job.at("id").as_string());
  // A large backup: 512 MiB, sparse but whole (its SHA-256 is the recorded one).
  auto file = storage_ + "/acme/large-2020-01-01T00-00-00Z-0badc0de.sql";
  constexpr std::uint64_t kSize = 512ull << 20;
  std::ofstream(file, std::ios::binary).close();
  ASSERT_EQ(::truncate(file.c_str(), static_cast<off_t>(kSize)), 0);
  auto sha = run_command("sha256sum " + file).substr(0, 64);
  auto backup_id = PgCluster::shared().query_value(
      db_,
      "INSERT INTO control_plane.backups (id, project_id, format, compression, status, size_bytes, "
      "sha256, "
      "locations, created_at, expires_at) VALUES (gen_random_uuid(), 'acme', 'sql', 'none', "
      "'completed', " +
          std::to_string(kSize) + ", '" + sha +
          "', '[{\"type\":\"local\",\"path\":\"acme/large-2020-01-01T00-00-00Z-0badc0de.sql\"}]', "
          "now() - interval '1 day', now() + interval '29 days') RETURNING id");

  // Opening the file blocks until the test lets it (a write lease): as a
  // very slow disk or a file that takes minutes to hash would, for as long
  // as the test needs, whatever the machine's speed.
  ::signal(SIGIO, SIG_IGN);
  int lease = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(lease, 0);
  ASSERT_EQ(::fcntl(lease, F_SETLEASE, F_WRLCK), 0) << std::strerror(errno);

  std::atomic<int> finished{0};
  std::vector<HttpResponse> ranges(16);
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      HttpRequest r{"GET",
                    url("/api/backups/" + backup_id + "/download"),
                    "",
                    {"Authorization: Bearer " + token_, "Range: bytes=0-0"}};
      r.timeout_ms = 600000;
      ranges[i] = http_call(r);
      ++finished;
    });
  }
  // The server is now waiting to open the file (the lease is being broken).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (::fcntl(lease, F_GETLEASE) == F_WRLCK && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_NE(::fcntl(lease, F_GETLEASE), F_WRLCK) << "no download reached the file";

  // Meanwhile other calls (more than there are handler threads) are answered.
  for (int i = 0; i < 12; ++i) {
    HttpRequest health{"GET", url("/healthz"), "", {}};
    health.timeout_ms = 120000;
    EXPECT_EQ(http_call(health).status, 200);
    HttpRequest get_job{"GET", url("/api/jobs/" + job_id), "", {"Authorization: Bearer " + token_}};
    get_job.timeout_ms = 120000;
    EXPECT_EQ(http_call(get_job).status, 200);
  }
  EXPECT_EQ(finished.load(), 0)
      << "a range request finished before the other calls: they waited for it";

  ASSERT_EQ(::fcntl(lease, F_SETLEASE, F_UNLCK), 0);
  ::close(lease);
  for (auto& t : threads) t.join();
  for (const auto& r : ranges) {
    EXPECT_EQ(r.status, 206) << r.body;
    EXPECT_EQ(r.body, std::string(1, '\0'));
    EXPECT_EQ(r.header("content-range"), "bytes 0-0/" + std::to_string(kSize));
  }
  fs::remove(file);
  PgCluster::shared().exec(
      db_, "UPDATE control_plane.backups SET status = 'deleted', deleted_at = now() WHERE id = '" +
               backup_id + "'");
}

TEST_F(ApiTest, DeleteRemovesTheFileAndMarksTheRow) {
  auto job = export_and_wait(R"({"project_id":"acme"})");
  auto backup_id = std::string(job.at("result").at("backup_id").as_string());
  auto path = PgCluster::shared().query_value(
      db_, "SELECT locations->0->>'path' FROM control_plane.backups WHERE id = '" + backup_id + "'");
  ASSERT_TRUE(fs::exists(storage_ + "/" + path));
  HttpRequest del{"DELETE", url("/api/backups/" + backup_id), "", {"Authorization: Bearer " + token_}};
  EXPECT_EQ(http_call(del).status, 200);
  EXPECT_FALSE(fs::exists(storage_ + "/" + path));
  EXPECT_EQ(count("SELECT count(*) FROM control_plane.backups WHERE id = '" + backup_id + "' AND deleted_at IS NOT NULL"), 1);
  EXPECT_EQ(http_get(url("/api/backups/" + backup_id + "/download"), token_).status, 409);
}

TEST_F(ApiTest, FailedDumpGivesTheRealReasonAndNoFile) {
  // A project whose schema does not exist: pg_dump --strict-names refuses.
  PgCluster::shared().exec(db_, "INSERT INTO control_plane.projects (id, slug, name) VALUES ('ghost', 'ghost', 'Ghost') ON CONFLICT DO NOTHING");
  auto admin_job = http_post_json(url("/api/backup/export"), R"({"project_id":"ghost"})", admin_token_);
  ASSERT_EQ(admin_job.status, 202);
  auto job = wait_for_job(std::string(admin_job.json().at("data").at("job_id").as_string()), admin_token_);
  EXPECT_EQ(job.at("status").as_string(), "failed") << json::serialize(job);
  EXPECT_NE(std::string(job.at("last_error").as_string()).find("tenant_ghost"), std::string::npos)
      << json::serialize(job);
  EXPECT_FALSE(fs::exists(storage_ + "/ghost") && !fs::is_empty(storage_ + "/ghost"));
  EXPECT_EQ(count("SELECT count(*) FROM control_plane.backups WHERE project_id = 'ghost'"), 0);
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

  PgCluster::shared().exec(db_, "INSERT INTO control_plane.projects (id, slug, name) VALUES ('ghost2', 'ghost2', 'G') ON CONFLICT DO NOTHING");
  auto r = http_post_json(url("/api/backup/export"), R"({"project_id":"ghost2","notify_email":"owner@example.com"})", admin_token_);
  ASSERT_EQ(r.status, 202);
  auto failed = wait_for_job(std::string(r.json().at("data").at("job_id").as_string()), admin_token_);
  EXPECT_EQ(failed.at("status").as_string(), "failed");
  mails = smtp_->wait_for_emails(emails_seen_ + 1, std::chrono::seconds(120));
  emails_seen_ = mails.size();
  EXPECT_NE(mails.back().raw.find("FAILED"), std::string::npos) << mails.back().raw;
  EXPECT_NE(mails.back().raw.find("tenant_ghost2"), std::string::npos) << mails.back().raw;
}

TEST_F(ApiTest, SettingsPersistAndRefuseBadFields) {
  HttpRequest put{"PUT", url("/api/projects/acme/backup-settings"),
                  R"({"retention_days":7,"schedule":{"kind":"daily","time":"03:15"},"notify_email":"ops@example.com"})",
                  {"Content-Type: application/json", "Authorization: Bearer " + token_}};
  auto r = http_call(put);
  ASSERT_EQ(r.status, 200) << r.body;
  auto got = http_get(url("/api/projects/acme/backup-settings"), token_).json().at("data").as_object();
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
    auto r = http_post_json(server.base_url() + "/api/backup/export", R"({"project_id":"acme"})", token);
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
