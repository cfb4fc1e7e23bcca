// Base64url without padding (RFC 4648 §5, as JWS uses it) and HMAC-SHA256.
//
// Decoding is strict on purpose: padding, characters outside the URL-safe
// alphabet, impossible lengths and non-zero trailing bits are all refused, so
// that every encoded string has exactly one decoding and a token cannot be
// altered into an "equivalent" spelling that still verifies.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tb::auth {

std::string base64url_encode(std::string_view bytes);
// std::nullopt when `text` is not canonical unpadded base64url.
std::optional<std::string> base64url_decode(std::string_view text);

// HMAC-SHA256 of `data` keyed by `key`: 32 raw bytes. Throws tb::Error(kInternal) if OpenSSL fails.
std::string hmac_sha256(std::string_view key, std::string_view data);
// Constant-time equality of two byte strings (false when the sizes differ).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace tb::auth
