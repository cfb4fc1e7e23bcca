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

// ".<name>.tmp-<random>", as LocalDestination names its temporary files.
bool is_temporary_file_name(std::string_view name);
// The job tag in a backup file's name (backup::file_name_for puts the first 8
// characters of the job id there): "<slug>-<time>-<tag>.sql.zst[.age]" and its
// temporary ".<that>.tmp-<random>" give "<tag>"; "" when there is none.
std::string job_tag_of_file(std::string name);
// Removes the temporary files that writes for job `job_id` left in `dir` (a
// worker killed mid-write leaves one). Returns how many; errors are logged.
int remove_temporary_files_of_job(const std::string& dir, std::string_view job_id);

}  // namespace tb::workflows
