// What the server knows about the request it is answering, from its header to
// the last byte of its response. The response headers every answer carries,
// the access log and the request metrics all read it. Internal to http/.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace tb::http {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

struct Exchange {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::string method;
  std::string log_path;  // raw path without the query (which may hold tokens)
  std::string request_id;
  std::string client_ip;
  std::string user_agent;  // as sent: the log line escapes it
  unsigned version = 11;
  bool keep_alive = false;
  bool head = false;
  bool api = false;
  std::size_t route_slot = 0;  // the matched route's index; routes().size() = unmatched
  std::vector<std::pair<std::string, std::string>> extra_headers;  // added by middleware
};

}  // namespace tb::http
