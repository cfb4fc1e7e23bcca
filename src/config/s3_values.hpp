// Parsers and checks of the S3 variables (S3_*, AWS_*), kept out of
// config.cpp's table so the table stays one screen per concern.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace tb::config::detail {

bool parse_bool(const std::string& name, const std::string& v);
// Printable ASCII without spaces: the value goes into a header or a signing string.
void require_token(const std::string& name, const std::string& v);
void check_bucket(const std::string& v);
void check_region(const std::string& v);
// "" or the prefix with one trailing '/'.
std::string normalize_prefix(const std::string& v);
// After every variable was read: `s3_given` names the S3_* variables that were set.
void check_s3(const Config& c, const std::vector<std::string>& s3_given);

}  // namespace tb::config::detail
