// Our Encryptor and Decryptor against each other: round trips over the chunk
// boundaries and write sizes, and every kind of damage refused without
// releasing the plaintext of the damaged chunk.
#include <gtest/gtest.h>

#include "age_test_util.hpp"

namespace tb::age {
namespace {

using test::encrypt;
using test::payload_offset;
using test::random_data;
using test::write_in_pieces;

constexpr std::size_t kChunk = 64 * 1024;

struct Outcome {
  std::string plain;  // what reached the next sink
  bool finished = false;
  std::optional<DecryptError::Reason> error;
  std::optional<std::size_t> matched;
};

Outcome decrypt(std::vector<Identity> ids, const std::string& file, std::size_t piece = 65536) {
  io::StringSink out;
  Outcome o;
  try {
    Decryptor dec(out, std::move(ids));
    write_in_pieces(dec, file, piece);
    dec.finish();
    o.matched = dec.matched_identity();
  } catch (const DecryptError& e) {
    o.error = e.reason();
  }
  o.plain = out.str();
  o.finished = out.finished();
  return o;
}

class AgeRoundTrip : public ::testing::TestWithParam<std::tuple<std::size_t, std::size_t>> {};

TEST_P(AgeRoundTrip, DecryptsWhatItEncrypted) {
  auto [size, piece] = GetParam();
  Identity id = generate_identity();
  const std::string data = random_data(size, static_cast<unsigned>(size));
  const std::string file = encrypt({recipient_of(id)}, data, piece);
  // Header, 16-byte nonce, then one 16-byte tag per chunk (at least one).
  const std::size_t chunks = size == 0 ? 1 : (size + kChunk - 1) / kChunk;
  EXPECT_EQ(file.size(), payload_offset(file) + size + 16 * chunks);
  Outcome o = decrypt({id}, file, piece);
  EXPECT_FALSE(o.error);
  EXPECT_TRUE(o.finished);
  EXPECT_EQ(o.plain, data);
}

INSTANTIATE_TEST_SUITE_P(SizesAndWrites, AgeRoundTrip,
                         ::testing::Combine(::testing::Values(0, 1, kChunk - 1, kChunk, kChunk + 1,
                                                              2 * kChunk, 300000),
                                            ::testing::Values(1000, 65536, 1 << 20)));

TEST(AgeStream, EncryptsToEveryRecipient) {
  Identity service = generate_identity();
  Identity tenant = generate_identity();
  Identity stranger = generate_identity();
  const std::string data = random_data(100000);
  const std::string file = encrypt({recipient_of(service), recipient_of(tenant)}, data);
  EXPECT_EQ(decrypt({service}, file).plain, data);
  EXPECT_EQ(decrypt({tenant}, file).plain, data);
  Outcome o = decrypt({stranger}, file);
  EXPECT_EQ(o.error, DecryptError::Reason::kNoMatchingIdentity);
  EXPECT_TRUE(o.plain.empty());
}

TEST(AgeStream, NoIdentityMatchesIsItsOwnErrorWithItsOwnMessage) {
  const std::string file = encrypt({recipient_of(generate_identity())}, "secret");
  io::StringSink out;
  Decryptor dec(out, {generate_identity(), generate_identity()});
  try {
    write_in_pieces(dec, file, 4096);
    dec.finish();
    FAIL() << "decrypted with a stranger's key";
  } catch (const DecryptError& e) {
    EXPECT_EQ(e.reason(), DecryptError::Reason::kNoMatchingIdentity);
    EXPECT_EQ(e.code(), ErrorCode::kValidation);
    EXPECT_NE(e.message().find("no identity matches"), std::string::npos);
  }
}

TEST(AgeStream, RotationKeepsOldFilesReadable) {
  Identity old_key = generate_identity();
  Identity new_key = generate_identity();
  const std::string data = random_data(70000);
  Outcome o = decrypt({new_key, old_key}, encrypt({recipient_of(old_key)}, data));
  EXPECT_EQ(o.plain, data);
  EXPECT_EQ(o.matched, 1u);
  EXPECT_EQ(decrypt({new_key, old_key}, encrypt({recipient_of(new_key)}, data)).matched, 0u);
}

TEST(AgeStream, OutputStreamsWithBoundedBuffering) {
  // Neither side holds more than a chunk: after 1 MiB in, all but the last
  // chunk is out, before finish().
  Identity id = generate_identity();
  const std::string data = random_data(1 << 20);
  io::StringSink sealed;
  Encryptor enc(sealed, {recipient_of(id)});
  write_in_pieces(enc, data, 10000);
  EXPECT_GE(sealed.str().size(), data.size() - kChunk);
  enc.finish();

  io::StringSink plain;
  Decryptor dec(plain, {id});
  write_in_pieces(dec, sealed.str(), 10000);
  EXPECT_GE(plain.str().size(), data.size() - kChunk);
  dec.finish();
  EXPECT_EQ(plain.str(), data);
}

class AgeDamage : public ::testing::Test {
 protected:
  Identity id = generate_identity();
  // Three chunks: two full ones and a short last one.
  std::string data = random_data(2 * kChunk + 1000, 3);
  std::string file = encrypt({recipient_of(id)}, data);
  std::size_t payload = payload_offset(file);
  std::size_t chunk_at(std::size_t i) const { return payload + i * (kChunk + 16); }

