#include "workflows/files.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cstring>
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

bool is_temporary_file_name(std::string_view name) {
  return name.size() > 1 && name[0] == '.' && name.find(".tmp-") != std::string_view::npos;
}

std::string job_tag_of_file(std::string name) {
  if (!name.empty() && name[0] == '.') {
    name.erase(0, 1);
    if (auto t = name.rfind(".tmp-"); t != std::string::npos) name.erase(t);
  }
  for (const char* ext : {".age", ".zst", ".gz", ".sql", ".tar"}) {
    if (name.ends_with(ext)) name.erase(name.size() - std::strlen(ext));
  }
  auto dash = name.rfind('-');
  return dash == std::string::npos ? std::string() : name.substr(dash + 1);
}

int remove_temporary_files_of_job(const std::string& dir, std::string_view job_id) {
  const std::string tag(job_id.substr(0, 8));
  int removed = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (!is_temporary_file_name(name) || job_tag_of_file(name) != tag) continue;
    std::error_code rm_ec;
    if (std::filesystem::remove(it->path(), rm_ec)) {
      ++removed;
    } else if (rm_ec) {
      // Kept; the orphan sweep removes it once the job is over.
      spdlog::warn("job {}: cannot remove its temporary file '{}': {}", job_id, it->path().string(),
                   rm_ec.message());
    }
  }
  return removed;
}

}  // namespace tb::workflows
