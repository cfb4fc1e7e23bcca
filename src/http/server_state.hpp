// What the listener, the sessions and the server's life cycle share: the
// options, the route table, the middleware's state, the request metrics, the
// io_context and the two blocking pools, and the set of open connections that
// a shutdown walks. Internal to http/.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "http/middleware.hpp"
#include "http/request_metrics.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/trusted_proxies.hpp"

namespace tb::http {

// The server whose thread we are on (an I/O thread, or a handler running on
// its pool): stop() from there must not wait for itself.
inline thread_local const void* t_current_server = nullptr;

// One accepted connection.
struct Connection {
  explicit Connection(boost::asio::ip::tcp::socket&& s) : stream(std::move(s)) {}
  boost::beast::tcp_stream stream;
  bool busy = false;  // a request is being handled; touched only on the connection's strand
};

struct ServerState {
  ServerState(ServerOptions o, Router r, metrics::Registry& registry);
  ~ServerState();
  ServerState(const ServerState&) = delete;
  ServerState& operator=(const ServerState&) = delete;

  ServerOptions opts;
  Router router;
  TrustedProxies proxies;
  Limits limits;
  RequestMetrics metrics;

  std::mutex mu;  // guards conns and the stopping transition
  std::unordered_set<std::shared_ptr<Connection>> conns;
  std::atomic<bool> stopping{false};
  bool started = false;  // guarded by mu

  // Declared after conns and mu: destroying the io_context destroys suspended
  // coroutine frames, whose clean-up touches them.
  boost::asio::io_context ioc;
  boost::asio::thread_pool handler_pool;  // route handlers (libpq, child processes)
  boost::asio::thread_pool file_pool;     // opening and checking files of file responses

  bool is_stopping() const { return stopping.load(std::memory_order_relaxed); }
  std::size_t unmatched_slot() const { return router.routes().size(); }

  // Registers an accepted connection; false once stopping (drop it then).
  bool add(const std::shared_ptr<Connection>& c);
  void remove(const std::shared_ptr<Connection>& c);
  std::size_t connection_count();
  std::vector<std::shared_ptr<Connection>> connections();
};

}  // namespace tb::http
