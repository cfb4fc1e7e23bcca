// Keys as age-keygen writes them: recipients, identities, identity files.
// Known answers come from the age format specification's X25519 example and
// from the real age-keygen.
#include "age/keys.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "age/bech32.hpp"
#include "age_test_util.hpp"
#include "core/error.hpp"

namespace tb::age {
namespace {

using test::TempDir;

// The X25519 example of the age format specification.
constexpr std::string_view kSpecIdentity =
    "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
constexpr std::string_view kSpecRecipient =
    "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The message of the kValidation error that parse_recipient throws.
std::string recipient_error(std::string_view text) {
  try {
    parse_recipient(text, "encryption.recipients[0]");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kValidation) << text;
    EXPECT_EQ(e.field(), "encryption.recipients[0]");
    return e.message();
  }
  ADD_FAILURE() << "accepted: " << text;
  return {};
}

TEST(AgeKeys, SpecExampleIdentityGivesItsRecipient) {
  Identity id = parse_identity(kSpecIdentity);
  EXPECT_EQ(to_string(recipient_of(id)), kSpecRecipient);
  EXPECT_EQ(to_string(id), kSpecIdentity);
  EXPECT_EQ(parse_recipient(kSpecRecipient), recipient_of(id));
}

TEST(AgeKeys, AgeKeygenOutputParsesAndAgrees) {
  TempDir dir;
  tb::test::run_command("age-keygen -o " + dir.file("key.txt") + " 2>/dev/null");
  const std::string recipient = trim(tb::test::run_command("age-keygen -y " + dir.file("key.txt")));
  auto ids = load_identity_file(dir.file("key.txt"));
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(to_string(recipient_of(ids[0])), recipient);
  EXPECT_EQ(to_string(parse_recipient(recipient)), recipient);
}

TEST(AgeKeys, OurIdentitiesAreReadByAgeKeygen) {
  TempDir dir;
  for (int i = 0; i < 3; ++i) {
    Identity id = generate_identity();
    test::save(dir.file("key.txt"), to_string(id) + "\n");
    EXPECT_EQ(trim(tb::test::run_command("age-keygen -y " + dir.file("key.txt"))),
              to_string(recipient_of(id)));
  }
}

TEST(AgeKeys, MalformedRecipientsAreRefusedWithTheReason) {
  std::string bad_checksum(kSpecRecipient);
  bad_checksum.back() = bad_checksum.back() == 'j' ? 'k' : 'j';
  EXPECT_NE(recipient_error(bad_checksum).find("checksum"), std::string::npos);

  std::string typo(kSpecRecipient);
  typo[10] = typo[10] == 'q' ? 'p' : 'q';
  EXPECT_NE(recipient_error(typo).find("checksum"), std::string::npos);

  std::string mixed(kSpecRecipient);
  mixed[8] = static_cast<char>(std::toupper(mixed[8]));
  EXPECT_NE(recipient_error(mixed).find("case"), std::string::npos);

  std::string upper(kSpecRecipient);
  for (auto& c : upper) c = static_cast<char>(std::toupper(c));
  EXPECT_NE(recipient_error(upper).find("lowercase"), std::string::npos);

  // An identity pasted where a recipient belongs, and another HRP.
  EXPECT_NE(recipient_error(kSpecIdentity).find("prefix"), std::string::npos);
  std::vector<std::uint8_t> key(32, 7);
  EXPECT_NE(recipient_error(bech32::encode("agx", key)).find("prefix"), std::string::npos);

  std::vector<std::uint8_t> short_key(31, 7);
  EXPECT_NE(recipient_error(bech32::encode("age", short_key)).find("32 bytes"), std::string::npos);
  std::vector<std::uint8_t> long_key(33, 7);
  EXPECT_NE(recipient_error(bech32::encode("age", long_key)).find("32 bytes"), std::string::npos);

  // Low-order points (here zero) would make every shared secret zero.
  EXPECT_NE(recipient_error(bech32::encode("age", std::vector<std::uint8_t>(32, 0))).find("usable"),
            std::string::npos);

  EXPECT_NE(recipient_error("").find("empty"), std::string::npos);
  recipient_error("age1");
  recipient_error("hello");
  recipient_error("age1 zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj");
  recipient_error("age1bzvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj");
}

TEST(AgeKeys, MalformedIdentityErrorsNeverRepeatTheSecret) {
  std::string bad(kSpecIdentity);
  bad.back() = 'Y';
  try {
    parse_identity(bad);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kValidation);
    EXPECT_EQ(e.message().find("GFPYYSJZ"), std::string::npos) << e.message();
  }
  std::string lower(kSpecIdentity);
  for (auto& c : lower) c = static_cast<char>(std::tolower(c));
  EXPECT_THROW(parse_identity(lower), Error);
  EXPECT_THROW(parse_identity(kSpecRecipient), Error);
}

TEST(AgeKeys, IdentityFileReadableByOthersIsRefusedNamingThePath) {
  TempDir dir;
  const std::string path = dir.file("identity.txt");
  test::save(path, std::string(kSpecIdentity) + "\n");
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    ::chmod(path.c_str(), mode);
    try {
      check_identity_file_permissions(path);
      FAIL() << "mode " << std::oct << mode << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kValidation);
      EXPECT_NE(e.message().find(path), std::string::npos) << e.message();
      EXPECT_NE(e.message().find("chmod 600"), std::string::npos) << e.message();
    }
    EXPECT_THROW(load_identity_file(path), Error);
  }
  for (mode_t mode : {0600, 0400}) {
    ::chmod(path.c_str(), mode);
    EXPECT_NO_THROW(check_identity_file_permissions(path));
    EXPECT_EQ(load_identity_file(path).size(), 1u);
  }
}

TEST(AgeKeys, MissingIdentityFileIsNotFound) {
  TempDir dir;
  try {
    load_identity_file(dir.file("absent.txt"));
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(e.message().find("absent.txt"), std::string::npos);
  }
  EXPECT_THROW(check_identity_file_permissions(dir.path), Error);  // a folder
}

TEST(AgeKeys, IdentityFileKeepsOrderAndSkipsCommentsAndBlankLines) {
  TempDir dir;
  const std::string path = dir.file("identity.txt");
  Identity newer = generate_identity();
  Identity older = generate_identity();
  test::save(path, "# created: 2024-01-01T00:00:00Z\n# public key: " +
                       to_string(recipient_of(newer)) + "\n" + to_string(newer) + "\n\n" +
                       "# retired key, kept to read old backups\n" + to_string(older) + "\r\n");
  ::chmod(path.c_str(), 0600);
  auto ids = load_identity_file(path);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(recipient_of(ids[0]), recipient_of(newer));
  EXPECT_EQ(recipient_of(ids[1]), recipient_of(older));
}

TEST(AgeKeys, BadIdentityFilesNameTheLineButNotItsContent) {
  TempDir dir;
  const std::string path = dir.file("identity.txt");
  std::string bad(kSpecIdentity);
  bad[20] = bad[20] == 'Z' ? 'Y' : 'Z';
  test::save(path, "# comment\n" + std::string(kSpecIdentity) + "\n" + bad + "\n");
  ::chmod(path.c_str(), 0600);
  try {
    load_identity_file(path);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("line 3"), std::string::npos) << e.message();
    EXPECT_EQ(e.message().find("GFPYYSJZ"), std::string::npos) << e.message();
  }
  test::save(path, "# only a comment\n\n");
  EXPECT_THROW(load_identity_file(path), Error);
}

}  // namespace
}  // namespace tb::age
