// Fuzz target: the Telegram Bot API reply reader (src/telegram/bot_api.hpp:
// parse_reply_body, classify_reply, parse_sent_document, parse_file_path) —
// what the service makes of whatever a Bot API server, or something posing as
// one, answers.
//
// Input: "<HTTP status>[ <Retry-After header>]\n<body>"; without a first line
// of that form the whole input is the body of a 200. Seeds are readable
// replies (tests/fuzz/corpus/telegram_reply/).
//
// Checked: nothing but ApiError is ever thrown; the verdict is consistent
// (success only for a 2xx with {"ok":true,"result":..}; a 429 always waits a
// non-negative time; a permanent verdict is a 4xx other than 429; every
// failure has a description).
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_target.hpp"
#include "telegram/bot_api.hpp"

namespace {

using tb::telegram::ReplyVerdict;

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  long status = 200;
  std::string_view header;
  std::string_view body = input;
  if (auto nl = input.find('\n'); nl != std::string_view::npos && nl >= 3 && nl <= 64) {
    auto first = input.substr(0, nl);
    bool digits = first[0] >= '0' && first[0] <= '9' && first[1] >= '0' && first[1] <= '9' &&
                  first[2] >= '0' && first[2] <= '9';
    if (digits && (first.size() == 3 || first[3] == ' ')) {
      status = (first[0] - '0') * 100 + (first[1] - '0') * 10 + (first[2] - '0');
      if (first.size() > 4) header = first.substr(4);
      body = input.substr(nl + 1);
    }
  }
  auto json = tb::telegram::parse_reply_body(body);
  const bool two_xx = status >= 200 && status < 300;
  for (bool json_expected : {true, false}) {
    auto v = tb::telegram::classify_reply(status, json, header, json_expected);
    switch (v.kind) {
      case ReplyVerdict::Kind::kSuccess:
        check(two_xx);
        if (json_expected) {
          check(json.is_object() && json.as_object().contains("result"));
          auto* ok = json.as_object().if_contains("ok");
          check(ok && ok->is_bool() && ok->as_bool());
        }
        break;
      case ReplyVerdict::Kind::kRetryAfter:
        check(!two_xx && v.error_code == 429 && v.retry_after >= 0);
        break;
      case ReplyVerdict::Kind::kPermanent:
        check(!two_xx && status < 500 && v.error_code != 429 && v.error_code < 500 &&
              v.retry_after == -1);
        break;
      case ReplyVerdict::Kind::kRetry:
        check(two_xx || status >= 500 || v.error_code >= 500);
        check(v.retry_after == -1);
        break;
    }
    if (v.kind != ReplyVerdict::Kind::kSuccess) check(!v.description.empty());
    check(v.error_code >= 0 && v.error_code <= 999);
  }
  // What a success is then read as: a part's message, or a getFile path.
  try {
    auto sent = tb::telegram::parse_sent_document(json, 262144);
    check(sent.file_size == 0 || sent.file_size == 262144);
  } catch (const tb::telegram::ApiError& e) {
    check(!e.permanent() && !e.description().empty());
  }
  try {
    (void)tb::telegram::parse_file_path(json);
  } catch (const tb::telegram::ApiError& e) {
    check(e.permanent());
  }
  return 0;
}
