// age X25519 keys: recipients ("age1…", public) and identities
// ("AGE-SECRET-KEY-1…", secret), as `age-keygen` writes them.
//
// Parsing is strict: a string that `age` itself would refuse is refused here
// with tb::Error kValidation and a message saying what is wrong, never the
// secret itself.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "age/primitives.hpp"

namespace tb::age {

struct Recipient {
  Key32 public_key{};
  bool operator==(const Recipient&) const = default;
};

// An X25519 secret and its recipient (computed once). The secret is wiped
// when the object goes.
class Identity {
 public:
  explicit Identity(const Key32& secret);
  ~Identity();
  Identity(const Identity& other);
  Identity& operator=(const Identity& other);

  const Key32& secret() const { return secret_; }
  const Recipient& recipient() const { return recipient_; }

 private:
  Key32 secret_{};
  Recipient recipient_;
};

// "age1…" (lowercase Bech32, 32-byte key). Throws kValidation; `field` names
// the request field in the error (e.g. "encryption.recipients[0]").
Recipient parse_recipient(std::string_view text, std::string field = "recipient");
std::string to_string(const Recipient& r);

// "AGE-SECRET-KEY-1…" (uppercase Bech32). Throws kValidation (the message
// never repeats the text).
Identity parse_identity(std::string_view text);
// The age-keygen spelling of the secret (for writing key files).
std::string to_string(const Identity& id);

Recipient recipient_of(const Identity& id);

// A fresh identity from the CSPRNG (what `age-keygen` does).
Identity generate_identity();

// Refuses an identity file that is missing, not a regular file, or
// accessible by group or others (like ssh refuses a private key: a secret
// that others can read is no longer a secret). Throws tb::Error (kNotFound,
// kValidation) with a message naming the path and the fix.
void check_identity_file_permissions(const std::string& path);

// Reads an age-keygen file: one identity per line, '#' comments and blank
// lines ignored, order kept (the first one is the one to encrypt new files
// to; the others stay for reading older files). Checks the permissions first.
// Throws tb::Error naming the path (and the line number of a bad line).
std::vector<Identity> load_identity_file(const std::string& path);

}  // namespace tb::age
