#include "telegram/parts.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <vector>

#include "core/unique_fd.hpp"
#include "core/units.hpp"
#include "io/hash.hpp"
#include "io/sink.hpp"

namespace tb::telegram {
namespace {

namespace json = boost::json;

std::string str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string())
    throw Error(ErrorCode::kInternal, "bad Telegram location record", std::string(key));
  return std::string(v->as_string());
}
std::uint64_t num(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_number())
    throw Error(ErrorCode::kInternal, "bad Telegram location record", std::string(key));
  return v->to_number<std::uint64_t>();
}

std::string random_suffix() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

json::object to_json(const Part& p) {
  return json::object{{"index", p.index},
                      {"count", p.count},
                      {"file_name", p.file_name},
                      {"chat_id", p.chat_id},
                      {"message_id", p.message_id},
                      {"file_id", p.file_id},
                      {"file_unique_id", p.file_unique_id},
                      {"offset", p.offset},
                      {"size", p.size},
                      {"sha256", p.sha256}};
}

Part part_from_json(const json::value& v) {
  if (!v.is_object())
    throw Error(ErrorCode::kInternal, "bad Telegram location record", "part is not an object");
  const auto& o = v.as_object();
  Part p;
  p.index = static_cast<int>(num(o, "index"));
  p.count = static_cast<int>(num(o, "count"));
  p.file_name = str(o, "file_name");
  p.chat_id = str(o, "chat_id");
  p.message_id = static_cast<std::int64_t>(num(o, "message_id"));
  p.file_id = str(o, "file_id");
  p.file_unique_id = str(o, "file_unique_id");
  p.offset = num(o, "offset");
  p.size = num(o, "size");
  p.sha256 = str(o, "sha256");
  return p;
}

std::string part_name(const std::string& file_name, int index, int count) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ".part%03dof%03d", index, count);
  return file_name + buf;
}

int part_count(std::uint64_t size, std::uint64_t part_size) {
  if (part_size == 0) throw Error(ErrorCode::kInternal, "internal error", "part_size 0");
  return static_cast<int>(std::max<std::uint64_t>(1, (size + part_size - 1) / part_size));
}

std::string caption_for(const UploadSpec& spec, const Part& part) {
  return "Tenant Backup of project " + spec.project_id + "\n" + format_rfc3339(spec.created_at) +
         "\n" + spec.file_name + "\nSize: " + human_size(spec.size) + " (" +
         std::to_string(spec.size) + " bytes)\nSHA-256: " + spec.sha256 + "\nPart " +
         std::to_string(part.index) + "/" + std::to_string(part.count) + ", " +
         std::to_string(part.size) + " bytes, SHA-256 " + part.sha256;
}

