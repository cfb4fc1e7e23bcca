// send_email against a real SMTP server on loopback (aiosmtpd, tests/support).
#include "notify/email.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "support/pg_cluster.hpp"
#include "support/smtp_server.hpp"

namespace tb::notify {
namespace {

using std::chrono::seconds;

class EmailTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    smtp_ = new test::SmtpServer();
    smtp_->start();
  }
  static void TearDownTestSuite() {
    delete smtp_;
    smtp_ = nullptr;
  }
  SmtpOptions options() const { return {smtp_->url(), "backups@example.test", seconds(10)}; }
  static inline test::SmtpServer* smtp_ = nullptr;
  static inline std::size_t sent_ = 0;
};

// The header named `name` of a raw message, unfolded ("" when absent). No
// std::regex: GCC 12 warns inside it at -O1 with sanitizers (-Werror).
std::string header(const std::string& raw, const std::string& name) {
  std::string head = raw.substr(0, raw.find("\r\n\r\n"));
  std::string unfolded;
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (head.compare(i, 2, "\r\n") == 0 && i + 2 < head.size() &&
        (head[i + 2] == ' ' || head[i + 2] == '\t')) {
      i += 2;
      unfolded += ' ';
      continue;
    }
    unfolded += head[i];
  }
  std::size_t start = 0;
  while (start < unfolded.size()) {
    std::size_t end = unfolded.find("\r\n", start);
    if (end == std::string::npos) end = unfolded.size();
    std::string line = unfolded.substr(start, end - start);
    if (line.size() > name.size() + 1 && line.compare(name.size(), 2, ": ") == 0 &&
        std::equal(name.begin(), name.end(), line.begin(),
                   [](char x, char y) { return std::tolower(x) == std::tolower(y); })) {
      return line.substr(name.size() + 2);
    }
    start = end + 2;
  }
  return {};
}

// The shape of "Tue, 24 Nov 2026 19:46:07 +0000": 'a' a letter, '9' a digit, other characters
// literal.
bool matches_shape(const std::string& text, const std::string& shape) {
  if (text.size() != shape.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (shape[i] == 'a'   ? !std::isalpha(static_cast<unsigned char>(text[i]))
        : shape[i] == '9' ? !std::isdigit(static_cast<unsigned char>(text[i]))
                          : text[i] != shape[i]) {
      return false;
    }
  }
  return true;
}
std::string body(const std::string& raw) {
  return raw.substr(raw.find("\r\n\r\n") + 4);
}

TEST_F(EmailTest, MessageArrivesWithSubjectBodyDateAndMessageId) {
  send_email(options(),
             {"owner@example.test", "Backup of 'shop' completed",
              "Your backup finished.\nSize: 12 MiB\n.\nA line with a lone dot above.\n"});
  auto mails = smtp_->wait_for_emails(++sent_);
  const auto& m = mails.back();
  EXPECT_EQ(m.mail_from, "backups@example.test");
  EXPECT_EQ(m.rcpt_to, std::vector<std::string>{"owner@example.test"});
  EXPECT_EQ(header(m.raw, "Subject"), "Backup of 'shop' completed");
  EXPECT_EQ(header(m.raw, "To"), "owner@example.test");
  EXPECT_EQ(header(m.raw, "From"), "backups@example.test");
  EXPECT_TRUE(matches_shape(header(m.raw, "Date"), "aaa, 99 aaa 9999 99:99:99 +0000"))
      << header(m.raw, "Date");
  std::string id = header(m.raw, "Message-ID");
  EXPECT_TRUE(id.size() == 51 && id.front() == '<' && id.ends_with("@example.test>")) << id;
  // The lone "." line went through dot-stuffing and came back intact.
  EXPECT_EQ(body(m.raw),
            "Your backup finished.\r\nSize: 12 MiB\r\n.\r\nA line with a lone dot above.\r\n");
}

TEST_F(EmailTest, EachMessageGetsItsOwnMessageId) {
  send_email(options(), {"a@example.test", "one", "1"});
  send_email(options(), {"a@example.test", "two", "2"});
  sent_ += 2;
  auto mails = smtp_->wait_for_messages(sent_);
  EXPECT_NE(header(mails[sent_ - 1], "Message-ID"), header(mails[sent_ - 2], "Message-ID"));
}

