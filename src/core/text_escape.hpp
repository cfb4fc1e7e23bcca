// Making untrusted text safe for line-oriented output (text logs, the audit's
// tab-separated export). A client or a tenant controls many strings we write
// (header values, JWT header fields, paths, `sub` claims, job errors); written
// raw, a newline or a tab in one of them forges a line or a column.
//
// "Controls" here are the characters that can end or reshape a line: C0 (with
// tab, CR and LF), DEL, C1 (U+0080..U+009F, NEL among them), U+2028 and
// U+2029. Bytes that are not valid UTF-8 are escaped too, one by one, so the
// output is always valid UTF-8 and byte-exact after unescape_field().
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tb {

// For free text in a log line: controls become \t, \n, \r or \xNN (one per
// byte); everything else, backslashes included, is kept. One line out, always.
std::string escape_controls(std::string_view text);

// For a field of a tab-separated row: like escape_controls, and a backslash
// becomes "\\", so the encoding is reversible.
std::string escape_field(std::string_view text);

// The inverse of escape_field. nullopt for a dangling or unknown escape.
std::optional<std::string> unescape_field(std::string_view text);

// Valid UTF-8 for a JSON serializer: each byte of an invalid sequence becomes
// U+FFFD; valid text (controls included, the serializer escapes them) is kept.
std::string to_valid_utf8(std::string_view text);

}  // namespace tb
