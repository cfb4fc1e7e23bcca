#include "age/bech32.hpp"

#include <cctype>

namespace tb::age::bech32 {
namespace {

constexpr std::string_view kCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

// The BCH checksum's generator polynomial (BIP-173, "polymod").
std::uint32_t polymod(const std::vector<std::uint8_t>& values) {
  constexpr std::uint32_t kGen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  std::uint32_t chk = 1;
  for (std::uint8_t v : values) {
    const std::uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; ++i) {
      if ((top >> i) & 1) chk ^= kGen[i];
    }
  }
  return chk;
}

// The lowercase hrp expanded as BIP-173 feeds it to the checksum.
std::vector<std::uint8_t> hrp_expand(std::string_view hrp) {
  std::vector<std::uint8_t> out;
  out.reserve(hrp.size() * 2 + 1);
  for (char c : hrp) out.push_back(static_cast<std::uint8_t>(std::tolower(c)) >> 5);
  out.push_back(0);
  for (char c : hrp) out.push_back(static_cast<std::uint8_t>(std::tolower(c)) & 31);
  return out;
}

// Regroups bits (8 -> 5 with zero padding to encode; 5 -> 8 without, where
// the leftover must be fewer than 5 bits and all zero, to decode).
std::optional<std::vector<std::uint8_t>> convert_bits(const std::vector<std::uint8_t>& in, int from,
                                                      int to, bool pad) {
  std::vector<std::uint8_t> out;
  std::uint32_t acc = 0;
  int bits = 0;
  const std::uint32_t max = (1u << to) - 1;
  for (std::uint8_t v : in) {
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & max));
    }
  }
  if (pad) {
    if (bits > 0) out.push_back(static_cast<std::uint8_t>((acc << (to - bits)) & max));
  } else if (bits >= from || ((acc << (to - bits)) & max) != 0) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

std::string encode(std::string_view hrp, const std::vector<std::uint8_t>& data) {
  auto values = *convert_bits(data, 8, 5, true);
  auto check_input = hrp_expand(hrp);
  check_input.insert(check_input.end(), values.begin(), values.end());
  check_input.insert(check_input.end(), 6, 0);
  const std::uint32_t mod = polymod(check_input) ^ 1;
  for (int i = 0; i < 6; ++i)
    values.push_back(static_cast<std::uint8_t>((mod >> (5 * (5 - i))) & 31));

  const bool upper = !hrp.empty() && std::isupper(static_cast<unsigned char>(hrp.front()));
  std::string out(hrp);
  out += '1';
  for (std::uint8_t v : values) {
    char c = kCharset[v];
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
  }
  return out;
}

std::string_view describe(Problem p) {
  switch (p) {
    case Problem::kMixedCase:
      return "mixes upper and lower case";
    case Problem::kNoSeparator:
      return "has no '1' separator followed by a checksum";
    case Problem::kBadCharacter:
      return "contains a character outside the Bech32 alphabet";
    case Problem::kBadChecksum:
      return "has a wrong checksum (a typo?)";
    case Problem::kBadPadding:
      return "has invalid padding";
  }
  return "is not valid Bech32";
}

Result decode(std::string_view text) {
  bool lower = false;
  bool upper = false;
  for (char c : text) {
    if (c < 33 || c > 126) return {std::nullopt, Problem::kBadCharacter};
    lower = lower || std::islower(static_cast<unsigned char>(c));
    upper = upper || std::isupper(static_cast<unsigned char>(c));
  }
  if (lower && upper) return {std::nullopt, Problem::kMixedCase};
  const auto sep = text.rfind('1');
  // At least one hrp character and six checksum characters.
  if (sep == std::string_view::npos || sep == 0 || sep + 7 > text.size()) {
    return {std::nullopt, Problem::kNoSeparator};
  }
  std::vector<std::uint8_t> values;
  for (char c : text.substr(sep + 1)) {
    auto pos = kCharset.find(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (pos == std::string_view::npos) return {std::nullopt, Problem::kBadCharacter};
    values.push_back(static_cast<std::uint8_t>(pos));
  }
  const std::string_view hrp = text.substr(0, sep);
  auto check_input = hrp_expand(hrp);
  check_input.insert(check_input.end(), values.begin(), values.end());
  if (polymod(check_input) != 1) return {std::nullopt, Problem::kBadChecksum};
  values.resize(values.size() - 6);
  auto data = convert_bits(values, 5, 8, false);
  if (!data) return {std::nullopt, Problem::kBadPadding};
  return {Decoded{std::string(hrp), std::move(*data)}, Problem::kBadChecksum};
}

}  // namespace tb::age::bech32
