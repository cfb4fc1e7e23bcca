// Strict JSON request bodies. A body is one JSON object, valid UTF-8, no
// duplicate keys (Boost.JSON 1.81 silently keeps the last one, so a small
// basic_parser pass detects them), bounded nesting. FieldReader takes fields
// one by one with their rules and, at finish(), refuses every key it was not
// asked for: unknown fields are an error, never ignored. Every refusal is a
// tb::Error VALIDATION_ERROR naming the field.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace tb::model {

boost::json::object parse_json_object(std::string_view body);

class FieldReader {
 public:
  explicit FieldReader(const boost::json::object& object, std::string prefix = {});

  // Each returns std::nullopt when the key is absent (or null when allow_null).
  std::optional<std::string> string(std::string_view key, std::size_t max_length = 1024);
  std::optional<bool> boolean(std::string_view key);
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<std::vector<std::string>> string_array(std::string_view key, std::size_t max_items,
                                                       std::size_t max_length = 256);
  const boost::json::object* object(std::string_view key);
  // Any JSON type (the caller checks it); nullptr when absent or null.
  const boost::json::value* any(std::string_view key) { return find(key); }
  // True when the key is present and JSON null.
  bool is_null(std::string_view key) const;

  // Throws for the first key that no accessor asked for.
  void finish() const;

  std::string field_name(std::string_view key) const;

 private:
  const boost::json::value* find(std::string_view key);
  const boost::json::object& object_;
  std::string prefix_;
  std::set<std::string, std::less<>> seen_;
};

// Checks `value` against one of `allowed`; the error names `field`.
void require_one_of(const std::string& field, const std::string& value,
                    std::initializer_list<std::string_view> allowed);

}  // namespace tb::model
