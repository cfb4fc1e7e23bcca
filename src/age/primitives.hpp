// The few cryptographic operations the age format is built from, each a thin
// wrapper over OpenSSL 3 (nothing here is implemented by hand), plus the
// format's base64 flavour.
//
// Failures inside OpenSSL (out of memory, a missing provider) throw tb::Error
// kInternal. Expected failures are return values: open() says whether the
// tag verified, x25519() whether the shared secret is usable, base64_decode()
// whether the text is canonical.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tb::age {

using Bytes = std::vector<std::uint8_t>;
using Key32 = std::array<std::uint8_t, 32>;
using ByteView = std::span<const std::uint8_t>;

inline constexpr std::size_t kTagSize = 16;  // Poly1305
inline constexpr std::size_t kNonceSize = 12;
using Nonce = std::array<std::uint8_t, kNonceSize>;

ByteView view(std::string_view s);

// Fills `out` from the CSPRNG (RAND_bytes).
void random_bytes(std::span<std::uint8_t> out);

// X25519(scalar, basepoint): the public half of a secret.
Key32 x25519_base(const Key32& scalar);
// X25519(scalar, point); std::nullopt when OpenSSL refuses the point or the
// shared secret is all zeros (a low-order point), which age must abort on.
std::optional<Key32> x25519(const Key32& scalar, const Key32& point);

// HKDF-SHA-256 (extract with `salt`, expand with `info`) to 32 bytes.
Key32 hkdf_sha256(ByteView ikm, ByteView salt, std::string_view info);

// HMAC-SHA-256 of `data` under `key`.
Key32 hmac_sha256(ByteView key, ByteView data);
// Constant-time equality of two equally long byte strings (false when not).
bool equal_constant_time(ByteView a, ByteView b);

// One ChaCha20-Poly1305 context with a fixed key, reused for many messages
// (a payload's chunks), without additional data.
class ChaChaPoly {
 public:
  explicit ChaChaPoly(const Key32& key);
  ~ChaChaPoly();
  ChaChaPoly(const ChaChaPoly&) = delete;
  ChaChaPoly& operator=(const ChaChaPoly&) = delete;

  // Writes plaintext.size() + kTagSize bytes to `out`.
  void seal(const Nonce& nonce, ByteView plaintext, std::uint8_t* out);
  // Writes ciphertext.size() - kTagSize bytes to `out` and returns true when
  // the tag verifies. On false the content of `out` must not be used.
  bool open(const Nonce& nonce, ByteView ciphertext, std::uint8_t* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Standard base64 (RFC 4648 §4) without padding. Decoding accepts only the
// canonical spelling: no '=', no other alphabet, no non-zero trailing bits.
std::string base64_encode(ByteView bytes);
std::optional<Bytes> base64_decode(std::string_view text);

// Overwrites secret material before its memory is released (OPENSSL_cleanse).
void wipe(std::span<std::uint8_t> secret);

}  // namespace tb::age
