// The age v1 file format: the textual header (version line, recipient
// stanzas, MAC line), the X25519 stanza, the payload's key and chunk nonces,
// and the errors a reader reports.
//
//   age-encryption.org/v1
//   -> X25519 <ephemeral share, base64>
//   <wrapped file key, base64, lines of 64 columns, the last one shorter>
//   --- <HMAC-SHA-256 of everything up to and including "---", base64>
//   <16-byte payload nonce><64 KiB ChaCha20-Poly1305 chunks…>
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "age/keys.hpp"
#include "age/primitives.hpp"
#include "core/error.hpp"

namespace tb::age {

inline constexpr std::string_view kMagic = "age-encryption.org/";
inline constexpr std::string_view kVersionLine = "age-encryption.org/v1";
inline constexpr std::size_t kFileKeySize = 16;
inline constexpr std::size_t kPayloadNonceSize = 16;
inline constexpr std::size_t kChunkSize = std::size_t{64} * 1024;
inline constexpr std::size_t kSealedChunkSize = kChunkSize + kTagSize;
// A header is a few hundred bytes per recipient; more than this is not a
// header we wrote or could sensibly read.
inline constexpr std::size_t kMaxHeaderSize = std::size_t{1024} * 1024;

using FileKey = std::array<std::uint8_t, kFileKeySize>;

// Why reading an age file failed. The reason is what a caller branches on:
// a missing key ("the key that encrypted this backup is no longer
// configured") is a different story from damage.
class DecryptError : public Error {
 public:
  enum class Reason {
    kNotAgeFile,          // does not start like an age v1 file (kValidation)
    kNoMatchingIdentity,  // no stanza opens with any identity given (kValidation)
    kDamaged,             // bad header, MAC, chunk tag, truncation, trailing data (kInternal)
  };
  DecryptError(Reason reason, std::string detail);
  Reason reason() const { return reason_; }

 private:
  Reason reason_;
};

struct Stanza {
  std::vector<std::string> args;
  Bytes body;
};

// The header's text up to and including the "---" mark (what the MAC covers).
std::string header_mac_input(const std::vector<Stanza>& stanzas);
// The complete header: mac_input + " " + base64(MAC) + "\n".
std::string seal_header(const std::vector<Stanza>& stanzas, const FileKey& file_key);

struct ParsedHeader {
  std::vector<Stanza> stanzas;
  std::size_t mac_input_size = 0;  // the MAC covers header[0, mac_input_size)
  Bytes mac;
};
// Parses a complete header (ending with the MAC line's LF). Throws
// DecryptError: kNotAgeFile for another version, kDamaged for bad syntax.
ParsedHeader parse_header(std::string_view header);
// True when `mac` is the header MAC of `mac_input` under `file_key`.
bool verify_header_mac(std::string_view mac_input, const Bytes& mac, const FileKey& file_key);

// The X25519 recipient stanza that wraps `file_key` for `to`.
Stanza wrap_x25519(const Recipient& to, const FileKey& file_key);
// The file key, when `stanza` is an X25519 stanza addressed to `id`;
// std::nullopt for another recipient or another stanza type. Throws
// DecryptError kDamaged for a malformed X25519 stanza.
std::optional<FileKey> unwrap_x25519(const Stanza& stanza, const Identity& id);

Key32 payload_key(const FileKey& file_key, ByteView payload_nonce);
// 11-byte big-endian counter, then 0x01 for the last chunk, 0x00 otherwise.
Nonce chunk_nonce(std::uint64_t counter, bool last);

}  // namespace tb::age
