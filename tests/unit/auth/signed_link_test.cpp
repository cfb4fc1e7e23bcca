#include "auth/signed_link.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace tb::auth {
namespace {

using std::chrono::seconds;
const SystemTime kNow{seconds(1'900'000'000)};
const std::string kKey = "link-key-0123456789abcdef0123456789";
const std::string kBackup = "6f1c2d4e-0000-4000-8000-000000000001";

TEST(SignedLink, ValidUntilItExpires) {
  std::string token = sign_link(kKey, kBackup, kNow + seconds(300));
  EXPECT_EQ(
      token.find_first_not_of("0123456789.-_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
      std::string::npos)
      << "not URL-safe: " << token;
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
  for (const std::string& bad :
       std::vector<std::string>{"", ".", "123", token.substr(dot), token.substr(0, dot + 1),
                                "-5" + token.substr(dot), token + "x", std::string(300, '1')}) {
    EXPECT_FALSE(verify_link(kKey, kBackup, bad, kNow)) << bad;
  }
}

TEST(SignedLink, EmptyKeyCannotSign) {
  EXPECT_THROW(sign_link("", kBackup, kNow), Error);
}

// Two `serve` processes of one deployment each build their key from the same
// configuration: a link minted by one must open on the other.
TEST(DownloadLinkKey, IsTheSameInEveryProcessBuiltFromOneConfiguration) {
  config::Config rs256;
  rs256.jwt_algorithm = config::JwtAlgorithm::kRS256;
  rs256.jwt_public_key_file = "/etc/tb/jwt.pub";
  rs256.download_link_secret = "download-link-secret-0123456789abcdef";
  config::Config other_process = rs256;
  const std::string a = download_link_key(rs256);
  const std::string b = download_link_key(other_process);
  EXPECT_EQ(a, b);
  EXPECT_TRUE(verify_link(b, kBackup, sign_link(a, kBackup, kNow + seconds(300)), kNow));
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, rs256.download_link_secret);  // derived, not the secret itself

  config::Config rotated = rs256;
  rotated.download_link_secret = "another-link-secret-0123456789abcdef";
  EXPECT_FALSE(verify_link(download_link_key(rotated), kBackup,
                           sign_link(a, kBackup, kNow + seconds(300)), kNow));
}

TEST(DownloadLinkKey, Hs256DerivesOneFromJwtSecretButNeverUsesItAsIs) {
  config::Config hs;
  hs.jwt_secret = "jwt-secret-0123456789abcdef0123456789";
  config::Config same = hs;
  const std::string key = download_link_key(hs);
  EXPECT_EQ(key, download_link_key(same));
  EXPECT_NE(key, hs.jwt_secret);
  EXPECT_EQ(key.find(hs.jwt_secret), std::string::npos);
  // A MAC of the JWT secret over a link's text is not a link MAC.
  EXPECT_NE(sign_link(key, kBackup, kNow), sign_link(hs.jwt_secret, kBackup, kNow));
  // An explicit DOWNLOAD_LINK_SECRET wins (e.g. to rotate links without rotating tokens).
  config::Config explicit_secret = hs;
  explicit_secret.download_link_secret = "download-link-secret-0123456789abcdef";
  EXPECT_NE(download_link_key(explicit_secret), key);
}

TEST(DownloadLinkKey, WithNothingToDeriveFromStartUpIsRefused) {
  config::Config es256;
  es256.jwt_algorithm = config::JwtAlgorithm::kES256;
  es256.jwt_public_key_file = "/etc/tb/jwt.pub";
  try {
    download_link_key(es256);
    FAIL() << "a key was made from nothing";
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(e.variable(), "DOWNLOAD_LINK_SECRET");
  }
}

}  // namespace
}  // namespace tb::auth
