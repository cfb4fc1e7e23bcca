// A small blocking HTTP client for tests (libcurl): one call, whole response.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <functional>
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
HttpResponse http_post_json(const std::string& url, const std::string& body,
                            const std::string& token = {});

// A job's status is terminal: completed, failed or cancelled.
bool job_ended(const boost::json::object& job);
// Polls GET {base_url}/api/jobs/{id} every 100 ms until `done(job)` (by
// default: job_ended) or `seconds` pass; then records a test failure naming the
// job and `context()` (e.g. the service log) and returns the last job seen.
boost::json::object poll_job(
    const std::string& base_url, const std::string& token, const std::string& job_id,
    const std::function<bool(const boost::json::object&)>& done = job_ended, int seconds = 90,
    const std::function<std::string()>& context = {});

}  // namespace tb::test
