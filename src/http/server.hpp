// The HTTP server: a Boost.Beast listener with one C++20 coroutine per
// connection (the shape of Beast's awaitable "advanced server" example).
//
// Per request: a fresh parser with the body limit (413, then close), header
// and idle timeouts on the stream (slowloris clients are dropped), routing
// (404 / 405 + Allow), per-client-IP rate limiting by the route's RateClass
// (429 + Retry-After + RateLimit headers, checked before the handler), 415 for
// non-JSON bodies, then the handler on a separate thread pool — never on the
// I/O threads; a file response is opened and checked on a third pool, the
// file pool, so neither kind of thread waits for a disk. Every response gets X-Request-Id and
// X-Content-Type-Options; /api responses get Cache-Control: no-store. One log line per request
// (method, path without query, status, duration, request id, client ip; never
// headers or bodies) and the metrics tb_http_requests_total{route,method,status}
// and tb_http_request_duration_seconds{route,method} (route = the pattern).
//
// Life cycle: start() binds and returns when listening; stop() (any thread,
// also from a handler or a signal) stops accepting, closes idle connections,
// lets in-flight requests finish for up to shutdown_timeout, then closes the
// rest; wait() blocks until all threads are joined. stop() called from outside
// the server's own threads also waits. stop_on_signals() makes SIGINT/SIGTERM
// call stop(): the app then only needs start(); stop_on_signals(); wait().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "http/router.hpp"
#include "metrics/registry.hpp"

namespace tb::http {

struct ServerOptions {
  std::string host = "127.0.0.1";  // an IP literal or a resolvable name
  std::uint16_t port = 0;          // 0 = any free port (see Server::port())
  int io_threads = 2;
  int handler_threads = 8;
  int file_threads = 2;  // open and check files of file responses (FileBody::check)
  std::size_t body_limit = std::size_t{64} * 1024;
  std::size_t header_limit = std::size_t{16} * 1024;  // larger headers: 431, then close
  std::chrono::seconds header_timeout{10};            // to receive a request's headers
  std::chrono::seconds idle_timeout{60};              // keep-alive wait for the next request
  std::chrono::seconds request_timeout{30};           // to receive a body / to send each write
  std::chrono::seconds shutdown_timeout{10};          // stop(): how long in-flight requests may run
  int read_limit_per_minute = 1200;                   // <= 0 disables
  int work_limit_per_minute = 10;                     // <= 0 disables
  std::vector<std::string> trusted_proxies;           // IPs / CIDRs (TRUSTED_PROXIES)
  const tb::Clock* clock = nullptr;                   // rate limiting; nullptr = RealClock
};

class Server {
 public:
  // Throws tb::Error (VALIDATION_ERROR) on bad trusted_proxies.
  Server(ServerOptions options, Router router, tb::metrics::Registry& registry);
  ~Server();  // stop() + wait()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and spawns the I/O threads. Throws tb::Error (kInternal,
  // public message naming host:port) when the address cannot be bound.
  void start();
  uint16_t port() const;  // the bound port (after start())
  void stop();
  void wait();
  void stop_on_signals();  // SIGINT / SIGTERM → stop(); call before or after start()

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tb::http
