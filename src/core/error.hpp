// One error vocabulary for the whole program.
//
// An Error carries a stable machine code (the API's codes), a public message
// that is safe to show to a caller, and an internal detail that goes to the log
// only (SQL, paths, child stderr). One table (http_status) maps codes to HTTP
// status; one catch site in the HTTP layer renders them. Another
// (is_retryable) says whether trying again later may succeed: the job queue
// retries those codes and fails a job at once on any other.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace tb {

enum class ErrorCode {
  kValidation,        // 400 VALIDATION_ERROR
  kUnauthorized,      // 401 UNAUTHORIZED
  kForbidden,         // 403 FORBIDDEN
  kNotFound,          // 404 NOT_FOUND
  kMethodNotAllowed,  // 405 METHOD_NOT_ALLOWED
  kConflict,          // 409 CONFLICT
  kProjectBusy,       // 409 PROJECT_BUSY (a job gave up waiting for the project's other job)
  kPayloadTooLarge,   // 413 PAYLOAD_TOO_LARGE
  kUnsupportedMedia,  // 415 UNSUPPORTED_MEDIA_TYPE
  kRateLimited,       // 429 RATE_LIMITED
  kInternal,          // 500 INTERNAL
  kRemoteRefused,     // 502 REMOTE_REFUSED (a remote service, e.g. Telegram, refused for good)
  kUnavailable,       // 503 UNAVAILABLE (the database or a remote service unreachable)
  kCancelled,  // CANCELLED (a job stopped at its user's request; jobs only, 409 if ever sent)
};

// The stable machine code, e.g. "VALIDATION_ERROR".
std::string_view code_name(ErrorCode code);
// The HTTP status that the code maps to.
int http_status(ErrorCode code);
// Whether the same work may succeed when tried again later (a busy project, an
// unreachable database or service, an unexpected failure). Bad input, a
// refusal, a missing object or a cancel will be the same on every retry.
bool is_retryable(ErrorCode code);

class Error : public std::runtime_error {
 public:
  // `message` is public (shown to API callers); `detail` is internal (logged).
  Error(ErrorCode code, std::string message, std::string detail = {}, std::string field = {});

  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  const std::string& detail() const noexcept { return detail_; }
  // For VALIDATION_ERROR: the request field at fault ("" when not about one).
  const std::string& field() const noexcept { return field_; }

 private:
  ErrorCode code_;
  std::string message_;
  std::string detail_;
  std::string field_;
};

// Thrown when a job's cancel flag was raised (by its user, or because its
// worker gives it up): the work stopped and nothing partial was kept.
class Cancelled : public Error {
 public:
  explicit Cancelled(std::string message = "cancelled")
      : Error(ErrorCode::kCancelled, std::move(message)) {}
};

// Shorthands for the common cases.
[[noreturn]] void throw_validation(std::string field, std::string message);
[[noreturn]] void throw_not_found(std::string message);
[[noreturn]] void throw_forbidden(std::string message);
[[noreturn]] void throw_conflict(std::string message);
[[noreturn]] void throw_internal(std::string detail);

}  // namespace tb