json::object upload_file(BotApi& api, const UploadSpec& spec, const std::vector<Part>& confirmed,
                         const std::function<void(const std::vector<Part>&)>& on_confirmed) {
  UniqueFd f(::open(spec.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!f.valid()) throw Error(ErrorCode::kInternal, "backup file cannot be read", spec.path);
  struct stat st {};
  if (::fstat(f.get(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) != spec.size) {
    throw Error(ErrorCode::kInternal, "the backup file changed since it was written", spec.path);
  }
  const int count = part_count(spec.size, spec.part_size);
  std::vector<Part> parts;
  parts.reserve(static_cast<std::size_t>(count));
  for (int i = 1; i <= count; ++i) {
    Part p;
    p.index = i;
    p.count = count;
    p.file_name = part_name(spec.file_name, i, count);
    p.offset = static_cast<std::uint64_t>(i - 1) * spec.part_size;
    p.size = std::min(spec.part_size, spec.size - p.offset);
    p.sha256 = io::sha256_range(f.get(), p.offset, p.size);
    const Part* earlier = nullptr;
    for (const auto& c : confirmed) {
      if (c.index == p.index && c.count == p.count && c.offset == p.offset && c.size == p.size &&
          c.sha256 == p.sha256 && c.message_id != 0 && !c.file_id.empty()) {
        earlier = &c;
      }
    }
    if (earlier) {
      parts.push_back(*earlier);
      continue;
    }
    auto sent = api.send_document(spec.chat_id, spec.path, p.offset, p.size, p.file_name,
                                  caption_for(spec, p));
    p.chat_id = sent.chat_id.empty() ? spec.chat_id : sent.chat_id;
    p.message_id = sent.message_id;
    p.file_id = sent.file_id;
    p.file_unique_id = sent.file_unique_id;
    parts.push_back(p);
    // Parts of the earlier attempt that are not reused stay reported too, so
    // nothing is lost if this attempt dies: they are replaced index by index.
    std::vector<Part> report = parts;
    for (const auto& c : confirmed) {
      if (c.index > i) report.push_back(c);
    }
    if (on_confirmed) on_confirmed(report);
  }
  // The parts were hashed from the file as it is now (a file cut short meanwhile
  // hashes to its end): the whole must still be what the export recorded.
  std::string check = io::sha256_range(f.get(), 0, spec.size);
  if (check != spec.sha256) {
    throw Error(ErrorCode::kInternal, "the backup file changed since it was written", spec.path);
  }
  json::array arr;
  for (const auto& p : parts) arr.push_back(to_json(p));
  return json::object{{"type", "telegram"},          {"chat_id", parts.front().chat_id},
                      {"file_name", spec.file_name}, {"size", spec.size},
                      {"sha256", spec.sha256},       {"part_size", spec.part_size},
                      {"parts", std::move(arr)}};
}

void fetch_file(BotApi& api, const json::object& location, const std::string& expected_sha256,
                const std::string& dest_path, const PartProgress& on_part) {
  auto* parts_v = location.if_contains("parts");
  if (!parts_v || !parts_v->is_array() || parts_v->as_array().empty()) {
    throw Error(ErrorCode::kInternal, "bad Telegram location record", "no parts");
  }
  std::string want = expected_sha256.empty() ? str(location, "sha256") : expected_sha256;
  std::string tmp =
      (std::filesystem::path(dest_path).parent_path() /
       ("." + std::filesystem::path(dest_path).filename().string() + ".tmp-" + random_suffix()))
          .string();
  UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out.valid()) throw Error(ErrorCode::kInternal, "cannot write the fetched backup", tmp);
  struct Remove {
    std::string path;
    bool keep = false;
    ~Remove() {
      if (!keep) ::unlink(path.c_str());
    }
  } remove{tmp};

  io::NullSink null;
  io::Sha256 whole(null);
  std::uint64_t expected_offset = 0;
  int expected_index = 1;
  for (const auto& pv : parts_v->as_array()) {
    Part p = part_from_json(pv);
    if (p.index != expected_index++ || p.offset != expected_offset) {
      throw Error(ErrorCode::kInternal, "bad Telegram location record", "parts out of order");
    }
    if (p.size > kMaxPartBytes) {
      throw Error(
          ErrorCode::kInternal, "bad Telegram location record",
          "part " + std::to_string(p.index) + " claims " + std::to_string(p.size) + " bytes");
    }
    if (on_part) on_part(p.index, static_cast<int>(parts_v->as_array().size()), expected_offset);
    auto file_path = api.get_file_path(p.file_id);
    // A part is at most 20 MB: it is checked in full before it joins the file.
    // Telegram may send no more than the part's recorded size.
    std::string data;
    data.reserve(p.size);
    api.download(
        file_path, p.size, [&](const char* d, std::size_t n) { data.append(d, n); },
        [&] { data.clear(); });
    io::NullSink pnull;
    io::Sha256 ph(pnull);
    ph.write(std::as_bytes(std::span<const char>(data.data(), data.size())));
    ph.finish();
    if (data.size() != p.size || ph.hex() != p.sha256) {
      throw Error(ErrorCode::kConflict,
                  "the copy in Telegram is damaged: part " + std::to_string(p.index) +
                      " does not match its SHA-256",
                  "part " + p.file_name + ": got " + std::to_string(data.size()) +
                      " bytes, sha256 " + ph.hex());
    }
    whole.write(std::as_bytes(std::span<const char>(data.data(), data.size())));
    std::size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(out.get(), data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        throw Error(ErrorCode::kInternal, "cannot write the fetched backup",
                    tmp + ": " + std::strerror(errno));
      done += static_cast<std::size_t>(n);
    }
    expected_offset += p.size;
  }
  whole.finish();
  if (whole.hex() != want) {
    throw Error(ErrorCode::kConflict, "the copy in Telegram does not match the backup's SHA-256",
                "got " + whole.hex() + ", want " + want);
  }
  if (::fsync(out.get()) != 0)
    throw Error(ErrorCode::kInternal, "cannot write the fetched backup", tmp);
  if (::rename(tmp.c_str(), dest_path.c_str()) != 0) {
    throw Error(ErrorCode::kInternal, "cannot write the fetched backup",
                dest_path + ": " + std::strerror(errno));
  }
  remove.keep = true;
}

DeleteResult delete_parts(BotApi& api, json::object location) {
  DeleteResult r;
  auto* parts_v = location.if_contains("parts");
  if (!parts_v || !parts_v->is_array()) {
    r.location = std::move(location);
    return r;
  }
  for (auto& pv : parts_v->as_array()) {
    if (!pv.is_object()) continue;
    auto& po = pv.as_object();
    if (auto* d = po.if_contains("deleted"); d && d->is_bool() && d->as_bool()) continue;
    try {
      auto chat = str(po, "chat_id");
      auto mid = static_cast<std::int64_t>(num(po, "message_id"));
      api.delete_message(chat, mid);
      po["deleted"] = true;
      po.erase("remote_remains");
      ++r.deleted;
    } catch (const ApiError& e) {
      if (e.description().find("message to delete not found") != std::string::npos) {
        // Already gone (deleted by hand in the chat): nothing remains.
        po["deleted"] = true;
        ++r.deleted;
        continue;
      }
      // Refused (older than 48 hours, already gone by hand, no rights) or
      // unreachable: the copy stays in the chat; say so instead of failing.
      po["remote_remains"] = true;
      po["delete_error"] = e.description();
      ++r.remaining;
      if (!e.permanent()) ++r.transient;
      spdlog::warn("telegram: part {} could not be deleted: {}",
                   po.contains("file_name") ? str(po, "file_name") : "?", e.description());
    }
  }
  if (r.remaining > 0)
    location["remote_remains"] = true;
  else
    location.erase("remote_remains");
  r.location = std::move(location);
  return r;
}

}  // namespace tb::telegram
