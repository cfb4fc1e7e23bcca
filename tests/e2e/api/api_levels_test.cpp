// Compression levels through the real binary: an export is adaptive unless a
// level is asked for (per export, or in the project's settings); the backup
// records the levels it used, and it restores either way. Bad levels are
// refused with VALIDATION_ERROR naming compression_level.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "api_fixture.hpp"
#include "support/http_client.hpp"

namespace tb::test {
namespace {

namespace json = boost::json;

TEST_F(ApiTest, AnAdaptiveExportRecordsItsLevelsAndRestores) {
  auto job = export_and_wait(R"({"project_id":"acme"})");
  ASSERT_EQ(job.at("status").as_string(), "completed") << json::serialize(job) << server_->log();
  const auto id = std::string(job.at("result").at("backup_id").as_string());
  auto backup = http_get(url("/api/backups/" + id), token_).json().at("data").as_object();
  ASSERT_TRUE(backup.at("compression_level").is_object()) << json::serialize(backup);
  const auto& levels = backup.at("compression_level").as_object();
  EXPECT_EQ(levels.at("requested"), "adaptive");
  // Within the server's default bounds (1..6), lowest <= last <= highest.
  const auto lowest = levels.at("lowest").as_int64();
  const auto highest = levels.at("highest").as_int64();
  const auto last = levels.at("last").as_int64();
  EXPECT_GE(lowest, 1);
  EXPECT_LE(highest, 6);
  EXPECT_LE(lowest, last);
  EXPECT_LE(last, highest);
  expect_restores(download_to_file(id), "sql", "zstd");
}

TEST_F(ApiTest, FixedLevelsComeFromTheExportOrTheProjectAndAreRecorded) {
  HttpRequest put{"PUT",
                  url("/api/projects/acme/backup-settings"),
                  R"({"compression":"zstd","compression_level":9})",
                  {"Content-Type: application/json", "Authorization: Bearer " + token_}};
  auto r = http_call(put);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("data").at("compression_level"), 9);

  const auto levels_of = [&](const json::object& job) {
    const auto id = std::string(job.at("result").at("backup_id").as_string());
    auto b = http_get(url("/api/backups/" + id), token_).json().at("data").as_object();
    return std::make_pair(id, b.at("compression_level"));
  };
  // The project's level.
  auto job = export_and_wait(R"({"project_id":"acme"})");
  ASSERT_EQ(job.at("status").as_string(), "completed") << json::serialize(job);
  auto [id, levels] = levels_of(job);
  EXPECT_EQ(levels, json::parse(R"({"requested":9,"lowest":9,"highest":9,"last":9})"));
  expect_restores(download_to_file(id), "sql", "zstd");
  // The export's own level wins.
  job = export_and_wait(R"({"project_id":"acme","compression_level":2})");
  ASSERT_EQ(job.at("status").as_string(), "completed") << json::serialize(job);
  EXPECT_EQ(levels_of(job).second,
            json::parse(R"({"requested":2,"lowest":2,"highest":2,"last":2})"));
  // gzip is not the project's compression: its default level, not 9.
  job = export_and_wait(R"({"project_id":"acme","compression":"gzip"})");
  ASSERT_EQ(job.at("status").as_string(), "completed") << json::serialize(job);
  EXPECT_EQ(levels_of(job).second,
            json::parse(R"({"requested":"adaptive","lowest":5,"highest":5,"last":5})"));
  // No compression, no level.
  job = export_and_wait(R"({"project_id":"acme","compress":false})");
  ASSERT_EQ(job.at("status").as_string(), "completed") << json::serialize(job);
  EXPECT_TRUE(levels_of(job).second.is_null());

  // Switching the project to "none" drops a level it cannot take.
  put.body = R"({"compression":"none"})";
  r = http_call(put);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("data").at("compression_level"), "adaptive");
  put.body = R"({"compression":"zstd","compression_level":"adaptive"})";
  ASSERT_EQ(http_call(put).status, 200);
}

TEST_F(ApiTest, LevelsACompressionCannotTakeAreRefused) {
  const auto refused = [&](const std::string& method, const std::string& path,
                           const std::string& body) {
    SCOPED_TRACE(body);
    HttpRequest req{method,
                    url(path),
                    body,
                    {"Content-Type: application/json", "Authorization: Bearer " + token_}};
    auto r = http_call(req);
    EXPECT_EQ(r.status, 400) << r.body;
    const auto err = r.json().at("error").as_object();
    EXPECT_EQ(err.at("code"), "VALIDATION_ERROR");
    EXPECT_EQ(err.at("field"), "compression_level") << r.body;
    return std::string(err.at("message").as_string());
  };
  const std::string exp = "/api/backup/export";
  const std::string set = "/api/projects/acme/backup-settings";
  EXPECT_NE(refused("POST", exp, R"({"project_id":"acme","compression_level":20})").find("1 to 19"),
            std::string::npos);
  refused("POST", exp, R"({"project_id":"acme","compression_level":0})");
  refused("POST", exp, R"({"project_id":"acme","compression_level":"fast"})");
  refused("POST", exp, R"({"project_id":"acme","compression_level":"3"})");
  EXPECT_NE(
      refused("POST", exp, R"({"project_id":"acme","compression":"gzip","compression_level":15})")
          .find("1 to 12"),
      std::string::npos);
  refused("POST", exp, R"({"project_id":"acme","compress":false,"compression_level":3})");
  refused("PUT", set, R"({"compression_level":25})");
  refused("PUT", set, R"({"compression":"gzip","compression_level":13})");
  EXPECT_EQ(value("SELECT count(*) FROM control_plane.backup_settings "
                  "WHERE project_id = 'acme' AND compression_level <> 'adaptive'"),
            "0");
}

}  // namespace
}  // namespace tb::test
