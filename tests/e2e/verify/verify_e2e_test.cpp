// Verified backups through the real binary, a real cluster (whose scratch
// databases the verifications create and drop), the real pg_dump / psql /
// pg_restore and a real SMTP server:
// - good sql and tar backups carry their manifest (an empty table, quoted and
//   mixed-case names, 50,000 rows) and pass with exact counts;
// - tenant code run by the replay (a CHECK calling a function that tries
//   CREATE ROLE and reads pg_authid) gets none of the service's rights;
// - a byte flipped in the stored file fails, e-mails the notify address and
//   counts in /metrics; a manifest that disagrees with the data fails;
// - two verifications of one tenant at once both pass; the CLI verifies a
//   project's newest backup;
// - afterwards no tb_verify_* database or role is left (those a dead process
//   left are swept when `serve` starts), and the live schema is unchanged
//   row for row.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/deployed_suite.hpp"
#include "support/pg_cluster.hpp"
#include "support/smtp_server.hpp"

namespace tb::test {
namespace {

namespace json = boost::json;

// The probe returns false (and so fails its CHECK, and the restore) when the
// code it runs as may create roles or read pg_authid; in the live database
// (not a scratch one) it probes nothing.
const char* const kSeed = R"sql(
  INSERT INTO control_plane.projects (id, slug, name) VALUES ('acme', 'acme', 'Acme');
  INSERT INTO control_plane.backup_settings (project_id, notify_email)
    VALUES ('acme', 'owner@acme.example');
  CREATE SCHEMA tenant_acme;
  CREATE FUNCTION tenant_acme.no_privileges(i int) RETURNS boolean LANGUAGE plpgsql AS $$
  BEGIN
    IF pg_catalog.current_database() NOT LIKE 'tb_verify_%' THEN RETURN true; END IF;
    BEGIN
      EXECUTE 'CREATE ROLE tb_probe_' || i;
      RETURN false;
    EXCEPTION WHEN insufficient_privilege THEN NULL;
    END;
    BEGIN
      PERFORM 1 FROM pg_catalog.pg_authid LIMIT 1;
      RETURN false;
    EXCEPTION WHEN insufficient_privilege THEN NULL;
    END;
    RETURN NOT (SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_catalog.pg_roles
                WHERE rolname = session_user);
  END $$;
  CREATE TABLE tenant_acme.guarded (id int CHECK (tenant_acme.no_privileges(id)));
  INSERT INTO tenant_acme.guarded VALUES (1), (2), (3);
  CREATE TABLE tenant_acme.empty (id int);
  CREATE TABLE tenant_acme."Mixed Case" (t text);
  INSERT INTO tenant_acme."Mixed Case" VALUES (''), ('\.'), (E'two\nlines');
  CREATE TABLE tenant_acme."q""t" (i int);
  INSERT INTO tenant_acme."q""t" VALUES (7);
  CREATE TABLE tenant_acme.items (id int PRIMARY KEY, body text);
  INSERT INTO tenant_acme.items SELECT g, md5(g::text) FROM generate_series(1, 50000) g;
)sql";

const std::string kMetricsToken = "verify-e2e-metrics-token";

// The manifest the seed must give, by name.
const std::map<std::string, std::int64_t> kRows = {
    {"Mixed Case", 3}, {"empty", 0}, {"guarded", 3}, {"items", 50000}, {"q\"t", 1}};

class VerifyE2E : public DeployedSuite<VerifyE2E> {
 public:
  static void SetUpTestSuite() {
    smtp_ = std::make_unique<SmtpServer>();
    smtp_->start();
    auto o = served_options("e2e_verify");
    o.env = {{"SMTP_URL", smtp_->url()},
             {"SMTP_FROM", "backups@example.com"},
             {"METRICS_TOKEN", kMetricsToken},
             {"VERIFY_DATABASE_URL", PgCluster::shared().conninfo("postgres")}};
    o.seed_sql = kSeed;
    // What a verification whose process died leaves: swept when `serve` starts.
    PgCluster::shared().exec("postgres", "CREATE ROLE tb_verify_00000000deadbeef LOGIN");
    PgCluster::shared().exec("postgres",
                             "CREATE DATABASE tb_verify_00000000deadbeef OWNER "
                             "tb_verify_00000000deadbeef");
    deploy(o);
    live_digest_ = new std::string(live_digest());
  }
  static void TearDownTestSuite() {
    DeployedSuite::TearDownTestSuite();
    smtp_.reset();
    delete live_digest_;
  }

