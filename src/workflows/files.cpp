#include "workflows/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <vector>

#include "core/error.hpp"
#include "destinations/local.hpp"
#include "io/hash.hpp"
#include "io/sink.hpp"

namespace tb::workflows {

std::optional<std::string> local_file_of(const std::string& storage_dir, const boost::json::value& locations) {
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

std::string sha256_of_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorCode::kNotFound, "backup file cannot be read", path);
  io::NullSink null;
  io::Sha256 hash(null);
  std::vector<std::byte> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      throw Error(ErrorCode::kInternal, "backup file cannot be read", path);
    }
    if (n == 0) break;
    hash.write(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)));
  }
  ::close(fd);
  hash.finish();
  return hash.hex();
}

std::string content_type_for_name(std::string_view name) {
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
