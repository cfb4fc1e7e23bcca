// One signed HTTP exchange with the S3 endpoint (libcurl), no retries: the
// Client decides what to retry.
//
// libcurl 7.88 signs with CURLOPT_AWS_SIGV4 but (a) does not send
// x-amz-content-sha256, which S3 and radosgw require, and (b) signs the
// query string as given. So every request carries x-amz-content-sha256 (the
// SHA-256 of the in-memory body: the payload is signed and the server checks
// it), and the query is built here in canonical form (sorted, every name with
// '=', values percent-encoded).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "s3/options.hpp"

namespace tb::s3 {

struct Request {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE
  std::string key;             // "" = the bucket itself
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::span<const std::byte> body;  // PUT and POST
  // A 2xx reply's body goes here instead of Response::body (streamed GET).
  // The sink may throw: the transfer stops and perform() rethrows.
  std::function<void(std::span<const std::byte>)> sink;
  // Either flag raised stops the transfer (CURLE_ABORTED_BY_CALLBACK).
  const std::atomic<bool>* cancel = nullptr;
  const std::atomic<bool>* stop = nullptr;
};

struct Response {
  long status = 0;                             // 0 when no reply came
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;                            // error replies and small replies, capped
  std::uint64_t streamed = 0;                  // bytes given to Request::sink
  int curl_code = 0;                           // CURLcode; 0 = the exchange completed
  std::string curl_error;
  bool aborted = false;  // stopped by a flag
};

// AWS's URI encoding: unreserved characters stay, '/' stays when keep_slash.
std::string uri_encode(std::string_view text, bool keep_slash);
// The canonical query string: sorted by name, "name=value" pairs joined by '&'.
std::string canonical_query(std::vector<std::pair<std::string, std::string>> query);
// The request URL of `key` (virtual-host or path style).
std::string request_url(const Options& options, const std::string& key,
                        const std::vector<std::pair<std::string, std::string>>& query);
// Lowercase hex SHA-256.
std::string sha256_hex(std::span<const std::byte> data);

Response perform(const Options& options, const Request& request);

}  // namespace tb::s3
