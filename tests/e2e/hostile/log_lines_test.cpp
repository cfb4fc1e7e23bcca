// The service log under hostile input, through the real binary: with
// LOG_FORMAT=json every line is one JSON object, and in text mode no client or
// tenant string can start a line of its own. The traffic covers start-up, a
// request, an export job that completes and one that fails, refused requests
// carrying forged log lines (a JWT header `alg`, a path and a User-Agent with
// bytes that are not UTF-8, a `sub` claim with a tab and a newline), and the
// shutdown.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <sstream>

#include "support/deployed_suite.hpp"
#include "support/http_client.hpp"
#include "support/log_line.hpp"
#include "support/pg_cluster.hpp"
#include "support/service_process.hpp"

namespace tb::test {
namespace {

namespace json = boost::json;

// What a forger wants to see as a line of its own.
const std::string kForged = "2026-01-01T00:00:00.000Z info forged";

std::string b64url(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 0x3F];
  return out;
}

// A token refused at its header: the `alg` is logged as the refusal's detail.
std::string forged_alg_token() {
  json::object header{{"alg", "HS256\n" + kForged + " \"x\":\"y\" \x1b[31m"}, {"typ", "JWT"}};
  return b64url(json::serialize(header)) + "." + b64url(R"({"sub":"x"})") + "." + b64url("sig");
}

// Sends `bytes` as they are (libcurl would refuse some) and returns the reply.
std::string raw_exchange(const std::string& base_url, const std::string& bytes) {
  const auto colon = base_url.rfind(':');
  const int port = std::stoi(base_url.substr(colon + 1));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    ADD_FAILURE() << "connect failed";
    return {};
  }
  EXPECT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(bytes.size()));
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    reply.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return reply;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class LogLines : public DeployedSuite<LogLines> {
 protected:
  static void SetUpTestSuite() {
    DeploymentOptions o;
    o.prefix = "loglines";
    o.env = {{"JOB_MAX_ATTEMPTS", "1"}};
    // 'ghost' has no schema: its export fails, and the failure is logged.
    o.seed_sql = R"sql(
      INSERT INTO control_plane.projects (id, slug, name) VALUES ('acme', 'acme', 'Acme'), ('ghost', 'ghost', 'Ghost');
      CREATE SCHEMA tenant_acme;
      CREATE TABLE tenant_acme.items (id int PRIMARY KEY);
      INSERT INTO tenant_acme.items SELECT generate_series(1, 10);
    )sql";
    o.token_args = {"--project", "acme", "--project", "ghost", "--sub", "alice"};
    deploy(o);
    // A subject chosen by whoever got a token minted: a forged audit row and a forged log line.
    hostile_token_ = mint_token({"--project", "acme", "--sub", "mal\tlory\n" + kForged}, env_);
  }

  // Runs the traffic against a fresh `serve` in `format`, stops it, returns its log.
  static std::string run_traffic(const std::string& format) {
    auto env = env_;
    env["LOG_FORMAT"] = format;
    ServiceProcess service({"serve"}, env);
    const auto base = service.base_url();
    auto log = [&service] { return service.log(); };

    EXPECT_EQ(http_get(base + "/api/projects", token_).status, 200);
    std::string backup_id;
    for (const std::string project : {"acme", "ghost"}) {
      auto r = http_post_json(base + "/api/backup/export", R"({"project_id":")" + project + R"("})",
                              token_);
      EXPECT_EQ(r.status, 202) << r.body;
      const std::string job_id(r.json().at("data").at("job_id").as_string());
      auto job = poll_job(base, token_, job_id, job_ended, 90, log);
      EXPECT_EQ(job.at("status"), project == "acme" ? "completed" : "failed")
          << json::serialize(job);
      if (project == "acme") backup_id = std::string(job.at("result").at("backup_id").as_string());
    }

    EXPECT_EQ(http_get(base + "/api/projects", forged_alg_token()).status, 401);
    EXPECT_EQ(http_get(base + "/api/no/such/route", token_).status, 404);
    EXPECT_EQ(http_post_json(base + "/api/backup/export", "{\"project_id\": 1}", token_).status,
              400);
    // Bytes that are not UTF-8 in the path and the User-Agent (HTTP allows
    // obs-text there), with the forged line spelled out after them.
    const std::string raw = "GET /api/projects/\xFF\xFE%0A" + kForged.substr(0, 10) +
                            "/audit HTTP/1.1\r\nHost: x\r\nUser-Agent: evil\xC0\xAF agent\t\xFF " +
                            kForged + "\r\nAuthorization: Bearer " + token_ +
                            "\r\nConnection: close\r\n\r\n";
    EXPECT_NE(raw_exchange(base, raw).find("HTTP/1.1 400"), std::string::npos);

    // The hostile subject is recorded by a download and read back as text:
    // one row per line, six fields each.
    EXPECT_EQ(http_get(base + "/api/backups/" + backup_id + "/download", hostile_token_).status,
              200);
    auto audit = http_get(base + "/api/projects/acme/audit?format=text", token_);
    EXPECT_EQ(audit.status, 200);
    for (const auto& row : lines_of(audit.body)) {
      EXPECT_EQ(std::count(row.begin(), row.end(), '\t'), 5) << row;
      EXPECT_NE(row.rfind(kForged, 0), 0u) << row;
    }
    EXPECT_NE(audit.body.find("mal\\tlory\\n" + kForged), std::string::npos) << audit.body;

    service.signal(SIGTERM);
    EXPECT_EQ(service.wait(), 0);
    return service.log();
  }

  static inline std::string hostile_token_;
};

