// The Range request header (RFC 9110 §14), single byte ranges only.
//
// A header the server may ignore (absent, another unit, several ranges,
// malformed) gives kNone: the whole file is sent with 200. A well-formed range
// that does not overlap the file (first byte >= size, "bytes=-0", any range on
// an empty file) gives kUnsatisfiable: 416 with "Content-Range: bytes */size".
// Ends past the file are clamped, as the RFC says.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tb::http {

struct ByteRange {
  enum Kind { kNone, kSatisfiable, kUnsatisfiable } kind = kNone;
  std::uint64_t first = 0;  // inclusive
  std::uint64_t last = 0;   // inclusive
  std::uint64_t length() const { return last - first + 1; }
};

ByteRange parse_range(std::string_view header, std::uint64_t size);

// "bytes 0-99/1000" (206) or "bytes */1000" (416).
std::string content_range(const ByteRange& r, std::uint64_t size);

// A filename safe inside Content-Disposition's quotes: printable ASCII only,
// '"' and '\\' and '/' replaced by '_'.
std::string content_disposition(std::string_view download_name);

}  // namespace tb::http
