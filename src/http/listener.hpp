// The listener: binds the listening socket (close-on-exec, so a child process
// such as pg_dump cannot keep the port after the service exits), accepts
// connections (close-on-exec, TCP_NODELAY), registers each with the server
// and spawns its session. Accept errors (EMFILE...) are logged and retried
// after a pause instead of spinning.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>

#include "http/server_state.hpp"

namespace tb::http {

class Listener {
 public:
  explicit Listener(ServerState& s);

  // Resolves opts.host and binds opts.port. Throws tb::Error (kInternal,
  // public message naming host:port) when the address cannot be bound.
  void open();
  std::uint16_t port() const { return port_.load(); }
  // Spawns the accept loop on the io_context (it runs once its threads do).
  void start();
  // From any thread: stops accepting; the accept loop ends.
  void close();

 private:
  boost::asio::awaitable<void> accept_loop();

  ServerState& s_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<std::uint16_t> port_{0};
};

}  // namespace tb::http
