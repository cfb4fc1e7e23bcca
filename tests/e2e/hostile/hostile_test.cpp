// Hostile input through the real binary: forged and broken tokens,
// another project's token on every project route, bodies built to break the
// readers, the secrets that must never leak (the database password on a
// child's command line; passwords and tokens in logs or error bodies), and a
// burst of exports from many clients. Every refusal is checked the way a user
// would see it: the status and error code, and nothing changed (row counts,
// files under STORAGE_DIR). The HTTP layer's own abuse cases (slowloris,
// oversized headers, pipelining, idle connections) are in
// tests/integration/http_server; 413/415/429 basics in tests/e2e/api.
#include <dirent.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "support/deployment.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/service_process.hpp"
#include "support/table_lock.hpp"

namespace tb::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// Recognisable secrets: if any of these shows up where it must not, grep finds it.
const std::string kSecret = "hostile-jwt-secret-SENTINEL-that-is-long-enough-0123456789";
const std::string kDbRole = "tb_secret_role";
const std::string kDbPassword = "Db-Pass-SENTINEL-7f3a9c";
const std::string kBotToken = "123456789:AAE-bot-token-SENTINEL-x9y8z7";
const std::string kIssuer = "tb-issuer";
const std::string kAudience = "tb-api";


// Every process whose command line names `needle`: pid -> argv joined by spaces.
std::map<int, std::string> processes_named(const std::string& needle) {
  std::map<int, std::string> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (auto& c : cmd) {
      if (c == '\0') c = ' ';
    }
    if (cmd.find(needle) != std::string::npos) out[std::stoi(name)] = cmd;
  }
  return out;
}

// Relative path and size of every file under `dir` (symlinks not followed).
std::set<std::string> files_under(const std::string& dir) {
  std::set<std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_symlink()) {
      out.insert(fs::relative(it->path(), dir).string() + " -> symlink");
      it.disable_recursion_pending();
    } else if (it->is_regular_file()) {
      out.insert(fs::relative(it->path(), dir).string() + " " + std::to_string(it->file_size()));
    }
  }
  return out;
}

class HostileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto& pg = PgCluster::shared();
    outside_ = make_temp_dir("tb-hostile-outside");
    keys_ = make_temp_dir("tb-hostile-keys");
    // A role that really needs its password: scram for this role on the
    // socket (the rest of the test cluster stays on trust), so an export
    // only works if pg_dump got the password, and not through argv.
    pg.exec("postgres", "SET password_encryption = 'scram-sha-256'; CREATE ROLE " + kDbRole +
                            " LOGIN SUPERUSER PASSWORD '" + kDbPassword + "'");
    const std::string hba = pg.dir() + "/data/pg_hba.conf";
    std::string old_hba;
    {
      std::ifstream in(hba);
      old_hba.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::ofstream(hba) << "local all " << kDbRole << " scram-sha-256\n" << old_hba;
    pg.exec("postgres", "SELECT pg_reload_conf()");
    // Reloaded once the role cannot log in without its password.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      PGconn* probe = PQconnectdb((pg.conninfo("postgres") + " user=" + kDbRole).c_str());
      const bool refused = PQstatus(probe) != CONNECTION_OK;
      PQfinish(probe);
      if (refused) break;
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("pg_hba.conf was not reloaded within 60 s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }

    DeploymentOptions o;
    o.prefix = "hostile";
    o.conninfo_extra = " user=" + kDbRole + " password=" + kDbPassword;
    o.env = {{"JWT_SECRET", kSecret},
             {"JWT_ISSUER", kIssuer},
             {"JWT_AUDIENCE", kAudience},
             {"TELEGRAM_BOT_TOKEN", kBotToken},
             {"TELEGRAM_API_URL", "http://127.0.0.1:9"},  // nothing listens: sending fails
             {"JOB_LEASE_SECONDS", "5"},
             {"JOB_MAX_ATTEMPTS", "1"}};
    o.seed_sql = R"sql(
      INSERT INTO control_plane.projects (id, slug, name) VALUES ('acme', 'acme', 'Acme'), ('other', 'other', 'Other');
      CREATE SCHEMA tenant_acme;
      CREATE TABLE tenant_acme.items (id int PRIMARY KEY, body text);
      INSERT INTO tenant_acme.items SELECT g, md5(g::text) FROM generate_series(1, 200) g;
      CREATE SCHEMA tenant_other;
      CREATE TABLE tenant_other.items (id int);
    )sql";
    o.token_args = {"--project", "acme", "--sub", "alice"};
    o.serve = {"serve"};
    deployment_ = new Deployment(o);
    db_ = deployment_->db;
    storage_ = deployment_->storage;
    env_ = deployment_->env;
    server_ = &deployment_->service();
    token_ = deployment_->token;
    other_token_ = deployment_->mint({"--project", "other", "--sub", "mallory"});

    // Forged tokens: one python3-jwt run for all of them.
    run_command("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + keys_ + "/rsa.pem 2>/dev/null");
    run_command("openssl pkey -in " + keys_ + "/rsa.pem -pubout -out " + keys_ + "/rsa.pub");
    json::object cfg{{"secret", kSecret},
                     {"issuer", kIssuer},
                     {"audience", kAudience},
                     {"rsa_private", keys_ + "/rsa.pem"},
                     {"rsa_public", keys_ + "/rsa.pub"},
                     {"now", std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count()}};
    std::string src = std::getenv("TB_SOURCE_DIR") ? std::getenv("TB_SOURCE_DIR") : ".";
    std::istringstream lines(run_command("/usr/bin/python3 " + src + "/tests/e2e/hostile/mint_tokens.py '" +
                                         json::serialize(cfg) + "'"));
    for (std::string line; std::getline(lines, line);) {
      auto tab = line.find('\t');
      if (tab != std::string::npos) forged_[line.substr(0, tab)] = line.substr(tab + 1);
    }
  }
  static void TearDownTestSuite() {
    server_ = nullptr;
    delete deployment_;
    deployment_ = nullptr;
  }

  static std::string url(const std::string& path) { return server_->base_url() + path; }

  // Every call goes through here so that the secrets test can read every body.
  static HttpResponse call(const std::string& method, const std::string& path, const std::string& token,
                           const std::string& body = {}, const std::string& content_type = "application/json",
                           const std::string& base = {}) {
    HttpRequest r;
    r.method = method;
    r.url = (base.empty() ? server_->base_url() : base) + path;
    r.body = body;
    if (!token.empty()) r.headers.push_back("Authorization: Bearer " + token);
    if (!body.empty() || method == "POST" || method == "PUT") r.headers.push_back("Content-Type: " + content_type);
    auto resp = http_call(r);
    std::lock_guard lock(bodies_mutex_);
    bodies_.push_back(resp.body);
    return resp;
  }

  static std::string code_of(const HttpResponse& r) {
    try {
      return std::string(r.json().at("error").at("code").as_string());
    } catch (...) {
      return "<no error code>";
    }
  }

  static std::string value(const std::string& sql) { return PgCluster::shared().query_value(db_, sql); }

  // What a refused request must not change.
  static std::string state() {
    return value(
               "SELECT (SELECT count(*) FROM control_plane.jobs) || '/' || (SELECT count(*) FROM control_plane.backups)"
               " || '/' || (SELECT count(*) FROM control_plane.audit_log) || '/' ||"
               " (SELECT count(*) FROM control_plane.backup_settings) || '/' ||"
               " (SELECT coalesce(md5(string_agg(b::text, '|' ORDER BY b.id)), '') FROM control_plane.backups b) || '/' ||"
               " (SELECT coalesce(md5(string_agg(s::text, '|')), '') FROM control_plane.backup_settings s) || '/' ||"
               " (SELECT coalesce(md5(string_agg(j.status || j.type, '|' ORDER BY j.id)), '') FROM control_plane.jobs j)") +
           " files:" + [] {
             std::string s;
             for (const auto& f : files_under(storage_)) s += f + ";";
             for (const auto& f : files_under(outside_)) s += "OUTSIDE " + f + ";";
             return s;
           }();
  }

  static json::object wait_for_job(const std::string& job_id) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = call("GET", "/api/jobs/" + job_id, token_);
      if (r.status == 200) {
        auto job = r.json().at("data").as_object();
        auto status = std::string(job.at("status").as_string());
        if (status == "completed" || status == "failed" || status == "cancelled") return job;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "job " << job_id << " did not finish\n" << server_->log();
    return {};
  }

  // A completed acme backup (made once): its job id and backup id.
  static std::pair<std::string, std::string> acme_backup() {
    static std::pair<std::string, std::string> ids;
    if (ids.first.empty()) {
      auto r = call("POST", "/api/backup/export", token_, R"({"project_id":"acme"})");
      EXPECT_EQ(r.status, 202) << r.body;
      auto job_id = std::string(r.json().at("data").at("job_id").as_string());
      auto job = wait_for_job(job_id);
      EXPECT_EQ(job.at("status").as_string(), "completed") << json::serialize(job) << server_->log();
      ids = {job_id, std::string(job.at("result").at("backup_id").as_string())};
    }
    return ids;
  }

  static inline Deployment* deployment_ = nullptr;
  static inline std::string db_, storage_, outside_, keys_;
  static inline std::map<std::string, std::string> env_;
  static inline ServiceProcess* server_ = nullptr;
  static inline std::string token_, other_token_;
  static inline std::map<std::string, std::string> forged_;
  static inline std::mutex bodies_mutex_;
  static inline std::vector<std::string> bodies_;
};

