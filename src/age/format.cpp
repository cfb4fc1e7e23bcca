#include "age/format.hpp"

#include <algorithm>

namespace tb::age {
namespace {

constexpr std::string_view kX25519Label = "age-encryption.org/v1/X25519";
constexpr std::size_t kBodyColumns = 64;

std::string_view public_message(DecryptError::Reason reason) {
  switch (reason) {
    case DecryptError::Reason::kNotAgeFile:
      return "not an age file";
    case DecryptError::Reason::kNoMatchingIdentity:
      return "no identity matches this file: it was encrypted to other keys";
    case DecryptError::Reason::kDamaged:
      break;
  }
  return "the encrypted file is damaged or was tampered with";
}

ErrorCode code_of(DecryptError::Reason reason) {
  return reason == DecryptError::Reason::kDamaged ? ErrorCode::kInternal : ErrorCode::kValidation;
}

[[noreturn]] void damaged(std::string detail) {
  throw DecryptError(DecryptError::Reason::kDamaged, std::move(detail));
}

bool is_vchar(char c) {
  return c >= 0x21 && c <= 0x7e;
}

// One line of `text` from `pos` (without its LF); advances past the LF.
std::string_view next_line(std::string_view text, std::size_t& pos) {
  const auto nl = text.find('\n', pos);
  if (nl == std::string_view::npos) damaged("header line without LF");
  std::string_view line = text.substr(pos, nl - pos);
  pos = nl + 1;
  return line;
}

Stanza parse_stanza(std::string_view text, std::string_view arg_line, std::size_t& pos) {
  Stanza s;
  std::string_view rest = arg_line.substr(3);  // after "-> "
  while (true) {
    const auto sp = rest.find(' ');
    std::string_view arg = rest.substr(0, sp);
    if (arg.empty() || !std::all_of(arg.begin(), arg.end(), is_vchar)) {
      damaged("stanza argument empty or not printable");
    }
    s.args.emplace_back(arg);
    if (sp == std::string_view::npos) break;
    rest.remove_prefix(sp + 1);
  }
  std::string body;
  while (true) {
    std::string_view line = next_line(text, pos);
    if (line.size() > kBodyColumns) damaged("stanza body line longer than 64 columns");
    body += line;
    if (line.size() < kBodyColumns) break;
  }
  auto decoded = base64_decode(body);
  if (!decoded) damaged("stanza body is not canonical base64");
  s.body = std::move(*decoded);
  return s;
}

}  // namespace

DecryptError::DecryptError(Reason reason, std::string detail)
    : Error(code_of(reason), std::string(public_message(reason)), std::move(detail)),
      reason_(reason) {}

std::string header_mac_input(const std::vector<Stanza>& stanzas) {
  std::string out(kVersionLine);
  out += '\n';
  for (const auto& s : stanzas) {
    out += "->";
    for (const auto& a : s.args) out += ' ' + a;
    out += '\n';
    const std::string body = base64_encode(s.body);
    // Full 64-column lines, then a shorter (possibly empty) final one.
    std::size_t off = 0;
    for (; body.size() - off >= kBodyColumns; off += kBodyColumns) {
      out.append(body, off, kBodyColumns) += '\n';
    }
    out.append(body, off) += '\n';
  }
  out += "---";
  return out;
}

std::string seal_header(const std::vector<Stanza>& stanzas, const FileKey& file_key) {
  std::string out = header_mac_input(stanzas);
  const Key32 mac_key = hkdf_sha256(file_key, {}, "header");
  const Key32 mac = hmac_sha256(mac_key, view(out));
  out += ' ' + base64_encode(mac) + '\n';
  return out;
}

ParsedHeader parse_header(std::string_view header) {
  std::size_t pos = 0;
  const std::string_view version = next_line(header, pos);
  if (version != kVersionLine) {
    // A v1 file whose LFs became CRLFs on the way is damaged, not foreign.
    if (version.starts_with(kVersionLine) && version.substr(kVersionLine.size()) == "\r") {
      damaged("CR in the version line");
    }
    throw DecryptError(DecryptError::Reason::kNotAgeFile, "unsupported age version");
  }
  ParsedHeader out;
  while (true) {
    const std::size_t line_start = pos;
    std::string_view line = next_line(header, pos);
    if (line.starts_with("-> ")) {
      out.stanzas.push_back(parse_stanza(header, line, pos));
      continue;
    }
    if (!line.starts_with("---")) damaged("header line is neither a stanza nor the MAC");
    if (!line.starts_with("--- ") || line.size() != 4 + 43) damaged("malformed MAC line");
    auto mac = base64_decode(line.substr(4));
    if (!mac || mac->size() != 32) damaged("MAC is not canonical base64 of 32 bytes");
    if (pos != header.size()) damaged("data after the MAC line inside the header");
    if (out.stanzas.empty()) damaged("header without recipient stanzas");
    // A passphrase file must hold only its scrypt stanza: its readers take
    // it that only holders of the passphrase could have written it.
    for (const auto& s : out.stanzas) {
      if (s.args.front() == "scrypt" && out.stanzas.size() > 1) {
        damaged("an scrypt stanza next to other stanzas");
      }
    }
    out.mac_input_size = line_start + 3;
    out.mac = std::move(*mac);
    return out;
  }
}

bool verify_header_mac(std::string_view mac_input, const Bytes& mac, const FileKey& file_key) {
  const Key32 mac_key = hkdf_sha256(file_key, {}, "header");
  const Key32 expected = hmac_sha256(mac_key, view(mac_input));
  return equal_constant_time(expected, mac);
}

namespace {

Key32 wrap_key(const Key32& shared, const Key32& share, const Key32& recipient) {
  std::array<std::uint8_t, 64> salt{};
  std::copy(share.begin(), share.end(), salt.begin());
  std::copy(recipient.begin(), recipient.end(), salt.begin() + 32);
  return hkdf_sha256(shared, salt, kX25519Label);
}

}  // namespace

Stanza wrap_x25519(const Recipient& to, const FileKey& file_key) {
  Key32 ephemeral{};
  random_bytes(ephemeral);
  const Key32 share = x25519_base(ephemeral);
  auto shared = x25519(ephemeral, to.public_key);
  wipe(ephemeral);
  if (!shared) {
    throw Error(ErrorCode::kValidation, "the recipient " + to_string(to) + " is not a usable key");
  }
  Key32 key = wrap_key(*shared, share, to.public_key);
  wipe(*shared);
  Stanza s;
  s.args = {"X25519", base64_encode(share)};
  s.body.resize(kFileKeySize + kTagSize);
  ChaChaPoly(key).seal(Nonce{}, file_key, s.body.data());
  wipe(key);
  return s;
}

std::optional<FileKey> unwrap_x25519(const Stanza& stanza, const Identity& id) {
  if (stanza.args.empty() || stanza.args[0] != "X25519") return std::nullopt;
  if (stanza.args.size() != 2) damaged("X25519 stanza with other than two arguments");
  auto share_bytes = base64_decode(stanza.args[1]);
  if (!share_bytes || share_bytes->size() != 32) damaged("X25519 share is not 32 bytes");
  // Checked before any decryption (partitioning oracles).
  if (stanza.body.size() != kFileKeySize + kTagSize) damaged("X25519 body is not 32 bytes");
  Key32 share{};
  std::copy(share_bytes->begin(), share_bytes->end(), share.begin());
  auto shared = x25519(id.secret(), share);
  if (!shared) damaged("X25519 share is a low-order point");
  Key32 key = wrap_key(*shared, share, id.recipient().public_key);
  wipe(*shared);
  FileKey file_key{};
  const bool ok = ChaChaPoly(key).open(Nonce{}, stanza.body, file_key.data());
  wipe(key);
  if (!ok) {
    wipe(file_key);
    return std::nullopt;
  }
  return file_key;
}

Key32 payload_key(const FileKey& file_key, ByteView payload_nonce) {
  return hkdf_sha256(file_key, payload_nonce, "payload");
}

Nonce chunk_nonce(std::uint64_t counter, bool last) {
  Nonce n{};
  for (int i = 10; i >= 3; --i) {
    n[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(counter & 0xff);
    counter >>= 8;
  }
  n[11] = last ? 1 : 0;
  return n;
}

}  // namespace tb::age
