// What a line of the service's text log looks like, for tests that check no
// client or tenant string can start a line of its own.
#pragma once

#include <string>

namespace tb::test {

// "2026-01-02T03:04:05.678Z info ...": a timestamp, a level, a message.
bool starts_like_a_log_line(const std::string& line);

}  // namespace tb::test
