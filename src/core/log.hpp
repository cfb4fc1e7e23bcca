// Logging set-up: spdlog, one line per event, text or JSON (LOG_FORMAT).
// Never log tokens, passwords or the Telegram bot token: redact() helps where
// a string may contain one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tb::log {

enum class Format { kText, kJson };

void init(Format format, std::string_view level = "info");

// Secrets registered here are replaced by "***" in every log line written
// through redact().
void register_secret(std::string secret);
std::string redact(std::string_view text);

}  // namespace tb::log
