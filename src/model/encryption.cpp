#include "model/encryption.hpp"

#include <algorithm>

#include "age/keys.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "model/json_body.hpp"

namespace tb::model {

EncryptionSettings parse_encryption(const boost::json::object& body,
                                    const EncryptionSettings& current) {
  FieldReader r(body, "encryption");
  EncryptionSettings e = current;
  if (auto enabled = r.boolean("enabled")) e.enabled = *enabled;
  // "age1" + 58 Bech32 characters; longer strings are refused before parsing.
  if (auto list = r.string_array("recipients", kMaxRecipients, 100)) {
    e.recipients.clear();
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string field = "encryption.recipients[" + std::to_string(i) + "]";
      const auto& text = (*list)[i];
      // A secret key pasted by mistake must not come back in the error (nor
      // reach a log): parse_recipient would quote it.
      if (iequals(std::string_view(text).substr(0, 15), "AGE-SECRET-KEY-")) {
        throw_validation(field, "'" + field +
                                    "' is a secret key: paste its public key (age1…, as "
                                    "`age-keygen -y KEYFILE` prints it) and keep the secret");
      }
      age::parse_recipient(text, field);  // throws VALIDATION_ERROR naming the field
      if (std::find(e.recipients.begin(), e.recipients.end(), text) != e.recipients.end())
        throw_validation(field, "'" + field + "' repeats an earlier recipient");
      e.recipients.push_back(text);
    }
  }
  r.finish();
  return e;
}

boost::json::object to_json(const EncryptionSettings& e) {
  boost::json::array recipients;
  for (const auto& r : e.recipients) recipients.emplace_back(r);
  return {{"enabled", e.enabled}, {"recipients", std::move(recipients)}};
}

}  // namespace tb::model
