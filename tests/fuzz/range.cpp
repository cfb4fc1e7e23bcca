// Fuzz target: the Range header parser (src/http/range.hpp). The first 8
// bytes are the file size, the rest the header. Whatever the header, a
// satisfiable range lies inside the file, and content_range() renders.
#include "http/range.hpp"

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  std::uint64_t file_size = 0;
  std::memcpy(&file_size, data, 8);
  file_size >>= (data[0] & 63);  // small sizes are the interesting ones
  std::string_view header(reinterpret_cast<const char*>(data + 8), size - 8);
  auto r = tb::http::parse_range(header, file_size);
  if (r.kind == tb::http::ByteRange::kSatisfiable) {
    if (file_size == 0 || r.first > r.last || r.last >= file_size) std::abort();
    if (r.length() == 0 || r.length() > file_size) std::abort();
  }
  if (r.kind != tb::http::ByteRange::kNone && tb::http::content_range(r, file_size).empty())
    std::abort();
  (void)tb::http::content_disposition(header);
  return 0;
}
