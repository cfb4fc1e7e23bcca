// A project's encryption settings: whether its new backups are age files, and
// to which of the tenant's own age keys (besides the service's, which is
// always a recipient so that the service can restore them).
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <string>
#include <vector>

namespace tb::model {

// Enough for a team's keys; a header stanza is ~200 bytes per recipient.
inline constexpr std::size_t kMaxRecipients = 20;

struct EncryptionSettings {
  bool enabled = false;
  // "age1…" X25519 recipients, as the tenant gave them. Kept while disabled,
  // so turning encryption back on needs no re-pasting.
  std::vector<std::string> recipients;
  bool operator==(const EncryptionSettings&) const = default;
};

// The PUT body's "encryption" object over `current`: absent fields keep
// theirs. Each recipient must be an age X25519 recipient (Bech32 with its
// checksum); a bad one is a VALIDATION_ERROR naming
// "encryption.recipients[i]", as is a repeated one. Whether this server can
// encrypt at all is the caller's question (it knows the configuration).
EncryptionSettings parse_encryption(const boost::json::object& body,
                                    const EncryptionSettings& current);

// {"enabled": bool, "recipients": [...]}.
boost::json::object to_json(const EncryptionSettings& e);

}  // namespace tb::model
