// Middleware: plain functions around a route's handler. Which ones a request
// goes through is decided in one place, middleware.cpp's table per RateClass.
//
// - Before routing, every request: its request id (X-Request-Id when sane,
//   <= 64 chars of [A-Za-z0-9-_], else a new one) and its client address (the
//   peer, or X-Forwarded-For's client when the peer is a trusted proxy).
// - After routing, by the route's RateClass: kRead and kWork routes are rate
//   limited per client, each class on its own budget (RateLimit-Policy and
//   RateLimit headers; 429 + Retry-After when over), checked before the
//   handler runs; kNone routes (health, metrics, static assets) are not
//   limited. Every route then refuses a request body that is not JSON (415).
// - Every response: X-Content-Type-Options: nosniff, X-Request-Id,
//   Cache-Control: no-store on /api, the middleware's headers, and
//   Connection: close once the server is stopping.
#pragma once

#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "http/exchange.hpp"
#include "http/rate_limiter.hpp"
#include "http/trusted_proxies.hpp"
#include "http/types.hpp"

namespace tb::http {

struct ServerOptions;

// The rate limiters' state, one bucket map per limited RateClass.
struct Limits {
  Limits(const ServerOptions& opts, const tb::Clock& clock);
  RateLimiter read;
  RateLimiter work;
};

std::string request_id_of(const HttpRequest& h);
std::string client_ip_of(const HttpRequest& h, const std::string& peer,
                         const TrustedProxies& proxies);

// Runs the middleware of `rate` in order. nullopt: on to the handler; an
// error: the answer instead (ex.extra_headers may have grown either way).
std::optional<Error> run_middleware(Limits& limits, RateClass rate, const HttpRequest& msg,
                                    Exchange& ex);

// The headers every response carries. Res: a Beast response of any body.
template <class Res>
void stamp_response(Res& res, const Exchange& ex, bool stopping) {
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Request-Id", ex.request_id);
  if (ex.api) res.set(boost::beast::http::field::cache_control, "no-store");
  for (const auto& [k, v] : ex.extra_headers) res.insert(k, v);
  res.keep_alive(ex.keep_alive && !stopping);
}

}  // namespace tb::http
