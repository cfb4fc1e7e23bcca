// File responses (Response::file): the file is opened and checked
// (FileBody::check, e.g. a checksum over gigabytes) on the server's file pool,
// never on an I/O or handler thread; the Range header then decides 200, 206
// with Content-Range, or 416 (range.hpp); the bytes are streamed in fixed
// chunks, so memory stays bounded whatever the file's size. A file that is
// missing or refused by its check is answered with the error instead.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "http/exchange.hpp"
#include "http/server_state.hpp"
#include "http/types.hpp"

namespace tb::http {

// r.file must be set. Returns whether the connection may serve another request.
boost::asio::awaitable<bool> write_file(ServerState& s, Connection& conn, Exchange& ex, Response& r,
                                        std::string_view range_header);

}  // namespace tb::http
