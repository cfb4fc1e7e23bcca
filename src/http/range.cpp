#include "http/range.hpp"

#include <charconv>

#include "core/text.hpp"

// No Asio or Beast here: the fuzz build compiles this file alone, with tb_core.
namespace tb::http {
namespace {

// Digits only (no sign, no spaces), fits in uint64.
bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && ptr == s.data() + s.size();
}

}  // namespace

ByteRange parse_range(std::string_view header, std::uint64_t size) {
  ByteRange none;
  header = trim(header);
  if (!iequals(header.substr(0, 6), "bytes=")) return none;
  std::string_view spec = trim(header.substr(6));
  if (spec.find(',') != std::string_view::npos) return none;  // several ranges: send it all
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return none;
  std::string_view a = trim(spec.substr(0, dash));
  std::string_view b = trim(spec.substr(dash + 1));
  ByteRange r;
  if (a.empty()) {
    // Suffix range: the last N bytes.
    std::uint64_t n = 0;
    if (!parse_u64(b, n)) return none;
    if (n == 0 || size == 0) {
      r.kind = ByteRange::kUnsatisfiable;
      return r;
    }
    r.kind = ByteRange::kSatisfiable;
    r.first = n >= size ? 0 : size - n;
    r.last = size - 1;
    return r;
  }
  std::uint64_t first = 0;
  if (!parse_u64(a, first)) return none;
  std::uint64_t last = 0;
  if (b.empty()) {
    last = size == 0 ? 0 : size - 1;
  } else {
    if (!parse_u64(b, last)) return none;
    if (last < first) return none;  // invalid syntax per RFC: ignore the header
  }
  if (first >= size) {
    r.kind = ByteRange::kUnsatisfiable;
    return r;
  }
  r.kind = ByteRange::kSatisfiable;
  r.first = first;
  r.last = last >= size ? size - 1 : last;
  return r;
}

std::string content_range(const ByteRange& r, std::uint64_t size) {
  if (r.kind == ByteRange::kSatisfiable) {
    return "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" +
           std::to_string(size);
  }
  return "bytes */" + std::to_string(size);
}

std::string content_disposition(std::string_view download_name) {
  std::string safe;
  safe.reserve(download_name.size());
  for (char c : download_name) {
    auto u = static_cast<unsigned char>(c);
    safe += (u < 0x20 || u >= 0x7F || c == '"' || c == '\\' || c == '/') ? '_' : c;
  }
  return "attachment; filename=\"" + safe + "\"";
}

}  // namespace tb::http
