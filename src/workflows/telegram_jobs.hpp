// The jobs that talk to Telegram about a backup that already exists, so that
// no request thread waits for the Bot API (a call may wait minutes for
// Telegram's retry_after and our backoff):
//
// - "telegram_fetch" {backup_id} (POST /api/backups/{id}/fetch): the backup's
//   local copy is gone; its parts are fetched and verified into the download
//   cache (telegram_cache_path), which GET /api/backups/{id}/download then
//   serves. A cached copy that is still intact is kept, not fetched again.
//   A damaged copy in Telegram fails the job for good (kConflict); a backup
//   deleted meanwhile leaves no cached copy behind. A backup with an S3 copy
//   is fetched from the bucket instead (workflows/s3_copies.hpp), into the
//   same cache.
// - "telegram_delete" {backup_id} (DELETE /api/backups/{id} and retention):
//   deleteMessage for every part not yet deleted. Each attempt stores what it
//   achieved; parts Telegram could not be reached for make the attempt fail
//   and retry (with the queue's backoff) while attempts are left, parts it
//   refused (older than 48 hours) are recorded as "remote_remains".
#pragma once

#include <optional>
#include <string>

#include "db/connection.hpp"
#include "jobs/worker.hpp"
#include "store/backups.hpp"
#include "workflows/handlers.hpp"

namespace tb::workflows {

jobs::JobOutcome run_telegram_fetch_job(const Dependencies& deps, jobs::JobContext& ctx);
jobs::JobOutcome run_telegram_delete_job(const Dependencies& deps, jobs::JobContext& ctx);

// Enqueues "telegram_delete" for a backup with a Telegram copy not yet
// deleted; returns its id (nullopt when there is nothing to delete).
std::optional<std::string> enqueue_telegram_delete(db::Connection& conn,
                                                   const store::Backup& backup, int max_attempts);

}  // namespace tb::workflows
