// The s3 destination: the backup streams into a multipart upload while the
// dump runs (memory bounded by s3::MultipartUpload: (parallel parts + 1) ×
// part size), under the key PREFIX + project + "/" + file name, with its
// SHA-256 in the sidecar object KEY.sha256. commit() completes the upload and
// checks with HEAD that the object has every byte; abort() aborts the upload,
// so a failed or cancelled export leaves no unfinished upload and no object.
//
// Location record: {"type":"s3","bucket","key","size","etag","sha256_key"}.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "destinations/destination.hpp"
#include "s3/client.hpp"
#include "s3/multipart.hpp"

namespace tb::destinations {

// PREFIX + project + "/" + file name.
std::string s3_key_for(const std::string& prefix, const ObjectInfo& info);

class S3Destination final : public Destination {
 public:
  // Called once the upload exists, before any byte is sent: a job records
  // the upload so that a later attempt can abort it if this one dies.
  using OnBegin = std::function<void(const std::string& key, const std::string& upload_id)>;

  // `client` must outlive this object.
  S3Destination(const s3::Client& client, std::string prefix,
                const std::atomic<bool>* cancel = nullptr, OnBegin on_begin = {});
  ~S3Destination() override;
  S3Destination(const S3Destination&) = delete;
  S3Destination& operator=(const S3Destination&) = delete;

  std::string name() const override { return "s3"; }
  void begin(const ObjectInfo& info) override;
  void write(std::span<const std::byte> data) override;
  boost::json::object commit(const std::string& sha256_hex, std::uint64_t size) override;
  void abort() noexcept override;

 private:
  const s3::Client& client_;
  std::string prefix_;
  const std::atomic<bool>* cancel_;
  OnBegin on_begin_;
  std::unique_ptr<s3::MultipartUpload> upload_;
};

}  // namespace tb::destinations
