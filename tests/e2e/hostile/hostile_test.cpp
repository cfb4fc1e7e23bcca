// Hostile input through the real binary: forged and broken tokens,
// another project's token on every project route, bodies built to break the
// readers, the secrets that must never leak (the database password on a
// child's command line; passwords and tokens in logs or error bodies), and a
// burst of exports from many clients. Every refusal is checked the way a user
// would see it: the status and error code, and nothing changed (row counts,
// files under STORAGE_DIR). The HTTP layer's own abuse cases (slowloris,
// oversized headers, pipelining, idle connections) are in
// tests/integration/http_server; 413/415/429 basics in tests/e2e/api. The
// deployment is in hostile_fixture.hpp, the burst of exports in
// hostile_load_test.cpp.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hostile_fixture.hpp"
#include "support/table_lock.hpp"

namespace tb::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

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
  EXPECT_EQ(
      call("GET", "/api/backup/history?project_id=acme", huge + "." + huge + "." + huge).status,
      431);
  for (const std::string& junk : {std::string("."), std::string(".."), std::string("a.b.c"),
                                  std::string("Bearer x.y.z"), std::string(7000, '.')}) {
    auto r = call("GET", "/api/backup/history?project_id=acme", junk);
    EXPECT_EQ(r.status, 401) << junk.substr(0, 40);
  }
  // Control bytes in the header: the HTTP parser refuses the request itself.
  auto ctl = call("GET", "/api/backup/history?project_id=acme", std::string("\x01\x02.\x7f.x"));
  EXPECT_TRUE(ctl.status == 400 || ctl.status == 401) << ctl.status;
  HttpRequest basic{"GET",
                    url("/api/backup/history?project_id=acme"),
                    "",
                    {"Authorization: Basic YWRtaW46YWRtaW4="}};
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
  EXPECT_EQ(call("GET", path, forged_.at("rs_valid"), {}, {}, rs.base_url()).status, 200)
      << rs.log();
  for (const auto* name : {"rs_confusion_hs256_pem", "rs_confusion_hs256_pem_stripped",
                           "rs_alg_none", "rs_ps256", "rs_rs512", "valid", "hs512"}) {
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
  EXPECT_EQ(
      call("GET", "/api/backups/123e4567-e89b-42d3-a456-426614174000/download?" + sig, "").status /
          100,
      4);
  EXPECT_EQ(call("GET", "/api/backups/" + backup_id + "/download?" + sig + "x", "").status / 100,
            4);
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

  auto expect = [&](const std::string& method, const std::string& path, const std::string& body,
                    int status, const std::string& code,
                    const std::string& content_type = "application/json") {
    SCOPED_TRACE(method + " " + path + " " + body.substr(0, 120));
    auto r = call(method, path, token_, body, content_type);
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(code_of(r), code) << r.body;
  };
  const std::string V = "VALIDATION_ERROR";
  // Path traversal and escapes in storage_path.
  for (std::string p :
       {"..", "../x", "a/../../b", "/etc", "/tmp/x", "escape", "escape/x", "acme/escape", "./a",
        "a//b", ".hidden", "a\\\\..\\\\b", "%2e%2e/x", "a/..", "~root"}) {
    expect("POST", "/api/backup/export", R"({"project_id":"acme","storage_path":")" + p + R"("})",
           400, V);
  }
  // Shell metacharacters and SQL in every string field of the export body.
  const std::vector<std::string> nasty = {"$(touch " + marker + ")",
                                          "`touch " + marker + "`",
                                          "; touch " + marker,
                                          "| touch " + marker,
                                          "acme' OR '1'='1",
                                          "acme'; DROP TABLE control_plane.jobs; --",
                                          "acme\\nx",
                                          "&&id",
                                          "a b"};
  for (const auto& n : nasty) {
    json::string s(n);
    const std::string q = json::serialize(json::value(s));
    expect("POST", "/api/backup/export", R"({"project_id":)" + q + "}", 400, V);
    expect("POST", "/api/backup/export", R"({"project_id":"acme","format":)" + q + "}", 400, V);
    expect("POST", "/api/backup/export", R"({"project_id":"acme","compression":)" + q + "}", 400,
           V);
    expect("POST", "/api/backup/export", R"({"project_id":"acme","destinations":[)" + q + "]}", 400,
           V);
    expect("POST", "/api/backup/export", R"({"project_id":"acme","notify_email":)" + q + "}", 400,
           V);
    expect("POST", "/api/backup/export", R"({"project_id":"acme","storage_path":)" + q + "}", 400,
           V);
    expect("PUT", "/api/projects/acme/backup-settings", R"({"telegram_chat_id":)" + q + "}", 400,
           V);
    expect("PUT", "/api/projects/acme/backup-settings", R"({"notify_email":)" + q + "}", 400, V);
    expect("PUT", "/api/projects/acme/backup-settings",
           R"({"schedule":{"kind":"cron","expr":)" + q + "}}", 400, V);
    expect("PUT", "/api/projects/acme/backup-settings",
           R"({"schedule":{"kind":"daily","time":)" + q + "}}", 400, V);
    expect("POST", "/api/backup/restore", R"({"backup_id":)" + q + "}", 400, V);
  }
  for (std::string id : {"x'%20OR%20'1'='1", "..%2F..%2Fetc%2Fpasswd", "%00"}) {
    auto r = call("GET", "/api/backups/" + id, token_);
    EXPECT_TRUE(r.status == 400 || r.status == 404) << id << " " << r.body;
    r = call("GET", "/api/backup/history?project_id=" + id, token_);
    EXPECT_TRUE(r.status == 400 || r.status == 403) << id << " " << r.body;
  }
  // Not UTF-8, deep nesting, huge numbers, duplicate keys, not an object.
  expect("POST", "/api/backup/export",
         "{\"project_id\":\"ac\xff\xfe"
         "me\"}",
         400, V);
  expect("POST", "/api/backup/export",
         "{\"project_id\":\"acme\",\"storage_path\":\"a\xc0\xaf"
         "b\"}",
         400, V);
  expect("POST", "/api/backup/export",
         R"({"project_id":"acme","x":)" + std::string(5000, '[') + std::string(5000, ']') + "}",
         400, V);
  expect("POST", "/api/backup/export", std::string(3000, '{'), 400, V);
  expect("PUT", "/api/projects/acme/backup-settings", R"({"retention_days":1e999})", 400, V);
  expect("PUT", "/api/projects/acme/backup-settings",
         R"({"retention_days":99999999999999999999999})", 400, V);
  expect("PUT", "/api/projects/acme/backup-settings", R"({"retention_days":-9223372036854775808})",
         400, V);
  expect("PUT", "/api/projects/acme/backup-settings", R"({"retention_days":7.5})", 400, V);
  expect("POST", "/api/backup/export", R"({"project_id":"other","project_id":"acme"})", 400, V);
  expect("POST", "/api/backup/export", R"({"project_id":"acme","format":"tar","format":"sql"})",
         400, V);
  expect("POST", "/api/backup/export", R"(["acme"])", 400, V);
  expect("POST", "/api/backup/export", R"({"project_id":"acme"} {"project_id":"acme"})", 400, V);
  expect("POST", "/api/backup/export", R"({"project_id":"acme","unknown":1})", 400, V);
  // 70 KB body, wrong content types.
  expect("POST", "/api/backup/export",
         R"({"project_id":"acme","pad":")" + std::string(70 * 1024, 'x') + "\"}", 413,
         "PAYLOAD_TOO_LARGE");
  for (std::string ct :
       {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
        "application/jsonx", "application/xml"}) {
    expect("POST", "/api/backup/export", R"({"project_id":"acme"})", 415, "UNSUPPORTED_MEDIA_TYPE",
           ct);
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
  TableLock lock(deployment_->conninfo(), "tenant_acme.items");
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
  auto e = call("POST", "/api/backup/export", token_,
                R"({"project_id":"acme","destinations":["local","telegram"]})");
  if (e.status == 202) {
    auto job = wait_for_job(std::string(e.json().at("data").at("job_id").as_string()));
    std::lock_guard lock(bodies_mutex_);
    bodies_.push_back(json::serialize(job));
  }
  auto audit = call("GET", "/api/projects/acme/audit", token_);
  auto history = call("GET", "/api/backup/history?project_id=acme", token_);

  std::vector<std::pair<std::string, std::string>> secrets = {
      {"database password", kDbPassword},
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
      EXPECT_EQ(body.find(secret), std::string::npos)
          << what << " in a response body: " << body.substr(0, 300);
    }
  }
  // The database's view too: what the service stored for users to read.
  auto stored = value(
      "SELECT coalesce(string_agg(coalesce(last_error, '') || coalesce(errors::text, '') || "
      "coalesce(result::text, '') || coalesce(payload::text, ''), '|'), '')"
      " FROM control_plane.jobs");
  for (const auto& [what, secret] : secrets)
    EXPECT_EQ(stored.find(secret), std::string::npos) << what << " in jobs";
}

}  // namespace
}  // namespace tb::test
