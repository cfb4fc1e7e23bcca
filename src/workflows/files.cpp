#include "workflows/files.hpp"

#include <boost/json.hpp>
#include <filesystem>

#include "destinations/local.hpp"

namespace tb::workflows {

std::optional<std::string> local_file_of(const std::string& storage_dir,
                                         const boost::json::value& locations) {
  if (!locations.is_array()) return std::nullopt;
  for (const auto& loc : locations.as_array()) {
    if (!loc.is_object()) continue;
    const auto& o = loc.as_object();
    auto type = o.if_contains("type");
    auto path = o.if_contains("path");
    if (type && type->is_string() && type->as_string() == "local" && path && path->is_string()) {
      return destinations::local_file_path(storage_dir, std::string(path->as_string()));
    }
  }
  return std::nullopt;
}

std::string content_type_for_name(std::string_view name) {
  if (name.ends_with(".age")) return "application/octet-stream";  // no registered type
  if (name.ends_with(".zst")) return "application/zstd";
  if (name.ends_with(".gz")) return "application/gzip";
  if (name.ends_with(".tar")) return "application/x-tar";
  if (name.ends_with(".sql")) return "application/sql";
  return "application/octet-stream";
}

void remove_local_files(const std::string& storage_dir, const boost::json::value& locations) {
  if (auto path = local_file_of(storage_dir, locations)) {
    std::error_code ec;
    std::filesystem::remove(*path, ec);
  }
}

}  // namespace tb::workflows
