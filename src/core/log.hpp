// Logging set-up: spdlog, one line per event, text or JSON (LOG_FORMAT).
// Never log tokens, passwords or the Telegram bot token: redact() helps where
// a string may contain one.
//
// Every line is written by one formatter, so no caller can break the format:
// - json: each line is one JSON object {"ts", "level", "msg", fields...} built
//   and serialized by Boost.JSON (strings made valid UTF-8 first);
// - text: "ts level message key=value...", with every control character of
//   the message escaped (escape_controls) and values quoted logfmt-style when
//   needed. A newline in a client's header or a tenant's job error can never
//   start a line of its own.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace tb::log {

enum class Format { kText, kJson };
enum class Level { kDebug, kInfo, kWarn, kError };

void init(Format format, std::string_view level = "info");
// The format init() chose (text before init).
Format format();

// An event with structured fields: json writes them as top-level keys after
// ts/level/msg (those three names are reserved and skipped in `fields`); text
// appends " key=value" per field.
void event(Level level, std::string_view msg, const boost::json::object& fields);

// Secrets registered here are replaced by "***" in every log line written
// through redact().
void register_secret(std::string secret);
std::string redact(std::string_view text);
// redact(), and `secret` replaced by "***" too: a secret of one task (the
// password a child process was given) that is not registered for good.
std::string redact(std::string_view text, std::string_view secret);

}  // namespace tb::log
