#include "io/hash.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace tb::io {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256(Sink& next) : next_(next), impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (impl_->ctx == nullptr || EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) != 1) {
    throw Error(ErrorCode::kInternal, "internal error", "EVP_DigestInit_ex(sha256) failed");
  }
}

Sha256::~Sha256() = default;

void Sha256::write(std::span<const std::byte> data) {
  if (EVP_DigestUpdate(impl_->ctx, data.data(), data.size()) != 1) {
    throw Error(ErrorCode::kInternal, "internal error", "EVP_DigestUpdate failed");
  }
  next_.write(data);
}

void Sha256::finish() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, md.data(), &len) != 1) {
    throw Error(ErrorCode::kInternal, "internal error", "EVP_DigestFinal_ex failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  hex_.clear();
  for (unsigned int i = 0; i < len; ++i) {
    hex_ += kHex[md[i] >> 4];
    hex_ += kHex[md[i] & 0xF];
  }
  next_.finish();
}

std::string Sha256::hex() const { return hex_; }

void ByteCounter::write(std::span<const std::byte> data) {
  next_.write(data);
  count_ += data.size();
  if (on_progress_) on_progress_(count_);
}

std::string sha256_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    throw Error(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInternal,
                err == ENOENT ? "backup file not found" : "cannot read backup file",
                "open '" + path + "': " + std::strerror(err));
  }
  NullSink null;
  Sha256 sha(null);
  std::array<std::byte, 256 * 1024> buf{};
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      throw Error(ErrorCode::kInternal, "cannot read backup file", "read '" + path + "': " + std::strerror(err));
    }
    if (n == 0) break;
    sha.write(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)));
  }
  ::close(fd);
  sha.finish();
  return sha.hex();
}

}  // namespace tb::io
