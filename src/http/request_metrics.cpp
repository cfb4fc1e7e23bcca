#include "http/request_metrics.hpp"

#include <optional>

namespace tb::http {
namespace {

constexpr std::array<std::string_view, 7> kMethods = {"GET",   "HEAD",   "POST",   "PUT",
                                                      "PATCH", "DELETE", "OPTIONS"};

std::size_t method_slot(std::string_view m) {
  for (std::size_t i = 0; i < kMethods.size(); ++i) {
    if (kMethods[i] == m) return i;
  }
  return kMethods.size();
}

std::string method_label(std::size_t slot) {
  return std::string(slot < kMethods.size() ? kMethods[slot] : "OTHER");
}

// Statuses with a cached counter; others go through the registry each time.
constexpr std::array<int, 18> kStatuses = {200, 201, 202, 204, 206, 400, 401, 403, 404,
                                           405, 409, 413, 415, 416, 429, 431, 500, 503};

std::optional<std::size_t> status_slot(int status) {
  for (std::size_t i = 0; i < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) return i;
  }
  return std::nullopt;
}

}  // namespace

static_assert(kMethods.size() + 1 == 8 && kStatuses.size() == 18,
              "RequestMetrics' slot counts must match the tables");

RequestMetrics::RequestMetrics(metrics::Registry& registry, const Router& router)
    : registry_(registry), routes_(router.routes().size() + 1) {
  for (std::size_t i = 0; i < router.routes().size(); ++i)
    routes_[i].label = router.routes()[i].pattern;
  routes_.back().label = "unmatched";
}

void RequestMetrics::record(std::size_t route_slot, std::string_view method, int status,
                            double seconds) {
  auto& rm = routes_[route_slot];
  const std::size_t ms = method_slot(method);
  auto* h = rm.duration[ms].load(std::memory_order_acquire);
  if (h == nullptr) {
    h = &registry_.histogram("tb_http_request_duration_seconds",
                             "HTTP request duration in seconds.",
                             {{"route", rm.label}, {"method", method_label(ms)}});
    rm.duration[ms].store(h, std::memory_order_release);
  }
  h->observe(seconds);
  metrics::Counter* c = nullptr;
  auto ss = status_slot(status);
  if (ss) c = rm.count[ms][*ss].load(std::memory_order_acquire);
  if (c == nullptr) {
    c = &registry_.counter(
        "tb_http_requests_total", "HTTP requests by route, method and status.",
        {{"route", rm.label}, {"method", method_label(ms)}, {"status", std::to_string(status)}});
    if (ss) rm.count[ms][*ss].store(c, std::memory_order_release);
  }
  c->inc();
}

}  // namespace tb::http
