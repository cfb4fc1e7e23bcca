// telegram: a small, blocking Telegram Bot API client (libcurl) for the calls
// backups need: sendDocument (multipart/form-data, the document streamed from
// a byte range of a file with its size given, so no chunked encoding and no
// copy in memory), getFile, file download, deleteMessage.
//
// Invariants:
// - The bot token is part of every Bot API URL. It never leaves this module in
//   an exception message or detail, a log line or a returned value: errors name
//   the method, not the URL, and every text that came from curl or Telegram is
//   scrubbed of the token.
// - Failures are classified once, here: 429 waits parameters.retry_after and
//   retries; 5xx, connection errors, timeouts and unreadable replies retry with
//   exponential backoff and jitter, up to `max_attempts` calls in all;
//   400/401/403/404/413 (and other 4xx) are permanent. What is left after the
//   attempts is an ApiError with permanent() == false.
// - Bodies have size caps: a JSON reply at most kMaxReplyBytes, a downloaded
//   file the size the caller expects. A body past its cap (announced or
//   streamed) aborts the transfer at once and fails the call with an ApiError
//   (not permanent, not retried within the call): a hostile or broken
//   endpoint cannot make us read or hold an endless reply.
// - At most one sendDocument per second per chat in this process (ChatPacer).
// - Time and randomness are injected (Clock, sleep, jitter) for tests.
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace tb::telegram {

// A Bot API call that failed for good (permanent: code kRemoteRefused) or
// after every retry (kUnavailable: a later attempt may get through).
// message(): "telegram destination failed: <Telegram's description>"; never
// holds the token.
class ApiError : public tb::Error {
 public:
  ApiError(bool permanent, int error_code, std::string description, std::string detail = {});
  bool permanent() const noexcept { return !is_retryable(code()); }
  int error_code() const noexcept {
    return error_code_;
  }  // HTTP/Bot API code, 0 for transport errors
  const std::string& description() const noexcept { return description_; }

 private:
  int error_code_;
  std::string description_;
};

// The largest Bot API JSON reply read (a Message or File object is a few KiB).
inline constexpr std::uint64_t kMaxReplyBytes = std::uint64_t{1024} * 1024;

using SleepFn = std::function<void(std::chrono::milliseconds)>;

// One message per `interval` per chat. reserve() books the chat's next slot
// and returns how long the caller must wait for it; shared by every BotApi
// of the process unless a test passes its own.
class ChatPacer {
 public:
  explicit ChatPacer(const Clock& clock,
                     std::chrono::milliseconds interval = std::chrono::seconds(1))
      : clock_(clock), interval_(interval) {}
  std::chrono::milliseconds reserve(const std::string& chat_id);
  static ChatPacer& shared();

 private:
  const Clock& clock_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::map<std::string, std::chrono::steady_clock::time_point> next_;
};

struct BotOptions {
  std::string api_url = "https://api.telegram.org";  // no trailing '/'
  std::string token;
  int max_attempts = 5;                          // calls per operation, 429s included
  std::chrono::milliseconds backoff_base{1000};  // 1st retry after ~base, then x2
  std::chrono::milliseconds backoff_cap{std::chrono::seconds(60)};
  std::chrono::milliseconds max_retry_after{
      std::chrono::minutes(5)};  // longer 429 waits fail the call
  std::chrono::seconds connect_timeout{15};
  std::chrono::seconds idle_timeout{60};  // no byte moved for this long: timeout
  const Clock* clock = nullptr;           // default RealClock
  SleepFn sleep;                          // default: sleeps, waking for cancel
  std::function<double()> jitter;         // [0, 1); default random
  ChatPacer* pacer = nullptr;             // default ChatPacer::shared()
  const std::atomic<bool>* cancel = nullptr;
};

struct SentDocument {
  std::int64_t message_id = 0;
  std::string chat_id;  // as Telegram returned it (its numeric id, or @name)
  std::string file_id;
  std::string file_unique_id;
  std::uint64_t file_size = 0;
  std::string file_name;
};

// ---- Reading Bot API replies (pure functions; the fuzz target
// tests/fuzz/telegram_reply.cpp drives them with arbitrary bytes).

// The reply body as JSON; null when it is not JSON (an HTML error page, a
// truncated body). Never throws.
boost::json::value parse_reply_body(std::string_view body);

// What one HTTP reply of the Bot API means for the caller (the classification
// the retry loop applies, see the header comment).
struct ReplyVerdict {
  enum class Kind {
    kSuccess,     // 2xx and {"ok":true,"result":...} (any 2xx when !json_expected)
    kRetry,       // 5xx, or a 2xx whose body is unreadable: back off and retry
    kRetryAfter,  // 429: wait retry_after seconds, then retry
    kPermanent,   // any other 4xx: do not retry
  };
  Kind kind = Kind::kRetry;
  int error_code = 0;             // Telegram's error_code (0..999), else the HTTP status
  std::string description;        // Telegram's, or a stand-in; NOT scrubbed of the token
  std::int64_t retry_after = -1;  // kRetryAfter: seconds, >= 0 (parameters.retry_after,
                                  // else the Retry-After header, else 1)
};
// `json` is parse_reply_body(body). A 2xx without JSON is a success only when
// !json_expected (file downloads). Never throws.
ReplyVerdict classify_reply(long http_status, const boost::json::value& json,
                            std::string_view retry_after_header, bool json_expected = true);

// The SentDocument of a successful sendDocument reply for a part of
// `expected_length` bytes. Throws ApiError (not permanent) when the result is
// not a Message with a document, or Telegram stored another size.
SentDocument parse_sent_document(const boost::json::value& json, std::uint64_t expected_length);
// The file_path of a successful getFile reply. Throws ApiError (permanent)
// when there is none.
std::string parse_file_path(const boost::json::value& json);

class BotApi {
 public:
  explicit BotApi(BotOptions options);

  // Sends bytes [offset, offset + length) of the file at `path` as a document
  // named `file_name` with `caption` to `chat_id`.
  SentDocument send_document(const std::string& chat_id, const std::string& path,
                             std::uint64_t offset, std::uint64_t length,
                             const std::string& file_name, const std::string& caption);
  // getFile: the file_path to download (the Bot API refuses files over 20 MB).
  std::string get_file_path(const std::string& file_id);
  // Downloads {api}/file/bot<token>/<file_path>; `on_data` gets the bytes in
  // order. A retried download calls `on_restart` first (drop what you got).
  // A file of more than `max_bytes` is aborted at that byte (ApiError).
  void download(const std::string& file_path, std::uint64_t max_bytes,
                const std::function<void(const char*, std::size_t)>& on_data,
                const std::function<void()>& on_restart);
  // deleteMessage. Throws ApiError (permanent when Telegram refused, e.g. a
  // message older than 48 hours).
  void delete_message(const std::string& chat_id, std::int64_t message_id);

  // `text` with every occurrence of the token replaced by "<token>".
  std::string scrub(std::string text) const;
  const BotOptions& options() const { return options_; }

 private:
  struct Reply;
  template <class Attempt>
  Reply with_retries(const std::string& what, Attempt attempt);
  // A Bot API method called with a JSON body (getFile, deleteMessage), retried.
  Reply call_json(const std::string& method, const boost::json::object& payload);
  void wait(std::chrono::milliseconds d);
  void check_cancel() const;

  BotOptions options_;
};

}  // namespace tb::telegram
