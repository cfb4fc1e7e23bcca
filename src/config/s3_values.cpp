#include "config/s3_values.hpp"

namespace tb::config::detail {

bool parse_bool(const std::string& name, const std::string& v) {
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  throw ConfigError(name, "must be true or false, got '" + v + "'");
}

// A value that goes into an HTTP header or a signing string: printable ASCII,
// no spaces (a newline would inject a header).
void require_token(const std::string& name, const std::string& v) {
  for (unsigned char ch : v) {
    if (ch <= 0x20 || ch >= 0x7f) throw ConfigError(name, "must be printable ASCII without spaces");
  }
}

// S3 bucket names: 3-63 lowercase letters, digits, '.', '-' (and '_', which
// radosgw and old AWS buckets allow), starting and ending with a letter or digit.
void check_bucket(const std::string& v) {
  auto alnum = [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); };
  bool ok = v.size() >= 3 && v.size() <= 63 && alnum(v.front()) && alnum(v.back());
  for (char ch : v) ok = ok && (alnum(ch) || ch == '.' || ch == '-' || ch == '_');
  if (!ok) {
    throw ConfigError("S3_BUCKET",
                      "'" + v +
                          "' is not a bucket name (3-63 of a-z 0-9 . - _, starting and ending "
                          "with a letter or digit)");
  }
}

// The prefix of every key: no leading '/', no '..' segment, no control
// characters; stored with one trailing '/'.
std::string normalize_prefix(const std::string& v) {
  std::string p = v;
  while (p.starts_with('/')) p.erase(0, 1);
  while (p.ends_with('/')) p.pop_back();
  if (p.empty()) return p;
  for (unsigned char ch : p) {
    if (ch < 0x20 || ch == 0x7f || ch == '\\')
      throw ConfigError("S3_PREFIX", "must not contain control characters or '\\'");
  }
  if (("/" + p + "/").find("/../") != std::string::npos ||
      ("/" + p + "/").find("/./") != std::string::npos || p.find("//") != std::string::npos) {
    throw ConfigError("S3_PREFIX", "must not contain '.', '..' or empty segments");
  }
  if (p.size() > 512) throw ConfigError("S3_PREFIX", "must be at most 512 bytes");
  return p + "/";
}

// S3 needs a bucket and both keys; a bucket alone (or S3_* settings without a
// bucket) is a mistake that would surface only at the first export. AWS_*
// variables alone are left alone: they are the standard names other tools on
// the host may use.
void check_s3(const Config& c, const std::vector<std::string>& s3_given) {
  if (c.s3_bucket.empty()) {
    if (!s3_given.empty())
      throw ConfigError("S3_BUCKET", "must be set when " + s3_given.front() + " is");
    return;
  }
  if (c.aws_access_key_id.empty())
    throw ConfigError("AWS_ACCESS_KEY_ID", "must be set when S3_BUCKET is");
  if (c.aws_secret_access_key.empty())
    throw ConfigError("AWS_SECRET_ACCESS_KEY", "must be set when S3_BUCKET is");
  if (!c.s3_force_path_style && c.s3_bucket.find('.') != std::string::npos &&
      (c.s3_endpoint.empty() || c.s3_endpoint.starts_with("https://"))) {
    // bucket.with.dots.host does not match the endpoint's wildcard certificate.
    throw ConfigError("S3_FORCE_PATH_STYLE", "must be true for a bucket name with '.' over https");
  }
}

void check_region(const std::string& v) {
  bool ok = v.size() <= 64;
  for (char ch : v) ok = ok && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-');
  if (!ok) throw ConfigError("AWS_REGION", "'" + v + "' is not a region name (a-z, 0-9, '-')");
}

}  // namespace tb::config::detail
