#include "model/json_body.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>

#include "core/error.hpp"

namespace tb::model {
namespace {

constexpr std::size_t kMaxDepth = 16;

// A basic_parser handler that only looks for duplicate keys in any object.
struct DuplicateKeyFinder {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  std::vector<std::set<std::string, std::less<>>> keys;
  std::string key;
  std::string duplicate;

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    keys.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, boost::system::error_code&) {
    keys.pop_back();
    return true;
  }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t, boost::system::error_code&) { return true; }
  bool on_key_part(boost::json::string_view s, std::size_t, boost::system::error_code&) {
    key.append(s.data(), s.size());
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t, boost::system::error_code& ec) {
    key.append(s.data(), s.size());
    if (!keys.back().insert(key).second) {
      duplicate = key;
      ec = boost::json::error::syntax;  // stop parsing; reported as a duplicate below
      return false;
    }
    key.clear();
    return true;
  }
  bool on_string_part(boost::json::string_view, std::size_t, boost::system::error_code&) {
    return true;
  }
  bool on_string(boost::json::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_number_part(boost::json::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t, boost::json::string_view, boost::system::error_code&) { return true; }
  bool on_uint64(std::uint64_t, boost::json::string_view, boost::system::error_code&) {
    return true;
  }
  bool on_double(double, boost::json::string_view, boost::system::error_code&) { return true; }
  bool on_bool(bool, boost::system::error_code&) { return true; }
  bool on_null(boost::system::error_code&) { return true; }
  bool on_comment_part(boost::json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::system::error_code&) { return true; }
};

std::string type_name(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      return "a number";
    case boost::json::kind::string:
      return "a string";
    case boost::json::kind::array:
      return "an array";
    case boost::json::kind::object:
      return "an object";
  }
  return "a value";
}

}  // namespace

boost::json::object parse_json_object(std::string_view body) {
  boost::json::parse_options options;
  options.max_depth = kMaxDepth;
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(body, ec, {}, options);
  if (ec) {
    if (ec == boost::json::error::too_deep) throw_validation("body", "JSON nested too deeply");
    throw_validation("body", "body is not valid JSON (" + ec.message() + ")");
  }
  {
    boost::json::basic_parser<DuplicateKeyFinder> parser(options);
    boost::system::error_code dup_ec;
    parser.write_some(false, body.data(), body.size(), dup_ec);
    if (!parser.handler().duplicate.empty()) {
      throw_validation(parser.handler().duplicate,
                       "duplicate key '" + parser.handler().duplicate + "'");
    }
  }
  if (!value.is_object()) throw_validation("body", "body must be a JSON object");
  return std::move(value.as_object());
}

FieldReader::FieldReader(const boost::json::object& object, std::string prefix)
    : object_(object), prefix_(std::move(prefix)) {}

std::string FieldReader::field_name(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
}

const boost::json::value* FieldReader::find(std::string_view key) {
  seen_.emplace(key);
  auto it = object_.find(key);
  if (it == object_.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

bool FieldReader::is_null(std::string_view key) const {
  auto it = object_.find(key);
  return it != object_.end() && it->value().is_null();
}

std::optional<std::string> FieldReader::string(std::string_view key, std::size_t max_length) {
  const auto* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string())
    throw_validation(field_name(key),
                     "'" + field_name(key) + "' must be a string, not " + type_name(*v));
  const auto& s = v->as_string();
  if (s.size() > max_length) {
    throw_validation(field_name(key), "'" + field_name(key) + "' is longer than " +
                                          std::to_string(max_length) + " bytes");
  }
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      throw_validation(field_name(key), "'" + field_name(key) + "' contains control characters");
    }
  }
  return std::string(s.data(), s.size());
}

std::optional<bool> FieldReader::boolean(std::string_view key) {
  const auto* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_bool())
    throw_validation(field_name(key),
                     "'" + field_name(key) + "' must be true or false, not " + type_name(*v));
  return v->as_bool();
}

std::optional<std::int64_t> FieldReader::integer(std::string_view key, std::int64_t min,
                                                 std::int64_t max) {
  const auto* v = find(key);
  if (v == nullptr) return std::nullopt;
  std::int64_t out = 0;
  if (v->is_int64()) {
    out = v->as_int64();
  } else if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(max)) {
    out = static_cast<std::int64_t>(v->as_uint64());
  } else if (v->is_uint64()) {
    throw_validation(field_name(key), "'" + field_name(key) + "' must be between " +
                                          std::to_string(min) + " and " + std::to_string(max));
  } else {
    throw_validation(field_name(key), "'" + field_name(key) + "' must be a whole number");
  }
  if (out < min || out > max) {
    throw_validation(field_name(key), "'" + field_name(key) + "' must be between " +
                                          std::to_string(min) + " and " + std::to_string(max));
  }
  return out;
}

std::optional<std::vector<std::string>> FieldReader::string_array(std::string_view key,
                                                                  std::size_t max_items,
                                                                  std::size_t max_length) {
  const auto* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_array())
    throw_validation(field_name(key), "'" + field_name(key) + "' must be an array of strings");
  const auto& arr = v->as_array();
  if (arr.size() > max_items) {
    throw_validation(field_name(key), "'" + field_name(key) + "' has more than " +
                                          std::to_string(max_items) + " items");
  }
  std::vector<std::string> out;
  for (const auto& item : arr) {
    if (!item.is_string() || item.as_string().size() > max_length) {
      throw_validation(field_name(key),
                       "'" + field_name(key) + "' must be an array of short strings");
    }
    out.emplace_back(item.as_string().data(), item.as_string().size());
  }
  return out;
}

const boost::json::object* FieldReader::object(std::string_view key) {
  const auto* v = find(key);
  if (v == nullptr) return nullptr;
  if (!v->is_object())
    throw_validation(field_name(key), "'" + field_name(key) + "' must be an object");
  return &v->as_object();
}

void FieldReader::finish() const {
  for (const auto& kv : object_) {
    std::string_view key(kv.key().data(), kv.key().size());
    if (!seen_.contains(key)) {
      throw_validation(field_name(key), "unknown field '" + field_name(key) + "'");
    }
  }
}

void require_one_of(const std::string& field, const std::string& value,
                    std::initializer_list<std::string_view> allowed) {
  std::string list;
  for (auto a : allowed) {
    if (value == a) return;
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  throw_validation(field, "'" + field + "' must be one of: " + list);
}

}  // namespace tb::model
