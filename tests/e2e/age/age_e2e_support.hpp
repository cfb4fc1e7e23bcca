// What the encryption suites share: age keys made by Debian's `age-keygen`
// (as a tenant or an operator makes them), key files, the `age` CLI run on
// a stored backup, and the SHA-256 of a file as sha256sum prints it.
#pragma once

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/pg_cluster.hpp"

namespace tb::test {

struct AgeKey {
  std::string path;       // an age-keygen file (0600)
  std::string recipient;  // "age1…", from `age-keygen -y`
};

inline std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

inline AgeKey make_age_key(const std::string& dir, const std::string& name) {
  AgeKey k{dir + "/" + name, ""};
  run_command("age-keygen -o " + k.path + " 2>/dev/null");
  ::chmod(k.path.c_str(), 0600);
  k.recipient = trimmed(run_command("age-keygen -y " + k.path));
  return k;
}

// A key file holding `keys` in order (what an operator writes when rotating:
// the new key first, the old ones after it).
inline void write_key_file(const std::string& path, const std::vector<AgeKey>& keys) {
  std::string text;
  for (const auto& k : keys) text += read_text_file(k.path);
  std::ofstream(path, std::ios::trunc) << text;
  ::chmod(path.c_str(), 0600);
}

// `age -d -i key file > out`; false when age refuses.
inline bool age_decrypts(const AgeKey& key, const std::string& file, const std::string& out) {
  const std::string cmd = "age -d -i " + key.path + " -o " + out + " " + file + " 2>/dev/null";
  return std::system(cmd.c_str()) == 0;  // NOLINT(cert-env33-c): a test runs the age CLI
}

inline std::string sha256_of(const std::string& path) {
  return run_command("sha256sum " + path).substr(0, 64);
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace tb::test
