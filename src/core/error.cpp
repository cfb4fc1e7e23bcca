#include "core/error.hpp"

#include <utility>

namespace tb {

std::string_view code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kValidation:
      return "VALIDATION_ERROR";
    case ErrorCode::kUnauthorized:
      return "UNAUTHORIZED";
    case ErrorCode::kForbidden:
      return "FORBIDDEN";
    case ErrorCode::kNotFound:
      return "NOT_FOUND";
    case ErrorCode::kMethodNotAllowed:
      return "METHOD_NOT_ALLOWED";
    case ErrorCode::kConflict:
      return "CONFLICT";
    case ErrorCode::kProjectBusy:
      return "PROJECT_BUSY";
    case ErrorCode::kPayloadTooLarge:
      return "PAYLOAD_TOO_LARGE";
    case ErrorCode::kUnsupportedMedia:
      return "UNSUPPORTED_MEDIA_TYPE";
    case ErrorCode::kRateLimited:
      return "RATE_LIMITED";
    case ErrorCode::kInternal:
      return "INTERNAL";
    case ErrorCode::kRemoteRefused:
      return "REMOTE_REFUSED";
    case ErrorCode::kUnavailable:
      return "UNAVAILABLE";
    case ErrorCode::kCancelled:
      return "CANCELLED";
  }
  return "INTERNAL";
}

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::kValidation:
      return 400;
    case ErrorCode::kUnauthorized:
      return 401;
    case ErrorCode::kForbidden:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kConflict:
    case ErrorCode::kProjectBusy:
      return 409;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kUnsupportedMedia:
      return 415;
    case ErrorCode::kRateLimited:
      return 429;
    case ErrorCode::kInternal:
      return 500;
    case ErrorCode::kRemoteRefused:
      return 502;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kCancelled:
      return 409;
  }
  return 500;
}

bool is_retryable(ErrorCode code) {
  switch (code) {
    case ErrorCode::kProjectBusy:
    case ErrorCode::kRateLimited:
    case ErrorCode::kInternal:
    case ErrorCode::kUnavailable:
      return true;
    case ErrorCode::kValidation:
    case ErrorCode::kUnauthorized:
    case ErrorCode::kForbidden:
    case ErrorCode::kNotFound:
    case ErrorCode::kMethodNotAllowed:
    case ErrorCode::kConflict:
    case ErrorCode::kPayloadTooLarge:
    case ErrorCode::kUnsupportedMedia:
    case ErrorCode::kRemoteRefused:
    case ErrorCode::kCancelled:
      return false;
  }
  return true;
}

Error::Error(ErrorCode code, std::string message, std::string detail, std::string field)
    : std::runtime_error(detail.empty() ? message : message + ": " + detail),
      code_(code),
      message_(std::move(message)),
      detail_(std::move(detail)),
      field_(std::move(field)) {}

void throw_validation(std::string field, std::string message) {
  throw Error(ErrorCode::kValidation, std::move(message), {}, std::move(field));
}
void throw_not_found(std::string message) {
  throw Error(ErrorCode::kNotFound, std::move(message));
}
void throw_forbidden(std::string message) {
  throw Error(ErrorCode::kForbidden, std::move(message));
}
void throw_conflict(std::string message) {
  throw Error(ErrorCode::kConflict, std::move(message));
}
void throw_internal(std::string detail) {
  throw Error(ErrorCode::kInternal, "internal error", std::move(detail));
}

}  // namespace tb
