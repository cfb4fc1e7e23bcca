// A small blocking HTTP client for tests (libcurl): one call, whole response.
#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <string>
#include <vector>

namespace tb::test {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::multimap<std::string, std::string> headers;  // lowercase names
  std::string header(const std::string& lowercase_name) const;
  boost::json::value json() const;  // throws when the body is not JSON
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  long timeout_ms = 30000;
};

HttpResponse http_call(const HttpRequest& request);

// Shorthands with an optional bearer token and a JSON body.
HttpResponse http_get(const std::string& url, const std::string& token = {});
HttpResponse http_post_json(const std::string& url, const std::string& body, const std::string& token = {});

}  // namespace tb::test
