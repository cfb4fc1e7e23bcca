// The access log: one line per answered request, written through log::event
// (so the text and JSON formats escape what the client sent). It holds the
// method, the path without the query, status, duration, request id, client ip
// and user agent; never other headers, the query or a body, which may hold
// tokens.
#pragma once

#include "http/exchange.hpp"

namespace tb::http {

void log_request(const Exchange& ex, int status, double seconds);

}  // namespace tb::http
