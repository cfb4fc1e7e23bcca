#include "model/compression_level.hpp"

#include <charconv>

#include "core/error.hpp"

namespace tb::model {

std::optional<std::string> read_compression_level(FieldReader& r, std::string_view key) {
  const auto* v = r.any(key);
  if (v == nullptr) return std::nullopt;
  const std::string field = r.field_name(key);
  if (v->is_string() && v->as_string() == kAdaptiveLevel) return std::string(kAdaptiveLevel);
  if (v->is_int64() && v->as_int64() >= 1 && v->as_int64() <= 19)
    return std::to_string(v->as_int64());
  if (v->is_int64() || v->is_uint64())
    throw_validation(field, "'" + field + "' must be \"adaptive\" or a level from 1 to 19");
  throw_validation(field, "'" + field + "' must be \"adaptive\" or a whole number");
}

std::string level_for_export(const std::optional<std::string>& requested,
                             std::string_view compression, std::string_view project_compression,
                             std::string_view project_level) {
  if (requested) return *requested;
  return std::string(compression == project_compression ? project_level : kAdaptiveLevel);
}

boost::json::value compression_level_json(std::string_view level) {
  if (auto n = fixed_level(level)) return *n;
  return boost::json::string(level);
}

std::optional<int> fixed_level(std::string_view level) {
  int n = 0;
  const auto* end = level.data() + level.size();
  const auto [p, ec] = std::from_chars(level.data(), end, n);
  if (level.empty() || ec != std::errc() || p != end) return std::nullopt;
  return n;
}

void check_compression_level(const std::string& field, std::string_view compression,
                             std::string_view level) {
  if (level == kAdaptiveLevel) return;
  const auto n = fixed_level(level);
  if (compression == "zstd" && n && *n >= 1 && *n <= 19) return;
  if (compression == "gzip" && n && *n >= 1 && *n <= 12) return;
  if (compression == "zstd")
    throw_validation(field, "'" + field + "' for zstd must be \"adaptive\" or 1 to 19");
  if (compression == "gzip") {
    throw_validation(field, "'" + field +
                                "' for gzip must be 1 to 12 (or \"adaptive\": gzip's default "
                                "level; gzip has no adaptive mode)");
  }
  throw_validation(field, "'" + field + "' cannot be set without compression");
}

}  // namespace tb::model
