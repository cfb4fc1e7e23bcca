// The header and STREAM rules case by case, after the cases of the age test
// kit (CCTV): each file is built here with a valid header MAC, so what is
// refused is refused for the rule under test, not for the MAC.
#include <gtest/gtest.h>

#include <functional>

#include "age_test_util.hpp"

namespace tb::age {
namespace {

using Reason = DecryptError::Reason;
constexpr std::size_t kChunk = 64 * 1024;
constexpr std::string_view kB64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The same characters with the last one's value raised by one: for a
// canonical encoding with unused trailing bits, a non-canonical spelling.
std::string not_canonical(std::string b64) {
  b64.back() = kB64[kB64.find(b64.back()) + 1];
  return b64;
}

struct Result {
  std::optional<Reason> error;
  std::string plain;
};

class Conformance : public ::testing::Test {
 protected:
  Identity id = generate_identity();
  FileKey file_key = [] {
    FileKey k{};
    random_bytes(k);
    return k;
  }();
  std::vector<Stanza> stanzas = {wrap_x25519(recipient_of(id), file_key)};

  // The header with its MAC; `edit` changes the text the MAC covers
  // ("…\n---"), `edit_mac_line` the " <mac>\n" that follows.
  std::string header(const std::function<void(std::string&)>& edit = {},
                     const std::function<void(std::string&)>& edit_mac_line = {}) const {
    std::string text = header_mac_input(stanzas);
    if (edit) edit(text);
    const Key32 mac = hmac_sha256(hkdf_sha256(file_key, {}, "header"), view(text));
    std::string mac_line = " " + base64_encode(mac) + "\n";
    if (edit_mac_line) edit_mac_line(mac_line);
    return text + mac_line;
  }

  // A nonce and chunks of the given sizes; `final_flags` marks which are
  // sealed as final (default: only the last one).
  std::string payload(const std::vector<std::size_t>& sizes,
                      std::vector<bool> final_flags = {}) const {
    if (final_flags.empty()) {
      final_flags.assign(sizes.size(), false);
      if (!sizes.empty()) final_flags.back() = true;
    }
    std::array<std::uint8_t, kPayloadNonceSize> nonce{};
    random_bytes(nonce);
    ChaChaPoly aead(payload_key(file_key, nonce));
    std::string out(reinterpret_cast<const char*>(nonce.data()), nonce.size());
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      const std::string plain(sizes[i], static_cast<char>('a' + i % 26));
      std::string sealed(sizes[i] + kTagSize, '\0');
      aead.seal(chunk_nonce(i, final_flags[i]), view(plain),
                reinterpret_cast<std::uint8_t*>(sealed.data()));
      out += sealed;
    }
    return out;
  }

  Result open(const std::string& file) const {
    io::StringSink out;
    Result r;
    try {
      Decryptor dec(out, {id});
      test::write_in_pieces(dec, file, 4096);
      dec.finish();
    } catch (const DecryptError& e) {
      r.error = e.reason();
    }
    r.plain = out.str();
    return r;
  }

  // A stanza of another type, inserted as text before the MAC mark.
  static std::function<void(std::string&)> insert(const std::string& stanza_text) {
    return [stanza_text](std::string& t) { t.insert(t.size() - 3, stanza_text); };
  }
};

TEST_F(Conformance, UnknownStanzasAndEveryPrintableArgumentAreAccepted) {
  stanzas.insert(stanzas.begin(), Stanza{{"grease"}, {}});
  stanzas.push_back(Stanza{{"grease", "x"}, Bytes(96, 0)});  // two full lines, an empty last
  stanzas.push_back(Stanza{{"!\"#$%&'", "()*+,-./", "01234567", "89:;<=>?", "@ABCDEFG"}, {}});
  stanzas.push_back(Stanza{{"PQRSTUVW", "XYZ[\\]^_", "`abcdefg", "hijklmno", "xyz{|}~"}, {}});
  EXPECT_EQ(open(header() + payload({3})).plain, "aaa");
}

TEST_F(Conformance, MalformedX25519StanzasAreHeaderFailures) {
  const Stanza good = stanzas[0];
  auto with = [&](Stanza s) {
    stanzas = {std::move(s)};
    return open(header() + payload({3}));
  };
  Stanza s = good;
  s.args.push_back("1234");
  EXPECT_EQ(with(s).error, Reason::kDamaged) << "extra argument";
  s = good;
  s.args.pop_back();
  EXPECT_EQ(with(s).error, Reason::kDamaged) << "no share";
  s = good;
  s.args[1] = not_canonical(s.args[1]);
  EXPECT_EQ(with(s).error, Reason::kDamaged) << "share not canonical";
  s = good;
  s.args[1] = base64_encode(Bytes(31, 9));
  EXPECT_EQ(with(s).error, Reason::kDamaged) << "short share";
  s = good;
  s.args[1] = base64_encode(Bytes(33, 9));
  EXPECT_EQ(with(s).error, Reason::kDamaged) << "long share";
  s = good;
  s.args[1] = base64_encode(Bytes(32, 0));
  EXPECT_EQ(with(s).error, Reason::kDamaged) << "identity point: all-zero shared secret";
  s = good;
  s.body.push_back(0);
  EXPECT_EQ(with(s).error, Reason::kDamaged) << "body longer than 32 bytes";
  s = good;
  s.args[0] = "x25519";
  EXPECT_EQ(with(s).error, Reason::kNoMatchingIdentity) << "another (lowercase) type";
  stanzas = {good, Stanza{{"scrypt", base64_encode(Bytes(16, 1)), "10"}, Bytes(32, 2)}};
  EXPECT_EQ(open(header() + payload({3})).error, Reason::kDamaged) << "scrypt not alone";
  s = good;
  s.body[5] ^= 1;
  EXPECT_EQ(with(s).error, Reason::kNoMatchingIdentity) << "bad tag";
}

TEST_F(Conformance, StanzaSyntaxErrorsAreHeaderFailures) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"no arguments", "->\n\n"},
      {"empty argument", "-> stanza  argument\n\n"},
      {"non-ASCII argument", "-> stanza \xc3\xa8\n\n"},
      {"padding", "-> stanza\nQUE=\n"},
      {"line longer than 64", "-> stanza\n" + std::string(68, 'A') + "\n"},
      {"two short lines", "-> stanza\nAAAA\nAAAA\n"},
      {"spurious CR", "-> stanza\n" + std::string(32, 'A') + "\r" + std::string(31, 'A') + "\n"},
      {"body not canonical", "-> stanza\nQUF\n"},
      {"bad start", "-< stanza\n\n"},
      {"missing final line", "-> stanza\n" + std::string(64, 'A') + "\n"},
  };
  for (const auto& [what, text] : cases) {
    EXPECT_EQ(open(header(insert(text)) + payload({3})).error, Reason::kDamaged) << what;
  }
}

