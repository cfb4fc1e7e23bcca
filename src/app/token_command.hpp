// `tenant-backup token`: mint an HS256 JWT for development and scripts.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace tb::app {

struct TokenOptions {
  std::vector<std::string> projects;
  std::string role;  // "admin" grants every project
  std::string subject = "cli";
  std::string ttl = "1h";
};

// "90s", "30m", "24h", "7d" or a number of seconds.
std::chrono::seconds parse_ttl(const std::string& text);
std::string mint_token(const config::Config& config, const TokenOptions& options);

}  // namespace tb::app
