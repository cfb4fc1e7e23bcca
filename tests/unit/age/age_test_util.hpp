// Helpers shared by the age tests: temporary folders, random payloads,
// encrypting and decrypting through the sink chain in writes of a given size.
#pragma once

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "age/keys.hpp"
#include "age/stream.hpp"
#include "io/sink.hpp"
#include "support/pg_cluster.hpp"

namespace tb::age::test {

struct TempDir {
  std::string path = tb::test::make_temp_dir("tb-age");
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

inline void save(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

inline std::string load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Incompressible bytes, different per seed.
inline std::string random_data(std::size_t size, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::string s(size, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// Writes `data` in pieces of `chunk` bytes, without finish().
inline void write_in_pieces(io::Sink& sink, const std::string& data, std::size_t chunk) {
  auto all = io::as_bytes(data);
  for (std::size_t off = 0; off < all.size(); off += chunk) {
    sink.write(all.subspan(off, std::min(chunk, all.size() - off)));
  }
}

inline std::string encrypt(const std::vector<Recipient>& to, const std::string& data,
                           std::size_t chunk = 65536) {
  io::StringSink out;
  Encryptor enc(out, to);
  write_in_pieces(enc, data, chunk);
  enc.finish();
  return out.str();
}

// Where the payload starts: after the header's MAC line and the 16-byte nonce.
inline std::size_t payload_offset(const std::string& file) {
  auto mac = file.find("\n--- ");
  return file.find('\n', mac + 1) + 1 + 16;
}

}  // namespace tb::age::test
