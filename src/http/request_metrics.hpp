// The request metrics: tb_http_requests_total{route,method,status} and
// tb_http_request_duration_seconds{route,method}, where route is the matched
// route's pattern ("unmatched" otherwise), so a path parameter never becomes a
// label. Methods outside the usual seven count as "OTHER" to bound the labels.
// Each series is looked up in the registry once and then cached: the hot path
// only reads atomics.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "http/router.hpp"
#include "metrics/registry.hpp"

namespace tb::http {

class RequestMetrics {
 public:
  // Slot i is routes()[i]; slot routes().size() is "unmatched".
  RequestMetrics(metrics::Registry& registry, const Router& router);

  void record(std::size_t route_slot, std::string_view method, int status, double seconds);

 private:
  static constexpr std::size_t kMethodSlots = 8;   // seven methods + OTHER
  static constexpr std::size_t kStatusSlots = 18;  // the statuses the server answers with
  struct Route {
    std::string label;
    std::array<std::atomic<metrics::Histogram*>, kMethodSlots> duration{};
    std::array<std::array<std::atomic<metrics::Counter*>, kStatusSlots>, kMethodSlots> count{};
  };
  metrics::Registry& registry_;
  std::vector<Route> routes_;
};

}  // namespace tb::http
