// What the service exposes without meaning to, through the real binary: the
// environment and descriptors a running pg_dump inherits (read from
// /proc/<pid>/environ and /proc/<pid>/fd while a table lock holds it), what
// /metrics tells an anonymous caller, and whether a signed download link
// minted by one `serve` process opens on another of the same deployment.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "support/deployed_suite.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/service_process.hpp"
#include "support/table_lock.hpp"

namespace tb::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// Every secret of the service carries this marker, so one search finds any of them.
const std::string kMarker = "SENTINEL";
const std::string kJwtSecret = "exposure-jwt-SENTINEL-secret-long-enough-0123456789";
const std::string kBotToken = "987654321:exposure-bot-token-SENTINEL";
const std::string kSmtpUrl = "smtp://mailer:smtp-password-SENTINEL@127.0.0.1:9";
const std::string kLinkSecret = "exposure-link-secret-SENTINEL-0123456789";
const std::string kMetricsToken = "metrics-token-SENTINEL-0123456789";

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The pg_dump the service started for `db` (its parent is `service`), or 0.
int pg_dump_of(int service, const std::string& db) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = read_all(entry.path() / "cmdline");
    if (cmd.find("pg_dump") == std::string::npos || cmd.find(db) == std::string::npos) continue;
    std::string status = read_all(entry.path() / "status");
    auto ppid = status.find("\nPPid:\t");
    if (ppid != std::string::npos && std::stoi(status.substr(ppid + 7)) == service)
      return std::stoi(name);
  }
  return 0;
}

// What each descriptor of a process refers to ("socket:[123]", "pipe:[9]", a path), by fd number.
std::map<int, std::string> descriptors(int pid) {
  std::map<int, std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    auto target = fs::read_symlink(e.path(), ec);
    if (!ec) out[std::stoi(e.path().filename().string())] = target.string();
  }
  return out;
}

class ExposureTest : public DeployedSuite<ExposureTest> {
 protected:
  static void SetUpTestSuite() {
    auto o = served_options("exposure");
    o.env = {{"JWT_SECRET", kJwtSecret},
             {"DOWNLOAD_LINK_SECRET", kLinkSecret},
             {"METRICS_TOKEN", kMetricsToken},
             {"TELEGRAM_BOT_TOKEN", kBotToken},
             {"TELEGRAM_API_URL", "http://127.0.0.1:9"},
             {"SMTP_URL", kSmtpUrl}};
    o.seed_sql = R"sql(
      INSERT INTO control_plane.projects (id, slug, name) VALUES ('acme', 'acme', 'Acme');
      CREATE SCHEMA tenant_acme;
      CREATE TABLE tenant_acme.items (id int PRIMARY KEY, body text);
      INSERT INTO tenant_acme.items SELECT g, md5(g::text) FROM generate_series(1, 500) g;
    )sql";
    deploy(o);
  }

  static std::string start_export() {
    auto r = http_post_json(server_->base_url() + "/api/backup/export", R"({"project_id":"acme"})",
                            token_);
    EXPECT_EQ(r.status, 202) << r.body;
    return std::string(r.json().at("data").at("job_id").as_string());
  }

  // A completed acme backup (made once): its id.
  static std::string acme_backup() {
    static std::string id;
    if (id.empty()) {
      auto job = poll_job(server_->base_url(), token_, start_export());
      EXPECT_EQ(job.at("status").as_string(), "completed")
          << json::serialize(job) << server_->log();
      id = std::string(job.at("result").at("backup_id").as_string());
    }
    return id;
  }
};