TEST_F(Conformance, MacLineErrorsAreHeaderFailures) {
  const std::vector<std::pair<std::string, std::function<void(std::string&)>>> cases = {
      {"extra space", [](std::string& l) { l.insert(0, " "); }},
      {"trailing space", [](std::string& l) { l.insert(l.size() - 1, " "); }},
      {"no space", [](std::string& l) { l.erase(0, 1); }},
      {"not canonical",
       [](std::string& l) { l = " " + not_canonical(l.substr(1, l.size() - 2)) + "\n"; }},
      {"truncated", [](std::string& l) { l.erase(l.size() - 2, 1); }},
      {"garbage", [](std::string& l) { l.insert(l.size() - 1, "AAA"); }},
      {"bad", [](std::string& l) { l[5] = l[5] == 'A' ? 'B' : 'A'; }},
  };
  for (const auto& [what, edit] : cases) {
    EXPECT_EQ(open(header({}, edit) + payload({3})).error, Reason::kDamaged) << what;
  }
  // No MAC line at all: the header never ends.
  std::string no_mac = header_mac_input(stanzas);
  no_mac.resize(no_mac.size() - 3);
  EXPECT_EQ(open(no_mac + payload({3})).error, Reason::kDamaged);
}

TEST_F(Conformance, VersionLines) {
  auto crlf = [](std::string& t) {
    for (std::size_t p = t.find('\n'); p != std::string::npos; p = t.find('\n', p + 2)) {
      t.insert(p, "\r");
    }
  };
  EXPECT_EQ(open(header(crlf) + payload({3})).error, Reason::kDamaged);
  auto v1234 = [](std::string& t) { t.insert(t.find('\n'), "234"); };
  EXPECT_EQ(open(header(v1234) + payload({3})).error, Reason::kNotAgeFile);
}

TEST_F(Conformance, StreamChunkRules) {
  const std::string h = header();
  Result empty = open(h + payload({0}));
  EXPECT_FALSE(empty.error) << "an empty payload is one empty final chunk";
  EXPECT_EQ(empty.plain, "");
  EXPECT_EQ(open(h + payload({kChunk})).plain.size(), kChunk) << "a full final chunk";
  EXPECT_EQ(open(h + payload({kChunk, kChunk, 1})).plain.size(), 2 * kChunk + 1);

  Result r = open(h + payload({kChunk, 0}));
  EXPECT_EQ(r.error, Reason::kDamaged) << "empty final chunk after a full one";
  EXPECT_EQ(r.plain.size(), kChunk);
  EXPECT_EQ(open(h + payload({kChunk, 1}, {true, true})).error, Reason::kDamaged)
      << "two final chunks";
  EXPECT_EQ(open(h + payload({10, 1}, {true, true})).error, Reason::kDamaged)
      << "a short final chunk followed by another";
  EXPECT_EQ(open(h + payload({kChunk - 1, 10})).error, Reason::kDamaged)
      << "a short chunk that is not final";
  EXPECT_EQ(open(h + payload({kChunk}, {false})).error, Reason::kDamaged) << "no final chunk";
  EXPECT_EQ(open(h + payload({kChunk, kChunk}, {false, false})).error, Reason::kDamaged)
      << "no final chunk after two";

  const std::string one = h + payload({3});
  EXPECT_EQ(open(one.substr(0, one.size() - kTagSize)).error, Reason::kDamaged) << "missing tag";
  EXPECT_EQ(open(h).error, Reason::kDamaged) << "no nonce";
  EXPECT_EQ(open(h + "0123456789").error, Reason::kDamaged) << "short nonce";
  EXPECT_EQ(open(h + payload({}).substr(0, kPayloadNonceSize)).error, Reason::kDamaged)
      << "no chunks";
  EXPECT_EQ(open(h + payload({kChunk}) + "garbage").error, Reason::kDamaged) << "trailing garbage";
}

}  // namespace
}  // namespace tb::age
