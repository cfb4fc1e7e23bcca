// Load through the real binary: 100 export requests at once from 31 client
// addresses (through a trusted proxy's X-Forwarded-For). Each address gets
// exactly its rate-limit bucket, the service stays within its worker and
// connection bounds, and every accepted job completes.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/deployment.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"

namespace tb::test {
namespace {

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
  std::mutex
      db_mu;  // the test's own queries never overlap, so only the sampler's connection is open
  std::thread sampler([&] {
    while (running) {
      try {
        std::lock_guard db_lock(db_mu);
        auto v = pg.query_value(
            db,
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
      HttpRequest r{"POST",
                    server.base_url() + "/api/backup/export",
                    R"({"project_id":"acme"})",
                    {"Content-Type: application/json", "Authorization: Bearer " + token,
                     "X-Forwarded-For: " + ip}};
      auto resp = http_call(r);
      Result res{ip, resp.status, resp.header("retry-after"), ""};
      if (resp.status == 202)
        res.job_id = std::string(resp.json().at("data").at("job_id").as_string());
      std::lock_guard lock(mu);
      results.push_back(res);
    }
  };
  for (int c = 0; c < 30; ++c)
    clients.emplace_back(client, "198.51.100." + std::to_string(c + 1), 2);
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
    auto counts = pg.query_value(
        db,
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
  std::cout << "load: " << done << " jobs completed; max running jobs " << max_running << " (limit "
            << kConcurrency << "), max connections " << max_connections << " (bound "
            << connection_bound << ")\n";
  // Two exports of one project in the same second once collided on the file
  // name; every accepted job must complete.
  EXPECT_EQ(done, "62/62") << server.log();
  EXPECT_EQ(
      pg.query_value(db, "SELECT count(*) FROM control_plane.backups WHERE status = 'completed'"),
      "62");
}

}  // namespace
}  // namespace tb::test
