#include "http/middleware.hpp"

#include <boost/beast/core/string.hpp>
#include <span>

#include "core/ids.hpp"
#include "core/text.hpp"
#include "http/server.hpp"

namespace tb::http {
namespace {

namespace bhttp = boost::beast::http;

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// "application/json" with optional parameters ("; charset=utf-8").
bool is_json_content_type(std::string_view ct) {
  return boost::beast::iequals(trim(ct.substr(0, ct.find(';'))), "application/json");
}

std::optional<Error> rate_limit(RateLimiter& limiter, Exchange& ex) {
  if (limiter.limit() <= 0) return std::nullopt;
  auto d = limiter.check(ex.client_ip);
  ex.extra_headers.emplace_back("RateLimit-Policy", limiter.policy());
  ex.extra_headers.emplace_back("RateLimit", ratelimit_header(d));
  if (d.allowed) return std::nullopt;
  ex.extra_headers.emplace_back("Retry-After", std::to_string(d.retry_after.count()));
  return Error(ErrorCode::kRateLimited, "too many requests, retry later");
}

// The middleware, one signature.
std::optional<Error> limit_reads(Limits& limits, const HttpRequest&, Exchange& ex) {
  return rate_limit(limits.read, ex);
}

std::optional<Error> limit_work(Limits& limits, const HttpRequest&, Exchange& ex) {
  return rate_limit(limits.work, ex);
}

std::optional<Error> require_json_body(Limits&, const HttpRequest& msg, Exchange&) {
  const auto m = msg.method();
  const bool has_body = m == bhttp::verb::post || m == bhttp::verb::put || m == bhttp::verb::patch;
  if (!has_body || msg.body().empty() || is_json_content_type(msg[bhttp::field::content_type])) {
    return std::nullopt;
  }
  return Error(ErrorCode::kUnsupportedMedia, "request body must be application/json");
}

using Middleware = std::optional<Error> (*)(Limits&, const HttpRequest&, Exchange&);

// The composition: each rate class's middleware, in order.
std::span<const Middleware> middleware_for(RateClass rate) {
  static constexpr Middleware kNone[] = {require_json_body};
  static constexpr Middleware kRead[] = {limit_reads, require_json_body};
  static constexpr Middleware kWork[] = {limit_work, require_json_body};
  switch (rate) {
    case RateClass::kRead:
      return kRead;
    case RateClass::kWork:
      return kWork;
    case RateClass::kNone:
      break;
  }
  return kNone;
}

}  // namespace

Limits::Limits(const ServerOptions& opts, const tb::Clock& clock)
    : read(opts.read_limit_per_minute, clock), work(opts.work_limit_per_minute, clock) {}

std::string request_id_of(const HttpRequest& h) {
  auto rid = h["X-Request-Id"];
  return sane_request_id(rid) ? std::string(rid) : new_uuid();
}

std::string client_ip_of(const HttpRequest& h, const std::string& peer,
                         const TrustedProxies& proxies) {
  if (proxies.empty()) return peer;
  std::string xff;
  for (auto [it, end] = h.equal_range("X-Forwarded-For"); it != end; ++it) {
    if (!xff.empty()) xff += ',';
    xff += it->value();
  }
  return proxies.client_ip(peer, xff);
}

std::optional<Error> run_middleware(Limits& limits, RateClass rate, const HttpRequest& msg,
                                    Exchange& ex) {
  for (Middleware m : middleware_for(rate)) {
    if (auto refused = m(limits, msg, ex)) return refused;
  }
  return std::nullopt;
}

}  // namespace tb::http
