#include "destinations/local.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/error.hpp"

namespace tb::destinations {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxPath = 1024;
constexpr std::size_t kMaxSegment = 255;

[[noreturn]] void bad_path(const std::string& message) {
  throw_validation("storage_path", message);
}

// Maps write/fsync/close errors: a full disk is a message the user can act on.
[[noreturn]] void io_fail(int err, const std::string& what, const std::string& path) {
  std::string detail = what + " '" + path + "': " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) {
    throw Error(ErrorCode::kInternal, "no space left on the backup storage", detail);
  }
  throw Error(ErrorCode::kInternal, "could not write the backup file", detail);
}

bool has_control_chars(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  auto v = rng();
  for (int i = 0; i < 12; ++i, v >>= 4) s += kHex[v & 0xF];
  return s;
}

bool is_within(const fs::path& base, const fs::path& p) {
  auto rel = p.lexically_relative(base);
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

Destination::~Destination() = default;

std::string validate_storage_path(std::string_view user_path) {
  if (user_path.empty()) bad_path("storage_path must not be empty");
  if (user_path.size() > kMaxPath) bad_path("storage_path is too long");
  if (user_path.front() == '/') bad_path("storage_path must be relative");
  if (has_control_chars(user_path)) bad_path("storage_path must not contain control characters");
  if (user_path.find('\\') != std::string_view::npos)
    bad_path("storage_path must not contain backslashes");
  std::string out;
  std::size_t pos = 0;
  for (;;) {
    std::size_t slash = user_path.find('/', pos);
    std::string_view seg =
        user_path.substr(pos, slash == std::string_view::npos ? slash : slash - pos);
    if (seg.empty()) bad_path("storage_path must not contain empty segments");
    if (seg == "..") bad_path("storage_path must not contain '..'");
    // Leading dots: "." itself, and hidden names that could collide with our
    // temporary files.
    if (seg.front() == '.') bad_path("storage_path segments must not start with '.'");
    if (seg.size() > kMaxSegment) bad_path("storage_path segment is too long");
    if (!out.empty()) out += '/';
    out += seg;
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return out;
}

std::string resolve_storage_path(const std::string& storage_dir, std::string_view user_path) {
  std::string rel = validate_storage_path(user_path);
  std::error_code ec;
  fs::path base = fs::weakly_canonical(fs::absolute(storage_dir), ec);
  if (ec)
    throw Error(ErrorCode::kInternal, "backup storage unavailable",
                "STORAGE_DIR '" + storage_dir + "': " + ec.message());
  fs::path full = base / rel;
  // Resolve whatever part exists on disk (symlinks included): it must not
  // leave STORAGE_DIR.
  fs::path real = fs::weakly_canonical(full, ec);
  if (ec)
    throw Error(ErrorCode::kInternal, "backup storage unavailable",
                "'" + full.string() + "': " + ec.message());
  if (!is_within(base, real)) {
    throw Error(ErrorCode::kValidation, "storage_path must stay inside the backup storage",
                "'" + full.string() + "' resolves to '" + real.string() + "'", "storage_path");
  }
  return full.string();
}

std::string project_storage_path(std::string_view project_id, std::string_view user_path) {
  std::string rel = validate_storage_path(user_path);
  std::string_view first = std::string_view(rel).substr(0, rel.find('/'));
  if (project_id.empty() || first != project_id) {
    bad_path("storage_path must be inside the project's own folder: '" + std::string(project_id) +
             "' or '" + std::string(project_id) + "/...'");
  }
  return rel;
}

std::string resolve_project_storage_path(const std::string& storage_dir,
                                         std::string_view project_id, std::string_view user_path) {
  std::string full = resolve_storage_path(storage_dir, project_storage_path(project_id, user_path));
  std::error_code ec;
  fs::path project_dir =
      fs::weakly_canonical(fs::absolute(storage_dir) / std::string(project_id), ec);
  fs::path real = ec ? fs::path() : fs::weakly_canonical(full, ec);
  if (ec)
    throw Error(ErrorCode::kInternal, "backup storage unavailable",
                "'" + full + "': " + ec.message());
  if (real != project_dir && !is_within(project_dir, real)) {
    throw Error(ErrorCode::kValidation, "storage_path must be inside the project's own folder",
                "'" + full + "' resolves to '" + real.string() + "'", "storage_path");
  }
  return full;
}

std::string local_file_path(const std::string& storage_dir, std::string_view location_path) {
  return resolve_storage_path(storage_dir, location_path);
}

LocalDestination::LocalDestination(std::string storage_dir, const std::string& relative_dir)
    : storage_dir_(std::move(storage_dir)), relative_dir_(validate_storage_path(relative_dir)) {
  dir_ = resolve_storage_path(storage_dir_, relative_dir_);
}

LocalDestination::~LocalDestination() {
  abort();
}

void LocalDestination::begin(const ObjectInfo& info) {
  abort();  // a previous object left unfinished
  const std::string& n = info.file_name;
  if (n.empty() || n.size() > 200 || n.find('/') != std::string::npos || n.front() == '.' ||
      has_control_chars(n)) {
    throw Error(ErrorCode::kInternal, "internal error", "invalid backup file name '" + n + "'");
  }
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) io_fail(ec.value(), "create directory", dir_);
  // Checked again now that the folders exist (a symlink planted meanwhile).
  resolve_storage_path(storage_dir_, relative_dir_);
  dir_fd_.reset(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd_.valid()) io_fail(errno, "open directory", dir_);
  file_name_ = n;
  temp_name_ = "." + n + ".tmp-" + random_suffix();
  temp_path_ = dir_ + "/" + temp_name_;
  fd_.reset(::openat(dir_fd_.get(), temp_name_.c_str(),
                     O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640));
  if (!fd_.valid()) {
    int err = errno;
    temp_name_.clear();
    std::string path = temp_path_;
    abort();
    io_fail(err, "create", path);
  }
  written_ = 0;
  writeback_from_ = 0;
}

void LocalDestination::write(std::span<const std::byte> data) {
  if (!fd_.valid())
    throw Error(ErrorCode::kInternal, "internal error", "LocalDestination::write without begin");
  while (!data.empty()) {
    ssize_t n = ::write(fd_.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      io_fail(errno, "write", temp_path_);
    }
    data = data.subspan(static_cast<std::size_t>(n));
    written_ += static_cast<std::uint64_t>(n);
  }
  // Start the disk writes of every full 8 MiB as it is written, without
  // waiting for them: the fsync in commit() then finds little left to write
  // instead of the whole file (about 2 s for 500 MB on the benchmark disk,
  // all of it added to the export's time). Best effort: commit()'s fsync is
  // the guarantee, so an error here is ignored.
  constexpr std::uint64_t kWritebackChunk = std::uint64_t{8} * 1024 * 1024;
  if (written_ - writeback_from_ >= kWritebackChunk) {
    ::sync_file_range(fd_.get(), static_cast<off_t>(writeback_from_),
                      static_cast<off_t>(written_ - writeback_from_), SYNC_FILE_RANGE_WRITE);
    writeback_from_ = written_;
  }
}

boost::json::object LocalDestination::commit(const std::string& sha256_hex, std::uint64_t size) {
  if (!fd_.valid())
    throw Error(ErrorCode::kInternal, "internal error", "LocalDestination::commit without begin");
  if (size != written_) {
    throw Error(ErrorCode::kInternal, "internal error",
                "size mismatch for '" + temp_path_ + "': told " + std::to_string(size) +
                    ", wrote " + std::to_string(written_));
  }
  if (::fsync(fd_.get()) != 0) io_fail(errno, "fsync", temp_path_);
  // Closed by hand: a close() error means the data may not be on disk.
  if (::close(fd_.release()) != 0) io_fail(errno, "close", temp_path_);
  std::string final_path = dir_ + "/" + file_name_;
  // Never replace an existing backup: renameat2(RENAME_NOREPLACE), or link +
  // unlink where the filesystem lacks it.
  if (::renameat2(dir_fd_.get(), temp_name_.c_str(), dir_fd_.get(), file_name_.c_str(),
                  RENAME_NOREPLACE) != 0) {
    int err = errno;
    if (err == EINVAL || err == ENOSYS) {
      if (::linkat(dir_fd_.get(), temp_name_.c_str(), dir_fd_.get(), file_name_.c_str(), 0) != 0)
        err = errno;
      else {
        ::unlinkat(dir_fd_.get(), temp_name_.c_str(), 0);
        err = 0;
      }
    }
    if (err == EEXIST) {
      throw Error(ErrorCode::kConflict, "a backup file with this name already exists", final_path);
    }
    if (err != 0) io_fail(err, "rename to", final_path);
  }
  temp_name_.clear();
  temp_path_.clear();
  if (::fsync(dir_fd_.get()) != 0) {
    // The file is complete and named; only the folder entry's durability is in doubt.
    io_fail(errno, "fsync directory", dir_);
  }
  dir_fd_.reset();
  boost::json::object loc;
  loc["type"] = "local";
  loc["path"] = relative_dir_ + "/" + file_name_;
  loc["size"] = size;
  loc["sha256"] = sha256_hex;
  return loc;
}

void LocalDestination::abort() noexcept {
  fd_.reset();
  if (!temp_name_.empty() && dir_fd_.valid()) ::unlinkat(dir_fd_.get(), temp_name_.c_str(), 0);
  temp_name_.clear();
  temp_path_.clear();
  dir_fd_.reset();
}

}  // namespace tb::destinations
