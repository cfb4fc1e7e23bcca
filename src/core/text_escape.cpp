#include "core/text_escape.hpp"

#include <boost/locale/utf.hpp>

namespace tb {
namespace {

namespace utf = boost::locale::utf;
using Traits = utf::utf_traits<char>;

bool is_control(utf::code_point c) {
  return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) || c == 0x2028 || c == 0x2029;
}

void append_hex(std::string& out, unsigned char byte) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  out += kHex[byte >> 4];
  out += kHex[byte & 0xF];
}

// Walks `text` one code point at a time (Boost.Locale's decoder rejects
// overlong forms, surrogates and truncated sequences): `on_valid(c, bytes)`
// for each code point, `on_invalid(byte)` for each byte that starts no valid
// sequence, resynchronising on the next byte.
template <typename OnValid, typename OnInvalid>
void for_each_code_point(std::string_view text, OnValid on_valid, OnInvalid on_invalid) {
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p != end) {
    const char* start = p;
    const utf::code_point c = Traits::decode(p, end);
    if (c == utf::illegal || c == utf::incomplete) {
      on_invalid(static_cast<unsigned char>(*start));
      p = start + 1;
    } else {
      on_valid(c, std::string_view(start, static_cast<std::size_t>(p - start)));
    }
  }
}

std::string escape(std::string_view text, bool backslash) {
  std::string out;
  out.reserve(text.size());
  for_each_code_point(
      text,
      [&](utf::code_point c, std::string_view bytes) {
        if (c == '\t') {
          out += "\\t";
        } else if (c == '\n') {
          out += "\\n";
        } else if (c == '\r') {
          out += "\\r";
        } else if (c == '\\' && backslash) {
          out += "\\\\";
        } else if (is_control(c)) {
          for (char b : bytes) append_hex(out, static_cast<unsigned char>(b));
        } else {
          out += bytes;
        }
      },
      [&](unsigned char byte) { append_hex(out, byte); });
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string escape_controls(std::string_view text) {
  return escape(text, false);
}

std::string escape_field(std::string_view text) {
  return escape(text, true);
}

std::optional<std::string> unescape_field(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (++i == text.size()) return std::nullopt;
    switch (text[i]) {
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case '\\':
        out += '\\';
        break;
      case 'x': {
        if (i + 2 >= text.size()) return std::nullopt;
        const int hi = hex_value(text[i + 1]);
        const int lo = hex_value(text[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for_each_code_point(
      text, [&](utf::code_point, std::string_view bytes) { out += bytes; },
      [&](unsigned char) { out += "\xEF\xBF\xBD"; });  // U+FFFD REPLACEMENT CHARACTER
  return out;
}

}  // namespace tb
