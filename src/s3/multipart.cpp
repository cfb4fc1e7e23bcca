#include "s3/multipart.hpp"

#include <algorithm>

#include "core/log.hpp"
#include "s3/error.hpp"

namespace tb::s3 {

std::string sha256_sidecar_key(const std::string& key) {
  return key + ".sha256";
}

MultipartUpload::MultipartUpload(const Client& client, std::string key,
                                 const std::atomic<bool>* cancel)
    : client_(client), key_(std::move(key)), cancel_(cancel) {}

MultipartUpload::~MultipartUpload() {
  if (state_ != State::kDone) abort();
}

void MultipartUpload::begin(const Metadata& metadata, const std::string& content_type) {
  if (state_ != State::kNew) throw_internal("MultipartUpload::begin called twice");
  upload_id_ = client_.create_multipart_upload(key_, content_type, metadata, cancel_);
  state_ = State::kOpen;
  buffer_.reserve(client_.options().part_size);
  for (int i = 0; i < client_.options().parallel_parts; ++i)
    workers_.emplace_back([this] { worker(); });
}

void MultipartUpload::rethrow_failure() {
  std::lock_guard lock(mutex_);
  if (failure_) std::rethrow_exception(failure_);
}

void MultipartUpload::write(std::span<const std::byte> data) {
  if (state_ != State::kOpen) throw_internal("MultipartUpload::write outside begin/complete");
  const std::size_t part_size = client_.options().part_size;
  while (!data.empty()) {
    std::size_t k = std::min(data.size(), part_size - buffer_.size());
    buffer_.append(reinterpret_cast<const char*>(data.data()), k);
    bytes_ += k;
    data = data.subspan(k);
    if (buffer_.size() == part_size) submit_buffer();
  }
}

void MultipartUpload::submit_buffer() {
  if (cancel_ && cancel_->load()) throw Cancelled();
  if (next_part_ > kMaxParts) {
    throw S3Error(ErrorCode::kValidation,
                  "the backup is larger than " + std::to_string(kMaxParts) + " S3 parts of " +
                      std::to_string(client_.options().part_size) + " bytes: raise S3_PART_SIZE",
                  "", {"UploadPart", key_, 0, ""});
  }
  std::unique_lock lock(mutex_);
  // At most parallel_parts parts queued or in flight: the writer waits here.
  changed_.wait(lock, [&] {
    return failure_ ||
           static_cast<int>(queue_.size()) + in_flight_ < client_.options().parallel_parts;
  });
  if (failure_) std::rethrow_exception(failure_);
  queue_.push_back({next_part_++, std::move(buffer_)});
  // The next buffer is one a worker gave back when there is one: an upload
  // touches its parallel_parts + 1 buffers once, not a fresh one per part.
  if (!spare_.empty()) {
    buffer_ = std::move(spare_.back());
    spare_.pop_back();
  } else {
    buffer_ = std::string();
  }
  lock.unlock();
  changed_.notify_all();
  buffer_.clear();
  buffer_.reserve(client_.options().part_size);
}

void MultipartUpload::worker() {
  for (;;) {
    Part part;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return !queue_.empty() || closing_ || stop_.load(); });
      if (stop_.load() || queue_.empty()) return;
      part = std::move(queue_.front());
      queue_.pop_front();
      ++in_flight_;
    }
    std::string etag;
    std::exception_ptr error;
    try {
      etag = client_.upload_part(key_, upload_id_, part.number, std::as_bytes(std::span(part.data)),
                                 cancel_, &stop_);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard lock(mutex_);
      spare_.push_back(std::move(part.data));  // for the writer's next part
      --in_flight_;
      if (error) {
        if (!failure_) failure_ = error;
        stop_ = true;  // the other parts are pointless now
      } else {
        done_.push_back({part.number, std::move(etag)});
      }
    }
    changed_.notify_all();
  }
}

void MultipartUpload::stop_workers() noexcept {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  changed_.notify_all();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

CompletedObject MultipartUpload::complete(const std::string& sha256_hex) {
  if (state_ != State::kOpen) throw_internal("MultipartUpload::complete outside begin");
  bool completed = false;
  try {
    // The last part may be short; an empty object is one empty part.
    if (!buffer_.empty() || next_part_ == 1) submit_buffer();
    stop_workers();
    rethrow_failure();
    if (cancel_ && cancel_->load()) throw Cancelled();
    std::sort(done_.begin(), done_.end(),
              [](const auto& a, const auto& b) { return a.number < b.number; });
    CompletedObject out{client_.options().bucket,      key_, bytes_, "", "",
                        static_cast<int>(done_.size())};
    if (!sha256_hex.empty()) {
      out.sha256_key = sha256_sidecar_key(key_);
      auto slash = key_.rfind('/');
      std::string line =
          sha256_hex + "  " + (slash == std::string::npos ? key_ : key_.substr(slash + 1)) + "\n";
      client_.put(out.sha256_key, std::as_bytes(std::span(line)), "text/plain", {}, cancel_);
    }
    client_.complete_multipart_upload(key_, upload_id_, done_, bytes_, cancel_);
    state_ = State::kDone;
    completed = true;
    auto info = client_.head(key_);
    if (!info || info->size != bytes_) {
      // A completed object that lacks bytes is not a backup: it goes (below).
      std::string got = info ? std::to_string(info->size) : std::string("no object");
      throw S3Error(ErrorCode::kInternal,
                    "S3 stored " + got + " bytes of the " + std::to_string(bytes_) +
                        " written to '" + key_ + "'",
                    "", {"CompleteMultipartUpload", key_, 200, ""});
    }
    out.etag = info->etag;
    return out;
  } catch (...) {
    // Nothing of a failed upload stays: not the parts, not the sidecar, not
    // an object that was completed but could not be checked.
    abort();
    std::vector<std::string> leftovers;
    if (completed) leftovers.push_back(key_);
    if (!sha256_hex.empty()) leftovers.push_back(sha256_sidecar_key(key_));
    for (const auto& k : leftovers) {
      try {
        client_.remove(k);
      } catch (const std::exception& e) {
        log::event(log::Level::kWarn, "S3 object of a failed upload left behind",
                   {{"key", k}, {"reason", e.what()}});
      }
    }
    throw;
  }
}

void MultipartUpload::abort() noexcept {
  if (state_ == State::kDone) return;
  stop_ = true;
  stop_workers();
  state_ = State::kDone;
  if (upload_id_.empty()) return;
  try {
    client_.abort_multipart_upload(key_, upload_id_);
  } catch (const std::exception& e) {
    // Left for the sweep of unfinished uploads (list_multipart_uploads).
    log::event(log::Level::kError, "S3 multipart upload not aborted",
               {{"key", key_}, {"upload_id", upload_id_}, {"reason", e.what()}});
  }
}

}  // namespace tb::s3
