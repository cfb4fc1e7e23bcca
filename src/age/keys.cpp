#include "age/keys.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "age/bech32.hpp"
#include "core/error.hpp"

namespace tb::age {
namespace {

constexpr std::string_view kRecipientHrp = "age";
constexpr std::string_view kIdentityHrp = "AGE-SECRET-KEY-";

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

Identity::Identity(const Key32& secret) : secret_(secret) {
  recipient_.public_key = x25519_base(secret_);
}

Identity::~Identity() {
  wipe(secret_);
}

Identity::Identity(const Identity& other) = default;

Identity& Identity::operator=(const Identity& other) = default;

Recipient parse_recipient(std::string_view text, std::string field) {
  auto fail = [&](const std::string& why) -> Recipient {
    throw_validation(std::move(field),
                     "'" + std::string(text.substr(0, 100)) + "' is not an age recipient: " + why);
  };
  if (text.empty()) return fail("it is empty");
  auto result = bech32::decode(text);
  if (!result.value) return fail(std::string(bech32::describe(result.problem)));
  if (result.value->hrp != kRecipientHrp) {
    return fail("expected a lowercase 'age1…' key, found the prefix '" + result.value->hrp + "1'");
  }
  if (result.value->data.size() != 32) {
    return fail("an X25519 key is 32 bytes, this one is " +
                std::to_string(result.value->data.size()));
  }
  Recipient r;
  std::copy(result.value->data.begin(), result.value->data.end(), r.public_key.begin());
  // A low-order point gives an all-zero shared secret whatever the scalar:
  // nothing could be encrypted to it, so refuse it here rather than at the
  // first backup.
  Key32 any_scalar{};
  any_scalar.fill(0x42);
  if (!x25519(any_scalar, r.public_key)) return fail("it is not a usable X25519 public key");
  return r;
}

std::string to_string(const Recipient& r) {
  return bech32::encode(kRecipientHrp, {r.public_key.begin(), r.public_key.end()});
}

Identity parse_identity(std::string_view text) {
  auto fail = [](const std::string& why) -> Identity {
    throw Error(ErrorCode::kValidation, "not an age identity: " + why);
  };
  auto result = bech32::decode(text);
  if (!result.value) return fail(std::string(bech32::describe(result.problem)));
  if (result.value->hrp != kIdentityHrp) {
    return fail("expected an uppercase 'AGE-SECRET-KEY-1…' line");
  }
  if (result.value->data.size() != 32) return fail("an X25519 secret is 32 bytes");
  Key32 secret{};
  std::copy(result.value->data.begin(), result.value->data.end(), secret.begin());
  wipe(result.value->data);
  Identity id(secret);
  wipe(secret);
  return id;
}

std::string to_string(const Identity& id) {
  std::vector<std::uint8_t> data(id.secret().begin(), id.secret().end());
  std::string out = bech32::encode(kIdentityHrp, data);
  wipe(data);
  return out;
}

Recipient recipient_of(const Identity& id) {
  return id.recipient();
}

Identity generate_identity() {
  Key32 secret{};
  random_bytes(secret);
  Identity id(secret);
  wipe(secret);
  return id;
}

void check_identity_file_permissions(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) throw Error(ErrorCode::kNotFound, "'" + path + "' does not exist");
    throw Error(ErrorCode::kValidation, "'" + path + "' cannot be read: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    throw Error(ErrorCode::kValidation, "'" + path + "' is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    throw Error(ErrorCode::kValidation,
                "'" + path + "' holds secret keys but has mode " + octal_mode(st.st_mode) +
                    " (group or others have access); run chmod 600 '" + path + "'");
  }
}

std::vector<Identity> load_identity_file(const std::string& path) {
  check_identity_file_permissions(path);
  std::ifstream in(path);
  if (!in) {
    throw Error(ErrorCode::kValidation, "'" + path + "' cannot be read: " + std::strerror(errno));
  }
  std::vector<Identity> out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string_view l = line;
    while (!l.empty() && (l.back() == '\r' || l.back() == ' ' || l.back() == '\t')) {
      l.remove_suffix(1);
    }
    while (!l.empty() && (l.front() == ' ' || l.front() == '\t')) l.remove_prefix(1);
    if (l.empty() || l.front() == '#') continue;
    try {
      out.push_back(parse_identity(l));
    } catch (const Error& e) {
      wipe({reinterpret_cast<std::uint8_t*>(line.data()), line.size()});
      throw Error(ErrorCode::kValidation,
                  "'" + path + "' line " + std::to_string(number) + ": " + e.message());
    }
    wipe({reinterpret_cast<std::uint8_t*>(line.data()), line.size()});
  }
  if (in.bad()) {
    throw Error(ErrorCode::kValidation, "'" + path + "' cannot be read: " + std::strerror(errno));
  }
  if (out.empty()) {
    throw Error(ErrorCode::kValidation,
                "'" + path +
                    "' holds no identity (expected AGE-SECRET-KEY-1… lines, as age-keygen "
                    "writes them)");
  }
  return out;
}

}  // namespace tb::age
