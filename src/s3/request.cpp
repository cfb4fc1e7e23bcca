#include "s3/request.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cstring>
#include <exception>

#include "core/error.hpp"
#include "core/text.hpp"

namespace tb::s3 {
namespace {

// Error replies are a few hundred bytes; a reply past this is cut.
constexpr std::size_t kMaxReplyBytes = 1024 * 1024;

struct Easy {
  CURL* h = curl_easy_init();
  curl_slist* headers = nullptr;
  ~Easy() {
    if (headers) curl_slist_free_all(headers);
    if (h) curl_easy_cleanup(h);
  }
};

struct Transfer {
  const Request* request = nullptr;
  Response* response = nullptr;
  CURL* h = nullptr;
  std::size_t body_pos = 0;
  std::exception_ptr sink_error;
};

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* arg) {
  auto* t = static_cast<Transfer*>(arg);
  std::string_view line(data, size * n);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) t->response->headers.clear();  // a new reply (after 100 Continue)
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(trim(line.substr(0, colon)));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    t->response->headers[name] = std::string(trim(line.substr(colon + 1)));
  }
  return size * n;
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* arg) {
  auto* t = static_cast<Transfer*>(arg);
  long status = 0;
  curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
  if (t->request->sink && status >= 200 && status < 300) {
    try {
      t->request->sink(std::span(reinterpret_cast<const std::byte*>(data), size * n));
    } catch (...) {
      t->sink_error = std::current_exception();
      return 0;  // CURLE_WRITE_ERROR: the transfer stops
    }
    t->response->streamed += size * n;
    return size * n;
  }
  auto& body = t->response->body;
  body.append(data, std::min(size * n, kMaxReplyBytes - std::min(kMaxReplyBytes, body.size())));
  return size * n;
}

std::size_t on_read(char* buffer, std::size_t size, std::size_t n, void* arg) {
  auto* t = static_cast<Transfer*>(arg);
  const auto& body = t->request->body;
  std::size_t k = std::min(size * n, body.size() - t->body_pos);
  std::memcpy(buffer, body.data() + t->body_pos, k);
  t->body_pos += k;
  return k;
}

int on_progress(void* arg, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* r = static_cast<Transfer*>(arg)->request;
  return (r->cancel && r->cancel->load()) || (r->stop && r->stop->load()) ? 1 : 0;
}

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (unreserved(c) || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string canonical_query(std::vector<std::pair<std::string, std::string>> query) {
  for (auto& [name, value] : query) {
    name = uri_encode(name, false);
    value = uri_encode(value, false);
  }
  std::sort(query.begin(), query.end());
  std::string out;
  for (const auto& [name, value] : query) out += (out.empty() ? "" : "&") + name + "=" + value;
  return out;
}

std::string request_url(const Options& options, const std::string& key,
                        const std::vector<std::pair<std::string, std::string>>& query) {
  const std::string endpoint = options.endpoint.empty()
                                   ? "https://s3." + options.region + ".amazonaws.com"
                                   : options.endpoint;
  auto parsed = boost::urls::parse_uri(endpoint);
  if (!parsed || parsed->encoded_host().empty())
    throw_internal("S3 endpoint is not an absolute URL");
  std::string base(parsed->encoded_path());
  while (base.ends_with('/')) base.pop_back();
  std::string url = std::string(parsed->scheme()) + "://";
  if (options.path_style) {
    url += std::string(parsed->encoded_host_and_port()) + base + "/" +
           uri_encode(options.bucket, false);
  } else {
    url += options.bucket + "." + std::string(parsed->encoded_host_and_port()) + base;
  }
  if (!key.empty() || !options.path_style) url += "/" + uri_encode(key, true);
  if (!query.empty()) url += "?" + canonical_query(query);
  return url;
}

std::string sha256_hex(std::span<const std::byte> data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    throw_internal("SHA-256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

Response perform(const Options& options, const Request& request) {
  Response response;
  Easy easy;
  if (!easy.h) throw_internal("curl_easy_init failed");
  Transfer t;
  t.request = &request;
  t.response = &response;
  t.h = easy.h;
  char error_buffer[CURL_ERROR_SIZE] = {};
  const std::string url = request_url(options, request.key, request.query);
  const std::string sigv4 = "aws:amz:" + options.region + ":s3";

  auto add = [&](const std::string& line) {
    easy.headers = curl_slist_append(easy.headers, line.c_str());
  };
  add("x-amz-content-sha256: " + sha256_hex(request.body));
  if (!options.session_token.empty()) add("x-amz-security-token: " + options.session_token);
  for (const auto& [name, value] : request.headers) add(name + ": " + value);
  // No "Expect:" here to turn 100-continue off: libcurl 7.88 would sign the
  // empty header it then leaves out (SignatureDoesNotMatch). 100-continue
  // lets the server refuse a part before its body is sent.

  CURL* h = easy.h;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS,
                   1L);  // a key's "./" and "../" are names, not dot segments
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(h, CURLOPT_USERNAME, options.access_key_id.c_str());
  curl_easy_setopt(h, CURLOPT_PASSWORD, options.secret_access_key.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, easy.headers);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.stall_timeout.count()));
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT") {
    // An upload read from memory with its length: Content-Length, no chunks.
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &t);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(
        h, CURLOPT_POSTFIELDS,
        request.body.empty() ? "" : reinterpret_cast<const char*>(request.body.data()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  CURLcode rc = curl_easy_perform(h);
  if (t.sink_error) std::rethrow_exception(t.sink_error);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  response.curl_code = static_cast<int>(rc);
  if (rc != CURLE_OK) {
    response.aborted = rc == CURLE_ABORTED_BY_CALLBACK;
    response.curl_error = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
    response.status = 0;  // a reply cut short is no reply
  }
  return response;
}

}  // namespace tb::s3
