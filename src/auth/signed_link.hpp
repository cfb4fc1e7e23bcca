// Signed, expiring links: lets the UI hand a plain <a href> to the browser for a
// download without putting the bearer token in a URL.
//
// The token is "<expiry unix seconds>.<base64url HMAC-SHA256>", URL-safe. The MAC
// covers a fixed purpose label, the resource id and the expiry, so a link for
// one backup cannot open another, and its expiry cannot be moved.
#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/clock.hpp"

namespace tb::auth {

// The key of signed links, the same in every process built from the same
// configuration, so a link minted by one `serve` process verifies on any
// other: HMAC-SHA256 under a fixed label of DOWNLOAD_LINK_SECRET, or else of
// JWT_SECRET (never the secret itself, so a link MAC is no JWT signature).
// Throws config::ConfigError naming DOWNLOAD_LINK_SECRET when neither is set
// (RS256/ES256 share no secret to derive from).
std::string download_link_key(const config::Config& config);

// Throws tb::Error(kInternal) when `key` is empty.
std::string sign_link(std::string_view key, std::string_view resource_id, tb::SystemTime expires);
// True only for a token made by sign_link with the same key and resource id, before it expired.
bool verify_link(std::string_view key, std::string_view resource_id, std::string_view token,
                 tb::SystemTime now);

}  // namespace tb::auth
