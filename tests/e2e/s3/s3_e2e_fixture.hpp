// What the s3 e2e suites share: one radosgw for the whole binary (start-up
// takes seconds), boto3 as the independent reader, and the environment that
// points the real binary at the bucket under a prefix of the suite's own.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <string>

#include "support/rgw_server.hpp"

namespace tb::test {

RgwServer& rgw();
inline S3Tool s3_tool() {
  return S3Tool(rgw());
}

// S3_* and AWS_* for the service, keys under `prefix` (e.g. "main/").
std::map<std::string, std::string> s3_env(const std::string& prefix);

// SHA-256 (hex) of a file, by sha256sum (not our code).
std::string sha256_of_file(const std::string& path);

// Regular files under `dir` (recursively), the download cache excluded.
std::vector<std::string> stored_files(const std::string& dir);

// The {"type":"s3",...} location of a backup JSON; null when none.
const boost::json::object* s3_location(const boost::json::object& backup);

}  // namespace tb::test
