#include <algorithm>

#include "age/stream.hpp"

namespace tb::age {
namespace {

constexpr std::string_view kArmorStart = "-----BEGIN AGE ENCRYPTED FILE-----";

[[noreturn]] void damaged(std::string detail) {
  throw DecryptError(DecryptError::Reason::kDamaged, std::move(detail));
}

[[noreturn]] void not_age(std::string detail) {
  throw DecryptError(DecryptError::Reason::kNotAgeFile, std::move(detail));
}

}  // namespace

Decryptor::Decryptor(io::Sink& next, std::vector<Identity> identities)
    : next_(next), identities_(std::move(identities)) {
  if (identities_.empty()) {
    throw Error(ErrorCode::kValidation, "reading an age file needs at least one identity");
  }
  nonce_.reserve(kPayloadNonceSize);
  sealed_.reserve(kSealedChunkSize);
}

Decryptor::~Decryptor() {
  wipe(file_key_);
}

void Decryptor::write(std::span<const std::byte> data) {
  auto in = std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  if (in_header_) {
    read_header(in);
    if (in_header_) return;
  }
  if (nonce_.size() < kPayloadNonceSize) {
    const std::size_t take = std::min(in.size(), kPayloadNonceSize - nonce_.size());
    nonce_.insert(nonce_.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(take));
    in = in.subspan(take);
    if (nonce_.size() < kPayloadNonceSize) return;
    Key32 key = payload_key(file_key_, nonce_);
    wipe(file_key_);
    aead_ = std::make_unique<ChaChaPoly>(key);
    wipe(key);
  }
  while (!in.empty()) {
    // A full chunk is opened as non-final only once more data follows it.
    if (sealed_.size() == kSealedChunkSize) open_chunk(false);
    const std::size_t take = std::min(in.size(), kSealedChunkSize - sealed_.size());
    sealed_.insert(sealed_.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(take));
    in = in.subspan(take);
  }
}

void Decryptor::finish() {
  if (in_header_) {
    if (header_.empty()) not_age("empty input");
    if (header_.size() < kMagic.size()) not_age("shorter than an age header");
    damaged("the file ends inside the header");
  }
  if (nonce_.size() < kPayloadNonceSize) damaged("the file ends before the payload");
  if (sealed_.empty()) {
    // Even an empty payload has one (empty) final chunk: its tag.
    damaged(counter_ == 0 ? "no payload after the header"
                          : "the file is truncated (no final chunk)");
  }
  open_chunk(true);
  next_.finish();
}

void Decryptor::read_header(std::span<const std::uint8_t>& in) {
  const std::size_t before = header_.size();
  header_.append(reinterpret_cast<const char*>(in.data()), in.size());
  // Refuse another format on its first bytes, without waiting for a newline.
  const std::size_t prefix = std::min(header_.size(), kMagic.size());
  if (std::string_view(header_).substr(0, prefix) != kMagic.substr(0, prefix)) {
    if (std::string_view(header_).starts_with(kArmorStart.substr(0, prefix))) {
      not_age("ASCII-armored age files (age -a) are not supported");
    }
    not_age("does not start with the age header");
  }
  while (true) {
    const auto nl = header_.find('\n', scan_);
    if (nl == std::string::npos) break;
    if (std::string_view(header_).substr(scan_).starts_with("---")) {
      const std::size_t end = nl + 1;
      // Bytes after the header came with this write: they are payload.
      in = in.subspan(end - before);
      open_header(end);
      return;
    }
    scan_ = nl + 1;
  }
  if (header_.size() > kMaxHeaderSize) damaged("header larger than 1 MiB");
  in = {};
}

void Decryptor::open_header(std::size_t header_size) {
  const std::string_view header = std::string_view(header_).substr(0, header_size);
  const ParsedHeader parsed = parse_header(header);
  std::optional<FileKey> file_key;
  for (std::size_t i = 0; i < identities_.size() && !file_key; ++i) {
    for (const auto& stanza : parsed.stanzas) {
      file_key = unwrap_x25519(stanza, identities_[i]);
      if (file_key) {
        matched_ = i;
        break;
      }
    }
  }
  if (!file_key) {
    std::string types;
    for (const auto& s : parsed.stanzas) types += (types.empty() ? "" : ", ") + s.args.front();
    throw DecryptError(
        DecryptError::Reason::kNoMatchingIdentity,
        "stanzas: " + types + "; identities tried: " + std::to_string(identities_.size()));
  }
  file_key_ = *file_key;
  wipe(*file_key);
  if (!verify_header_mac(header.substr(0, parsed.mac_input_size), parsed.mac, file_key_)) {
    damaged("the header MAC does not verify");
  }
  in_header_ = false;
  header_.clear();
  header_.shrink_to_fit();
}

void Decryptor::open_chunk(bool last) {
  if (sealed_.size() < kTagSize) damaged("the final chunk is shorter than its tag");
  plain_.resize(sealed_.size() - kTagSize);
  if (!aead_->open(chunk_nonce(counter_, last), sealed_, plain_.data())) {
    damaged("chunk " + std::to_string(counter_) + (last ? " (the last one)" : "") +
            " fails authentication");
  }
  if (last && plain_.empty() && counter_ > 0) damaged("empty final chunk after a full one");
  next_.write(std::as_bytes(std::span(plain_)));
  sealed_.clear();
  ++counter_;
}

}  // namespace tb::age
