// A worker SIGKILLed in the middle of a Telegram upload, through the
// real binaries: `serve --no-worker` for the API, `worker` processes, the fake
// Bot API server, real PostgreSQL and pg_dump.
//
// What the design guarantees (workflows/telegram.hpp): every part Telegram
// confirmed is on record in the job's progress before the next part is sent
// (JobContext::save_progress_now, not the throttled report_progress). So a
// retry re-sends only parts not on record, and of those at most one can
// already be in the chat: the part that was in flight when the worker died
// (sent, reply not yet read). That one appears twice — an orphan message the
// backup does not list — and no other part does.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "support/deployment.hpp"
#include "support/fake_telegram.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/service_process.hpp"

namespace tb::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// "<name>.part003of005" → 3.
int part_index_of(const std::string& file_name) {
  auto at = file_name.rfind(".part");
  if (at == std::string::npos) return 0;
  return std::stoi(file_name.substr(at + 5, 3));
}

std::string sha256_of(const std::string& path) {
  auto out = run_command("sha256sum '" + path + "'");
  return out.substr(0, 64);
}

TEST(TelegramFaults, WorkerKilledMidUploadResendsOnlyTheInFlightPartAndTheBackupIsWhole) {
  auto& pg = PgCluster::shared();
  FakeTelegram fake;
  DeploymentOptions o;
  o.prefix = "tg_faults";
  o.env = {{"JOB_LEASE_SECONDS", "3"},
           {"TELEGRAM_BOT_TOKEN", fake.token()},
           {"TELEGRAM_API_URL", fake.url()},
           {"TELEGRAM_PART_SIZE", "256KiB"}};
  // ~1.3 MB of incompressible bytes: a zstd dump of 5-6 parts of 256 KiB.
  o.seed_sql = R"sql(
    INSERT INTO control_plane.projects (id, slug, name) VALUES ('acme', 'acme', 'Acme');
    INSERT INTO control_plane.backup_settings (project_id, destinations, telegram_chat_id)
      VALUES ('acme', '["local","telegram"]', '-100555');
    CREATE SCHEMA tenant_acme;
    CREATE TABLE tenant_acme.blobs (id int PRIMARY KEY, payload bytea);
    INSERT INTO tenant_acme.blobs
      SELECT g, decode(string_agg(md5(g::text || ':' || i), '' ORDER BY i), 'hex')
      FROM generate_series(1, 100) g, generate_series(1, 800) i GROUP BY g;
  )sql";
  o.serve = {"serve", "--no-worker"};
  Deployment d(o);
  const auto& db = d.db;
  const auto& storage = d.storage;
  const auto& env = d.env;
  const auto& token = d.token;
  auto& api = d.service();

  // Part 1 is answered 2 s late, so part 2 is confirmed right after it (well
  // within report_progress's 250 ms throttle: without the unthrottled save its
  // record would still be pending). Part 3 is stored by "Telegram" at once but
  // answered only after 30 s: the worker is killed while it waits for that reply.
  fake.fault("sendDocument", "delay", 1, json::object{{"seconds", 2}});
  fake.fault("sendDocument", "delay", 1, json::object{{"seconds", 30}, {"skip", 1}});

  auto worker_a = std::make_unique<ServiceProcess>(std::vector<std::string>{"worker"}, env, false);
  auto r = http_post_json(api.base_url() + "/api/backup/export", R"({"project_id":"acme"})", token);
  ASSERT_EQ(r.status, 202) << r.body;
  auto id = std::string(r.json().at("data").at("job_id").as_string());

  auto messages = [&] { return fake.state().at("messages").as_array(); };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (messages().size() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(messages().size(), 3u) << worker_a->log();
  worker_a->signal(SIGKILL);
  worker_a->wait();
  auto killed_log = worker_a->log();
  worker_a.reset();

  // What the killed attempt left on record: parts 1 and 2, confirmed before
  // part 3 was sent. Part 3 is in the chat but was never confirmed.
  auto progress = json::parse(
      pg.query_value(db, "SELECT progress FROM control_plane.jobs WHERE id = '" + id + "'"));
  const auto& tg = progress.at("telegram").as_object();
  const auto part_count = tg.at("part_count").to_number<int>();
  ASSERT_GE(part_count, 4) << json::serialize(progress);
  const auto& recorded = tg.at("parts").as_array();
  ASSERT_EQ(recorded.size(), 2u) << "a confirmed part was not on record when the next was sent: "
                                 << json::serialize(progress) << killed_log;
  std::map<int, std::int64_t> recorded_message_ids;
  for (const auto& p : recorded)
    recorded_message_ids[p.at("index").to_number<int>()] = p.at("message_id").as_int64();
  EXPECT_EQ(recorded_message_ids.size(), 2u);
  EXPECT_EQ(pg.query_value(db, "SELECT count(*) FROM control_plane.backups"), "0");

  // A fresh worker takes the job over once the lease of the dead one expires.
  ServiceProcess worker_b({"worker"}, env, false);
  auto job = poll_job(api.base_url(), token, id, job_ended, 120, [&] { return worker_b.log(); });
  ASSERT_EQ(job.at("status").as_string(), "completed") << json::serialize(job) << worker_b.log();
  EXPECT_EQ(job.at("attempts").as_int64(), 2);
  EXPECT_NE(json::serialize(job.at("errors")).find("lease expired"), std::string::npos)
      << json::serialize(job);
  EXPECT_EQ(
      pg.query_value(db, "SELECT count(*) FROM control_plane.backups WHERE status = 'completed'"),
      "1");
  EXPECT_EQ(pg.query_value(db, "SELECT count(*) FROM control_plane.backups"), "1");

  // The chat: parts 1-2 once (not re-sent), part 3 twice (the in-flight one:
  // the killed attempt's unconfirmed message plus the retry's), the rest once.
  std::map<int, int> sent;
  for (const auto& m : messages())
    ++sent[part_index_of(std::string(m.at("file_name").as_string()))];
  ASSERT_EQ(static_cast<int>(sent.size()), part_count) << json::serialize(fake.state());
  for (int i = 1; i <= part_count; ++i) {
    EXPECT_EQ(sent[i], i == 3 ? 2 : 1) << "part " << i << " was sent " << sent[i] << " times";
  }

  // The backup lists every part once, reusing the first attempt's messages
  // for parts 1-2 and the retry's (confirmed) message for part 3.
  auto backup_id = std::string(job.at("result").at("backup_id").as_string());
  auto b = http_get(api.base_url() + "/api/backups/" + backup_id, token);
  ASSERT_EQ(b.status, 200) << b.body;
  const json::object* location = nullptr;
  std::string local_path;
  auto backup = b.json();
  for (const auto& l : backup.at("data").at("locations").as_array()) {
    if (l.at("type") == "telegram") location = &l.as_object();
    if (l.at("type") == "local") local_path = std::string(l.at("path").as_string());
  }
  ASSERT_NE(location, nullptr) << b.body;
  const auto& parts = location->at("parts").as_array();
  ASSERT_EQ(static_cast<int>(parts.size()), part_count);
  for (const auto& p : parts) {
    auto index = p.at("index").to_number<int>();
    if (index <= 2) {
      EXPECT_EQ(p.at("message_id").as_int64(), recorded_message_ids[index]) << "part " << index;
    }
  }

  // The retry reused the killed attempt's local copy: one file, the listed
  // one, and no temporary file anywhere under STORAGE_DIR.
  ASSERT_FALSE(local_path.empty()) << b.body;
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(storage)) {
    EXPECT_NE(e.path().filename().string().front(), '.') << "left behind: " << e.path();
    files += e.is_regular_file();
  }
  EXPECT_EQ(files, 1);
  EXPECT_TRUE(fs::exists(fs::path(storage) / local_path));

  // From the Telegram parts alone: the local copy deleted, a fetch job brings
  // it back, and the download has the SHA-256 the job recorded.
  fs::remove(fs::path(storage) / local_path);
  auto fetch = http_post_json(api.base_url() + "/api/backups/" + backup_id + "/fetch", "", token);
  ASSERT_EQ(fetch.status, 202) << fetch.body;
  auto fetched =
      poll_job(api.base_url(), token, std::string(fetch.json().at("data").at("job_id").as_string()),
               job_ended, 120, [&] { return worker_b.log(); });
  ASSERT_EQ(fetched.at("status").as_string(), "completed")
      << json::serialize(fetched) << worker_b.log();
  auto dl = http_get(api.base_url() + "/api/backups/" + backup_id + "/download", token);
  ASSERT_EQ(dl.status, 200) << dl.body << api.log();
  auto dir = make_temp_dir("tb-tg-faults-dl");
  std::ofstream(dir + "/dump.sql.zst", std::ios::binary) << dl.body;
  EXPECT_EQ(sha256_of(dir + "/dump.sql.zst"),
            std::string(job.at("result").at("sha256").as_string()));
  EXPECT_EQ(static_cast<std::int64_t>(dl.body.size()),
            job.at("result").at("size_bytes").to_number<std::int64_t>());
}

}  // namespace
}  // namespace tb::test