 protected:
  // Every row of every table of the live schema, in one digest.
  static std::string live_digest() {
    std::string digest;
    for (const auto* table : {"guarded", "empty", "\"Mixed Case\"", "\"q\"\"t\"", "items"}) {
      digest += value(std::string("SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), "
                                  "'')) FROM tenant_acme.") +
                      table + " t") +
                ";";
    }
    return digest;
  }

  static json::object backup(const std::string& id) {
    return http_get(url("/api/backups/" + id), token_).json().at("data").as_object();
  }

  // A completed backup of acme in `format`; returns its id.
  static std::string export_backup(const std::string& format) {
    auto r = http_post_json(url("/api/backup/export"),
                            R"({"project_id": "acme", "format": ")" + format + "\"}", token_);
    EXPECT_EQ(r.status, 202) << r.body;
    auto job = wait_for_job(std::string(r.json().at("data").at("job_id").as_string()));
    EXPECT_EQ(job.at("status"), "completed") << json::serialize(job);
    return std::string(job.at("result").at("backup_id").as_string());
  }

  // Starts a verification; returns its job id.
  static std::string start_verify(const std::string& backup_id) {
    auto r = http_post_json(url("/api/backups/" + backup_id + "/verify"), "", token_);
    EXPECT_EQ(r.status, 202) << r.body;
    return std::string(r.json().at("data").at("job_id").as_string());
  }

  static std::map<std::string, std::int64_t> manifest_of(const json::object& b) {
    std::map<std::string, std::int64_t> out;
    for (const auto& t : b.at("tables").as_array())
      out[std::string(t.at("name").as_string())] = t.at("rows").to_number<std::int64_t>();
    return out;
  }

  static void expect_nothing_left() {
    auto& pg = PgCluster::shared();
    EXPECT_EQ(
        pg.query_value("postgres",
                       "SELECT count(*) FROM pg_database WHERE datname LIKE 'tb\\_verify\\_%'"),
        "0");
    EXPECT_EQ(pg.query_value("postgres",
                             "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'tb\\_verify\\_%' "
                             "OR rolname LIKE 'tb\\_probe\\_%'"),
              "0");
    EXPECT_EQ(live_digest(), *live_digest_) << "the live schema changed";
  }

  static std::string local_file(const json::object& b) {
    for (const auto& loc : b.at("locations").as_array()) {
      if (loc.at("type") == "local")
        return storage_ + "/" + std::string(loc.at("path").as_string());
    }
    return {};
  }

  static inline std::unique_ptr<SmtpServer> smtp_;
  static inline std::string* live_digest_ = nullptr;
};

TEST_F(VerifyE2E, GoodSqlAndTarBackupsPassWithExactCounts) {
  // The UI learns that this server can verify.
  EXPECT_EQ(http_get(url("/api/system"), token_).json().at("data").at("verification"), true);
  for (const auto* format : {"sql", "tar"}) {
    SCOPED_TRACE(format);
    const auto id = export_backup(format);
    auto before = backup(id);
    EXPECT_EQ(manifest_of(before), kRows);
    EXPECT_TRUE(before.at("verification").is_null());
    // The history lists the manifest too (the UI expands a row into it).
    auto history = http_get(url("/api/backup/history?project_id=acme"), token_).json();
    EXPECT_EQ(manifest_of(history.at("data").at("items").at(0).as_object()), kRows);

    auto job = wait_for_job(start_verify(id));
    EXPECT_EQ(job.at("status"), "completed") << json::serialize(job);
    auto after = backup(id);
    const auto& v = after.at("verification").as_object();
    EXPECT_EQ(v.at("status"), "passed") << json::serialize(v);
    EXPECT_FALSE(v.at("at").as_string().empty());
    EXPECT_NE(std::string(v.at("detail").as_string()).find("50007 rows"), std::string::npos)
        << json::serialize(v);
  }
  auto metrics = http_get(url("/metrics"), kMetricsToken).body;
  EXPECT_NE(metrics.find("tb_last_verification_passed_age_seconds{project=\"acme\"}"),
            std::string::npos);
  expect_nothing_left();
}

