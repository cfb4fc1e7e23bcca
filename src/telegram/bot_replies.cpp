// Reading the Bot API's replies: what a reply means for the call (success,
// retry, retry after, permanent refusal) and the fields a successful
// sendDocument or getFile gives. Pure functions over parsed JSON, so they are
// tested without a server; BotApi (bot_api.cpp) does the HTTP.
#include <boost/json.hpp>
#include <cstdlib>
#include <string>

#include "telegram/bot_api.hpp"

namespace tb::telegram {
namespace {

namespace json = boost::json;

std::string string_of(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_int64()) return std::to_string(v.as_int64());
  if (v.is_uint64()) return std::to_string(v.as_uint64());
  return json::serialize(v);
}

}  // namespace

json::value parse_reply_body(std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec) return nullptr;
  return v;
}

ReplyVerdict classify_reply(long http_status, const json::value& json,
                            std::string_view retry_after_header, bool json_expected) {
  ReplyVerdict v;
  const bool ok_reply = http_status >= 200 && http_status < 300;
  const json::object* obj = json.is_object() ? &json.as_object() : nullptr;
  if (ok_reply && !json_expected) {
    v.kind = ReplyVerdict::Kind::kSuccess;
    v.error_code = static_cast<int>(http_status);
    return v;
  }
  if (obj && ok_reply) {
    auto* ok = obj->if_contains("ok");
    if (ok && ok->is_bool() && ok->as_bool() && obj->contains("result")) {
      v.kind = ReplyVerdict::Kind::kSuccess;
      v.error_code = static_cast<int>(http_status);
      return v;
    }
  }
  // Statuses beyond 999 are not HTTP: treated as a server error (retried).
  int code = http_status >= 0 && http_status <= 999 ? static_cast<int>(http_status) : 500;
  v.error_code = code;
  if (obj && obj->contains("ok")) {
    // An error_code out of range would wrap into a meaningful one (2^32 + 429):
    // ignored, the HTTP status stands.
    if (auto* c = obj->if_contains("error_code");
        c && c->is_int64() && c->as_int64() >= 0 && c->as_int64() <= 999) {
      code = static_cast<int>(c->as_int64());
      v.error_code = code;
    }
    if (auto* d = obj->if_contains("description"); d && d->is_string())
      v.description = std::string(d->as_string());
    if (auto* p = obj->if_contains("parameters"); p && p->is_object()) {
      if (auto* ra = p->as_object().if_contains("retry_after"); ra && ra->is_int64())
        v.retry_after = ra->as_int64();
    }
  }
  if (v.retry_after < 0 && !retry_after_header.empty()) {
    std::string header(retry_after_header);
    v.retry_after = std::strtoll(header.c_str(), nullptr, 10);  // LLONG_MAX/MIN on overflow
  }
  if (v.description.empty()) {
    if (ok_reply)
      v.description = "unreadable reply from the Bot API";
    else if (code == 413)
      v.description = "Request Entity Too Large";
    else
      v.description = "HTTP " + std::to_string(http_status);
  }
  // An "ok" reply we could not read is retried like a server error.
  if (!ok_reply && code == 429) {
    v.kind = ReplyVerdict::Kind::kRetryAfter;
    if (v.retry_after < 0) v.retry_after = 1;
  } else if (ok_reply || code >= 500 || http_status >= 500) {
    v.kind = ReplyVerdict::Kind::kRetry;
  } else {
    v.kind = ReplyVerdict::Kind::kPermanent;
  }
  if (v.kind != ReplyVerdict::Kind::kRetryAfter) v.retry_after = -1;
  return v;
}

SentDocument parse_sent_document(const json::value& json, std::uint64_t expected_length) {
  SentDocument out;
  try {
    const auto& msg = json.at("result").as_object();
    out.message_id = msg.at("message_id").to_number<std::int64_t>();
    out.chat_id = string_of(msg.at("chat").at("id"));
    const auto& doc = msg.at("document").as_object();
    out.file_id = std::string(doc.at("file_id").as_string());
    out.file_unique_id = std::string(doc.at("file_unique_id").as_string());
    if (auto* s = doc.if_contains("file_size")) out.file_size = s->to_number<std::uint64_t>();
    if (auto* n = doc.if_contains("file_name"); n && n->is_string())
      out.file_name = std::string(n->as_string());
  } catch (const std::exception& e) {
    // e.what() names a JSON path problem, never the token (not in the reply).
    throw ApiError(false, 0, "unexpected sendDocument reply", e.what());
  }
  if (out.file_size != 0 && out.file_size != expected_length) {
    throw ApiError(false, 0,
                   "Telegram stored " + std::to_string(out.file_size) + " bytes of a " +
                       std::to_string(expected_length) + "-byte part");
  }
  return out;
}

std::string parse_file_path(const json::value& json) {
  const json::object* result = nullptr;
  if (json.is_object()) {
    if (auto* r = json.as_object().if_contains("result"); r && r->is_object())
      result = &r->as_object();
  }
  auto* fp = result ? result->if_contains("file_path") : nullptr;
  if (!fp || !fp->is_string()) throw ApiError(true, 0, "Telegram gave no file_path for a part");
  return std::string(fp->as_string());
}

}  // namespace tb::telegram
