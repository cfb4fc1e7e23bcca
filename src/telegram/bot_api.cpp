#include "telegram/bot_api.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cmath>
#include <random>
#include <thread>

#include "core/text.hpp"
#include "core/unique_fd.hpp"

namespace tb::telegram {
namespace {

namespace json = boost::json;

struct Easy {
  CURL* h = curl_easy_init();
  curl_slist* headers = nullptr;
  curl_mime* mime = nullptr;
  ~Easy() {
    if (mime) curl_mime_free(mime);
    if (headers) curl_slist_free_all(headers);
    if (h) curl_easy_cleanup(h);
  }
};

// A reply body kept in memory, never past `limit` bytes: returning less than
// was offered makes curl abort the transfer (CURLE_WRITE_ERROR).
struct CappedBody {
  std::string* body;
  std::uint64_t limit;
  bool overflow = false;
};
std::size_t append_capped(char* data, std::size_t size, std::size_t n, void* arg) {
  auto* b = static_cast<CappedBody*>(arg);
  if (b->body->size() + size * n > b->limit) {
    b->overflow = true;
    return 0;
  }
  b->body->append(data, size * n);
  return size * n;
}

struct HeaderCapture {
  std::string retry_after;
};
std::size_t capture_header(char* data, std::size_t size, std::size_t n, void* arg) {
  std::string_view line(data, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size() && iequals(line.substr(0, kName.size()), kName)) {
    auto v = line.substr(kName.size());
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.remove_suffix(1);
    static_cast<HeaderCapture*>(arg)->retry_after = std::string(trim(v));
  }
  return size * n;
}

int on_progress(void* arg, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* cancel = static_cast<const std::atomic<bool>*>(arg);
  return cancel && cancel->load() ? 1 : 0;
}

// A byte range of an open file, read by curl for the multipart "document".
struct FileRange {
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t pos = 0;
};
std::size_t read_range(char* buffer, std::size_t size, std::size_t n, void* arg) {
  auto* r = static_cast<FileRange*>(arg);
  std::size_t want =
      static_cast<std::size_t>(std::min<std::uint64_t>(size * n, r->length - r->pos));
  std::size_t got = 0;
  while (got < want) {
    ssize_t k =
        ::pread(r->fd, buffer + got, want - got, static_cast<off_t>(r->offset + r->pos + got));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return CURL_READFUNC_ABORT;  // error, or the file shrank
    got += static_cast<std::size_t>(k);
  }
  r->pos += got;
  return got;
}
int seek_range(void* arg, curl_off_t offset, int origin) {
  auto* r = static_cast<FileRange*>(arg);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > r->length)
    return CURL_SEEKFUNC_FAIL;
  r->pos = static_cast<std::uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

double default_jitter() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

ApiError::ApiError(bool permanent, int error_code, std::string description, std::string detail)
    : tb::Error(permanent ? ErrorCode::kRemoteRefused : ErrorCode::kUnavailable,
                "telegram destination failed: " + description, std::move(detail)),
      error_code_(error_code),
      description_(std::move(description)) {}

std::chrono::milliseconds ChatPacer::reserve(const std::string& chat_id) {
  std::lock_guard lock(mutex_);
  auto now = clock_.steady_now();
  auto& next = next_[chat_id];
  auto slot = std::max(now, next);
  next = slot + interval_;
  return std::chrono::ceil<std::chrono::milliseconds>(slot - now);
}

ChatPacer& ChatPacer::shared() {
  static ChatPacer pacer(RealClock::instance());
  return pacer;
}

struct BotApi::Reply {
  CURLcode curl = CURLE_OK;
  std::string curl_error;
  long status = 0;
  std::string body;
  std::string retry_after_header;
  bool json_expected = true;
  json::value json;       // the parsed body when json_expected
  std::string too_large;  // set when the body passed its cap: the transfer was aborted
};

BotApi::BotApi(BotOptions options) : options_(std::move(options)) {
  if (!options_.clock) options_.clock = &RealClock::instance();
  if (!options_.jitter) options_.jitter = default_jitter;
  if (!options_.pacer) options_.pacer = &ChatPacer::shared();
  if (options_.max_attempts < 1) options_.max_attempts = 1;
}

std::string BotApi::scrub(std::string text) const {
  return replace_all(std::move(text), options_.token, "<token>");
}

void BotApi::check_cancel() const {
  if (options_.cancel && options_.cancel->load()) throw Cancelled();
}

void BotApi::wait(std::chrono::milliseconds d) {
  if (d <= std::chrono::milliseconds::zero()) return;
  if (options_.sleep) {
    options_.sleep(d);
    check_cancel();
    return;
  }
  auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
    check_cancel();
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(100), until - std::chrono::steady_clock::now()));
  }
  check_cancel();
}