TEST_F(HostileTest, ForgedExpiredAndMalformedTokensAre401AndChangeNothing) {
  ASSERT_GT(forged_.size(), 30u);
  // The control: the minting works, so the refusals below are the verifier's.
  ASSERT_EQ(call("GET", "/api/backup/history?project_id=acme", forged_.at("valid")).status, 200);
  const auto before = state();
  int checked = 0;
  for (const auto& [name, token] : forged_) {
    if (name == "valid" || name == "rs_valid" || name.rfind("rs_", 0) == 0) continue;
    SCOPED_TRACE(name);
    auto r = call("GET", "/api/backup/history?project_id=acme", token);
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(code_of(r), "UNAUTHORIZED");
    r = call("POST", "/api/backup/export", token, R"({"project_id":"acme"})");
    EXPECT_EQ(r.status, 401) << r.body;
    ++checked;
  }
  EXPECT_GE(checked, 25);
  // A token far over the size limit, and garbage in the header itself.
  std::string huge(12000, 'A');
  EXPECT_EQ(call("GET", "/api/backup/history?project_id=acme", huge + "." + huge + "." + huge).status, 431);
  for (const std::string& junk : {std::string("."), std::string(".."), std::string("a.b.c"),
                                  std::string("Bearer x.y.z"), std::string(7000, '.')}) {
    auto r = call("GET", "/api/backup/history?project_id=acme", junk);
    EXPECT_EQ(r.status, 401) << junk.substr(0, 40);
  }
  // Control bytes in the header: the HTTP parser refuses the request itself.
  auto ctl = call("GET", "/api/backup/history?project_id=acme", std::string("\x01\x02.\x7f.x"));
  EXPECT_TRUE(ctl.status == 400 || ctl.status == 401) << ctl.status;
  HttpRequest basic{"GET", url("/api/backup/history?project_id=acme"), "", {"Authorization: Basic YWRtaW46YWRtaW4="}};
  EXPECT_EQ(http_call(basic).status, 401);
  EXPECT_EQ(state(), before);
}

