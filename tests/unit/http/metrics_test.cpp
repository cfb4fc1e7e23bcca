#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "metrics/registry.hpp"

namespace tb::metrics {
namespace {

TEST(Metrics, CounterExposition) {
  Registry r;
  r.counter("tb_jobs_total", "Jobs by outcome.", {{"status", "ok"}, {"kind", "export"}}).inc();
  r.counter("tb_jobs_total", "Jobs by outcome.", {{"kind", "export"}, {"status", "ok"}}).inc(2);
  r.counter("tb_jobs_total", "Jobs by outcome.", {{"kind", "restore"}, {"status", "fail\"ed\n"}})
      .inc();
  EXPECT_EQ(r.render(),
            "# HELP tb_jobs_total Jobs by outcome.\n"
            "# TYPE tb_jobs_total counter\n"
            "tb_jobs_total{kind=\"export\",status=\"ok\"} 3\n"
            "tb_jobs_total{kind=\"restore\",status=\"fail\\\"ed\\n\"} 1\n");
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Registry r;
  auto& h = r.histogram("tb_latency_seconds", "Latency.", {{"route", "/x"}}, {0.1, 1});
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(0.5);
  h.observe(7);
  EXPECT_EQ(r.render(),
            "# HELP tb_latency_seconds Latency.\n"
            "# TYPE tb_latency_seconds histogram\n"
            "tb_latency_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n"
            "tb_latency_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
            "tb_latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
            "tb_latency_seconds_sum{route=\"/x\"} 7.65\n"
            "tb_latency_seconds_count{route=\"/x\"} 4\n");
}

TEST(Metrics, GaugesSetAndCollectedAtScrapeTime) {
  Registry r;
  int scrapes = 0;
  r.set_gauge("tb_up", "Up.", {}, 1);
  r.add_gauge_collector("tb_backups", "Backups by status.", [&] {
    ++scrapes;
    return std::vector<Sample>{{{{"status", "completed"}}, 4}, {{{"status", "failed"}}, 1}};
  });
  r.add_gauge_collector("tb_broken", "Broken collector.",
                        []() -> std::vector<Sample> { throw std::runtime_error("db down"); });
  auto text = r.render();
  EXPECT_EQ(scrapes, 1);
  EXPECT_NE(text.find("# TYPE tb_backups gauge\ntb_backups{status=\"completed\"} "
                      "4\ntb_backups{status=\"failed\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE tb_up gauge\ntb_up 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE tb_broken gauge\n"), std::string::npos);  // family kept, no series
  r.render();
  EXPECT_EQ(scrapes, 2);
}

TEST(Metrics, OneTypePerName) {
  Registry r;
  r.counter("tb_x", "x");
  EXPECT_THROW(r.histogram("tb_x", "x"), Error);
  EXPECT_THROW(r.set_gauge("tb_x", "x", {}, 1), Error);
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
  Registry r;
  auto& c = r.counter("tb_c", "c");
  auto& h = r.histogram("tb_h", "h");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(0.003);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000);
  EXPECT_EQ(h.count(), 40000u);
  EXPECT_EQ(h.cumulative_count(1), 0u);  // 0.001 and 0.0025 buckets
  EXPECT_EQ(h.cumulative_count(2), 40000u);
}

}  // namespace
}  // namespace tb::metrics
