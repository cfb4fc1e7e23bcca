// A real SMTP server on loopback for tests: Debian's python3-aiosmtpd, run by
// /usr/bin/python3, writing every accepted message to a folder.
//
// The server binds port 0 itself and reports the port it got, so there is no
// race for a "free" port. It exits with the test process (it watches its
// parent), and the destructor stops it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.hpp"

namespace tb::test {

struct ReceivedEmail {
  std::string mail_from;             // envelope MAIL FROM
  std::vector<std::string> rcpt_to;  // envelope RCPT TO
  std::string raw;                   // the message as received (headers + body, CRLF)
};

class SmtpServer {
 public:
  SmtpServer() = default;
  ~SmtpServer();
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  // Starts the server on 127.0.0.1 and a free port; throws std::runtime_error on failure.
  void start();
  void stop();
  int port() const { return port_; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

  // Raw messages, in arrival order, once at least `n` arrived; throws on timeout.
  std::vector<std::string> wait_for_messages(
      std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // The same with the envelope.
  std::vector<ReceivedEmail> wait_for_emails(
      std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(60));

 private:
  std::string dir_;
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

}  // namespace tb::test
