// The errors of the s3 module: tb::Error with what a reader needs to act
// (operation, key, HTTP status, S3's error Code), classified once here:
// - credentials refused (SignatureDoesNotMatch, InvalidAccessKeyId, expired
//   or invalid session token): FORBIDDEN, "S3 refused the credentials (...)";
// - AccessDenied: FORBIDDEN; NoSuchBucket / NoSuchKey / 404: NOT_FOUND;
// - what is still failing after every retry (5xx, SlowDown, connection
//   errors): UNAVAILABLE; anything else: INTERNAL.
// Nothing that comes from the server or curl reaches a message before the
// secret key and the session token are scrubbed out of it.
#pragma once

#include <string>

#include "core/error.hpp"

namespace tb::s3 {

struct ErrorContext {
  std::string operation;  // "UploadPart", "GetObject", ...
  std::string key;        // "" for bucket-level calls
  long http_status = 0;   // 0: no HTTP reply (connection error, timeout)
  std::string s3_code;    // <Code> of the reply, "" when none
};

class S3Error : public tb::Error {
 public:
  S3Error(ErrorCode code, std::string message, std::string detail, ErrorContext context)
      : tb::Error(code, std::move(message), std::move(detail)), context_(std::move(context)) {}
  const ErrorContext& context() const noexcept { return context_; }

 private:
  ErrorContext context_;
};

// The caller's cancel flag raised stops a call with tb::Cancelled (an upload
// is then aborted).

// Whether an S3 error Code (with its HTTP status) is worth another attempt.
bool retryable(long http_status, const std::string& s3_code);

// The error for a reply that failed for good; `attempts` > 1 says retries ran out.
// `server_message` and `request_id` go to the detail.
S3Error http_error(const ErrorContext& context, const std::string& bucket,
                   const std::string& server_message, const std::string& request_id, int attempts);
// The error for a request that got no HTTP reply (curl's error text in `reason`).
S3Error transport_error(const ErrorContext& context, const std::string& bucket,
                        const std::string& reason, int attempts);

}  // namespace tb::s3
