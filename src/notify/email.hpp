// E-mail notices (job finished, backup expiring) through libcurl's SMTP client.
//
// Invariants: nothing from the caller reaches the SMTP envelope or a header
// without validation: addresses must pass is_plain_email, the subject has
// CR/LF and other control characters replaced (no header injection) and is
// RFC 2047-encoded when not ASCII; the body is sent as text/plain UTF-8
// (base64 when it is not plain short-lined ASCII). Date: and Message-ID: are
// written here because libcurl does not add them.
// TLS: smtps:// is TLS from the start and required; smtp:// upgrades with
// STARTTLS when the server offers it, and requires it when the URL carries
// credentials (a password is never sent in clear text).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace tb::notify {

struct SmtpOptions {
  std::string url;   // smtp://host:port or smtps://user:password@host:port
  std::string from;  // a plain address (is_plain_email)
  std::chrono::seconds timeout{15};
};

struct Email {
  std::string to;  // a plain address (is_plain_email)
  std::string subject;
  std::string text;  // UTF-8, "\n" or "\r\n" line ends
};

// Sends one message; returns once the relay accepted it. Throws tb::Error(kValidation)
// for an invalid address, tb::Error(kInternal, "e-mail could not be sent", detail)
// when the relay cannot be reached or refuses it. The caller logs it.
void send_email(const SmtpOptions& options, const Email& email);

// One '@', a non-empty dot-atom local part (<= 64) and a hostname domain, <= 254
// characters in all; no spaces, CR/LF, commas, quotes or angle brackets.
bool is_plain_email(std::string_view address);

// RFC 5322 date, e.g. "Tue, 24 Nov 2026 19:46:07 +0000" (exposed for tests).
std::string rfc5322_date(std::chrono::system_clock::time_point t);

}  // namespace tb::notify
