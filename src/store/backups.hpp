// store/backups: the history of backups (control_plane.backups).
//
// Statuses: completed (every destination confirmed; normally inserted from the
// export job's completion transaction), failed (a run that failed for good:
// written by the database when an export job ends failed, with its reason
// and code; no location, so nothing to download, restore or send; removed by
// retention at expires_at), deleted (by a user; deleted_at set), expired
// (removed by retention). No "partial": a backup that did not reach every
// destination is not completed.
//
// Pagination is keyset on (created_at DESC, id DESC) with an opaque cursor
// (base64url of "<created_at microseconds>|<id>"), so pages stay stable while
// rows are added and equal timestamps never repeat or skip a row.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "db/connection.hpp"
#include "model/jobs.hpp"

namespace tb::store {

struct Backup {
  std::string id;  // uuid; insert_backup() generates one when empty
  std::string project_id;
  std::optional<std::string> job_id;
  std::string kind = "manual";                          // manual | scheduled
  std::string format{model::kDefaultFormat};            // sql | tar
  std::string compression{model::kDefaultCompression};  // zstd | gzip | none
  model::BackupStatus status = model::BackupStatus::kCompleted;
  std::int64_t size_bytes = 0;
  std::optional<std::string> sha256;  // lowercase hex
  // Where the copies are; shape owned by destinations/, e.g.
  // [{"type":"local","path":"..."}, {"type":"telegram","chat_id":..,"parts":[..]}].
  boost::json::value locations = boost::json::array();
  std::optional<SystemTime> created_at;  // insert: now() when unset
  std::optional<SystemTime> expires_at;
  std::optional<SystemTime> deleted_at;
  std::optional<std::string> error;       // failed: the job's last public reason
  std::optional<std::string> error_code;  // failed: its stable code (e.g. UNAVAILABLE)
  // The role that owned the tenant schema when it was dumped: who owns a
  // restore into a schema that no longer exists. Internal, not in to_json.
  std::optional<std::string> schema_owner;
  // The stored bytes are an age file (the export encrypted them): a restore
  // decrypts them with the service's identities. sha256 and size_bytes are
  // those of the stored, encrypted bytes.
  bool encrypted = false;
  // The fleet run (a fleet_export job id) that made it; nullopt: its own export.
  std::optional<std::string> fleet_run;
  // The manifest: rows per table counted from the dump ([{"name", "rows"}]);
  // null for a backup made before manifests were recorded.
  boost::json::value tables = nullptr;
  // The last verification's result (a restore into a scratch database
  // compared with `tables`); nullopt: never verified.
  struct Verification {
    std::string status;  // passed | failed
    SystemTime at{};
    std::string detail;
  };
  std::optional<Verification> verification;
  // The compression levels the export used: {"requested": "adaptive" or a
  // level, "lowest", "highest", "last"} (an adaptive zstd export moves
  // between lowest and highest and ended at last); null without compression
  // and for rows made before levels were recorded.
  boost::json::value compression_level = nullptr;
};

// The API shape (GET /api/backups/{id}): id, job_id, project_id, kind, format, compression,
// compression_level, size_bytes, sha256, encrypted, status, locations, created_at, expires_at,
// deleted_at, error and error_code (null unless failed), fleet_run (null unless a fleet run made
// it), tables (the manifest, or null) and verification ({status, at, detail}, or null).
boost::json::object to_json(const Backup& backup);

Backup insert_backup(db::Connection& conn, const Backup& backup);  // returns the stored row
std::optional<Backup> get_backup(db::Connection& conn,
                                 const std::string& id);  // nullopt for a non-uuid
std::optional<Backup> get_backup_by_job(db::Connection& conn, const std::string& job_id);

struct BackupPage {
  std::vector<Backup> items;
  std::optional<std::string> next_cursor;  // nullopt on the last page
};
// Newest first; rows with status "deleted" are left out. Throws
// VALIDATION_ERROR (field "cursor") for a cursor this function did not make.
BackupPage list_backups(db::Connection& conn, const std::string& project_id, int limit,
                        const std::optional<std::string>& cursor = std::nullopt);

// How many rows list_backups pages through (every status but "deleted").
std::int64_t count_backups(db::Connection& conn, const std::string& project_id);

// When the project's newest completed backup was made (nullopt: none).
std::optional<SystemTime> last_completed_at(db::Connection& conn, const std::string& project_id);
// The project's newest completed backup (nullopt: none).
std::optional<Backup> newest_completed_backup(db::Connection& conn, const std::string& project_id);
// Records a verification's result on the backup; false when it is absent.
bool record_verification(db::Connection& conn, const std::string& id,
                         const Backup::Verification& result);

// completed|failed|expired -> deleted. False when absent or already deleted.
bool mark_backup_deleted(db::Connection& conn, const std::string& id);
// completed -> expired. False when absent or not completed.
bool mark_backup_expired(db::Connection& conn, const std::string& id);
// Removes the rows of failed runs whose expires_at <= now (they hold no
// file); returns how many.
int remove_expired_failures(db::Connection& conn, SystemTime now);
// Completed backups whose expires_at <= now, oldest first.
std::vector<Backup> list_expired_backups(db::Connection& conn, SystemTime now, int limit = 100);
bool update_backup_locations(db::Connection& conn, const std::string& id,
                             const boost::json::value& locations);

// The opaque cursor (exposed for tests).
std::string encode_backup_cursor(SystemTime created_at, const std::string& id);

}  // namespace tb::store
