// The S3 calls a backup needs, each retried as Options says (5xx, 429,
// SlowDown, RequestTimeout, connection errors, stalls; never other 4xx) with
// exponential backoff and jitter. Errors are S3Error (s3/error.hpp).
//
// A Client is immutable after construction and may be used from several
// threads at once (each call has its own curl handle).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "s3/options.hpp"
#include "s3/request.hpp"
#include "s3/xml.hpp"

namespace tb::s3 {

// User metadata: x-amz-meta-NAME headers (names lowercase a-z 0-9 '-').
using Metadata = std::map<std::string, std::string>;

struct ObjectInfo {
  std::uint64_t size = 0;
  std::string etag;  // quotes included; "…-N" for an object of N parts
  std::string last_modified;
  std::string content_type;
  Metadata metadata;
};

using UploadInfo = xml::Upload;

class Client {
 public:
  explicit Client(Options options);

  const Options& options() const { return options_; }

  // std::nullopt when there is no such object.
  std::optional<ObjectInfo> head(const std::string& key,
                                 const std::atomic<bool>* cancel = nullptr) const;
  // Streams the object into `sink` (chunks as they arrive; no local copy);
  // returns the byte count. Retried only until the first byte reached the
  // sink: after that a failure is thrown (the sink cannot take bytes twice).
  // NOT_FOUND when there is no such object. A sink that throws stops the
  // transfer and its exception is rethrown.
  std::uint64_t get(const std::string& key,
                    const std::function<void(std::span<const std::byte>)>& sink,
                    const std::atomic<bool>* cancel = nullptr) const;
  // One PutObject of a small object held in memory.
  void put(const std::string& key, std::span<const std::byte> data, const std::string& content_type,
           const Metadata& metadata = {}, const std::atomic<bool>* cancel = nullptr) const;
  // Deletes the object; a missing object is not an error.
  void remove(const std::string& key) const;

  // Multipart uploads not completed nor aborted, whose key starts with `prefix`.
  std::vector<UploadInfo> list_multipart_uploads(const std::string& prefix) const;
  // Aborts one; an upload that is already gone is not an error.
  void abort_multipart_upload(const std::string& key, const std::string& upload_id) const;

  // The steps of a multipart upload (MultipartUpload drives them).
  std::string create_multipart_upload(const std::string& key, const std::string& content_type,
                                      const Metadata& metadata,
                                      const std::atomic<bool>* cancel) const;
  // Returns the part's ETag. `stop` is the upload's own stop flag (abort()).
  std::string upload_part(const std::string& key, const std::string& upload_id, int number,
                          std::span<const std::byte> data, const std::atomic<bool>* cancel,
                          const std::atomic<bool>* stop) const;
  // Checks the reply for an <Error> even with HTTP 200. A retry that finds
  // the upload gone (the first attempt did complete it) is accepted when the
  // object is there with `expected_size` bytes.
  void complete_multipart_upload(const std::string& key, const std::string& upload_id,
                                 const std::vector<xml::Part>& parts, std::uint64_t expected_size,
                                 const std::atomic<bool>* cancel) const;

 private:
  // Runs `request` with retries; returns a 2xx reply or one whose status is
  // in `pass`; throws S3Error or Cancelled otherwise. `operation` names it
  // in errors and logs.
  Response call(const std::string& operation, const Request& request,
                std::initializer_list<long> pass = {}) const;
  void sleep_before_retry(int attempt, const Request& request) const;

  Options options_;
};

}  // namespace tb::s3
