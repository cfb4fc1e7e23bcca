#include "auth/signed_link.hpp"

#include <chrono>
#include <cstdint>

#include "auth/base64url.hpp"
#include "core/error.hpp"

namespace tb::auth {
namespace {

// Domain separation: a MAC made for links is useless as any other MAC keyed alike.
constexpr std::string_view kPurpose = "tb.download-link.v1";

std::string link_mac(std::string_view key, std::string_view resource_id, std::string_view expiry) {
  std::string data;
  data.reserve(kPurpose.size() + resource_id.size() + expiry.size() + 2);
  data.append(kPurpose).append(1, '\n').append(resource_id).append(1, '\n').append(expiry);
  return base64url_encode(hmac_sha256(key, data));
}

std::int64_t unix_seconds(tb::SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string download_link_key(const config::Config& config) {
  const std::string& secret =
      config.download_link_secret.empty() ? config.jwt_secret : config.download_link_secret;
  if (secret.empty()) {
    throw config::ConfigError("DOWNLOAD_LINK_SECRET",
                              "RS256/ES256 need DOWNLOAD_LINK_SECRET (32+ bytes, the same on every "
                              "process) to sign download links");
  }
  return hmac_sha256(secret, "tenant-backup download-link key v1");
}

std::string sign_link(std::string_view key, std::string_view resource_id, tb::SystemTime expires) {
  if (key.empty()) throw_internal("sign_link: empty link key");
  std::string expiry = std::to_string(unix_seconds(expires));
  return expiry + "." + link_mac(key, resource_id, expiry);
}

bool verify_link(std::string_view key, std::string_view resource_id, std::string_view token,
                 tb::SystemTime now) {
  if (key.empty() || token.size() > 128) return false;
  auto dot = token.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 18) return false;
  std::string_view expiry = token.substr(0, dot);
  std::int64_t exp = 0;
  for (char c : expiry) {
    if (c < '0' || c > '9') return false;
    exp = exp * 10 + (c - '0');
  }
  // Canonical spelling only ("007" is not "7"), so the MAC input is unique.
  if (expiry.size() > 1 && expiry.front() == '0') return false;
  if (unix_seconds(now) >= exp) return false;
  return constant_time_equal(link_mac(key, resource_id, expiry), token.substr(dot + 1));
}

}  // namespace tb::auth