template <class Attempt>
BotApi::Reply BotApi::with_retries(const std::string& what, Attempt attempt) {
  std::string last;
  int last_code = 0;
  int backoffs = 0;
  for (int n = 1; n <= options_.max_attempts; ++n) {
    check_cancel();
    Reply r = attempt();
    check_cancel();
    if (!r.too_large.empty()) {
      // Not retried: an endpoint that sends an endless body would do it again.
      throw ApiError(false, 0, r.too_large,
                     what + ": reply body over its size cap, transfer aborted");
    }
    std::chrono::milliseconds delay{0};
    bool retry_after_given = false;
    if (r.curl != CURLE_OK) {
      if (r.curl == CURLE_ABORTED_BY_CALLBACK) throw Cancelled();
      last = "network error: " +
             scrub(r.curl_error.empty() ? curl_easy_strerror(r.curl) : r.curl_error);
      last_code = 0;
    } else {
      auto v = classify_reply(r.status, r.json, r.retry_after_header, r.json_expected);
      if (v.kind == ReplyVerdict::Kind::kSuccess) return r;
      last = scrub(std::move(v.description));
      last_code = v.error_code;
      if (v.kind == ReplyVerdict::Kind::kRetryAfter) {
        // Compared in seconds first: a huge retry_after must not overflow the
        // conversion to milliseconds.
        const auto max_ms = options_.max_retry_after.count();
        if (v.retry_after > max_ms / 1000 + 1 ||
            std::chrono::seconds(v.retry_after) > options_.max_retry_after) {
          throw ApiError(
              false, 429, last,
              what + ": retry_after " + std::to_string(v.retry_after) + " s is too long");
        }
        delay = std::chrono::seconds(v.retry_after);
        retry_after_given = true;
      } else if (v.kind == ReplyVerdict::Kind::kPermanent) {
        throw ApiError(true, v.error_code, last, what + ": HTTP " + std::to_string(r.status));
      }
      // kRetry: a 5xx, or a truncated or malformed answer to a 2xx (the call
      // may or may not have been done; retrying is what the Bot API docs
      // expect of clients): backoff below.
    }
    if (n == options_.max_attempts) break;
    if (!retry_after_given) {
      auto base = options_.backoff_base.count() * std::pow(2.0, backoffs++);
      auto capped = std::min<double>(base, static_cast<double>(options_.backoff_cap.count()));
      delay =
          std::chrono::milliseconds(static_cast<std::int64_t>(capped * (0.5 + options_.jitter())));
    }
    spdlog::warn("telegram {}: attempt {} failed ({}); retrying in {} ms", what, n, last,
                 delay.count());
    wait(delay);
  }
  throw ApiError(false, last_code, last,
                 what + ": gave up after " + std::to_string(options_.max_attempts) + " attempts");
}

namespace {

std::string oversize_reply(const std::string& method) {
  return "the Bot API reply to " + method + " is larger than " +
         std::to_string(kMaxReplyBytes / 1024) + " KiB; the transfer was aborted";
}

// One HTTP exchange; never throws for HTTP or transport failures.
template <class Setup>
void perform(const BotOptions& o, Easy& e, const std::string& url, CappedBody& body,
             HeaderCapture& hc, long& status, CURLcode& code, std::string& error, Setup setup) {
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(e.h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e.h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e.h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e.h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(o.connect_timeout.count()));
  curl_easy_setopt(e.h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e.h, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(std::max<std::int64_t>(1, o.idle_timeout.count())));
  curl_easy_setopt(e.h, CURLOPT_WRITEFUNCTION, append_capped);
  curl_easy_setopt(e.h, CURLOPT_WRITEDATA, &body);
  // A body announced larger than the cap is refused before it is read.
  curl_easy_setopt(e.h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(body.limit));
  curl_easy_setopt(e.h, CURLOPT_HEADERFUNCTION, capture_header);
  curl_easy_setopt(e.h, CURLOPT_HEADERDATA, &hc);
  curl_easy_setopt(e.h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e.h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(e.h, CURLOPT_XFERINFODATA, o.cancel);
  curl_easy_setopt(e.h, CURLOPT_PROTOCOLS_STR, "http,https");
  e.headers = curl_slist_append(e.headers, "Expect:");
  setup(e);
  curl_easy_setopt(e.h, CURLOPT_HTTPHEADER, e.headers);
  code = curl_easy_perform(e.h);
  error = errbuf;
  curl_easy_getinfo(e.h, CURLINFO_RESPONSE_CODE, &status);
}

}  // namespace

SentDocument BotApi::send_document(const std::string& chat_id, const std::string& path,
                                   std::uint64_t offset, std::uint64_t length,
                                   const std::string& file_name, const std::string& caption) {
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.valid()) throw Error(ErrorCode::kInternal, "backup file cannot be read", path);
  const int fd = file.get();
  std::string url = options_.api_url + "/bot" + options_.token + "/sendDocument";
  auto reply = with_retries("sendDocument", [&] {
    // The pacer is asked before every call, retries included: each is a message.
    wait(options_.pacer->reserve(chat_id));
    Reply r;
    Easy e;
    FileRange range{fd, offset, length, 0};
    e.mime = curl_mime_init(e.h);
    auto* p = curl_mime_addpart(e.mime);
    curl_mime_name(p, "chat_id");
    curl_mime_data(p, chat_id.c_str(), CURL_ZERO_TERMINATED);
    if (!caption.empty()) {
      p = curl_mime_addpart(e.mime);
      curl_mime_name(p, "caption");
      curl_mime_data(p, caption.c_str(), CURL_ZERO_TERMINATED);
    }
    p = curl_mime_addpart(e.mime);
    curl_mime_name(p, "document");
    curl_mime_filename(p, file_name.c_str());
    curl_mime_type(p, "application/octet-stream");
    // A known size: curl sends a Content-Length, not chunked encoding.
    curl_mime_data_cb(p, static_cast<curl_off_t>(length), read_range, seek_range, nullptr, &range);
    HeaderCapture hc;
    CappedBody body{&r.body, kMaxReplyBytes};
    perform(options_, e, url, body, hc, r.status, r.curl, r.curl_error,
            [&](Easy& x) { curl_easy_setopt(x.h, CURLOPT_MIMEPOST, x.mime); });
    if (body.overflow || r.curl == CURLE_FILESIZE_EXCEEDED)
      r.too_large = oversize_reply("sendDocument");
    r.retry_after_header = hc.retry_after;
    r.json = parse_reply_body(r.body);
    return r;
  });
  return parse_sent_document(reply.json, length);
}

