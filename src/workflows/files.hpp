// Reading a stored backup's files back: where its local copy is, its content
// type, and removing it. Its checksum is io::sha256_file.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace tb::workflows {

// The absolute path of the local copy recorded in `locations`, if any.
std::optional<std::string> local_file_of(const std::string& storage_dir,
                                         const boost::json::value& locations);
// "application/zstd" for .zst, "application/gzip" for .gz, ...
std::string content_type_for_name(std::string_view file_name);
// Removes the local copy; a file already gone is not an error.
void remove_local_files(const std::string& storage_dir, const boost::json::value& locations);

}  // namespace tb::workflows
