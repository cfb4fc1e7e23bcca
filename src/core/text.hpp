// Small ASCII text helpers the modules share (no locale: the inputs are
// protocol tokens, header values and settings, not prose).
#pragma once

#include <string>
#include <string_view>

namespace tb {

// `s` without its leading and trailing spaces and tabs (HTTP's optional
// whitespace around a header value or list item; items of a setting).
std::string_view trim(std::string_view s);

// ASCII case-insensitive equality ("JWT", "Bearer", "Retry-After"). The http
// module has Beast and uses boost::beast::iequals instead.
bool iequals(std::string_view a, std::string_view b);

// `text` with every occurrence of `what` replaced by `with`, left to right; a
// replacement is never searched again (so `with` may contain `what`). An
// empty `what` changes nothing.
std::string replace_all(std::string text, std::string_view what, std::string_view with);

}  // namespace tb
