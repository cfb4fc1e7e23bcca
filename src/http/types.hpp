// The HTTP layer's public vocabulary: what a handler receives (Request) and
// returns (Response), and the route table entry (Route).
//
// Handlers are plain functions run on a blocking thread pool (never on the I/O
// threads): they may call libpq or start child processes. They report failures
// by throwing tb::Error; the server renders it with error_response() and logs
// the internal detail with the request id. Any other exception becomes a
// 500 INTERNAL without detail in the body.
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace tb::http {

// kWork: routes that start work (export, restore, send to Telegram), limited
// by RATE_LIMIT_PER_MINUTE; kRead: READ_RATE_LIMIT_PER_MINUTE; kNone: unlimited
// (health checks, metrics, static assets).
enum class RateClass { kNone, kRead, kWork };

struct Request {
  std::string method;  // "GET" (a HEAD request is routed as GET but keeps "HEAD" here)
  std::string target;  // raw target, e.g. "/api/jobs/1?x=%20"
  std::string path;    // percent-decoded path without query
  std::map<std::string, std::string, std::less<>> query;   // decoded query parameters (last wins)
  std::map<std::string, std::string, std::less<>> params;  // from the route pattern, e.g. {id}
  std::string body;
  std::string
      client_ip;  // socket peer, or X-Forwarded-For's client when the peer is a trusted proxy
  std::string request_id;  // X-Request-Id if sane (<=64 chars [A-Za-z0-9-_]), else generated
  std::vector<std::pair<std::string, std::string>> headers;

  // Case-insensitive; "" when absent (the first one when repeated).
  std::string header(std::string_view name) const;
};

// Stream a file from disk, never loading it whole.
struct FileBody {
  std::string path;
  std::string download_name;  // Content-Disposition: attachment; filename="..." ("" = none)
  // Runs before the first byte is sent, with the file open (the descriptor
  // the response is then read from): e.g. a checksum that may read gigabytes.
  // Opening the file and this check run on the server's file pool, never on
  // an I/O thread or a handler thread, so a slow or huge file cannot starve
  // other requests. Throw tb::Error to answer with that error instead.
  std::function<void(int fd)> check;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, body is ignored and the file is streamed; the HTTP layer handles
  // Range (single range: 206 + Content-Range, 416 when unsatisfiable),
  // Accept-Ranges, HEAD and Content-Length.
  std::optional<FileBody> file;
};

// {"data": data}
Response json_data(boost::json::value data, int status = 200);
// {"error": {"code", "message", "field"?, "request_id"}} with http_status(code).
// Never includes e.detail().
Response error_response(const tb::Error& e, std::string_view request_id);
// A file download (Content-Type application/octet-stream unless given).
Response file_response(std::string path, std::string download_name,
                       std::string content_type = "application/octet-stream");
// An HTML page with the Content-Security-Policy "default-src 'self'" (the UI
// and /docs); `csp` overrides the policy.
Response html_response(std::string body, std::string csp = "default-src 'self'");

// Handlers may modify the request (e.g. move the body out).
using Handler = std::function<Response(Request&)>;

// pattern: "/api/jobs/{id}" (a {name} matches one non-empty segment) or
// "/assets/{*path}" (a last {*name} matches the rest of the path, possibly "").
struct Route {
  std::string method;
  std::string pattern;
  RateClass rate = RateClass::kNone;
  Handler handler;
};

}  // namespace tb::http
