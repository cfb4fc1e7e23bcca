// The XML of S3's replies and of the one request body we send
// (CompleteMultipartUpload), read and written with pugixml: no string search.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tb::s3::xml {

struct ErrorReply {
  std::string code;
  std::string message;
  std::string request_id;
};
// The <Error> document of a failed request (or of a CompleteMultipartUpload
// that failed with HTTP 200); std::nullopt when `body` is not one.
std::optional<ErrorReply> parse_error(std::string_view body);

// InitiateMultipartUploadResult/UploadId; "" when missing or unreadable.
std::string parse_upload_id(std::string_view body);

struct Part {
  int number = 0;
  std::string etag;  // as the UploadPart reply gave it, quotes included
};
std::string complete_body(const std::vector<Part>& parts);

struct Upload {
  std::string key;
  std::string upload_id;
  std::string initiated;  // ISO 8601, as the server wrote it
};
struct UploadsPage {
  std::vector<Upload> uploads;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};
// ListMultipartUploadsResult; std::nullopt when `body` is not one.
std::optional<UploadsPage> parse_uploads(std::string_view body);

}  // namespace tb::s3::xml
