// Reading a stored backup's files back: where its local copy is, its checksum,
// its content type, and removing it.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace tb::workflows {

// The absolute path of the local copy recorded in `locations`, if any.
std::optional<std::string> local_file_of(const std::string& storage_dir, const boost::json::value& locations);
// Hex SHA-256 of a file, read in fixed-size chunks.
std::string sha256_of_file(const std::string& path);
// "application/zstd" for .zst, "application/gzip" for .gz, ...
std::string content_type_for_name(std::string_view file_name);
// Removes the local copy; a file already gone is not an error.
void remove_local_files(const std::string& storage_dir, const boost::json::value& locations);

}  // namespace tb::workflows
