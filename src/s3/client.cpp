#include "s3/client.hpp"

#include <algorithm>
#include <boost/json/object.hpp>
#include <chrono>
#include <random>
#include <thread>

#include "core/log.hpp"
#include "core/text.hpp"
#include "s3/error.hpp"

namespace tb::s3 {
namespace {

std::string scrub(std::string text, const Options& o) {
  if (!o.secret_access_key.empty()) text = replace_all(std::move(text), o.secret_access_key, "***");
  if (!o.session_token.empty()) text = replace_all(std::move(text), o.session_token, "***");
  return text;
}

void check_key(const std::string& key) {
  if (key.empty() || key.size() > 1024)
    throw_internal("S3 object key must be 1 to 1024 bytes long");
}

bool cancelled(const Request& r) {
  return r.cancel && r.cancel->load();
}

std::span<const std::byte> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string header_or(const Response& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

}  // namespace

Client::Client(Options options) : options_(std::move(options)) {
  if (options_.bucket.empty()) throw_internal("S3 options without a bucket");
  if (options_.part_size < kMinPartSize) throw_internal("S3 part size below 5 MiB");
  options_.parallel_parts = std::max(1, options_.parallel_parts);
  options_.max_attempts = std::max(1, options_.max_attempts);
}

void Client::sleep_before_retry(int attempt, const Request& request) const {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto wait = options_.backoff_base * (1LL << std::min(attempt - 1, 20));
  wait = std::min<std::chrono::milliseconds>(wait, options_.backoff_max);
  wait = std::chrono::milliseconds(static_cast<long long>(
      static_cast<double>(wait.count()) * std::uniform_real_distribution(0.5, 1.0)(rng)));
  // Sleeps in slices so a cancel or an abort is seen at once.
  auto until = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < until) {
    if (cancelled(request)) throw Cancelled();
    if (request.stop && request.stop->load()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Response Client::call(const std::string& operation, const Request& request,
                      std::initializer_list<long> pass) const {
  ErrorContext context{operation, request.key, 0, ""};
  for (int attempt = 1;; ++attempt) {
    if (cancelled(request)) throw Cancelled();
    Response r = perform(options_, request);
    bool again = false;
    std::string reason;
    if (r.curl_code != 0) {
      if (r.aborted && cancelled(request)) throw Cancelled();
      context.http_status = 0;
      context.s3_code.clear();
      reason = scrub(r.curl_error, options_);
      // A stream that reached the sink cannot restart; an aborted one was asked to stop.
      again = r.streamed == 0 && !r.aborted;
      if (!again || attempt >= options_.max_attempts) {
        throw transport_error(context, options_.bucket, reason, attempt);
      }
    } else {
      auto parsed = xml::parse_error(r.body);
      bool ok = (r.status >= 200 && r.status < 300 && !parsed) ||
                std::find(pass.begin(), pass.end(), r.status) != pass.end();
      if (ok) return r;
      context.http_status = r.status;
      context.s3_code = parsed ? parsed->code : "";
      std::string message = parsed ? scrub(parsed->message, options_) : "";
      std::string request_id = parsed ? parsed->request_id : header_or(r, "x-amz-request-id");
      reason = "HTTP " + std::to_string(r.status) + " " + context.s3_code;
      again = retryable(r.status, context.s3_code) && r.streamed == 0;
      if (!again || attempt >= options_.max_attempts) {
        throw http_error(context, options_.bucket, message, request_id, attempt);
      }
    }
    log::event(
        log::Level::kWarn, "S3 request failed, retrying",
        {{"operation", operation}, {"key", request.key}, {"attempt", attempt}, {"reason", reason}});
    sleep_before_retry(attempt, request);
    if (request.stop && request.stop->load()) throw Cancelled();
  }
}

std::optional<ObjectInfo> Client::head(const std::string& key,
                                       const std::atomic<bool>* cancel) const {
  check_key(key);
  Request req;
  req.method = "HEAD";
  req.key = key;
  req.cancel = cancel;
  Response r = call("HeadObject", req, {404});
  if (r.status == 404) return std::nullopt;
  ObjectInfo info;
  info.size = std::strtoull(header_or(r, "content-length").c_str(), nullptr, 10);
  info.etag = header_or(r, "etag");
  info.last_modified = header_or(r, "last-modified");
  info.content_type = header_or(r, "content-type");
  for (const auto& [name, value] : r.headers) {
    if (name.starts_with("x-amz-meta-")) info.metadata[name.substr(11)] = value;
  }
  return info;
}

std::uint64_t Client::get(const std::string& key,
                          const std::function<void(std::span<const std::byte>)>& sink,
                          const std::atomic<bool>* cancel) const {
  check_key(key);
  Request req;
  req.method = "GET";
  req.key = key;
  req.sink = sink;
  req.cancel = cancel;
  Response r = call("GetObject", req);
  return r.streamed;
}

void Client::put(const std::string& key, std::span<const std::byte> data,
                 const std::string& content_type, const Metadata& metadata,
                 const std::atomic<bool>* cancel) const {
  check_key(key);
  Request req;
  req.method = "PUT";
  req.key = key;
  req.body = data;
  req.cancel = cancel;
  req.headers.emplace_back("Content-Type", content_type);
  for (const auto& [name, value] : metadata) req.headers.emplace_back("x-amz-meta-" + name, value);
  call("PutObject", req);
}

void Client::remove(const std::string& key) const {
  check_key(key);
  Request req;
  req.method = "DELETE";
  req.key = key;
  call("DeleteObject", req, {404});
}

std::vector<UploadInfo> Client::list_multipart_uploads(const std::string& prefix) const {
  std::vector<UploadInfo> out;
  std::string key_marker, id_marker;
  for (;;) {
    Request req;
    req.query = {{"uploads", ""}, {"prefix", prefix}};
    if (!key_marker.empty()) req.query.emplace_back("key-marker", key_marker);
    if (!id_marker.empty()) req.query.emplace_back("upload-id-marker", id_marker);
    Response r = call("ListMultipartUploads", req);
    auto page = xml::parse_uploads(r.body);
    if (!page)
      throw S3Error(ErrorCode::kInternal, "S3 ListMultipartUploads gave an unreadable reply", "",
                    {});
    for (auto& u : page->uploads) out.push_back(std::move(u));
    if (!page->truncated || page->next_key_marker.empty()) break;
    key_marker = page->next_key_marker;
    id_marker = page->next_upload_id_marker;
  }
  return out;
}

void Client::abort_multipart_upload(const std::string& key, const std::string& upload_id) const {
  check_key(key);
  Request req;
  req.method = "DELETE";
  req.key = key;
  req.query = {{"uploadId", upload_id}};
  call("AbortMultipartUpload", req, {404});
}

std::string Client::create_multipart_upload(const std::string& key, const std::string& content_type,
                                            const Metadata& metadata,
                                            const std::atomic<bool>* cancel) const {
  check_key(key);
  Request req;
  req.method = "POST";
  req.key = key;
  req.query = {{"uploads", ""}};
  req.cancel = cancel;
  req.headers.emplace_back("Content-Type", content_type);
  for (const auto& [name, value] : metadata) req.headers.emplace_back("x-amz-meta-" + name, value);
  Response r = call("CreateMultipartUpload", req);
  std::string id = xml::parse_upload_id(r.body);
  if (id.empty()) {
    throw S3Error(ErrorCode::kInternal,
                  "S3 CreateMultipartUpload of '" + key + "' gave no UploadId", "",
                  {"CreateMultipartUpload", key, r.status, ""});
  }
  return id;
}

std::string Client::upload_part(const std::string& key, const std::string& upload_id, int number,
                                std::span<const std::byte> data, const std::atomic<bool>* cancel,
                                const std::atomic<bool>* stop) const {
  Request req;
  req.method = "PUT";
  req.key = key;
  req.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
  req.body = data;
  req.cancel = cancel;
  req.stop = stop;
  Response r = call("UploadPart", req);
  std::string etag = header_or(r, "etag");
  if (etag.empty()) {
    throw S3Error(ErrorCode::kInternal, "S3 UploadPart of '" + key + "' gave no ETag", "",
                  {"UploadPart", key, r.status, ""});
  }
  return etag;
}

void Client::complete_multipart_upload(const std::string& key, const std::string& upload_id,
                                       const std::vector<xml::Part>& parts,
                                       std::uint64_t expected_size,
                                       const std::atomic<bool>* cancel) const {
  const std::string body = xml::complete_body(parts);
  Request req;
  req.method = "POST";
  req.key = key;
  req.query = {{"uploadId", upload_id}};
  req.body = bytes_of(body);
  req.cancel = cancel;
  req.headers.emplace_back("Content-Type", "application/xml");
  try {
    call("CompleteMultipartUpload", req);
  } catch (const S3Error& e) {
    // The first attempt may have completed it and only its reply was lost.
    if (e.context().s3_code != "NoSuchUpload") throw;
    auto info = head(key, cancel);
    if (!info || info->size != expected_size) throw;
  }
}

}  // namespace tb::s3
