// The Telegram destination, as the jobs use it: a backup's local file is
// sent to the project's chat in parts after it was committed locally (see
// telegram/parts.hpp for the part layout and the location record), fetched
// back when the local copy is gone, and its messages deleted with the backup.
// Every Bot API call runs in a job (telegram_jobs.hpp), never on a request
// thread: a call may wait minutes for Telegram's retry_after and backoff.
//
// Invariants:
// - An upload runs only after the local copy is durable; the backups row that
//   lists both locations is written by the job's completion transaction, so a
//   backup is `completed` only when every part was confirmed.
// - Confirmed parts are kept in the job's progress ({"telegram": {"sha256",
//   "chat_id", "parts"}}); a retried attempt re-sends only the parts missing
//   for the same file (same SHA-256) and chat. Each confirmed part is on
//   record (JobContext::save_progress_now, unthrottled) before the next part
//   is sent, so a worker killed at any point makes the retry re-send at most
//   the one part that was in flight (sent, reply not yet recorded).
// - Permanent Bot API errors (400/401/403/413) are REMOTE_REFUSED
//   "telegram destination failed: <Telegram's description>" and fail the job;
//   the rest (UNAVAILABLE) retry.
// - The bot token is never in a returned value, error or log line.
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>

#include "jobs/worker.hpp"
#include "store/backups.hpp"
#include "telegram/bot_api.hpp"
#include "telegram/parts.hpp"
#include "workflows/options.hpp"

namespace tb::workflows {

// Bot API options (TELEGRAM_API_URL, TELEGRAM_BOT_TOKEN).
telegram::BotOptions bot_options(const TelegramOptions& options,
                                 const std::atomic<bool>* cancel = nullptr);

// The {"type":"telegram",...} entry of a backup's locations, if any.
std::optional<boost::json::object> telegram_location_of(const boost::json::value& locations);

// For the restore and fetch jobs: fetches the backup's Telegram copy into
// dest_path (every part's and the whole file's SHA-256 verified against the
// backup's sha256; dest_path appears only complete). Returns dest_path.
// Throws tb::Error kNotFound when the backup has no Telegram copy or no bot
// token is configured, kConflict when the copy is damaged, and
// telegram::ApiError when Telegram fails.
std::string fetch_backup_from_telegram(const TelegramOptions& options, const store::Backup& backup,
                                       const std::string& dest_path,
                                       const std::atomic<bool>* cancel = nullptr,
                                       const telegram::PartProgress& on_part = {});

// Where the "telegram_fetch" job puts a Telegram backup whose local copy is
// gone, for GET /api/backups/{id}/download to serve:
// STORAGE_DIR/.cache/telegram/<backup id>/<file name>. Nothing is fetched on a
// request thread. The retention sweep removes such a copy once it is older
// than its orphan grace (an hour by default), and with its backup.
std::string telegram_cache_path(const std::string& storage_dir, const store::Backup& backup);
// Removes that cached copy (with the backup); a missing one is not an error.
void remove_telegram_cache(const std::string& storage_dir, const std::string& backup_id);

// For the "telegram_delete" job: tries deleteMessage for every part; returns
// the locations to store (store::update_backup_locations): the Telegram
// entry's parts marked "deleted", or "remote_remains": true where Telegram
// refused (older than 48 hours) or could not be reached, or when no bot token
// is configured. Never throws for Telegram failures; returns `locations`
// unchanged when there is no Telegram copy. `transient` (if given) counts the
// parts that could not be reached (worth another attempt).
boost::json::value delete_telegram_copies(const TelegramOptions& options,
                                          const boost::json::value& locations,
                                          const std::atomic<bool>* cancel = nullptr,
                                          int* transient = nullptr);

struct TelegramUpload {
  std::string path;       // the committed local file
  std::string file_name;  // its name
  std::uint64_t size = 0;
  std::string sha256;
  std::string chat_id;
  std::string project_id;
  SystemTime created_at{};
};
// The job step: uploads `upload` to Telegram, reusing the parts an earlier
// attempt of this job confirmed (ctx.job().progress["telegram"]) and
// recording each confirmed part through ctx.save_progress_now(progress_base +
// {"telegram": ...}) before the next is sent. Returns the location record.
// Throws telegram::ApiError (REMOTE_REFUSED or UNAVAILABLE), CONFLICT when
// Telegram is not configured, tb::Cancelled when the job's cancel flag rose.
boost::json::object upload_to_telegram(const TelegramOptions& options, jobs::JobContext& ctx,
                                       const TelegramUpload& upload,
                                       const boost::json::object& progress_base);

}  // namespace tb::workflows
