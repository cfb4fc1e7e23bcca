// The settings' "encryption" object: age recipients checked one by one, the
// field at fault named, a pasted secret key never echoed.
#include "model/encryption.hpp"

#include <gtest/gtest.h>

#include "age/keys.hpp"
#include "core/error.hpp"
#include "model/requests.hpp"

namespace tb::model {
namespace {

// The VALIDATION_ERROR that `body` gets as a settings update.
Error refusal(const std::string& body, const BackupSettings& current = {}) {
  try {
    parse_settings_update(body, current);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kValidation) << e.what();
    return e;
  }
  ADD_FAILURE() << "accepted: " << body;
  return Error(ErrorCode::kInternal, "");
}

std::string fresh_recipient() {
  return age::to_string(age::recipient_of(age::generate_identity()));
}

TEST(EncryptionSettings, RecipientsAreKeptInOrderAndAbsentFieldsKeepTheirs) {
  const auto a = fresh_recipient();
  const auto b = fresh_recipient();
  auto s = parse_settings_update(
      R"({"encryption":{"enabled":true,"recipients":[")" + a + R"(",")" + b + R"("]}})", {});
  EXPECT_TRUE(s.encryption.enabled);
  EXPECT_EQ(s.encryption.recipients, (std::vector<std::string>{a, b}));
  // Turning it off keeps the keys, so turning it on again needs no re-pasting.
  auto off = parse_settings_update(R"({"encryption":{"enabled":false}})", s);
  EXPECT_FALSE(off.encryption.enabled);
  EXPECT_EQ(off.encryption.recipients, s.encryption.recipients);
  // Another field alone leaves encryption as it was.
  EXPECT_EQ(parse_settings_update(R"({"retention_days":3})", s).encryption, s.encryption);
  // Enabled without tenant keys: encrypted to the service alone.
  auto only_service = parse_settings_update(R"({"encryption":{"enabled":true}})", {});
  EXPECT_TRUE(only_service.encryption.enabled);
  EXPECT_TRUE(only_service.encryption.recipients.empty());
  EXPECT_EQ(to_json(s.encryption).at("recipients").as_array().size(), 2u);
}

TEST(EncryptionSettings, EachBadRecipientIsRefusedNamingItsIndex) {
  const auto good = fresh_recipient();
  // One character changed: the Bech32 checksum no longer matches.
  auto typo = good;
  typo[10] = typo[10] == 'q' ? 'p' : 'q';
  auto e = refusal(R"({"encryption":{"recipients":[")" + good + R"(",")" + typo + R"("]}})");
  EXPECT_EQ(e.field(), "encryption.recipients[1]");
  EXPECT_NE(e.message().find("not an age recipient"), std::string::npos) << e.message();
  EXPECT_EQ(refusal(R"({"encryption":{"recipients":["ssh-ed25519 AAAA"]}})").field(),
            "encryption.recipients[0]");
  EXPECT_EQ(refusal(R"({"encryption":{"recipients":[""]}})").field(), "encryption.recipients[0]");
  EXPECT_EQ(
      refusal(R"({"encryption":{"recipients":[")" + good + R"(",")" + good + R"("]}})").field(),
      "encryption.recipients[1]");
  EXPECT_EQ(refusal(R"({"encryption":{"recipients":"age1"}})").field(), "encryption.recipients");
  EXPECT_EQ(refusal(R"({"encryption":{"enabled":"yes"}})").field(), "encryption.enabled");
  EXPECT_EQ(refusal(R"({"encryption":{"enable":true}})").field(), "encryption.enable");
  EXPECT_EQ(refusal(R"({"encryption":true})").field(), "encryption");
  std::string many = R"({"encryption":{"recipients":[)";
  for (std::size_t i = 0; i <= kMaxRecipients; ++i) many += (i ? ",\"" : "\"") + good + "\"";
  EXPECT_EQ(refusal(many + "]}}").field(), "encryption.recipients");
}

TEST(EncryptionSettings, APastedSecretKeyIsRefusedWithoutRepeatingIt) {
  const auto secret = age::to_string(age::generate_identity());
  auto e = refusal(R"({"encryption":{"recipients":[")" + secret + R"("]}})");
  EXPECT_EQ(e.field(), "encryption.recipients[0]");
  EXPECT_NE(e.message().find("secret key"), std::string::npos) << e.message();
  EXPECT_EQ(std::string(e.what()).find(secret.substr(15)), std::string::npos);
  EXPECT_EQ(e.message().find(secret.substr(15)), std::string::npos);
  EXPECT_EQ(e.detail().find(secret.substr(15)), std::string::npos);
}

}  // namespace
}  // namespace tb::model
