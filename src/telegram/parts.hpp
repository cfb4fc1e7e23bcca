// telegram/parts: a backup file in Telegram. The Bot API accepts uploads up to
// 50 MB but getFile fetches at most 20 MB, so every backup is sent as parts of
// at most `part_size` bytes (TELEGRAM_PART_SIZE), each a document named
// "<file_name>.partIIIofNNN" — always, even a backup of one part
// ("...part001of001"), so a chat's files always say what they are. `cat` of
// the parts in order gives the backup file.
//
// The location record (one entry of backups.locations):
//   {"type":"telegram","chat_id":"..","file_name":"..","size":N,"sha256":"..",
//    "part_size":N,"parts":[{"index":1,"count":3,"file_name":"..part001of003",
//      "chat_id":"..","message_id":N,"file_id":"..","file_unique_id":"..",
//      "offset":N,"size":N,"sha256":".."}, ...],
//    "remote_remains"?: true}        (after a delete Telegram refused)
// Invariants: the parts cover [0, size) in order without gaps; a location is
// returned only when every part was confirmed by Telegram.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "telegram/bot_api.hpp"

namespace tb::telegram {

// No part is larger: TELEGRAM_PART_SIZE is at most 20 MB (getFile's limit),
// and this bound does not follow the setting down, so lowering it never makes
// older backups unreadable. Slack of 1 MiB on top.
inline constexpr std::uint64_t kMaxPartBytes = 20'000'000 + 1024 * 1024;

struct Part {
  int index = 0;  // 1-based
  int count = 0;
  std::string file_name;
  std::string chat_id;
  std::int64_t message_id = 0;
  std::string file_id;
  std::string file_unique_id;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::string sha256;
};
boost::json::object to_json(const Part& part);
Part part_from_json(const boost::json::value& v);  // throws tb::Error kInternal on a bad record

// "<file_name>.part002of005".
std::string part_name(const std::string& file_name, int index, int count);
// How many parts a file of `size` bytes needs (at least 1).
int part_count(std::uint64_t size, std::uint64_t part_size);

struct UploadSpec {
  std::string path;       // the local file to send
  std::string file_name;  // its name (parts are named after it)
  std::string chat_id;
  std::uint64_t size = 0;  // the file's size and SHA-256 (as recorded by the export)
  std::string sha256;
  std::uint64_t part_size = 19ull * 1024 * 1024;
  std::string project_id;  // for the caption
  SystemTime created_at{};
};

// The caption of a part: project, time, size, SHA-256 of the whole file, part
// i/n and the part's own SHA-256.
std::string caption_for(const UploadSpec& spec, const Part& part);

// Sends every part of spec.path that is not already in `confirmed` (parts of
// an earlier attempt: reused when index, offset, size, sha256 and chat match),
// calling on_confirmed with all confirmed parts after each new one, so the
// caller can persist them. Returns the location record. Throws ApiError /
// Cancelled / tb::Error (file unreadable or changed: its size or SHA-256 no
// longer match the spec).
boost::json::object upload_file(
    BotApi& api, const UploadSpec& spec, const std::vector<Part>& confirmed,
    const std::function<void(const std::vector<Part>&)>& on_confirmed = {});

// Fetches a backup back from its Telegram location into dest_path: getFile +
// download per part, each part's SHA-256 checked, then the whole file's against
// `expected_sha256` (the backup's; the location's own when empty). Written to
// a temporary name beside dest_path, fsynced, renamed: dest_path appears only
// complete and verified. Throws tb::Error kConflict when a part or the whole
// does not match, ApiError for Bot API failures.
// Each part is downloaded with a cap of its recorded size (a longer body is
// aborted, ApiError); a record claiming a part over kMaxPartBytes is refused.
// `on_part(index, count, bytes_before)` is called before each part.
using PartProgress = std::function<void(int index, int count, std::uint64_t bytes_before)>;
void fetch_file(BotApi& api, const boost::json::object& location,
                const std::string& expected_sha256, const std::string& dest_path,
                const PartProgress& on_part = {});

// Tries deleteMessage for every part not yet deleted. Parts Telegram refused
// (a bot may delete its messages only within 48 hours) or that could not be
// reached stay, marked "remote_remains": true on the part and the location.
// Never throws for Bot API failures. Returns the updated location.
struct DeleteResult {
  boost::json::object location;
  int deleted = 0;
  int remaining = 0;
  int transient = 0;  // of the remaining: not refused, but unreachable (worth a later retry)
};
DeleteResult delete_parts(BotApi& api, boost::json::object location);

}  // namespace tb::telegram