BotApi::Reply BotApi::call_json(const std::string& method, const json::object& payload) {
  std::string url = options_.api_url + "/bot" + options_.token + "/" + method;
  std::string body = json::serialize(payload);
  return with_retries(method, [&] {
    Reply r;
    Easy e;
    HeaderCapture hc;
    CappedBody reply_body{&r.body, kMaxReplyBytes};
    perform(options_, e, url, reply_body, hc, r.status, r.curl, r.curl_error, [&](Easy& x) {
      x.headers = curl_slist_append(x.headers, "Content-Type: application/json");
      curl_easy_setopt(x.h, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(x.h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    });
    if (reply_body.overflow || r.curl == CURLE_FILESIZE_EXCEEDED)
      r.too_large = oversize_reply(method);
    r.retry_after_header = hc.retry_after;
    r.json = parse_reply_body(r.body);
    return r;
  });
}

std::string BotApi::get_file_path(const std::string& file_id) {
  auto reply = call_json("getFile", json::object{{"file_id", file_id}});
  return parse_file_path(reply.json);
}

void BotApi::download(const std::string& file_path, std::uint64_t max_bytes,
                      const std::function<void(const char*, std::size_t)>& on_data,
                      const std::function<void()>& on_restart) {
  std::string url = options_.api_url + "/file/bot" + options_.token + "/" + file_path;
  bool first = true;
  struct Sink {
    const std::function<void(const char*, std::size_t)>* on_data;
    std::uint64_t max_bytes;
    long status = 0;
    CURL* h = nullptr;
    std::uint64_t received = 0;
    bool overflow = false;
    std::string error_body;
  };
  with_retries("file download", [&] {
    if (!first && on_restart) on_restart();
    first = false;
    Reply r;
    r.json_expected = false;
    Easy e;
    HeaderCapture hc;
    Sink sink{&on_data, max_bytes, 0, e.h, 0, false, {}};
    // Bytes go to on_data only for a 200, and never more than max_bytes; an
    // error page is kept (its first 4 KiB) for its description, and read up
    // to kMaxReplyBytes. Past either cap the transfer is aborted.
    auto write = +[](char* data, std::size_t size, std::size_t n, void* arg) -> std::size_t {
      auto* s = static_cast<Sink*>(arg);
      if (s->status == 0) curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
      s->received += size * n;
      if (s->received > (s->status == 200 ? s->max_bytes : kMaxReplyBytes)) {
        s->overflow = true;
        return 0;
      }
      if (s->status == 200)
        (*s->on_data)(data, size * n);
      else if (s->error_body.size() < 4096)
        s->error_body.append(data, size * n);
      return size * n;
    };
    std::string unused;
    CappedBody announced{&unused, std::max(max_bytes, kMaxReplyBytes)};
    perform(options_, e, url, announced, hc, r.status, r.curl, r.curl_error, [&](Easy& x) {
      curl_easy_setopt(x.h, CURLOPT_WRITEFUNCTION, write);
      curl_easy_setopt(x.h, CURLOPT_WRITEDATA, &sink);
    });
    if (sink.overflow || r.curl == CURLE_FILESIZE_EXCEEDED) {
      r.too_large = "the file Telegram sent is larger than the " + std::to_string(max_bytes) +
                    " bytes expected; the download was aborted";
    }
    r.body = sink.error_body;
    r.retry_after_header = hc.retry_after;
    if (r.status != 200) r.json = parse_reply_body(r.body);
    return r;
  });
}

void BotApi::delete_message(const std::string& chat_id, std::int64_t message_id) {
  call_json("deleteMessage", json::object{{"chat_id", chat_id}, {"message_id", message_id}});
}

}  // namespace tb::telegram
