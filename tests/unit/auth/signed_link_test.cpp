#include "auth/signed_link.hpp"
#include "core/error.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace tb::auth {
namespace {

using std::chrono::seconds;
const SystemTime kNow{seconds(1'900'000'000)};
const std::string kKey = "link-key-0123456789abcdef0123456789";
const std::string kBackup = "6f1c2d4e-0000-4000-8000-000000000001";

TEST(SignedLink, ValidUntilItExpires) {
  std::string token = sign_link(kKey, kBackup, kNow + seconds(300));
  EXPECT_EQ(token.find_first_not_of("0123456789.-_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
            std::string::npos) << "not URL-safe: " << token;
  EXPECT_TRUE(verify_link(kKey, kBackup, token, kNow));
  EXPECT_TRUE(verify_link(kKey, kBackup, token, kNow + seconds(299)));
  EXPECT_FALSE(verify_link(kKey, kBackup, token, kNow + seconds(300)));
  EXPECT_FALSE(verify_link(kKey, kBackup, token, kNow + seconds(3600)));
}

TEST(SignedLink, OnlyOpensItsOwnResourceWithItsOwnKey) {
  std::string token = sign_link(kKey, kBackup, kNow + seconds(300));
  EXPECT_FALSE(verify_link(kKey, "6f1c2d4e-0000-4000-8000-000000000002", token, kNow));
  EXPECT_FALSE(verify_link(kKey + "x", kBackup, token, kNow));
  EXPECT_FALSE(verify_link("", kBackup, token, kNow));
}

TEST(SignedLink, TamperedTokensAreRefused) {
  std::string token = sign_link(kKey, kBackup, kNow + seconds(300));
  auto dot = token.find('.');
  // A later expiry with the old signature.
  std::string later = std::to_string(1'900'000'000 + 86400) + token.substr(dot);
  EXPECT_FALSE(verify_link(kKey, kBackup, later, kNow));
  // Leading zeros would be another spelling of the same expiry.
  EXPECT_FALSE(verify_link(kKey, kBackup, "0" + token, kNow));
  std::string flipped = token;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_link(kKey, kBackup, flipped, kNow));
  for (const std::string& bad : std::vector<std::string>{"", ".", "123", token.substr(dot), token.substr(0, dot + 1), "-5" + token.substr(dot),
                          token + "x", std::string(300, '1')}) {
    EXPECT_FALSE(verify_link(kKey, kBackup, bad, kNow)) << bad;
  }
}

TEST(SignedLink, EmptyKeyCannotSign) {
  EXPECT_THROW(sign_link("", kBackup, kNow), Error);
}

}  // namespace
}  // namespace tb::auth
