// The local destination: files under STORAGE_DIR, written atomically
// (pgBackRest storage/posix/write.c): data goes to "<dir>/.<name>.tmp-<random>",
// which is fsynced, renamed to "<dir>/<name>" (never replacing an existing
// file) and then the folder is fsynced, so after commit() the file survives a
// crash and before it no file exists under the final name.
//
// Paths: `relative_dir` (the project id, or a user's storage_path) is checked
// with resolve_storage_path(): it must stay under STORAGE_DIR, symlinks
// included; a user's storage_path must moreover stay inside its project's
// folder (resolve_project_storage_path). Location records hold paths relative
// to STORAGE_DIR, so backups written before that rule still resolve.
#pragma once

#include <string>
#include <string_view>

#include "core/unique_fd.hpp"
#include "destinations/destination.hpp"

namespace tb::destinations {

// Validates a user-given relative path (storage_path, a project folder):
// refuses empty, absolute, "." / ".." / empty segments, backslashes and
// control characters; returns it normalised ("a/b", no trailing slash).
// Throws tb::Error kValidation with field "storage_path".
std::string validate_storage_path(std::string_view user_path);

// validate_storage_path(), then checks against the real filesystem that the
// path (its existing part, symlinks resolved) stays inside storage_dir.
// Returns the absolute path storage_dir/<normalised>. Creates nothing.
std::string resolve_storage_path(const std::string& storage_dir, std::string_view user_path);

// A user's storage_path for project `project_id`: it must be the project's
// own folder or inside it ("<project_id>" or "<project_id>/..."), so that no
// project writes into another's folder. Returns it normalised; throws
// tb::Error kValidation (field "storage_path") otherwise.
std::string project_storage_path(std::string_view project_id, std::string_view user_path);

// project_storage_path(), then resolve_storage_path(), then the same check
// against the real filesystem: the path (symlinks resolved) stays inside
// STORAGE_DIR/<project_id>. Returns the absolute path. Creates nothing.
std::string resolve_project_storage_path(const std::string& storage_dir,
                                         std::string_view project_id, std::string_view user_path);

// The absolute path of a stored local file from its location "path" (what
// downloads and restores open); same checks as resolve_storage_path().
std::string local_file_path(const std::string& storage_dir, std::string_view location_path);

class LocalDestination final : public Destination {
 public:
  // Throws tb::Error kValidation (field "storage_path") for a bad relative_dir.
  LocalDestination(std::string storage_dir, const std::string& relative_dir);
  ~LocalDestination() override;
  LocalDestination(const LocalDestination&) = delete;
  LocalDestination& operator=(const LocalDestination&) = delete;

  std::string name() const override { return "local"; }
  void begin(const ObjectInfo& info) override;
  void write(std::span<const std::byte> data) override;
  boost::json::object commit(const std::string& sha256_hex, std::uint64_t size) override;
  void abort() noexcept override;

  // Absolute path of the temporary file while writing ("" otherwise); tests.
  const std::string& temp_path() const { return temp_path_; }

 private:
  std::string storage_dir_;
  std::string relative_dir_;  // normalised
  std::string dir_;           // absolute
  std::string file_name_;
  std::string temp_name_;
  std::string temp_path_;
  UniqueFd dir_fd_;
  UniqueFd fd_;
  std::uint64_t written_ = 0;
  std::uint64_t writeback_from_ = 0;  // bytes before this offset were handed to writeback
};

}  // namespace tb::destinations
