#include "workflows/export_copy.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "io/hash.hpp"
#include "workflows/files.hpp"

namespace tb::workflows {
namespace {

std::optional<LocalCopy> recorded_copy(const std::string& storage_dir,
                                       const boost::json::value& progress) {
  if (!progress.is_object()) return std::nullopt;
  auto* e = progress.as_object().if_contains("export");
  if (!e || !e->is_object()) return std::nullopt;
  try {
    const auto& o = e->as_object();
    LocalCopy c;
    c.file_name = std::string(o.at("file_name").as_string());
    c.created_at = SystemTime{std::chrono::duration_cast<SystemTime::duration>(
        std::chrono::microseconds(o.at("created_at_us").to_number<std::int64_t>()))};
    c.sha256 = std::string(o.at("sha256").as_string());
    c.size_bytes = o.at("size_bytes").to_number<std::uint64_t>();
    c.dump_bytes = o.at("dump_bytes").to_number<std::uint64_t>();
    c.locations = o.at("locations");
    if (const auto* tables = o.if_contains("tables")) c.tables = *tables;
    if (const auto* levels = o.if_contains("compression_level")) c.levels = *levels;
    auto path = local_file_of(storage_dir, c.locations);
    if (!path) return std::nullopt;
    c.path = *path;
    return c;
  } catch (const std::exception& ex) {
    spdlog::warn("export: unreadable progress record of an earlier attempt: {}", ex.what());
    return std::nullopt;
  }
}

}  // namespace

boost::json::object to_progress(const LocalCopy& c) {
  return boost::json::object{
      {"file_name", c.file_name},
      {"created_at_us",
       std::chrono::duration_cast<std::chrono::microseconds>(c.created_at.time_since_epoch())
           .count()},
      {"sha256", c.sha256},
      {"size_bytes", c.size_bytes},
      {"dump_bytes", c.dump_bytes},
      {"locations", c.locations},
      {"tables", c.tables},
      {"compression_level", c.levels}};
}

std::optional<LocalCopy> intact_earlier_copy(const std::string& storage_dir,
                                             const boost::json::value& progress) {
  auto earlier = recorded_copy(storage_dir, progress);
  if (!earlier) return std::nullopt;
  std::error_code ec;
  if (std::filesystem::file_size(earlier->path, ec) == earlier->size_bytes && !ec &&
      io::sha256_file(earlier->path) == earlier->sha256) {
    return earlier;
  }
  std::filesystem::remove(earlier->path, ec);
  return std::nullopt;
}

}  // namespace tb::workflows
