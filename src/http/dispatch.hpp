// From a request that was read to its answer: parse the target, route it
// (404, or 405 with Allow), run the route's middleware, call the handler on
// the handler pool (never on an I/O thread; a thrown tb::Error becomes its
// error envelope, anything else a 500 without detail), then write the string
// or file response.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "http/exchange.hpp"
#include "http/server_state.hpp"

namespace tb::http {

// Returns whether the connection may serve another request.
boost::asio::awaitable<bool> dispatch(ServerState& s, Connection& conn, HttpRequest& msg,
                                      Exchange& ex);

}  // namespace tb::http