TEST_F(EmailTest, HeaderInjectionThroughTheSubjectIsImpossible) {
  send_email(options(),
             {"owner@example.test", "hi\r\nBcc: victim@evil.test\nX-Injected: 1", "body"});
  auto mails = smtp_->wait_for_emails(++sent_);
  const auto& m = mails.back();
  EXPECT_EQ(m.rcpt_to, std::vector<std::string>{"owner@example.test"});
  EXPECT_EQ(header(m.raw, "Bcc"), "");
  EXPECT_EQ(header(m.raw, "X-Injected"), "");
  EXPECT_NE(header(m.raw, "Subject").find("Bcc: victim@evil.test"), std::string::npos);
}

TEST_F(EmailTest, NonAsciiSubjectAndBodyAreEncoded) {
  send_email(options(),
             {"owner@example.test", "Sauvegarde réussie ✓", "Taille : 3 Mo — terminé.\n"});
  auto mails = smtp_->wait_for_emails(++sent_);
  const auto& raw = mails.back().raw;
  std::string head = raw.substr(0, raw.find("\r\n\r\n"));
  for (char c : head)
    EXPECT_LT(static_cast<unsigned char>(c), 0x80) << "raw 8-bit byte in the header";
  EXPECT_NE(header(raw, "Subject").find("=?UTF-8?B?"), std::string::npos);
  EXPECT_EQ(header(raw, "Content-Transfer-Encoding"), "base64");
  // Python's e-mail parser, an independent reader, gets the original text back.
  std::string dir = test::make_temp_dir("tb-mail");
  std::ofstream(dir + "/m.eml", std::ios::binary) << raw;
  std::string decoded = test::run_command(
      "/usr/bin/python3 -c 'import sys, email, email.policy; "
      "m = email.message_from_binary_file(open(sys.argv[1], \"rb\"), policy=email.policy.default); "
      "sys.stdout.buffer.write((m[\"subject\"] + \"|\" + m.get_content()).encode())' " +
      dir + "/m.eml");
  std::filesystem::remove_all(dir);
  // Base64 carries the canonical CRLF line ends (RFC 2045 §6.8).
  EXPECT_EQ(decoded, "Sauvegarde réussie ✓|Taille : 3 Mo — terminé.\r\n");
}

TEST_F(EmailTest, InvalidRecipientIsRefusedBeforeConnecting) {
  try {
    send_email(options(), {"a@b.test>\r\nRCPT TO:<x@y.test", "s", "t"});
    ADD_FAILURE() << "sent";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kValidation);
  }
}

TEST(Email, DeadPortThrowsWithAClearMessage) {
  // A port that was just free: bind, note, close.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  // A refused connection fails at once: with an hour's timeout, a client that
  // waited for it would hang the test instead of passing it.
  try {
    send_email({"smtp://user:hunter2@127.0.0.1:" + std::to_string(port), "backups@example.test",
                seconds(3600)},
               {"owner@example.test", "s", "t"});
    ADD_FAILURE() << "sent";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
    EXPECT_EQ(e.message(), "e-mail could not be sent");
    EXPECT_NE(e.detail().find("connect"), std::string::npos) << e.detail();
    EXPECT_NE(e.detail().find("owner@example.test"), std::string::npos) << e.detail();
    EXPECT_EQ(e.detail().find("hunter2"), std::string::npos) << "password leaked: " << e.detail();
  }
}

TEST(Email, PlainAddressValidation) {
  for (const char* ok : {"a@b.co", "first.last+tag@sub.example.org", "x_y-z@host-1.example"}) {
    EXPECT_TRUE(is_plain_email(ok)) << ok;
  }
  for (const char* bad :
       {"", "a", "@b.co", "a@", "a@@b.co", "a@b@c.co", "a b@c.co", "a@b.co\r\nBcc: x@y.z",
        "a,b@c.co", "<a@b.co>", "Name <a@b.co>", "a@b..co", ".a@b.co", "a..b@c.co", "a@-b.co",
        "a@b.co ", "\"q\"@b.co", "a@b_c.co"}) {
    EXPECT_FALSE(is_plain_email(bad)) << bad;
  }
  EXPECT_FALSE(is_plain_email(std::string(65, 'a') + "@b.co"));
  EXPECT_FALSE(is_plain_email("a@" + std::string(250, 'b') + ".co"));
}

TEST(Email, DateHeaderFormat) {
  EXPECT_EQ(rfc5322_date(std::chrono::system_clock::time_point{seconds(1'795'549'567)}),
            "Tue, 24 Nov 2026 19:46:07 +0000");
}

}  // namespace
}  // namespace tb::notify
