// The compression level of an export: "adaptive" (the default) or a fixed
// level, kept as text ("adaptive", "1" .. "19") in settings, payloads and the
// database.
//
// zstd: "adaptive" follows the spare CPU within the server's bounds
// (ZSTD_ADAPTIVE_MIN_LEVEL .. ZSTD_ADAPTIVE_MAX_LEVEL), or a fixed 1 .. 19.
// gzip has no adaptive mode: "adaptive" means its default level, or a fixed
// 1 .. 12 (libdeflate's levels). none: only "adaptive" (nothing to choose).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "model/json_body.hpp"

namespace tb::model {

inline constexpr std::string_view kAdaptiveLevel = "adaptive";

// Reads `key` ("adaptive" or a whole number) as its text form; nullopt when
// absent. Throws VALIDATION_ERROR for any other value.
std::optional<std::string> read_compression_level(FieldReader& r,
                                                  std::string_view key = "compression_level");

// Throws VALIDATION_ERROR (field `field`) when `compression` cannot take `level`.
void check_compression_level(const std::string& field, std::string_view compression,
                             std::string_view level);

// An export's level: the one it asks for; else the project's when the export
// uses the project's compression; else "adaptive".
std::string level_for_export(const std::optional<std::string>& requested,
                             std::string_view compression, std::string_view project_compression,
                             std::string_view project_level);

// As the API shows it: "adaptive" or the level as a number.
boost::json::value compression_level_json(std::string_view level);

// The fixed level of valid text; nullopt for "adaptive".
std::optional<int> fixed_level(std::string_view level);

}  // namespace tb::model