TEST_F(ExposureTest, ARunningPgDumpHoldsNoSecretAndNoDescriptorOfTheService) {
  // A client connection the service has accepted and keeps alive while pg_dump starts.
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(
      std::stoi(server_->base_url().substr(server_->base_url().rfind(':') + 1))));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string ping = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_EQ(::send(client, ping.data(), ping.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(ping.size()));
  pollfd p{client, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 30000), 1);  // answered: accepted and kept alive

  TableLock lock(PgCluster::shared().conninfo(db_), "tenant_acme.items");
  auto job_id = start_export();
  int dump = 0;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
       dump == 0 && std::chrono::steady_clock::now() < deadline;) {
    dump = pg_dump_of(server_->pid(), db_);
    if (dump == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_NE(dump, 0) << server_->log();

  // The environment: none of the service's settings, only the allow-list.
  std::string environ = read_all("/proc/" + std::to_string(dump) + "/environ");
  ASSERT_FALSE(environ.empty());
  EXPECT_EQ(environ.find(kMarker), std::string::npos) << "a secret of the service reached pg_dump";
  std::set<std::string> names;
  for (std::size_t pos = 0; pos < environ.size();) {
    auto end = environ.find('\0', pos);
    if (end == std::string::npos) end = environ.size();
    names.insert(environ.substr(pos, environ.find('=', pos) - pos));
    pos = end + 1;
  }
  for (const auto& name : names) {
    bool allowed = name == "PATH" || name == "LANG" || name == "LANGUAGE" || name == "TZ" ||
                   name.starts_with("LC_") || (name.starts_with("PG") && name != "PGOPTIONS");
    EXPECT_TRUE(allowed) << name << " reached pg_dump";
  }
  for (const char* name : {"JWT_SECRET", "TELEGRAM_BOT_TOKEN", "SMTP_URL", "DATABASE_URL",
                           "DOWNLOAD_LINK_SECRET", "METRICS_TOKEN", "STORAGE_DIR"}) {
    EXPECT_EQ(names.count(name), 0u) << name;
  }

  // The descriptors: 0-2 are pg_dump's pipes; anything else must be its own
  // (its database connection), never one it shares with the service: the
  // listening socket, the accepted connection, the service's database
  // sockets, log files.
  auto service_fds = descriptors(server_->pid());
  std::set<std::string> service_targets;
  for (const auto& [fd, target] : service_fds) service_targets.insert(target);
  EXPECT_GE(service_targets.size(), 4u);
  for (const auto& [fd, target] : descriptors(dump)) {
    if (fd <= 2) continue;
    EXPECT_EQ(service_targets.count(target), 0u)
        << "pg_dump inherited fd " << fd << " -> " << target;
  }
  ::close(client);

  // Still a working pg_dump: the export completes once the lock is gone.
  lock.release();
  auto job =
      poll_job(server_->base_url(), token_, job_id, job_ended, 90, [] { return server_->log(); });
  EXPECT_EQ(job.at("status").as_string(), "completed") << json::serialize(job);
}

TEST_F(ExposureTest, MetricsNameProjectsOnlyToTheScraper) {
  acme_backup();  // so that project series exist
  const std::string url = server_->base_url() + "/metrics";
  auto anonymous = http_get(url);
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.body.find("acme"), std::string::npos) << anonymous.body;
  EXPECT_EQ(http_get(url, "not-the-metrics-token").status, 401);
  EXPECT_EQ(http_get(url, token_).status, 401);  // a user's JWT is not the scraper's token
  auto scraper = http_get(url, kMetricsToken);
  EXPECT_EQ(scraper.status, 200);
  EXPECT_NE(scraper.body.find("tb_backup_bytes{project=\"acme\"}"), std::string::npos)
      << scraper.body;

  // No token configured: the main listener serves only what names no project.
  auto env = env_;
  env.erase("METRICS_TOKEN");
  {
    ServiceProcess open({"serve", "--no-worker", "--no-scheduler"}, env);
    auto r = http_get(open.base_url() + "/metrics");
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("# TYPE tb_backup_bytes gauge"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("project="), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("acme"), std::string::npos) << r.body;
  }

  // A scrapers' listener: everything there, nothing on the main listener.
  env["METRICS_LISTEN"] = "127.0.0.1:0";
  ServiceProcess split({"serve", "--no-worker", "--no-scheduler"}, env);
  std::string metrics_base;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
       metrics_base.empty() && std::chrono::steady_clock::now() < deadline;) {
    auto log = split.log();
    auto pos = log.find("METRICS_LISTEN ");
    auto end = pos == std::string::npos ? pos : log.find('\n', pos);
    if (end != std::string::npos)
      metrics_base = "http://" + log.substr(pos + 15, end - pos - 15);
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(metrics_base.empty()) << split.log();
  EXPECT_EQ(http_get(split.base_url() + "/metrics").status, 404);
  auto scraped = http_get(metrics_base + "/metrics");
  EXPECT_EQ(scraped.status, 200);
  EXPECT_NE(scraped.body.find("tb_backup_bytes{project=\"acme\"}"), std::string::npos)
      << scraped.body;
  EXPECT_EQ(http_get(metrics_base + "/api/backup/history?project_id=acme", token_).status, 404);
}

TEST_F(ExposureTest, ADownloadLinkFromOneRs256ProcessOpensOnAnother) {
  const auto backup_id = acme_backup();
  const auto keys = make_temp_dir("tb-exposure-keys");
  run_command("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + keys +
              "/rsa.pem 2>/dev/null");
  run_command("openssl pkey -in " + keys + "/rsa.pem -pubout -out " + keys + "/rsa.pub");
  std::string token = run_command(
      "/usr/bin/python3 -c 'import jwt, sys, time; print(jwt.encode({\"sub\": \"alice\", "
      "\"project_id\": \"acme\", "
      "\"exp\": int(time.time()) + 600}, open(sys.argv[1]).read(), algorithm=\"RS256\"))' " +
      keys + "/rsa.pem");
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();

  auto env = env_;
  env.erase("JWT_SECRET");
  env["JWT_ALGORITHM"] = "RS256";
  env["JWT_PUBLIC_KEY_FILE"] = keys + "/rsa.pub";
  ServiceProcess a({"serve", "--no-worker", "--no-scheduler"}, env);
  ServiceProcess b({"serve", "--no-worker", "--no-scheduler"}, env);
  auto link =
      http_post_json(a.base_url() + "/api/backups/" + backup_id + "/download-link", "", token);
  ASSERT_EQ(link.status, 200) << link.body << a.log();
  const std::string path(link.json().at("data").at("url").as_string());
  auto on_a = http_get(a.base_url() + path);
  auto on_b = http_get(b.base_url() + path);
  EXPECT_EQ(on_a.status, 200) << on_a.body;
  EXPECT_EQ(on_b.status, 200) << on_b.body;
  EXPECT_EQ(on_b.body, on_a.body);
  EXPECT_GT(on_b.body.size(), 0u);

  // Without a shared link secret there is nothing every process could agree
  // on: the API refuses to start and says why.
  env.erase("DOWNLOAD_LINK_SECRET");
  ServiceProcess refused({"serve", "--no-worker", "--no-scheduler"}, env, false);
  EXPECT_NE(refused.wait(std::chrono::seconds(60)), 0);
  EXPECT_NE(refused.log().find("DOWNLOAD_LINK_SECRET"), std::string::npos) << refused.log();
}

}  // namespace
}  // namespace tb::test
