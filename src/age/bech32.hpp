// Bech32 (BIP-173), the text encoding of age keys, without BIP-173's
// 90-character limit (age recipients of other types are much longer).
//
// A string is all lowercase or all uppercase; the checksum is computed over
// the lowercase form. decode() returns the human-readable part as written
// (so callers can insist on the case age uses: "age" recipients are
// lowercase, "AGE-SECRET-KEY-" identities uppercase).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tb::age::bech32 {

struct Decoded {
  std::string hrp;                 // as written
  std::vector<std::uint8_t> data;  // the 8-bit payload
};

// Encodes `data` (8-bit bytes) under `hrp`; the output has the case of `hrp`
// (which must not mix cases).
std::string encode(std::string_view hrp, const std::vector<std::uint8_t>& data);

// Why a string is not valid Bech32, for error messages.
enum class Problem { kMixedCase, kNoSeparator, kBadCharacter, kBadChecksum, kBadPadding };
std::string_view describe(Problem p);

// The decoded string, or the first problem found. Never throws.
struct Result {
  std::optional<Decoded> value;
  Problem problem = Problem::kBadChecksum;
};
Result decode(std::string_view text);

}  // namespace tb::age::bech32