TEST_F(HostileTest, Rs256ServerRefusesKeyConfusionAndOtherAlgorithms) {
  std::ofstream(keys_ + "/placeholder");  // keys_ exists; the public key file is what we configure
  auto env = env_;
  env.erase("JWT_SECRET");
  env.erase("JWT_ISSUER");
  env.erase("JWT_AUDIENCE");
  env["JWT_ALGORITHM"] = "RS256";
  env["JWT_PUBLIC_KEY_FILE"] = keys_ + "/rsa.pub";
  env["DOWNLOAD_LINK_SECRET"] = "hostile-download-link-secret-0123456789";
  ServiceProcess rs({"serve", "--no-worker", "--no-scheduler"}, env);
  const auto path = std::string("/api/backup/history?project_id=acme");
  EXPECT_EQ(call("GET", path, forged_.at("rs_valid"), {}, {}, rs.base_url()).status, 200) << rs.log();
  for (const auto* name : {"rs_confusion_hs256_pem", "rs_confusion_hs256_pem_stripped", "rs_alg_none", "rs_ps256",
                           "rs_rs512", "valid", "hs512"}) {
    SCOPED_TRACE(name);
    auto r = call("GET", path, forged_.at(name), {}, {}, rs.base_url());
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(code_of(r), "UNAUTHORIZED");
  }
}

TEST_F(HostileTest, AnotherProjectsTokenOnEveryProjectRouteChangesNothing) {
  auto [job_id, backup_id] = acme_backup();
  const auto before = state();
  struct Case {
    std::string method, path, body;
  };
  const std::vector<Case> cases = {
      {"POST", "/api/backup/export", R"({"project_id":"acme"})"},
      {"GET", "/api/jobs/" + job_id, ""},
      {"POST", "/api/jobs/" + job_id + "/cancel", ""},
      {"GET", "/api/backup/history?project_id=acme", ""},
      {"GET", "/api/backups/" + backup_id, ""},
      {"GET", "/api/backups/" + backup_id + "/download", ""},
      {"POST", "/api/backups/" + backup_id + "/download-link", ""},
      {"POST", "/api/backups/" + backup_id + "/telegram", ""},
      {"POST", "/api/backups/" + backup_id + "/fetch", ""},
      {"DELETE", "/api/backups/" + backup_id, ""},
      {"GET", "/api/projects/acme/backup-settings", ""},
      {"PUT", "/api/projects/acme/backup-settings",
       R"({"retention_days":1,"destinations":["local"]})"},
      {"GET", "/api/projects/acme/audit", ""},
      {"POST", "/api/backup/restore", R"({"backup_id":")" + backup_id + R"("})"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.method + " " + c.path);
    auto r = call(c.method, c.path, other_token_, c.body);
    EXPECT_TRUE(r.status == 403 || r.status == 404) << r.status << " " << r.body;
    EXPECT_TRUE(code_of(r) == "FORBIDDEN" || code_of(r) == "NOT_FOUND") << r.body;
    EXPECT_EQ(r.body.find("tenant_acme"), std::string::npos) << r.body;
  }
  // A signed download link of acme's backup does not open another backup id.
  auto link = call("POST", "/api/backups/" + backup_id + "/download-link", token_);
  ASSERT_EQ(link.status, 200) << link.body;
  auto link_url = std::string(link.json().at("data").at("url").as_string());
  auto sig = link_url.substr(link_url.find("sig="));
  EXPECT_EQ(call("GET", "/api/backups/123e4567-e89b-42d3-a456-426614174000/download?" + sig, "").status / 100, 4);
  EXPECT_EQ(call("GET", "/api/backups/" + backup_id + "/download?" + sig + "x", "").status / 100, 4);
  EXPECT_EQ(state(), before);
}

