#include "hostile_fixture.hpp"

#include <libpq-fe.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/child_process.hpp"
#include "support/pg_cluster.hpp"

namespace tb::test {
namespace {

namespace fs = std::filesystem;

// Relative path and size of every file under `dir` (symlinks not followed).
std::set<std::string> files_under(const std::string& dir) {
  std::set<std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    if (it->is_symlink()) {
      out.insert(fs::relative(it->path(), dir).string() + " -> symlink");
      it.disable_recursion_pending();
    } else if (it->is_regular_file()) {
      out.insert(fs::relative(it->path(), dir).string() + " " + std::to_string(it->file_size()));
    }
  }
  return out;
}

}  // namespace

namespace json = boost::json;

void HostileTest::SetUpTestSuite() {
  auto& pg = PgCluster::shared();
  outside_ = make_temp_dir("tb-hostile-outside");
  keys_ = make_temp_dir("tb-hostile-keys");
  // A role that really needs its password: scram for this role on the
  // socket (the rest of the test cluster stays on trust), so an export
  // only works if pg_dump got the password, and not through argv.
  pg.exec("postgres", "SET password_encryption = 'scram-sha-256'; CREATE ROLE " + kDbRole +
                          " LOGIN SUPERUSER PASSWORD '" + kDbPassword + "'");
  const std::string hba = pg.dir() + "/data/pg_hba.conf";
  const std::string old_hba = read_text_file(hba);
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

  auto o = served_options("hostile");
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
  deploy(o);
  other_token_ = other_project_token();

  // Forged tokens: one python3-jwt run for all of them.
  run_command("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + keys_ +
              "/rsa.pem 2>/dev/null");
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
  std::istringstream lines(run_command("/usr/bin/python3 " + src +
                                       "/tests/e2e/hostile/mint_tokens.py '" +
                                       json::serialize(cfg) + "'"));
  for (std::string line; std::getline(lines, line);) {
    auto tab = line.find('\t');
    if (tab != std::string::npos) forged_[line.substr(0, tab)] = line.substr(tab + 1);
  }
}

HttpResponse HostileTest::call(const std::string& method, const std::string& path,
                               const std::string& token, const std::string& body,
                               const std::string& content_type, const std::string& base) {
  HttpRequest r;
  r.method = method;
  r.url = (base.empty() ? server_->base_url() : base) + path;
  r.body = body;
  if (!token.empty()) r.headers.push_back("Authorization: Bearer " + token);
  if (!body.empty() || method == "POST" || method == "PUT")
    r.headers.push_back("Content-Type: " + content_type);
  auto resp = http_call(r);
  std::lock_guard lock(bodies_mutex_);
  bodies_.push_back(resp.body);
  return resp;
}

std::string HostileTest::code_of(const HttpResponse& r) {
  try {
    return std::string(r.json().at("error").at("code").as_string());
  } catch (...) {
    return "<no error code>";
  }
}

std::string HostileTest::state() {
  return value(
             "SELECT (SELECT count(*) FROM control_plane.jobs) || '/' || (SELECT count(*) FROM "
             "control_plane.backups)"
             " || '/' || (SELECT count(*) FROM control_plane.audit_log) || '/' ||"
             " (SELECT count(*) FROM control_plane.backup_settings) || '/' ||"
             " (SELECT coalesce(md5(string_agg(b::text, '|' ORDER BY b.id)), '') FROM "
             "control_plane.backups b) || '/' ||"
             " (SELECT coalesce(md5(string_agg(s::text, '|')), '') FROM "
             "control_plane.backup_settings s) || '/' ||"
             " (SELECT coalesce(md5(string_agg(j.status || j.type, '|' ORDER BY j.id)), '') FROM "
             "control_plane.jobs j)") +
         " files:" + [] {
           std::string s;
           for (const auto& f : files_under(storage_)) s += f + ";";
           for (const auto& f : files_under(outside_)) s += "OUTSIDE " + f + ";";
           return s;
         }();
}

json::object HostileTest::wait_for_job(const std::string& job_id) {
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

std::pair<std::string, std::string> HostileTest::acme_backup() {
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

}  // namespace tb::test
