#include "io/hash.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "core/unique_fd.hpp"

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

std::string Sha256::hex() const {
  return hex_;
}

void ByteCounter::write(std::span<const std::byte> data) {
  next_.write(data);
  count_ += data.size();
  if (on_progress_) on_progress_(count_);
}

std::string sha256_range(int fd, std::uint64_t offset, std::uint64_t length) {
  NullSink null;
  Sha256 sha(null);
  std::vector<std::byte> buf(std::min<std::uint64_t>(length, 1 << 20));
  for (std::uint64_t done = 0; done < length;) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length - done));
    const ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw Error(ErrorCode::kInternal, "backup file cannot be read",
                  std::string("pread: ") + std::strerror(errno));
    }
    if (n == 0) break;  // shorter than told: the digest says so
    sha.write(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)));
    done += static_cast<std::uint64_t>(n);
  }
  sha.finish();
  return sha.hex();
}

std::string sha256_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    throw Error(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInternal,
                err == ENOENT ? "backup file not found" : "backup file cannot be read",
                "open '" + path + "': " + std::strerror(err));
  }
  // To its end, however long.
  return sha256_range(fd.get(), 0, std::numeric_limits<std::uint64_t>::max());
}

}  // namespace tb::io
