// End to end through the real binary: downloading a backup. Range requests,
// signed links, a damaged file refused, the stored file hashed once per
// version (not per request), and range requests on a slow file that do not
// stall other calls.
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
#include <vector>

#include "api_fixture.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"

namespace tb::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

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

TEST_F(ApiTest, DownloadSupportsRangesAndRefusesADamagedFile) {
  auto job = export_and_wait(R"({"project_id":"acme","compress":false})");
  auto backup_id = std::string(job.at("result").at("backup_id").as_string());
  auto full = http_get(url("/api/backups/" + backup_id + "/download"), token_);
  ASSERT_EQ(full.status, 200);
  HttpRequest range{"GET",
                    url("/api/backups/" + backup_id + "/download"),
                    "",
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
  auto path = value("SELECT locations->0->>'path' FROM control_plane.backups WHERE id = '" +
                    backup_id + "'");
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

TEST_F(ApiTest, ADownloadHashesTheStoredFileOncePerVersionNotPerRequest) {
  auto job = export_and_wait(R"({"project_id":"acme","compress":false})");
  auto backup_id = std::string(job.at("result").at("backup_id").as_string());
  auto file = storage_ + "/" +
              value("SELECT locations->0->>'path' FROM control_plane.backups WHERE id = '" +
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
  auto backup_id = value(
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
  exec("UPDATE control_plane.backups SET status = 'deleted', deleted_at = now() WHERE id = '" +
       backup_id + "'");
}

}  // namespace
}  // namespace tb::test
