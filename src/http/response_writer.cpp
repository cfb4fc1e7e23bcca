#include "http/response_writer.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/write.hpp>

#include "http/access_log.hpp"
#include "http/middleware.hpp"

namespace tb::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

void record(ServerState& s, const Exchange& ex, int status) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - ex.start).count();
  s.metrics.record(ex.route_slot, ex.method, status, seconds);
  log_request(ex, status, seconds);
}

asio::awaitable<bool> write_response(ServerState& s, Connection& conn, Exchange& ex, Response& r) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), ex.version};
  res.set(bhttp::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) res.insert(k, v);
  stamp_response(res, ex, s.is_stopping());
  if (ex.head) {
    res.content_length(r.body.size());
  } else {
    res.body() = std::move(r.body);
    res.prepare_payload();
  }
  conn.stream.expires_after(s.opts.request_timeout);
  auto [ec, n] = co_await bhttp::async_write(conn.stream, res, kTuple);
  record(s, ex, r.status);
  co_return !ec && res.keep_alive();
}

asio::awaitable<bool> write_error(ServerState& s, Connection& conn, Exchange& ex, const Error& e) {
  auto r = error_response(e, ex.request_id);
  co_return co_await write_response(s, conn, ex, r);
}

asio::awaitable<void> reject_and_close(ServerState& s, Connection& conn, Exchange& ex, Response r) {
  ex.keep_alive = false;
  co_await write_response(s, conn, ex, r);
  boost::beast::error_code ec;
  conn.stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  std::array<char, 16 * 1024> scratch;
  std::size_t drained = 0;
  conn.stream.expires_after(std::chrono::seconds(1));
  while (drained < 4 * 1024 * 1024) {
    auto [rec, n] = co_await conn.stream.async_read_some(asio::buffer(scratch), kTuple);
    if (rec) break;
    drained += n;
  }
}

}  // namespace tb::http
