// Writing an answer on a connection: a handler's in-memory Response, an error
// envelope, and the refusal that closes a connection whose client may still be
// sending. Every answered request is recorded once, after its last byte: the
// request metrics and the access log line. File responses: file_response.hpp.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "core/error.hpp"
#include "http/exchange.hpp"
#include "http/server_state.hpp"
#include "http/types.hpp"

namespace tb::http {

// The metrics and the access log line of an answered request.
void record(ServerState& s, const Exchange& ex, int status);

// These return whether the connection may serve another request.
boost::asio::awaitable<bool> write_response(ServerState& s, Connection& conn, Exchange& ex,
                                            Response& r);
boost::asio::awaitable<bool> write_error(ServerState& s, Connection& conn, Exchange& ex,
                                         const Error& e);

// Answers with `r` and closes without resetting: the client may still be
// sending a body we refused, and closing with unread data makes TCP send a
// reset that can destroy our response before the client reads it.
boost::asio::awaitable<void> reject_and_close(ServerState& s, Connection& conn, Exchange& ex,
                                              Response r);

}  // namespace tb::http
