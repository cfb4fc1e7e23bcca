#include "notify/email.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>

#include "core/error.hpp"
#include "core/ids.hpp"

namespace tb::notify {
namespace {

bool is_atext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+/=?^_`{|}~-").find(c) != std::string_view::npos;
}

bool valid_local_part(std::string_view s) {
  if (s.empty() || s.size() > 64 || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i + 1] == '.') return false;  // safe: the last char is not '.'
    } else if (!is_atext(s[i])) {
      return false;
    }
  }
  return true;
}

bool valid_domain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find('.', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view label = s.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label) {
      bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

bool is_ascii_printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// Control characters (CR/LF above all) become spaces: a subject can never start a new header.
std::string header_text(std::string_view subject) {
  std::string clean;
  clean.reserve(subject.size());
  for (char c : subject) {
    auto u = static_cast<unsigned char>(c);
    clean += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  if (clean.size() > 200) clean.resize(200);  // a notice subject, not a novel
  if (is_ascii_printable(clean)) return clean;
  // RFC 2047 encoded-words, each at most 75 characters: 45 bytes of UTF-8 -> 60 base64 chars.
  // Split only at UTF-8 character starts so each word decodes on its own.
  std::string out;
  std::size_t i = 0;
  while (i < clean.size()) {
    std::size_t end = std::min(clean.size(), i + 45);
    while (end < clean.size() && (static_cast<unsigned char>(clean[end]) & 0xC0) == 0x80) --end;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(std::string_view(clean).substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

// The body with CRLF line ends; plain 7bit when possible, base64 otherwise.
std::pair<std::string, std::string> body_and_encoding(std::string_view text) {
  std::string crlf;
  crlf.reserve(text.size() + text.size() / 40);
  bool seven_bit = true;
  std::size_t line = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    if (c == '\n' || c == '\r') {
      crlf += "\r\n";
      line = 0;
      continue;
    }
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || (u < 0x20 && c != '\t') || u == 0x7f || ++line > 900) seven_bit = false;
    crlf += c;
  }
  if (seven_bit) return {crlf, "7bit"};
  std::string encoded = base64(crlf);
  std::string wrapped;
  for (std::size_t i = 0; i < encoded.size(); i += 76) wrapped += encoded.substr(i, 76) + "\r\n";
  return {wrapped, "base64"};
}

// The URL without "user:password@", for error messages and logs.
std::string url_for_log(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return "(invalid url)";
  auto at = url.find('@', scheme_end + 3);
  auto slash = url.find('/', scheme_end + 3);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  return url.substr(0, scheme_end + 3) + "***@" + url.substr(at + 1);
}

bool has_credentials(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return false;
  auto at = url.find('@', scheme_end + 3);
  auto slash = url.find('/', scheme_end + 3);
  return at != std::string::npos && (slash == std::string::npos || at < slash);
}

struct Reader {
  std::string_view data;
  std::size_t offset = 0;
};

std::size_t read_from_memory(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* r = static_cast<Reader*>(user);
  std::size_t n = std::min(size * count, r->data.size() - r->offset);
  std::memcpy(buffer, r->data.data() + r->offset, n);
  r->offset += n;
  return n;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? "localhost" : std::string(address.substr(at + 1));
}

}  // namespace

bool is_plain_email(std::string_view address) {
  if (address.size() < 3 || address.size() > 254) return false;
  auto at = address.find('@');
  if (at == std::string_view::npos || address.find('@', at + 1) != std::string_view::npos)
    return false;
  return valid_local_part(address.substr(0, at)) && valid_domain(address.substr(at + 1));
}

std::string rfc5322_date(std::chrono::system_clock::time_point t) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  // Names spelled out here: strftime's %a/%b follow the locale.
  char out[64];
  std::snprintf(out, sizeof out, "%s, %02d %s %04d %02d:%02d:%02d +0000",
                kDays[static_cast<std::size_t>(tm.tm_wday)], tm.tm_mday,
                kMonths[static_cast<std::size_t>(tm.tm_mon)], tm.tm_year + 1900, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  return out;
}

void send_email(const SmtpOptions& options, const Email& email) {
  if (!is_plain_email(email.to))
    throw_validation("notify_email", "'notify_email' must be a plain e-mail address");
  if (!is_plain_email(options.from))
    throw_internal("SMTP_FROM '" + options.from + "' is not a plain e-mail address");
  bool implicit_tls = options.url.rfind("smtps://", 0) == 0;
  if (!implicit_tls && options.url.rfind("smtp://", 0) != 0) {
    throw_internal("SMTP_URL must start with smtp:// or smtps://");
  }

  auto [body, encoding] = body_and_encoding(email.text);
  std::string message;
  message += "Date: " + rfc5322_date(std::chrono::system_clock::now()) + "\r\n";
  message += "Message-ID: <" + tb::new_uuid() + "@" + domain_of(options.from) + ">\r\n";
  message += "From: " + options.from + "\r\n";
  message += "To: " + email.to + "\r\n";
  message += "Subject: " + header_text(email.subject) + "\r\n";
  message += "MIME-Version: 1.0\r\n";
  message += "Content-Type: text/plain; charset=utf-8\r\n";
  message += "Content-Transfer-Encoding: " + encoding + "\r\n";
  message += "Auto-Submitted: auto-generated\r\n";
  message += "\r\n";
  message += body;

  global_init();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) throw_internal("curl_easy_init failed");
  std::string mail_from = "<" + options.from + ">";
  std::string rcpt = "<" + email.to + ">";
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> recipients(
      curl_slist_append(nullptr, rcpt.c_str()), &curl_slist_free_all);
  Reader reader{message};
  std::array<char, CURL_ERROR_SIZE> error{};
  long timeout_ms = static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout).count());
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, options.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(
      c, CURLOPT_USE_SSL,
      static_cast<long>(implicit_tls || has_credentials(options.url) ? CURLUSESSL_ALL
                                                                     : CURLUSESSL_TRY));
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, &read_from_memory);
  curl_easy_setopt(c, CURLOPT_READDATA, &reader);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 10000L));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // worker threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error.data());
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    long smtp_code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &smtp_code);
    std::string reason = error[0] != '\0' ? error.data() : curl_easy_strerror(rc);
    throw Error(ErrorCode::kInternal, "e-mail could not be sent",
                "smtp to '" + email.to + "' via " + url_for_log(options.url) + " failed: " +
                    reason + (smtp_code != 0 ? " (smtp " + std::to_string(smtp_code) + ")" : ""));
  }
}

}  // namespace tb::notify
