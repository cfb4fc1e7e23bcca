// age encryption and decryption as filters of the io:: sink chain, e.g.
//   pg_dump → ZstdCompressor → age::Encryptor → Sha256 → destinations
//   file → age::Decryptor → ZstdDecompressor → psql
//
// Both keep one 64 KiB chunk (plus its tag) in memory, whatever the stream's
// length. Both follow io::Sink's rules: finish() flushes and then finishes
// the next sink once; a filter that threw is not reused.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "age/format.hpp"
#include "age/keys.hpp"
#include "io/sink.hpp"

namespace tb::age {

// Writes an age v1 file encrypted to every recipient (one X25519 stanza
// each). The header goes out with the first chunk. Throws kValidation for an
// empty recipient list.
class Encryptor final : public io::Sink {
 public:
  Encryptor(io::Sink& next, const std::vector<Recipient>& recipients);
  ~Encryptor() override;
  Encryptor(const Encryptor&) = delete;
  Encryptor& operator=(const Encryptor&) = delete;

  void write(std::span<const std::byte> data) override;
  void finish() override;

 private:
  void seal_chunk(bool last);

  io::Sink& next_;
  std::string header_;  // header and payload nonce, sent before the first chunk
  std::unique_ptr<ChaChaPoly> aead_;
  std::vector<std::uint8_t> plain_;
  std::vector<std::uint8_t> sealed_;
  std::uint64_t counter_ = 0;
};

// Reads an age v1 file and passes the plaintext on, one authenticated chunk
// at a time: the bytes of a chunk whose tag does not verify are never
// written to `next`. Every identity is tried on every X25519 stanza. Errors
// are DecryptError (see its reasons). Chunks before a damaged one have been
// passed on by then; the caller treats the whole stream as failed.
class Decryptor final : public io::Sink {
 public:
  Decryptor(io::Sink& next, std::vector<Identity> identities);
  ~Decryptor() override;
  Decryptor(const Decryptor&) = delete;
  Decryptor& operator=(const Decryptor&) = delete;

  void write(std::span<const std::byte> data) override;
  // Verifies that the last chunk was a valid final chunk, then finishes next.
  void finish() override;

  // Which identity (index into the list given) opened the file; set once the
  // header was read. Lets a caller notice files still on a retired key.
  std::optional<std::size_t> matched_identity() const { return matched_; }

 private:
  void read_header(std::span<const std::uint8_t>& in);
  void open_header(std::size_t header_size);
  void open_chunk(bool last);

  io::Sink& next_;
  std::vector<Identity> identities_;
  std::string header_;    // bytes of the header as they arrive
  std::size_t scan_ = 0;  // where the next header line starts in header_
  bool in_header_ = true;
  FileKey file_key_{};  // from the header until the payload key is derived
  std::vector<std::uint8_t> nonce_;
  std::unique_ptr<ChaChaPoly> aead_;
  std::vector<std::uint8_t> sealed_;
  std::vector<std::uint8_t> plain_;
  std::uint64_t counter_ = 0;
  std::optional<std::size_t> matched_;
};

}  // namespace tb::age
