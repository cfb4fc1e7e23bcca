#include "workflows/s3_copies.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/unique_fd.hpp"
#include "io/hash.hpp"
#include "s3/client.hpp"
#include "s3/multipart.hpp"

namespace tb::workflows {
namespace {

namespace json = boost::json;

std::string string_field(const json::object& o, const char* name) {
  auto* v = o.if_contains(name);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool flag(const json::object& o, const char* name) {
  auto* v = o.if_contains(name);
  return v && v->is_bool() && v->as_bool();
}

bool is_s3(const json::value& loc) {
  return loc.is_object() && string_field(loc.as_object(), "type") == "s3";
}

// "2026-12-01T19:00:00.000Z" → time; nullopt when unreadable.
std::optional<SystemTime> parse_iso8601(const std::string& text) {
  std::tm tm{};
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

// Removes the object and its sidecar; throws what S3 said.
void remove_object(const s3::Client& client, const std::string& key) {
  client.remove(key);
  client.remove(s3::sha256_sidecar_key(key));
}

[[noreturn]] void io_fail(const std::string& what, const std::string& path) {
  throw Error(ErrorCode::kInternal, "could not write the fetched backup",
              what + " '" + path + "': " + std::strerror(errno));
}

}  // namespace

std::optional<json::object> s3_location_of(const json::value& locations) {
  if (!locations.is_array()) return std::nullopt;
  for (const auto& loc : locations.as_array()) {
    if (is_s3(loc)) return loc.as_object();
  }
  return std::nullopt;
}

std::optional<std::string> live_s3_key(const json::value& locations) {
  auto loc = s3_location_of(locations);
  if (!loc || flag(*loc, "deleted")) return std::nullopt;
  auto key = string_field(*loc, "key");
  if (key.empty()) return std::nullopt;
  return key;
}

std::string fetch_backup_from_s3(const S3Options& options, const store::Backup& backup,
                                 const std::string& dest_path, const std::atomic<bool>* cancel) {
  auto key = live_s3_key(backup.locations);
  if (!key) throw Error(ErrorCode::kNotFound, "this backup has no copy in S3");
  if (!options.configured) {
    throw Error(ErrorCode::kNotFound, "the backup's S3 copy cannot be read: S3_BUCKET is unset");
  }
  const s3::Client client(options.client);
  // Named as every temporary file in STORAGE_DIR (".<name>.tmp-<random>"),
  // so the orphan sweep removes what a crash in the middle leaves behind.
  const std::filesystem::path dest(dest_path);
  const std::string temp =
      (dest.parent_path() / ("." + dest.filename().string() + ".tmp-" + new_uuid().substr(0, 8)))
          .string();
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (!fd.valid()) io_fail("create", temp);
  struct RemoveTemp {
    const std::string& path;
    bool keep = false;
    ~RemoveTemp() {
      std::error_code ec;
      if (!keep) std::filesystem::remove(path, ec);
    }
  } cleanup{temp};
  io::FdSink file(fd.get());
  io::ByteCounter counted(file);
  io::Sha256 sha(counted);
  client.get(
      *key, [&](std::span<const std::byte> chunk) { sha.write(chunk); }, cancel);
  sha.finish();
  const auto want_size = static_cast<std::uint64_t>(backup.size_bytes);
  if (sha.hex() != backup.sha256.value_or("") || counted.count() != want_size) {
    throw Error(
        ErrorCode::kConflict,
        "the backup's copy in S3 does not match its SHA-256: it is damaged and was not used",
        "key " + *key + ": sha256 " + sha.hex() + " (" + std::to_string(counted.count()) +
            " bytes), want " + backup.sha256.value_or("") + " (" + std::to_string(want_size) +
            " bytes)");
  }
  if (::fsync(fd.get()) != 0) io_fail("fsync", temp);
  if (::close(fd.release()) != 0) io_fail("close", temp);
  std::filesystem::rename(temp, dest_path);
  cleanup.keep = true;
  return dest_path;
}

json::value delete_s3_copies(const S3Options& options, const json::value& locations, int attempts) {
  if (!locations.is_array()) return locations;
  json::array out;
  std::optional<s3::Client> client;
  if (options.configured) {
    auto o = options.client;
    if (attempts > 0) o.max_attempts = attempts;
    client.emplace(o);
  }
  for (const auto& loc : locations.as_array()) {
    if (!is_s3(loc) || flag(loc.as_object(), "deleted")) {
      out.push_back(loc);
      continue;
    }
    auto entry = loc.as_object();
    const auto key = string_field(entry, "key");
    try {
      if (!client) throw Error(ErrorCode::kUnavailable, "S3 is not configured on this server");
      if (!key.empty()) remove_object(*client, key);
      entry.erase("remote_remains");
      entry.erase("remote_error");
      entry["deleted"] = true;
    } catch (const Error& e) {
      spdlog::warn("s3: object '{}' not deleted: {} ({})", key, e.message(), e.detail());
      entry["remote_remains"] = true;
      entry["remote_error"] = e.message();
    }
    out.push_back(std::move(entry));
  }
  return out;
}

json::object s3_upload_record(const std::string& key, const std::string& upload_id) {
  return json::object{{"key", key}, {"upload_id", upload_id}};
}

void discard_earlier_upload(const S3Options& options, const json::value& progress,
                            const std::string& keep_key) {
  if (!options.configured || !progress.is_object()) return;
  const auto& p = progress.as_object();
  std::string key;
  std::string upload_id;
  if (auto* rec = p.if_contains("s3_upload"); rec && rec->is_object()) {
    key = string_field(rec->as_object(), "key");
    upload_id = string_field(rec->as_object(), "upload_id");
  } else if (auto* copy = p.if_contains("export"); copy && copy->is_object()) {
    // A Telegram export's committed copy that the next attempt does not reuse.
    if (auto* locations = copy->as_object().if_contains("locations"))
      key = live_s3_key(*locations).value_or("");
  }
  if (key.empty() || key == keep_key) return;
  try {
    const s3::Client client(options.client);
    if (!upload_id.empty()) client.abort_multipart_upload(key, upload_id);
    // The earlier attempt may have completed the object before it died.
    remove_object(client, key);
    spdlog::info("s3: removed what an earlier attempt left at '{}'", key);
  } catch (const std::exception& e) {
    spdlog::warn("s3: what an earlier attempt left at '{}' was not removed: {}", key, e.what());
  }
}

int abort_stale_s3_uploads(const S3Options& options, SystemTime now) {
  if (!options.configured) return 0;
  const s3::Client client(options.client);
  int aborted = 0;
  for (const auto& up : client.list_multipart_uploads(options.prefix)) {
    auto started = parse_iso8601(up.initiated);
    if (!started || now - *started < options.stale_upload_grace) continue;
    client.abort_multipart_upload(up.key, up.upload_id);
    spdlog::info("s3: aborted the stale upload of '{}' (initiated {})", up.key, up.initiated);
    ++aborted;
  }
  return aborted;
}

int retry_s3_remains(db::Connection& conn, const S3Options& options, int limit) {
  if (!options.configured) return 0;
  auto rows = conn.query(
      "SELECT id::text FROM control_plane.backups WHERE status IN ('deleted', 'expired') "
      "AND locations @> '[{\"type\": \"s3\", \"remote_remains\": true}]'::jsonb LIMIT $1",
      limit);
  int removed = 0;
  for (const auto& id : rows.map_rows([](const db::Result&r, int row) { return r.text(row, 0); })) {
    auto backup = store::get_backup(conn, id);
    if (!backup) continue;
    auto updated = delete_s3_copies(options, backup->locations);
    if (!live_s3_key(updated)) ++removed;
    store::update_backup_locations(conn, id, updated);
  }
  return removed;
}

}  // namespace tb::workflows
