#include <algorithm>

#include "age/stream.hpp"

namespace tb::age {

Encryptor::Encryptor(io::Sink& next, const std::vector<Recipient>& recipients) : next_(next) {
  if (recipients.empty()) {
    throw Error(ErrorCode::kValidation, "an age file needs at least one recipient");
  }
  // A fresh file key and payload nonce per file: the format's whole security
  // rests on neither being reused.
  FileKey file_key{};
  random_bytes(file_key);
  std::vector<Stanza> stanzas;
  stanzas.reserve(recipients.size());
  for (const auto& r : recipients) stanzas.push_back(wrap_x25519(r, file_key));
  header_ = seal_header(stanzas, file_key);

  std::array<std::uint8_t, kPayloadNonceSize> nonce{};
  random_bytes(nonce);
  header_.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  Key32 key = payload_key(file_key, nonce);
  wipe(file_key);
  aead_ = std::make_unique<ChaChaPoly>(key);
  wipe(key);
  plain_.reserve(kChunkSize);
  sealed_.resize(kSealedChunkSize);
}

Encryptor::~Encryptor() = default;

void Encryptor::write(std::span<const std::byte> data) {
  auto in = std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  while (!in.empty()) {
    // A full chunk is sealed only once more data shows it is not the last.
    if (plain_.size() == kChunkSize) seal_chunk(false);
    const std::size_t take = std::min(in.size(), kChunkSize - plain_.size());
    plain_.insert(plain_.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(take));
    in = in.subspan(take);
  }
}

void Encryptor::finish() {
  // The last chunk may be full, or empty when the whole payload is.
  seal_chunk(true);
  next_.finish();
}

void Encryptor::seal_chunk(bool last) {
  if (!header_.empty()) {
    next_.write(io::as_bytes(header_));
    header_.clear();
  }
  aead_->seal(chunk_nonce(counter_, last), plain_, sealed_.data());
  next_.write(std::as_bytes(std::span(sealed_.data(), plain_.size() + kTagSize)));
  plain_.clear();
  ++counter_;
}

}  // namespace tb::age
