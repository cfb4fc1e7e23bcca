#include "http/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <string_view>

#include "core/ids.hpp"
#include "http/dispatch.hpp"
#include "http/middleware.hpp"
#include "http/response_writer.hpp"

namespace tb::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// The client's address as text; an IPv4-mapped IPv6 address as plain IPv4.
std::string peer_of(tcp::socket& socket) {
  beast::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return {};
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  }
  return a.to_string();
}

Exchange begin_exchange(const ServerState& s, const HttpRequest& h, const std::string& peer) {
  Exchange ex;
  ex.method = std::string(h.method_string());
  auto target = h.target();
  ex.log_path = std::string(target.substr(0, target.find('?')));
  ex.api = ex.log_path.starts_with("/api/") || ex.log_path == "/api";
  ex.request_id = request_id_of(h);
  ex.user_agent = std::string(h[bhttp::field::user_agent].substr(0, 512));
  ex.client_ip = client_ip_of(h, peer, s.proxies);
  ex.version = h.version();
  ex.keep_alive = h.keep_alive();
  ex.head = h.method() == bhttp::verb::head;
  ex.route_slot = s.unmatched_slot();
  return ex;
}

// The answer to a request whose header could not be read.
Response unreadable_response(const beast::error_code& ec, const std::string& request_id) {
  if (ec == bhttp::error::body_limit) {
    return error_response(Error(ErrorCode::kPayloadTooLarge, "request body too large"), request_id);
  }
  if (ec == bhttp::error::header_limit) {
    auto r =
        error_response(Error(ErrorCode::kPayloadTooLarge, "request headers too large"), request_id);
    r.status = 431;
    return r;
  }
  return error_response(Error(ErrorCode::kValidation, "malformed HTTP request"), request_id);
}

asio::awaitable<void> session(ServerState& s, Connection& conn) {
  auto& stream = conn.stream;
  const std::string peer = peer_of(stream.socket());
  beast::flat_buffer buffer;
  bool first = true;
  while (!s.is_stopping()) {
    // Between requests the client may stay silent for idle_timeout; once the
    // first byte is in, the whole header must arrive within header_timeout
    // (a client dribbling bytes is dropped). The first request of a
    // connection has header_timeout from the accept.
    if (!first && buffer.size() == 0) {
      stream.expires_after(s.opts.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kTuple);
      if (ec) break;
      buffer.commit(n);
    }
    first = false;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(s.opts.header_limit));
    parser.body_limit(s.opts.body_limit);
    stream.expires_after(s.opts.header_timeout);
    auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
    if (ec) {
      if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
          ec == asio::error::operation_aborted ||
          ec.category() != bhttp::make_error_code(bhttp::error::need_more).category()) {
        break;  // closed, timed out, cancelled or a socket error: nothing to answer
      }
      Exchange ex;
      ex.request_id = new_uuid();
      ex.client_ip = peer;
      ex.route_slot = s.unmatched_slot();
      if (parser.is_header_done()) ex = begin_exchange(s, parser.get(), peer);
      conn.busy = true;
      co_await reject_and_close(s, conn, ex, unreadable_response(ec, ex.request_id));
      break;
    }
    conn.busy = true;
    Exchange ex = begin_exchange(s, parser.get(), peer);
    if (!parser.is_done()) {
      if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        stream.expires_after(s.opts.request_timeout);
        auto [cec, cn] = co_await asio::async_write(
            stream, asio::buffer(kContinue.data(), kContinue.size()), kTuple);
        if (cec) break;
      }
      stream.expires_after(s.opts.request_timeout);
      auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
      if (bec == bhttp::error::body_limit) {
        co_await reject_and_close(s, conn, ex, unreadable_response(bec, ex.request_id));
        break;
      }
      if (bec) break;
    }
    const bool keep = co_await dispatch(s, conn, parser.get(), ex);
    conn.busy = false;
    if (!keep) break;
  }
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.socket().close(ec);
}

}  // namespace

asio::awaitable<void> run_session(ServerState& s, std::shared_ptr<Connection> conn) {
  struct Forget {
    ServerState& s;
    std::shared_ptr<Connection> conn;
    ~Forget() { s.remove(conn); }
  } forget{s, conn};
  co_await session(s, *conn);
}

}  // namespace tb::http
