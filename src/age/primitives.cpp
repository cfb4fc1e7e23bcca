#include "age/primitives.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <memory>

#include "core/error.hpp"

namespace tb::age {
namespace {

[[noreturn]] void openssl_failed(const char* what) {
  throw Error(ErrorCode::kInternal, "internal error", std::string("OpenSSL: ") + what + " failed");
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

Pkey private_key(const Key32& scalar) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, scalar.data(), scalar.size()));
  if (!key) openssl_failed("EVP_PKEY_new_raw_private_key(X25519)");
  return key;
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

ByteView view(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

void random_bytes(std::span<std::uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) openssl_failed("RAND_bytes");
}

Key32 x25519_base(const Key32& scalar) {
  Pkey key = private_key(scalar);
  Key32 pub{};
  std::size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &len) != 1 || len != pub.size()) {
    openssl_failed("EVP_PKEY_get_raw_public_key(X25519)");
  }
  return pub;
}

std::optional<Key32> x25519(const Key32& scalar, const Key32& point) {
  Pkey key = private_key(scalar);
  Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, point.data(), point.size()));
  if (!peer) return std::nullopt;
  PkeyCtx ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) openssl_failed("EVP_PKEY_derive_init");
  // OpenSSL itself fails the derivation when the result is all zeros.
  if (EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) return std::nullopt;
  Key32 shared{};
  std::size_t len = shared.size();
  if (EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != shared.size()) {
    return std::nullopt;
  }
  const Key32 zero{};
  if (CRYPTO_memcmp(shared.data(), zero.data(), shared.size()) == 0) return std::nullopt;
  return shared;
}

Key32 hkdf_sha256(ByteView ikm, ByteView salt, std::string_view info) {
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr),
                                                        &EVP_KDF_free);
  if (!kdf) openssl_failed("EVP_KDF_fetch(HKDF)");
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(EVP_KDF_CTX_new(kdf.get()),
                                                                &EVP_KDF_CTX_free);
  if (!ctx) openssl_failed("EVP_KDF_CTX_new");
  char digest[] = "SHA256";
  // OSSL_PARAM wants non-const pointers; OpenSSL only reads these buffers.
  auto* ikm_p = const_cast<std::uint8_t*>(ikm.data());
  auto* salt_p = const_cast<std::uint8_t*>(salt.data());
  auto* info_p = const_cast<char*>(info.data());
  OSSL_PARAM params[5];
  std::size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm_p, ikm.size());
  // No salt is HKDF's default: a zero-filled key, the same as an empty salt.
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt_p, salt.size());
  }
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info_p, info.size());
  params[n] = OSSL_PARAM_construct_end();
  Key32 out{};
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) openssl_failed("HKDF");
  return out;
}

Key32 hmac_sha256(ByteView key, ByteView data) {
  Key32 out{};
  std::size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(), data.data(),
                data.size(), out.data(), out.size(), &len) == nullptr ||
      len != out.size()) {
    openssl_failed("HMAC-SHA256");
  }
  return out;
}

bool equal_constant_time(ByteView a, ByteView b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

struct ChaChaPoly::Impl {
  EVP_CIPHER_CTX* enc = nullptr;
  EVP_CIPHER_CTX* dec = nullptr;
  Key32 key{};
  ~Impl() {
    EVP_CIPHER_CTX_free(enc);
    EVP_CIPHER_CTX_free(dec);
    wipe(key);
  }
};

ChaChaPoly::ChaChaPoly(const Key32& key) : impl_(std::make_unique<Impl>()) {
  impl_->key = key;
}

ChaChaPoly::~ChaChaPoly() = default;

void ChaChaPoly::seal(const Nonce& nonce, ByteView plaintext, std::uint8_t* out) {
  auto& ctx = impl_->enc;
  if (ctx == nullptr) {
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == nullptr || EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr,
                                             impl_->key.data(), nullptr) != 1) {
      openssl_failed("EVP_EncryptInit_ex(chacha20-poly1305)");
    }
  }
  int len = 0;
  int final_len = 0;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) != 1 ||
      EVP_EncryptUpdate(ctx, out, &len, plaintext.data(), static_cast<int>(plaintext.size())) !=
          1 ||
      EVP_EncryptFinal_ex(ctx, out + len, &final_len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTagSize, out + plaintext.size()) != 1) {
    openssl_failed("chacha20-poly1305 seal");
  }
}

bool ChaChaPoly::open(const Nonce& nonce, ByteView ciphertext, std::uint8_t* out) {
  if (ciphertext.size() < kTagSize) return false;
  auto& ctx = impl_->dec;
  if (ctx == nullptr) {
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == nullptr || EVP_DecryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr,
                                             impl_->key.data(), nullptr) != 1) {
      openssl_failed("EVP_DecryptInit_ex(chacha20-poly1305)");
    }
  }
  const std::size_t text = ciphertext.size() - kTagSize;
  // The tag is only read by OpenSSL, the cast is for its signature.
  auto* tag = const_cast<std::uint8_t*>(ciphertext.data() + text);
  int len = 0;
  int final_len = 0;
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) != 1 ||
      EVP_DecryptUpdate(ctx, out, &len, ciphertext.data(), static_cast<int>(text)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kTagSize, tag) != 1) {
    openssl_failed("chacha20-poly1305 open");
  }
  return EVP_DecryptFinal_ex(ctx, out + len, &final_len) == 1;
}

std::string base64_encode(ByteView bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::optional<Bytes> base64_decode(std::string_view text) {
  // EVP_DecodeBlock skips surrounding blanks and wants padding: check the
  // alphabet and length here, then let re-encoding prove the spelling canonical.
  if (text.size() % 4 == 1) return std::nullopt;
  for (char c : text) {
    if (!is_base64_char(c)) return std::nullopt;
  }
  std::string padded(text);
  const std::size_t pad = (4 - text.size() % 4) % 4;
  padded.append(pad, '=');
  Bytes out(padded.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(padded.data()),
                          static_cast<int>(padded.size()));
  if (n < 0 || static_cast<std::size_t>(n) != out.size()) return std::nullopt;
  out.resize(out.size() - pad);
  if (base64_encode(out) != text) return std::nullopt;
  return out;
}

void wipe(std::span<std::uint8_t> secret) {
  OPENSSL_cleanse(secret.data(), secret.size());
}

}  // namespace tb::age
