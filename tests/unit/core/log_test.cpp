#include "core/log.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

#include "support/log_line.hpp"

namespace tb::log {
namespace {

namespace json = boost::json;
using test::starts_like_a_log_line;

// What `write` sends to stderr (the logger's sink), as lines.
std::vector<std::string> stderr_lines(const std::function<void()>& write) {
  char path[] = "/tmp/tb-log-test-XXXXXX";
  const int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  std::fflush(stderr);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(fd, STDERR_FILENO);
  write();
  spdlog::default_logger()->flush();
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(fd);
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ::unlink(path);
  return lines;
}

// A job error or header value as an attacker would write it.
const std::string kHostile =
    "boom\n2026-01-01T00:00:00.000Z info forged \"q\" \\ \x1b[31m \xFF\xFE end";

void write_samples() {
  spdlog::info("job {}: attempt 1 failed: {}", "j1", kHostile);
  spdlog::warn("plain warning");
  event(Level::kInfo, "http_request",
        {{"path", "/a\"b\r\nc"},
         {"status", 401},
         {"duration_ms", 1.25},
         {"msg", "spoof"},
         {"level", "spoof"}});
}

TEST(Log, JsonModeWritesOneValidObjectPerEvent) {
  init(Format::kJson, "info");
  const auto lines = stderr_lines(write_samples);
  ASSERT_EQ(lines.size(), 3u);
  std::vector<json::object> objects;
  for (const auto& line : lines) {
    json::error_code ec;
    auto v = json::parse(line, ec);  // strict: also refuses invalid UTF-8
    ASSERT_FALSE(ec) << line;
    ASSERT_TRUE(v.is_object()) << line;
    const auto& o = v.as_object();
    ASSERT_TRUE(o.contains("ts") && o.contains("level") && o.contains("msg")) << line;
    EXPECT_TRUE(o.at("msg").is_string()) << line;
    objects.push_back(o);
  }
  EXPECT_EQ(objects[0].at("level"), "info");
  const std::string msg0(objects[0].at("msg").as_string());
  EXPECT_EQ(msg0.find("job j1: attempt 1 failed: boom\n2026-01-01T00:00:00.000Z info forged \"q\" "
                      "\\ \x1b[31m "),
            0u)
      << msg0;
  EXPECT_EQ(objects[1].at("level"), "warning");
  EXPECT_EQ(objects[1].at("msg"), "plain warning");
  // Fields are top-level keys; reserved names cannot be overwritten.
  EXPECT_EQ(objects[2].at("msg"), "http_request");
  EXPECT_EQ(objects[2].at("level"), "info");
  EXPECT_EQ(objects[2].at("path"), "/a\"b\r\nc");
  EXPECT_EQ(objects[2].at("status"), 401);
  EXPECT_EQ(objects[2].at("duration_ms"), 1.25);
}

TEST(Log, TextModeKeepsEveryEventOnOneLine) {
  init(Format::kText, "info");
  const auto lines = stderr_lines(write_samples);
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& line : lines) {
    EXPECT_TRUE(starts_like_a_log_line(line)) << line;
    EXPECT_EQ(line.find_first_of(std::string("\r\x1b", 2)), std::string::npos) << line;
  }
  EXPECT_NE(lines[0].find(
                "boom\\n2026-01-01T00:00:00.000Z info forged \"q\" \\ \\x1b[31m \\xff\\xfe end"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(
      lines[2].find(
          R"( http_request path="/a\"b\r\nc" status=401 duration_ms=1.25 msg=spoof level=spoof)"),
      std::string::npos)
      << lines[2];
}

TEST(Log, TextFieldsAreQuotedWhenTheyCouldPassForOthers) {
  init(Format::kText, "info");
  const auto lines = stderr_lines([] {
    event(Level::kWarn, "e",
          {{"a", "x status=200"}, {"b", ""}, {"c", "back\\slash"}, {"d", "plain-1.2"}});
  });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(R"( e a="x status=200" b="" c="back\\slash" d=plain-1.2)"),
            std::string::npos)
      << lines[0];
}

}  // namespace
}  // namespace tb::log
