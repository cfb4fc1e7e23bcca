// One coroutine per connection (the shape of Beast's awaitable server): read
// each request with a fresh parser (header and body limits: 431 or 413, then
// close), with the idle, header and request timeouts on the stream (a client
// dribbling its header is dropped), answer 100-continue, hand the request to
// dispatch(), and loop while keep-alive holds. Once the server is stopping,
// the session ends after the response in flight (written with
// Connection: close). The connection leaves the server's set when it ends.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>

#include "http/server_state.hpp"

namespace tb::http {

boost::asio::awaitable<void> run_session(ServerState& s, std::shared_ptr<Connection> conn);

}  // namespace tb::http
