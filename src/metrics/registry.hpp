// Metrics: a small thread-safe registry of counters, histograms and gauges,
// rendered in the Prometheus text exposition format 0.0.4.
//
// Invariants:
// - A metric family (name) has one type and one help text; asking for the same
//   name with another type throws tb::Error (a programming error, caught early).
// - Labels are stored sorted by name, so {a,b} and {b,a} are one series.
// - Counter/Histogram references stay valid for the registry's lifetime: hot
//   paths look a series up once and then update it lock-free (atomics).
// - Gauges are either set (set_gauge) or computed at scrape time by a
//   collector callback (add_gauge_collector), e.g. "backups by status" from the
//   database; a collector that throws is skipped and logged, never breaking
//   the whole scrape.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tb::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

// The Content-Type of render()'s output.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

class Counter {
 public:
  void inc(double v = 1.0) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  // `bounds` are the upper bounds of the buckets, ascending; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);

  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative count of observations <= bounds()[i]; i == bounds().size() is +Inf.
  std::uint64_t cumulative_count(std::size_t i) const;
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // non-cumulative, size bounds_+1
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

// Default latency buckets in seconds (HTTP requests).
std::vector<double> default_latency_buckets();

struct Sample {
  Labels labels;
  double value = 0;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Counter& counter(std::string_view name, std::string_view help, Labels labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, Labels labels = {},
                       std::vector<double> bounds = default_latency_buckets());
  void set_gauge(std::string_view name, std::string_view help, Labels labels, double value);
  // `collect` is called on every render() (outside the registry lock) and
  // returns the gauge's current series.
  void add_gauge_collector(std::string_view name, std::string_view help,
                           std::function<std::vector<Sample>()> collect);

  // The whole registry in the Prometheus text format 0.0.4, families sorted by name.
  std::string render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
    std::map<Labels, double> gauges;
    std::vector<std::function<std::vector<Sample>()>> collectors;
  };
  Family& family(std::string_view name, std::string_view help, Type type);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace tb::metrics
