#include "http/listener.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "http/log_failure.hpp"
#include "http/session.hpp"

namespace tb::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

Listener::Listener(ServerState& s) : s_(s), acceptor_(asio::make_strand(s.ioc)) {}

void Listener::open() {
  const std::string where = s_.opts.host + ":" + std::to_string(s_.opts.port);
  boost::system::error_code ec;
  tcp::resolver resolver(s_.ioc);
  auto results = resolver.resolve(s_.opts.host, std::to_string(s_.opts.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    throw Error(ErrorCode::kInternal, "cannot listen on '" + where + "'", ec.message());
  }
  auto ep = results.begin()->endpoint();
  // Opened close-on-exec (acceptor.open() would not be): a pg_dump started
  // by this process must not hold the port after the service exits.
  int fd = ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, ep.protocol().protocol());
  if (fd < 0) ec.assign(errno, boost::system::system_category());
  if (!ec) acceptor_.assign(ep.protocol(), fd, ec);
  if (ec && fd >= 0) ::close(fd);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw Error(ErrorCode::kInternal, "cannot listen on '" + where + "'", ec.message());
  port_ = acceptor_.local_endpoint().port();
}

void Listener::start() {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), LogFailure{"http accept loop"});
}

void Listener::close() {
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
}

asio::awaitable<void> Listener::accept_loop() {
  while (!s_.stopping.load()) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(s_.ioc), kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
      // EMFILE and friends: back off instead of spinning.
      spdlog::warn("http accept failed: {} ({})", ec.message(), ec.value());
      asio::steady_timer t(acceptor_.get_executor(), std::chrono::milliseconds(100));
      co_await t.async_wait(kTuple);
      continue;
    }
    // Asio accepts with accept(2), not accept4(SOCK_CLOEXEC): mark the
    // connection close-on-exec so a program started later cannot keep it.
    if (::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC) != 0) {
      spdlog::warn("http accept: cannot mark the connection close-on-exec: {}",
                   std::strerror(errno));
    }
    boost::system::error_code nec;
    socket.set_option(tcp::no_delay(true), nec);
    auto conn = std::make_shared<Connection>(std::move(socket));
    if (!s_.add(conn)) break;
    auto ex = conn->stream.get_executor();
    asio::co_spawn(ex, run_session(s_, std::move(conn)), LogFailure{"http session"});
  }
}

}  // namespace tb::http