// The one line that is not a log line: `serve` prints its address on stdout
// for scripts, and the harness captures stdout and stderr together.
bool is_listening_line(const std::string& line) {
  return line.rfind("LISTENING 127.0.0.1:", 0) == 0;
}

TEST_F(LogLines, JsonModeWritesOneJsonObjectPerLine) {
  const std::string log = run_traffic("json");
  int parsed = 0;
  int requests = 0;
  bool saw_alg_refusal = false;
  bool saw_failed_job = false;
  for (const auto& line : lines_of(log)) {
    if (is_listening_line(line)) continue;
    json::error_code ec;
    auto v = json::parse(line, ec);  // strict: invalid UTF-8 is an error too
    ASSERT_FALSE(ec) << "not JSON: " << line << "\nwhole log:\n" << log;
    ASSERT_TRUE(v.is_object()) << line;
    const auto& o = v.as_object();
    ASSERT_TRUE(o.contains("ts") && o.at("ts").is_string()) << line;
    ASSERT_TRUE(o.contains("level") && o.at("level").is_string()) << line;
    ASSERT_TRUE(o.contains("msg") && o.at("msg").is_string()) << line;
    ++parsed;
    const std::string msg(o.at("msg").as_string());
    if (msg == "http_request") {
      ++requests;
      for (const char* key :
           {"method", "path", "status", "duration_ms", "request_id", "client_ip", "user_agent"}) {
        EXPECT_TRUE(o.contains(key)) << key << " in " << line;
      }
    }
    if (msg.find("header alg 'HS256\n" + kForged) != std::string::npos) saw_alg_refusal = true;
    // "job …: handler failed for good (NOT_FOUND): pg_dump failed: no matching schemas…"
    if (msg.find("handler failed") != std::string::npos &&
        msg.find("pg_dump failed") != std::string::npos) {
      saw_failed_job = true;
    }
  }
  EXPECT_GE(parsed, 15) << log;
  EXPECT_GE(requests, 8) << log;
  EXPECT_TRUE(saw_alg_refusal) << log;
  EXPECT_TRUE(saw_failed_job) << log;
  EXPECT_NE(log.find("\"level\":\"info\",\"msg\":\"stopped\""), std::string::npos) << log;
}

TEST_F(LogLines, TextModeLetsNoFieldStartALine) {
  const std::string log = run_traffic("text");
  int lines = 0;
  for (const auto& line : lines_of(log)) {
    if (is_listening_line(line)) continue;
    ++lines;
    EXPECT_TRUE(starts_like_a_log_line(line)) << "not a log line: " << line;
    EXPECT_EQ(line.rfind(kForged, 0), std::string::npos) << line;
    EXPECT_EQ(line.find_first_of("\r\x1b"), std::string::npos) << line;
  }
  EXPECT_GE(lines, 15) << log;
  // The forged text is there, escaped, inside the line that logged it.
  EXPECT_NE(log.find("header alg 'HS256\\n" + kForged + " \"x\":\"y\" \\x1b[31m'"),
            std::string::npos)
      << log;
}

}  // namespace
}  // namespace tb::test