  Outcome flipped(std::size_t at) const {
    std::string bad = file;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    return decrypt({id}, bad);
  }
};

TEST_F(AgeDamage, AFlippedPayloadByteStopsAtThatChunk) {
  Outcome o = flipped(chunk_at(1) + 500);
  EXPECT_EQ(o.error, DecryptError::Reason::kDamaged);
  EXPECT_EQ(o.plain, data.substr(0, kChunk)) << "only the chunk before the damage is released";
  EXPECT_FALSE(o.finished);

  o = flipped(chunk_at(0));
  EXPECT_EQ(o.error, DecryptError::Reason::kDamaged);
  EXPECT_TRUE(o.plain.empty());

  o = flipped(chunk_at(1) + kChunk + 3);  // inside the tag of chunk 1
  EXPECT_EQ(o.error, DecryptError::Reason::kDamaged);
  EXPECT_EQ(o.plain.size(), kChunk);
}

TEST_F(AgeDamage, AFlippedByteInTheLastChunkIsRefusedAtFinish) {
  Outcome o = flipped(file.size() - 1);
  EXPECT_EQ(o.error, DecryptError::Reason::kDamaged);
  EXPECT_EQ(o.plain, data.substr(0, 2 * kChunk));
  EXPECT_FALSE(o.finished);
  o = flipped(chunk_at(2) + 10);
  EXPECT_EQ(o.error, DecryptError::Reason::kDamaged);
  EXPECT_EQ(o.plain.size(), 2 * kChunk);
}

TEST_F(AgeDamage, AFlippedHeaderOrNonceByteReleasesNothing) {
  // The MAC line, the stanza's share and body, the payload nonce.
  const std::size_t mac = file.find("\n--- ") + 10;
  const std::size_t share = file.find("X25519 ") + 12;
  const std::size_t body = file.find('\n', share) + 5;
  for (std::size_t at : {mac, share, body, payload - 3}) {
    std::string bad = file;
    // Another base64 letter keeps the header well-formed.
    bad[at] = bad[at] == 'A' ? 'B' : 'A';
    Outcome o = decrypt({id}, bad);
    EXPECT_TRUE(o.error) << "offset " << at;
    EXPECT_TRUE(o.plain.empty()) << "offset " << at;
  }
  EXPECT_EQ(flipped(mac).error, DecryptError::Reason::kDamaged);
  EXPECT_EQ(flipped(payload - 3).error, DecryptError::Reason::kDamaged);
}

TEST_F(AgeDamage, TruncationAndTrailingDataAreRefused) {
  for (std::size_t cut : {file.size() - 1, chunk_at(2), chunk_at(1), chunk_at(1) + 100, payload,
                          payload - 5, std::size_t{30}}) {
    Outcome o = decrypt({id}, file.substr(0, cut));
    EXPECT_EQ(o.error, DecryptError::Reason::kDamaged) << "cut at " << cut;
    EXPECT_FALSE(o.finished) << "cut at " << cut;
  }
  Outcome o = decrypt({id}, file + "x");
  EXPECT_EQ(o.error, DecryptError::Reason::kDamaged);
  EXPECT_FALSE(o.finished);
}

TEST_F(AgeDamage, ADroppedOrReorderedChunkIsRefused) {
  std::string dropped = file.substr(0, chunk_at(1)) + file.substr(chunk_at(2));
  EXPECT_EQ(decrypt({id}, dropped).error, DecryptError::Reason::kDamaged);
  std::string swapped = file.substr(0, chunk_at(0)) + file.substr(chunk_at(1), kChunk + 16) +
                        file.substr(chunk_at(0), kChunk + 16) + file.substr(chunk_at(2));
  Outcome o = decrypt({id}, swapped);
  EXPECT_EQ(o.error, DecryptError::Reason::kDamaged);
  EXPECT_TRUE(o.plain.empty());
}

TEST(AgeStream, OtherFormatsAreNotAgeFiles) {
  Identity id = generate_identity();
  for (std::string input : {std::string("\x28\xb5\x2f\xfd rest of a zstd frame"),
                            std::string("-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n"),
                            std::string("age-encryption.org/v2\n-> X25519 a\nb\n--- c\n"),
                            std::string(""), std::string("age")}) {
    EXPECT_EQ(decrypt({id}, input).error, DecryptError::Reason::kNotAgeFile) << input;
  }
}

TEST(AgeStream, MalformedHeadersAreDamaged) {
  Identity id = generate_identity();
  const std::string file = encrypt({recipient_of(id)}, "x");
  const std::size_t share_end = file.find('\n', file.find("X25519 "));
  for (std::string bad : {
           file.substr(0, share_end) + " extra" + file.substr(share_end),  // third argument
           file.substr(0, share_end) + "\r" + file.substr(share_end),      // CR
           std::string("age-encryption.org/v1\n--- ") + std::string(43, 'A') + "\n",  // no stanza
       }) {
    EXPECT_EQ(decrypt({id}, bad).error, DecryptError::Reason::kDamaged) << bad.substr(0, 120);
  }
}

TEST(AgeStream, NeedsRecipientsAndIdentities) {
  io::NullSink sink;
  EXPECT_THROW(Encryptor(sink, {}), Error);
  EXPECT_THROW(Decryptor(sink, {}), Error);
}

}  // namespace
}  // namespace tb::age
