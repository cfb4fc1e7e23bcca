#include "destinations/s3.hpp"

#include "core/error.hpp"

namespace tb::destinations {

std::string s3_key_for(const std::string& prefix, const ObjectInfo& info) {
  return prefix + info.project_id + "/" + info.file_name;
}

S3Destination::S3Destination(const s3::Client& client, std::string prefix,
                             const std::atomic<bool>* cancel, OnBegin on_begin)
    : client_(client),
      prefix_(std::move(prefix)),
      cancel_(cancel),
      on_begin_(std::move(on_begin)) {}

S3Destination::~S3Destination() {
  abort();
}

void S3Destination::begin(const ObjectInfo& info) {
  abort();  // a previous object left unfinished
  upload_ = std::make_unique<s3::MultipartUpload>(client_, s3_key_for(prefix_, info), cancel_);
  upload_->begin({{"project", info.project_id}}, info.content_type);
  if (on_begin_) on_begin_(upload_->key(), upload_->upload_id());
}

void S3Destination::write(std::span<const std::byte> data) {
  if (!upload_)
    throw Error(ErrorCode::kInternal, "internal error", "S3Destination::write without begin");
  upload_->write(data);
}

boost::json::object S3Destination::commit(const std::string& sha256_hex, std::uint64_t size) {
  if (!upload_)
    throw Error(ErrorCode::kInternal, "internal error", "S3Destination::commit without begin");
  if (size != upload_->bytes_written()) {
    throw Error(ErrorCode::kInternal, "internal error",
                "size mismatch for S3 key '" + upload_->key() + "': told " + std::to_string(size) +
                    ", wrote " + std::to_string(upload_->bytes_written()));
  }
  // complete() checks with HEAD that the object holds every byte written.
  const s3::CompletedObject done = upload_->complete(sha256_hex);
  upload_.reset();
  boost::json::object loc;
  loc["type"] = "s3";
  loc["bucket"] = done.bucket;
  loc["key"] = done.key;
  loc["size"] = done.size;
  loc["etag"] = done.etag;
  if (!done.sha256_key.empty()) loc["sha256_key"] = done.sha256_key;
  return loc;
}

void S3Destination::abort() noexcept {
  if (upload_) upload_->abort();
  upload_.reset();
}

}  // namespace tb::destinations
