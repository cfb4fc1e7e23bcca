#include "s3/error.hpp"

#include <array>
#include <string_view>

namespace tb::s3 {
namespace {

bool credentials_code(const std::string& code) {
  static constexpr std::array<std::string_view, 7> kCodes = {"SignatureDoesNotMatch",
                                                             "InvalidAccessKeyId",
                                                             "InvalidToken",
                                                             "ExpiredToken",
                                                             "TokenRefreshRequired",
                                                             "InvalidSecurity",
                                                             "AuthorizationHeaderMalformed"};
  for (auto c : kCodes) {
    if (code == c) return true;
  }
  return false;
}

std::string what_of(const ErrorContext& c) {
  std::string out = "S3 " + c.operation;
  if (!c.key.empty()) out += " of '" + c.key + "'";
  return out;
}

std::string status_text(const ErrorContext& c) {
  std::string out = "HTTP " + std::to_string(c.http_status);
  if (!c.s3_code.empty()) out += " " + c.s3_code;
  return out;
}

}  // namespace

bool retryable(long http_status, const std::string& s3_code) {
  if (http_status >= 500 || http_status == 429) return true;
  // Throttling and a body that arrived too slowly come as 4xx/200 on some servers.
  return s3_code == "SlowDown" || s3_code == "RequestTimeout" || s3_code == "InternalError" ||
         s3_code == "ServiceUnavailable";
}

S3Error http_error(const ErrorContext& context, const std::string& bucket,
                   const std::string& server_message, const std::string& request_id, int attempts) {
  std::string detail = "bucket=" + bucket + " " + status_text(context);
  if (!server_message.empty()) detail += " message=" + server_message;
  if (!request_id.empty()) detail += " request_id=" + request_id;
  detail += " attempts=" + std::to_string(attempts);
  const std::string& code = context.s3_code;
  if (credentials_code(code)) {
    std::string hint =
        code == "AuthorizationHeaderMalformed" ? "check AWS_REGION"
        : code == "ExpiredToken" || code == "InvalidToken" || code == "TokenRefreshRequired"
            ? "check AWS_SESSION_TOKEN"
            : "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";
    return S3Error(
        ErrorCode::kForbidden,
        "S3 refused the credentials (" + code + ") during " + what_of(context) + ": " + hint,
        std::move(detail), context);
  }
  if (code == "AccessDenied" || (context.http_status == 403 && code.empty())) {
    return S3Error(ErrorCode::kForbidden,
                   what_of(context) + " was denied (" + status_text(context) +
                       "): the credentials lack permission on bucket '" + bucket +
                       "', or are wrong",
                   std::move(detail), context);
  }
  if (code == "NoSuchBucket") {
    return S3Error(ErrorCode::kNotFound, "S3 bucket '" + bucket + "' does not exist",
                   std::move(detail), context);
  }
  if (code == "NoSuchKey" || code == "NoSuchUpload" ||
      (context.http_status == 404 && code.empty())) {
    return S3Error(ErrorCode::kNotFound,
                   what_of(context) + " failed: not found (" + status_text(context) + ")",
                   std::move(detail), context);
  }
  if (retryable(context.http_status, code)) {
    return S3Error(ErrorCode::kUnavailable,
                   what_of(context) + " failed after " + std::to_string(attempts) + " attempts (" +
                       status_text(context) + ")",
                   std::move(detail), context);
  }
  return S3Error(ErrorCode::kInternal, what_of(context) + " failed (" + status_text(context) + ")",
                 std::move(detail), context);
}

S3Error transport_error(const ErrorContext& context, const std::string& bucket,
                        const std::string& reason, int attempts) {
  return S3Error(ErrorCode::kUnavailable,
                 what_of(context) + " failed after " + std::to_string(attempts) +
                     " attempts: the S3 endpoint could not be reached or stopped answering",
                 "bucket=" + bucket + " reason=" + reason + " attempts=" + std::to_string(attempts),
                 context);
}

}  // namespace tb::s3