TEST_F(HostileTest, HostileBodiesAreRefusedWithTheRightCodeAndNoJobOrFile) {
  acme_backup();
  // A symlink inside STORAGE_DIR that points outside it, at the top and inside
  // the project's folder.
  fs::create_directories(storage_ + "/acme");
  fs::create_directory_symlink(outside_, storage_ + "/escape");
  fs::create_directory_symlink(outside_, storage_ + "/acme/escape");
  const std::string marker = outside_ + "/pwned";
  const auto before = state();

  auto expect = [&](const std::string& method, const std::string& path, const std::string& body, int status,
                    const std::string& code, const std::string& content_type = "application/json") {
    SCOPED_TRACE(method + " " + path + " " + body.substr(0, 120));
    auto r = call(method, path, token_, body, content_type);
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(code_of(r), code) << r.body;
  };
  const std::string V = "VALIDATION_ERROR";
  // Path traversal and escapes in storage_path.
  for (std::string p : {"..", "../x", "a/../../b", "/etc", "/tmp/x", "escape", "escape/x", "acme/escape",
                               "./a", "a//b", ".hidden", "a\\\\..\\\\b", "%2e%2e/x", "a/..", "~root"}) {
    expect("POST", "/api/backup/export", R"({"project_id":"acme","storage_path":")" + p + R"("})", 400, V);
  }
  // Shell metacharacters and SQL in every string field of the export body.
  const std::vector<std::string> nasty = {
      "$(touch " + marker + ")", "`touch " + marker + "`", "; touch " + marker, "| touch " + marker,
      "acme' OR '1'='1", "acme'; DROP TABLE control_plane.jobs; --", "acme\\nx", "&&id", "a b"};
  for (const auto& n : nasty) {
    json::string s(n);
    const std::string q = json::serialize(json::value(s));
    expect("POST", "/api/backup/export", R"({"project_id":)" + q + "}", 400, V);
    expect("POST", "/api/backup/export", R"({"project_id":"acme","format":)" + q + "}", 400, V);
    expect("POST", "/api/backup/export", R"({"project_id":"acme","compression":)" + q + "}", 400, V);
    expect("POST", "/api/backup/export", R"({"project_id":"acme","destinations":[)" + q + "]}", 400, V);
    expect("POST", "/api/backup/export", R"({"project_id":"acme","notify_email":)" + q + "}", 400, V);
    expect("POST", "/api/backup/export", R"({"project_id":"acme","storage_path":)" + q + "}", 400, V);
    expect("PUT", "/api/projects/acme/backup-settings", R"({"telegram_chat_id":)" + q + "}", 400, V);
    expect("PUT", "/api/projects/acme/backup-settings", R"({"notify_email":)" + q + "}", 400, V);
    expect("PUT", "/api/projects/acme/backup-settings", R"({"schedule":{"kind":"cron","expr":)" + q + "}}", 400, V);
    expect("PUT", "/api/projects/acme/backup-settings", R"({"schedule":{"kind":"daily","time":)" + q + "}}", 400, V);
    expect("POST", "/api/backup/restore", R"({"backup_id":)" + q + "}", 400, V);
  }
  for (std::string id : {"x'%20OR%20'1'='1", "..%2F..%2Fetc%2Fpasswd", "%00"}) {
    auto r = call("GET", "/api/backups/" + id, token_);
    EXPECT_TRUE(r.status == 400 || r.status == 404) << id << " " << r.body;
    r = call("GET", "/api/backup/history?project_id=" + id, token_);
    EXPECT_TRUE(r.status == 400 || r.status == 403) << id << " " << r.body;
  }
  // Not UTF-8, deep nesting, huge numbers, duplicate keys, not an object.
  expect("POST", "/api/backup/export", "{\"project_id\":\"ac\xff\xfe" "me\"}", 400, V);
  expect("POST", "/api/backup/export", "{\"project_id\":\"acme\",\"storage_path\":\"a\xc0\xaf" "b\"}", 400, V);
  expect("POST", "/api/backup/export", R"({"project_id":"acme","x":)" + std::string(5000, '[') + std::string(5000, ']') + "}", 400, V);
  expect("POST", "/api/backup/export", std::string(3000, '{'), 400, V);
  expect("PUT", "/api/projects/acme/backup-settings", R"({"retention_days":1e999})", 400, V);
  expect("PUT", "/api/projects/acme/backup-settings", R"({"retention_days":99999999999999999999999})", 400, V);
  expect("PUT", "/api/projects/acme/backup-settings", R"({"retention_days":-9223372036854775808})", 400, V);
  expect("PUT", "/api/projects/acme/backup-settings", R"({"retention_days":7.5})", 400, V);
  expect("POST", "/api/backup/export", R"({"project_id":"other","project_id":"acme"})", 400, V);
  expect("POST", "/api/backup/export", R"({"project_id":"acme","format":"tar","format":"sql"})", 400, V);
  expect("POST", "/api/backup/export", R"(["acme"])", 400, V);
  expect("POST", "/api/backup/export", R"({"project_id":"acme"} {"project_id":"acme"})", 400, V);
  expect("POST", "/api/backup/export", R"({"project_id":"acme","unknown":1})", 400, V);
  // 70 KB body, wrong content types.
  expect("POST", "/api/backup/export", R"({"project_id":"acme","pad":")" + std::string(70 * 1024, 'x') + "\"}", 413,
         "PAYLOAD_TOO_LARGE");
  for (std::string ct : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                "application/jsonx", "application/xml"}) {
    expect("POST", "/api/backup/export", R"({"project_id":"acme"})", 415, "UNSUPPORTED_MEDIA_TYPE", ct);
  }
  // Nothing queued, stored, written outside, or executed.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_FALSE(fs::exists("pwned"));
  EXPECT_EQ(state(), before);
  fs::remove(storage_ + "/escape");
  fs::remove(storage_ + "/acme/escape");
}