TEST_F(VerifyE2E, AFlippedByteFailsAndEmailsTheNotifyAddress) {
  const auto id = export_backup("sql");
  const auto path = local_file(backup(id));
  ASSERT_FALSE(path.empty());
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    const auto middle = static_cast<std::streamoff>(std::filesystem::file_size(path) / 2);
    f.seekg(middle);
    char c = 0;
    f.get(c);
    f.seekp(middle);
    f.put(static_cast<char>(c ^ 0x01));
  }
  auto job = wait_for_job(start_verify(id));
  EXPECT_EQ(job.at("status"), "failed") << json::serialize(job);
  const auto v = backup(id).at("verification").as_object();
  EXPECT_EQ(v.at("status"), "failed");
  EXPECT_NE(std::string(v.at("detail").as_string()).find("SHA-256"), std::string::npos)
      << json::serialize(v);
  auto mails = smtp_->wait_for_emails(1);
  ASSERT_FALSE(mails.empty());
  EXPECT_EQ(mails.back().rcpt_to, std::vector<std::string>{"owner@acme.example"});
  EXPECT_NE(mails.back().raw.find(id), std::string::npos);
  EXPECT_NE(http_get(url("/metrics"), kMetricsToken).body.find("tb_verification_failures_total 1"),
            std::string::npos);
  expect_nothing_left();
}

TEST_F(VerifyE2E, AManifestThatDisagreesWithTheDataFails) {
  const auto id = export_backup("tar");
  // One count off, one table that the dump does not hold.
  exec(
      "UPDATE control_plane.backups SET tables = '[{\"name\": \"items\", \"rows\": 49999}, "
      "{\"name\": \"empty\", \"rows\": 0}, {\"name\": \"Mixed Case\", \"rows\": 3}, "
      "{\"name\": \"q\\\"t\", \"rows\": 1}, {\"name\": \"guarded\", \"rows\": 3}, "
      "{\"name\": \"ghost\", \"rows\": 0}]' WHERE id = '" +
      id + "'");
  auto job = wait_for_job(start_verify(id));
  EXPECT_EQ(job.at("status"), "failed") << json::serialize(job);
  const std::string detail(backup(id).at("verification").at("detail").as_string());
  EXPECT_NE(detail.find("\"items\": 49999 rows in the manifest, 50000 restored"), std::string::npos)
      << detail;
  EXPECT_NE(detail.find("\"ghost\" is in the manifest"), std::string::npos) << detail;
  expect_nothing_left();
}

TEST_F(VerifyE2E, TwoVerificationsOfOneTenantAtOnceBothPass) {
  const auto id = export_backup("sql");
  const auto first = start_verify(id);
  const auto second = start_verify(id);
  EXPECT_EQ(wait_for_job(first).at("status"), "completed");
  EXPECT_EQ(wait_for_job(second).at("status"), "completed");
  EXPECT_EQ(backup(id).at("verification").at("status"), "passed");
  expect_nothing_left();
}

TEST_F(VerifyE2E, TheCommandLineVerifiesTheNewestBackupOfAProject) {
  const auto id = export_backup("sql");
  // The job's JSON is the last line the command prints.
  auto out = run_binary({"verify", "--project", "acme"}, env_);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  auto job = json::parse(out.substr(out.rfind('\n') + 1)).as_object();
  EXPECT_EQ(job.at("status"), "completed") << out;
  EXPECT_EQ(job.at("result").at("backup_id"), json::value(id));
  EXPECT_EQ(backup(id).at("verification").at("status"), "passed");
  expect_nothing_left();
}

}  // namespace
}  // namespace tb::test
