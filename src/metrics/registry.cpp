#include "metrics/registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <exception>

#include "core/error.hpp"

namespace tb::metrics {
namespace {

Labels sorted(Labels labels) {
  std::sort(labels.begin(), labels.end());
  return labels;
}

void append_escaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    out += fmt::format("{}", v);
  }
}

// name{k="v",...,extra_k="extra_v"} value\n
void append_series(std::string& out, std::string_view name, const Labels& labels, double value,
                   std::string_view extra_key = {}, std::string_view extra_value = {}) {
  out += name;
  if (!labels.empty() || !extra_key.empty()) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out += ',';
      first = false;
      out += k;
      out += "=\"";
      append_escaped(out, v, true);
      out += '"';
    }
    if (!extra_key.empty()) {
      if (!first) out += ',';
      out += extra_key;
      out += "=\"";
      out += extra_value;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  append_value(out, value);
  out += '\n';
}

std::string format_bound(double b) {
  std::string s;
  append_value(s, b);
  return s;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  std::sort(bounds_.begin(), bounds_.end());
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) {
  // First bucket whose upper bound is >= v (Prometheus buckets are "le").
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::uint64_t Histogram::cumulative_count(std::size_t i) const {
  std::uint64_t total = 0;
  for (std::size_t j = 0; j <= i && j <= bounds_.size(); ++j) {
    total += buckets_[j].load(std::memory_order_relaxed);
  }
  return total;
}

std::vector<double> default_latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Registry::Family& Registry::family(std::string_view name, std::string_view help, Type type) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it =
        families_.emplace(std::string(name), Family{type, std::string(help), {}, {}, {}, {}}).first;
  } else if (it->second.type != type) {
    throw Error(ErrorCode::kInternal, "internal error",
                "metric '" + std::string(name) + "' registered with two types");
  }
  return it->second;
}

Counter& Registry::counter(std::string_view name, std::string_view help, Labels labels) {
  std::lock_guard lock(mu_);
  auto& f = family(name, help, Type::kCounter);
  auto& slot = f.counters[sorted(std::move(labels))];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help, Labels labels,
                               std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto& f = family(name, help, Type::kHistogram);
  auto& slot = f.histograms[sorted(std::move(labels))];
  if (!slot) slot = std::make_unique<Histogram>(std::move(bounds));
  return *slot;
}

void Registry::set_gauge(std::string_view name, std::string_view help, Labels labels,
                         double value) {
  std::lock_guard lock(mu_);
  family(name, help, Type::kGauge).gauges[sorted(std::move(labels))] = value;
}

void Registry::add_gauge_collector(std::string_view name, std::string_view help,
                                   std::function<std::vector<Sample>()> collect) {
  std::lock_guard lock(mu_);
  family(name, help, Type::kGauge).collectors.push_back(std::move(collect));
}

std::string Registry::render() const {
  // Collectors may be slow (a database query): call them without the lock.
  std::vector<std::pair<std::string, std::function<std::vector<Sample>()>>> collectors;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, f] : families_) {
      for (const auto& c : f.collectors) collectors.emplace_back(name, c);
    }
  }
  std::map<std::string, std::map<Labels, double>, std::less<>> collected;
  for (const auto& [name, collect] : collectors) {
    try {
      for (auto& s : collect()) collected[name][sorted(std::move(s.labels))] = s.value;
    } catch (const std::exception& e) {
      spdlog::warn("metrics collector for '{}' failed: {}", name, e.what());
    }
  }

  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, f] : families_) {
    out += "# HELP ";
    out += name;
    out += ' ';
    append_escaped(out, f.help, false);
    out += "\n# TYPE ";
    out += name;
    switch (f.type) {
      case Type::kCounter:
        out += " counter\n";
        for (const auto& [labels, c] : f.counters) append_series(out, name, labels, c->value());
        break;
      case Type::kGauge: {
        out += " gauge\n";
        auto merged = f.gauges;
        if (auto it = collected.find(name); it != collected.end()) {
          for (const auto& [labels, v] : it->second) merged[labels] = v;
        }
        for (const auto& [labels, v] : merged) append_series(out, name, labels, v);
        break;
      }
      case Type::kHistogram:
        out += " histogram\n";
        for (const auto& [labels, h] : f.histograms) {
          const std::string bucket = name + "_bucket";
          for (std::size_t i = 0; i < h->bounds().size(); ++i) {
            append_series(out, bucket, labels, static_cast<double>(h->cumulative_count(i)), "le",
                          format_bound(h->bounds()[i]));
          }
          // _count is the +Inf bucket, so the two agree even under concurrent observe().
          const auto total = static_cast<double>(h->cumulative_count(h->bounds().size()));
          append_series(out, bucket, labels, total, "le", "+Inf");
          append_series(out, name + "_sum", labels, h->sum());
          append_series(out, name + "_count", labels, total);
        }
        break;
    }
  }
  return out;
}

}  // namespace tb::metrics