TEST_F(HostileTest, DatabasePasswordIsNeverOnAChildsCommandLine) {
  const auto jobs_before = std::stoi(value("SELECT count(*) FROM control_plane.jobs"));
  TableLock lock(PgCluster::shared().conninfo(db_), "tenant_acme.items");
  auto r = call("POST", "/api/backup/export", token_, R"({"project_id":"acme","format":"tar"})");
  ASSERT_EQ(r.status, 202) << r.body;
  auto job_id = std::string(r.json().at("data").at("job_id").as_string());
  // Wait until pg_dump runs (it waits on our lock), then read every command line.
  std::map<int, std::string> dumps;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (dumps.empty() && std::chrono::steady_clock::now() < deadline) {
    dumps = processes_named("pg_dump");
    for (auto it = dumps.begin(); it != dumps.end();) {
      it = it->second.find(db_) == std::string::npos ? dumps.erase(it) : std::next(it);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(dumps.empty()) << server_->log();
  for (const auto& [pid, cmd] : dumps) {
    EXPECT_EQ(cmd.find(kDbPassword), std::string::npos) << pid << ": " << cmd;
    EXPECT_EQ(cmd.find("password="), std::string::npos) << pid << ": " << cmd;
  }
  // Every process of ours: the service itself and anything else it started.
  for (const auto& [pid, cmd] : processes_named(kDbPassword)) {
    ADD_FAILURE() << "password on the command line of pid " << pid << ": " << cmd;
  }
  lock.release();
  auto job = wait_for_job(job_id);
  // The role needs its password (scram): a completed export proves pg_dump
  // got it, through the environment.
  EXPECT_EQ(job.at("status").as_string(), "completed") << json::serialize(job) << server_->log();
  EXPECT_EQ(std::stoi(value("SELECT count(*) FROM control_plane.jobs")), jobs_before + 1);
}

TEST_F(HostileTest, ZSecretsNeverAppearInLogsOrErrorBodies) {
  // Provoke failures that carry details: a dump that fails (a missing schema
  // is not possible through the API, so a tenant table pg_dump cannot read is),
  // a Telegram send to an API that does not answer, and a bad token.
  auto [job_id, backup_id] = acme_backup();
  auto s = call("PUT", "/api/projects/acme/backup-settings", token_,
                R"({"telegram_chat_id":"-100123456","destinations":["local","telegram"]})");
  EXPECT_EQ(s.status, 200) << s.body;
  auto t = call("POST", "/api/backups/" + backup_id + "/telegram", token_);
  if (t.status == 202) {
    auto job = wait_for_job(std::string(t.json().at("data").at("job_id").as_string()));
    EXPECT_NE(job.at("status").as_string(), "completed");
    std::lock_guard lock(bodies_mutex_);
    bodies_.push_back(json::serialize(job));
  }
  auto e = call("POST", "/api/backup/export", token_, R"({"project_id":"acme","destinations":["local","telegram"]})");
  if (e.status == 202) {
    auto job = wait_for_job(std::string(e.json().at("data").at("job_id").as_string()));
    std::lock_guard lock(bodies_mutex_);
    bodies_.push_back(json::serialize(job));
  }
  auto audit = call("GET", "/api/projects/acme/audit", token_);
  auto history = call("GET", "/api/backup/history?project_id=acme", token_);

  std::vector<std::pair<std::string, std::string>> secrets = {{"database password", kDbPassword},
                                                              {"JWT secret", kSecret},
                                                              {"Telegram bot token", kBotToken},
                                                              {"Telegram bot token secret part", kBotToken.substr(10)},
                                                              {"acme token", token_},
                                                              {"other token", other_token_}};
  for (const auto& [name, token] : forged_) {
    // The signature part identifies a token; short broken ones are not secrets.
    auto sig = token.substr(token.rfind('.') + 1);
    if (sig.size() >= 40) secrets.emplace_back("token " + name + " signature", sig);
  }
  const auto log = server_->log();
  ASSERT_FALSE(log.empty());
  std::lock_guard lock(bodies_mutex_);
  ASSERT_GT(bodies_.size(), 200u);
  for (const auto& [what, secret] : secrets) {
    EXPECT_EQ(log.find(secret), std::string::npos) << what << " in the service log";
    for (const auto& body : bodies_) {
      EXPECT_EQ(body.find(secret), std::string::npos) << what << " in a response body: " << body.substr(0, 300);
    }
  }
  // The database's view too: what the service stored for users to read.
  auto stored = value(
      "SELECT coalesce(string_agg(coalesce(last_error, '') || coalesce(errors::text, '') || coalesce(result::text, '') || coalesce(payload::text, ''), '|'), '')"
      " FROM control_plane.jobs");
  for (const auto& [what, secret] : secrets) EXPECT_EQ(stored.find(secret), std::string::npos) << what << " in jobs";
}

// ---------------------------------------------------------------------------
// Load: 100 export requests at once from 31 client addresses (through a
// trusted proxy's X-Forwarded-For).
TEST(HostileLoad, BurstOfExportsIsRateLimitedPerClientAndStaysBounded) {
  auto& pg = PgCluster::shared();
  constexpr int kRate = 2, kConcurrency = 2, kPool = 4;
  DeploymentOptions o;
  o.prefix = "load";
  o.env = {{"TRUSTED_PROXIES", "127.0.0.1"},
           {"RATE_LIMIT_PER_MINUTE", std::to_string(kRate)},
           {"WORKER_CONCURRENCY", std::to_string(kConcurrency)},
           {"DB_POOL_SIZE", std::to_string(kPool)}};
  o.seed_sql = R"sql(
    INSERT INTO control_plane.projects (id, slug, name) VALUES ('acme', 'acme', 'Acme');
    CREATE SCHEMA tenant_acme;
    CREATE TABLE tenant_acme.items (id int PRIMARY KEY, body text);
    INSERT INTO tenant_acme.items SELECT g, md5(g::text) FROM generate_series(1, 2000) g;
  )sql";
  o.serve = {"serve"};
  Deployment d(o);
  const auto& db = d.db;
  auto& server = d.service();
  const auto& token = d.token;
  // Connections the service may hold: its pool, per worker slot a connection,
  // a lease connection and the pg_dump child, the worker's listener and rescue
  // connections, the scheduler's and the retention sweeper's.
  const int connection_bound = kPool + 3 * kConcurrency + 2 + 2;

  std::atomic<bool> running{true};
  std::atomic<int> max_connections{0}, max_running{0};
  std::mutex db_mu;  // the test's own queries never overlap, so only the sampler's connection is open
  std::thread sampler([&] {
    while (running) {
      try {
        std::lock_guard db_lock(db_mu);
        auto v = pg.query_value(db,
                                "SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                " AND pid <> pg_backend_pid()) || ' ' ||"
                                " (SELECT count(*) FROM control_plane.jobs WHERE status = 'running')");
        int conns = std::stoi(v.substr(0, v.find(' '))), run = std::stoi(v.substr(v.find(' ') + 1));
        if (conns > max_connections) max_connections = conns;
        if (run > max_running) max_running = run;
      } catch (...) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(15));
    }
  });

  // 30 clients with their own address send 2 each... plus 40 behind one address.
  struct Result {
    std::string ip;
    long status;
    std::string retry_after, job_id;
  };
  std::mutex mu;
  std::vector<Result> results;
  std::vector<std::thread> clients;
  auto client = [&](std::string ip, int requests) {
    for (int i = 0; i < requests; ++i) {
      HttpRequest r{"POST", server.base_url() + "/api/backup/export", R"({"project_id":"acme"})",
                    {"Content-Type: application/json", "Authorization: Bearer " + token, "X-Forwarded-For: " + ip}};
      auto resp = http_call(r);
      Result res{ip, resp.status, resp.header("retry-after"), ""};
      if (resp.status == 202) res.job_id = std::string(resp.json().at("data").at("job_id").as_string());
      std::lock_guard lock(mu);
      results.push_back(res);
    }
  };
  for (int c = 0; c < 30; ++c) clients.emplace_back(client, "198.51.100." + std::to_string(c + 1), 2);
  for (int c = 0; c < 40; ++c) clients.emplace_back(client, "203.0.113.7", 1);
  for (auto& t : clients) t.join();
  ASSERT_EQ(results.size(), 100u);

  std::map<std::string, int> accepted_per_ip;
  std::vector<std::string> job_ids;
  int limited = 0;
  for (const auto& r : results) {
    if (r.status == 202) {
      ++accepted_per_ip[r.ip];
      job_ids.push_back(r.job_id);
    } else {
      EXPECT_EQ(r.status, 429) << r.ip;
      EXPECT_FALSE(r.retry_after.empty()) << r.ip;
      if (!r.retry_after.empty()) {
        EXPECT_GT(std::stoi(r.retry_after), 0);
      }
      ++limited;
    }
  }
  // Each address gets exactly its bucket: 2 for each of the 30, 2 for the shared one.
  for (const auto& [ip, n] : accepted_per_ip) EXPECT_EQ(n, kRate) << ip;
  EXPECT_EQ(accepted_per_ip.size(), 31u);
  EXPECT_EQ(job_ids.size(), 62u);
  EXPECT_EQ(limited, 38);

  // Every accepted job completes.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  std::string done;
  while (std::chrono::steady_clock::now() < deadline) {
    std::unique_lock db_lock(db_mu);
    // One snapshot: read separately, the last job could complete between the
    // two counts and end the wait at 61/62.
    auto counts = pg.query_value(db,
                                 "SELECT count(*) FILTER (WHERE status = 'completed') || '/' || count(*) || ' ' || "
                                 "count(*) FILTER (WHERE status IN ('pending', 'running')) FROM control_plane.jobs");
    done = counts.substr(0, counts.find(' '));
    if (done == "62/62" || counts.ends_with(" 0")) break;
    db_lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  running = false;
  sampler.join();
  EXPECT_LE(max_running.load(), kConcurrency);
  EXPECT_GE(max_running.load(), 1);
  EXPECT_LE(max_connections.load(), connection_bound);
  std::cout << "load: " << done << " jobs completed; max running jobs " << max_running << " (limit " << kConcurrency
            << "), max connections " << max_connections << " (bound " << connection_bound << ")\n";
  // Two exports of one project in the same second once collided on the file
  // name; every accepted job must complete.
  EXPECT_EQ(done, "62/62") << server.log();
  EXPECT_EQ(pg.query_value(db, "SELECT count(*) FROM control_plane.backups WHERE status = 'completed'"), "62");
}

}  // namespace
}  // namespace tb::test
