// A streaming multipart upload with bounded memory: write() fills a buffer of
// Options::part_size bytes; each full buffer becomes a part uploaded by one
// of Options::parallel_parts worker threads, so at most parallel_parts parts
// are in flight and memory stays under (parallel_parts + 1) × part_size
// whatever the object's size. A failed part is retried (Client's policy);
// a part that fails for good fails the next write() or complete().
//
// The SHA-256 of a backup is known only when its last byte was written, but
// S3 metadata can only be given when the upload is created (changing it later
// is a full server-side copy). So complete(sha256) writes it as a sidecar
// object KEY.sha256 (the `sha256sum` line "HEX  NAME\n") before the upload is
// completed: the object is never visible without its sidecar, any tool (and
// `sha256sum -c`) can read it, and every S3-compatible server supports it
// (object tagging, the other choice, is missing on some). Metadata known at
// the start (project, time) goes in begin()'s x-amz-meta-* headers.
//
// Lifecycle: begin → write* → complete, or abort. abort() is noexcept and
// idempotent; the destructor aborts an upload neither completed nor aborted.
// The cancel flag is checked between parts and inside every transfer (curl's
// progress callback): a raised flag makes write()/complete() throw Cancelled;
// the caller then aborts (or lets the destructor do it). Used from one thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "s3/client.hpp"

namespace tb::s3 {

struct CompletedObject {
  std::string bucket;
  std::string key;
  std::uint64_t size = 0;
  std::string etag;        // from HEAD after completion
  std::string sha256_key;  // the sidecar's key, "" when no SHA-256 was given
  int parts = 0;
};

// The sidecar object that holds `key`'s SHA-256.
std::string sha256_sidecar_key(const std::string& key);

class MultipartUpload {
 public:
  MultipartUpload(const Client& client, std::string key, const std::atomic<bool>* cancel = nullptr);
  ~MultipartUpload();
  MultipartUpload(const MultipartUpload&) = delete;
  MultipartUpload& operator=(const MultipartUpload&) = delete;

  // CreateMultipartUpload (fails fast on wrong credentials or bucket).
  void begin(const Metadata& metadata = {},
             const std::string& content_type = "application/octet-stream");
  void write(std::span<const std::byte> data);
  // Uploads the last part, writes the sidecar (when sha256_hex is given),
  // completes the upload and checks with HEAD that the object has every byte
  // written. On failure the upload is aborted and the error rethrown.
  CompletedObject complete(const std::string& sha256_hex = {});
  void abort() noexcept;

  const std::string& key() const { return key_; }
  const std::string& upload_id() const { return upload_id_; }
  std::uint64_t bytes_written() const { return bytes_; }

 private:
  struct Part {
    int number = 0;
    std::string data;
  };
  void submit_buffer();
  void worker();
  void stop_workers() noexcept;
  void rethrow_failure();

  const Client& client_;
  const std::string key_;
  const std::atomic<bool>* cancel_;
  std::string upload_id_;
  std::string buffer_;
  std::uint64_t bytes_ = 0;
  int next_part_ = 1;
  enum class State { kNew, kOpen, kDone } state_ = State::kNew;

  std::atomic<bool> stop_{false};  // abort(): in-flight transfers stop
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Part> queue_;
  std::vector<std::string> spare_;  // uploaded parts' buffers, kept for reuse
  int in_flight_ = 0;
  bool closing_ = false;  // no more parts: workers exit when the queue is empty
  std::vector<xml::Part> done_;
  std::exception_ptr failure_;
  std::vector<std::thread> workers_;
};

}  // namespace tb::s3
