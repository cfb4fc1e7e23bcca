// The text forms around a token: the Authorization header's Bearer scheme and
// the base64url encoding of a token's parts (canonical spellings only).
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "auth/base64url.hpp"
#include "auth/jwt.hpp"
#include "core/error.hpp"

namespace tb::auth {
namespace {

TEST(Bearer, TokenParsing) {
  EXPECT_EQ(bearer_token("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(bearer_token("bearer   abc.def.ghi "), "abc.def.ghi");
  for (std::string_view bad : {"", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearerabc",
                               "Bearer a b", "Token abc.def.ghi"}) {
    SCOPED_TRACE(std::string(bad));
    try {
      bearer_token(bad);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kUnauthorized);
    }
  }
}

TEST(Base64Url, RoundTripsAndRefusesNonCanonicalText) {
  std::string bytes;
  for (int n = 0; n < 40; ++n) {
    EXPECT_EQ(base64url_decode(base64url_encode(bytes)), bytes);
    bytes += static_cast<char>(n * 37 + 250);
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("QQ"), "A");
  EXPECT_FALSE(base64url_decode("QR"));  // non-zero trailing bits: a second spelling of "A"
  EXPECT_FALSE(base64url_decode("QQ=="));
  EXPECT_FALSE(base64url_decode("Q"));
  EXPECT_FALSE(base64url_decode("ab+/"));
  EXPECT_FALSE(base64url_decode("ab c"));
}

}  // namespace
}  // namespace tb::auth
