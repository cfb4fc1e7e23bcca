// JWT verification (JWS compact form) for the API's bearer tokens.
//
// Invariants:
// - The accepted algorithm is fixed by configuration, never read from the token:
//   a header `alg` other than the configured one (`none`, or HS256 while RS256 is
//   configured: the key-confusion attack) is refused.
// - The signature is checked before the payload is parsed.
// - Tokens are at most kMaxTokenSize bytes; base64url must be canonical; JSON
//   objects with duplicate keys are refused (Boost.JSON 1.81 would silently
//   keep the last one, so a claim could be read differently by another parser).
// - `exp` is required and numeric; `nbf` and `iat` are honoured with the leeway;
//   `iss` and `aud` (string or array) are checked when configured; `typ`, when
//   present, must be "JWT"; `crit` is refused (no extension is understood);
//   `sub` is required (the audit log needs an actor).
// Every refusal is tb::Error(ErrorCode::kUnauthorized) with a short public
// reason ("token expired", "token signature invalid", ...).
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "auth/principal.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"

namespace tb::auth {

inline constexpr std::size_t kMaxTokenSize = std::size_t{8} * 1024;

struct VerifierOptions {
  tb::config::JwtAlgorithm algorithm = tb::config::JwtAlgorithm::kHS256;
  std::string secret;  // HS256: at least 32 bytes
  std::string
      public_key_pem;    // RS256 (RSA, 2048+ bits) / ES256 (EC P-256): SubjectPublicKeyInfo PEM
  std::string issuer;    // "" = not checked
  std::string audience;  // "" = not checked
  std::chrono::seconds leeway{30};
};

class JwtVerifier {
 public:
  // Throws tb::Error(kInternal) on a missing/short secret or a key that does not fit the algorithm.
  explicit JwtVerifier(VerifierOptions options);
  // HS256 from JWT_SECRET, RS256/ES256 from the file JWT_PUBLIC_KEY_FILE.
  static JwtVerifier from_config(const tb::config::Config& config);

  // The principal of a valid token; throws tb::Error(kUnauthorized, reason) otherwise.
  Principal verify(std::string_view token, tb::SystemTime now) const;

  const VerifierOptions& options() const { return options_; }

 private:
  struct Key;
  VerifierOptions options_;
  std::shared_ptr<const Key> key_;  // shared: a verifier is cheap to copy and thread-safe to use
};

// "Bearer <jwt>" (scheme case-insensitive) -> the token, a view into the header.
// Throws tb::Error(kUnauthorized) when the header is empty or not a bearer token.
std::string_view bearer_token(std::string_view authorization_header);

// A signed HS256 token with `claims` as payload (the `token` subcommand and tests).
std::string mint_hs256(std::string_view secret, const boost::json::object& claims);

}  // namespace tb::auth
