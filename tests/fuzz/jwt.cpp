// Fuzz target: the JWT verifier (src/auth) with a fixed HS256 secret and a
// fixed clock. Every input must be refused with tb::Error UNAUTHORIZED or, if
// the fuzzer ever forges a valid HMAC (it will not), accepted with a subject.
// The input is also tried as an "Authorization" header value.
#include "auth/jwt.hpp"

#include <chrono>
#include <cstdlib>
#include <string_view>

#include "core/error.hpp"
#include "fuzz_target.hpp"

namespace {

const tb::auth::JwtVerifier& verifier() {
  static const tb::auth::JwtVerifier v([] {
    tb::auth::VerifierOptions o;
    o.secret = "a-fixed-fuzzing-secret-that-is-long-enough-0123456789";
    o.issuer = "tb";
    o.audience = "tenant-backup";
    return o;
  }());
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto now = tb::SystemTime{} + std::chrono::seconds(1'700'000'000);
  try {
    auto p = verifier().verify(input, now);
    if (p.subject.empty()) std::abort();
  } catch (const tb::Error& e) {
    if (e.code() != tb::ErrorCode::kUnauthorized) std::abort();
  }
  try {
    (void)verifier().verify(tb::auth::bearer_token(input), now);
  } catch (const tb::Error& e) {
    if (e.code() != tb::ErrorCode::kUnauthorized) std::abort();
  }
  return 0;
}
