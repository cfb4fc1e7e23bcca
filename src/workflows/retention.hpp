// Retention: the periodic sweep that expires backups, warns before it does,
// cleans what restores set aside, and removes files nothing refers to.
//
// Invariants:
// - Reference first, then files: a backup past expires_at is marked expired
//   (store::mark_backup_expired, guarded: only one sweeper wins a row), and
//   only then are its local file and remote copies removed. A crash between
//   the two leaves an expired row and an unreferenced file, never a listed
//   completed backup without its file; the orphan sweep removes the file.
//   History keeps showing expired backups with status "expired" (only
//   "deleted" rows are hidden by store::list_backups). The row of a failed
//   run (no file) is deleted at its expires_at.
// - Orphans: a regular file under STORAGE_DIR with a backup file extension
//   (.sql .tar .zst .gz .age) that no completed backup refers to, or a temporary
//   file ".<name>.tmp-<random>" of an interrupted write, older than
//   orphan_grace (an export renames its file moments before its row commits,
//   so a young file may be about to be referenced). Symlinks are not followed.
//   "Refers to" compares files by identity (device, inode), not by the
//   spelling of their path. Never an orphan: a file whose name carries the
//   job tag of an export still pending or running (its upload to Telegram
//   may outlast any grace; its retry reuses it). Fail safe: when a completed
//   backup's location cannot be resolved or checked, the sweep deletes
//   nothing (and says why), since that file would look unreferenced.
//   Downloaded copies of Telegram backups (.cache/telegram) are such files
//   too: one is kept at least orphan_grace after it was fetched.
// - Expiry notice: at most one e-mail per backup and expiry date. A backup is
//   claimed (backups.expiry_notice_for = expires_at, one UPDATE, so two
//   sweepers never both send) before the mail goes out; a failed send clears
//   the claim so the next sweep retries. A changed expires_at (retention
//   applied to existing backups) makes a new notice due. No SMTP_URL: no
//   notices and nothing claimed.
// - Pre-restore schemas older than restore_keep are dropped: only the
//   set-aside schemas of known projects (named as backup::aside_schema_name
//   names them for a project in control_plane.projects), never a project's
//   own schema whatever its name, and never a name whose timestamp cannot be
//   read.
// Time is injected: run_once(now) never sleeps.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "db/connection.hpp"
#include "store/backups.hpp"

namespace tb::workflows {

struct RetentionOptions {
  std::string storage_dir;
  std::string smtp_url;  // "" = no expiry notices
  std::string smtp_from = "tenant-backup@localhost";
  std::string public_url;  // download links in notices: <public_url>/api/backups/<id>/download
  std::chrono::hours expiry_notice{24 * 3};  // EXPIRY_NOTICE_DAYS
  std::chrono::hours restore_keep{24 * 7};   // RESTORE_KEEP_DAYS
  std::chrono::seconds orphan_grace{3600};
  int batch = 200;  // backups expired per pass
  // Seam for remote copies (Telegram messages, where the Bot API still allows
  // deleting them): called after the row is marked expired. Errors are logged;
  // the expiry stands.
  std::function<void(db::Connection&, const store::Backup&)> delete_remote_copies;
  // Seam for remote stores' own clean-up, once per sweep (S3: deletes it
  // refused before, uploads a dead export left). Errors are logged.
  std::function<void(db::Connection&, SystemTime)> sweep_remote;
};

struct SweepReport {
  int expired = 0;
  int files_removed = 0;
  int notices_sent = 0;
  int schemas_dropped = 0;
  int orphans_removed = 0;
  int failures_removed = 0;  // rows of failed runs past their expiry
};

// Step 1: marks completed backups past expires_at expired; returns the rows
// this call marked (another sweeper's are not returned).
std::vector<store::Backup> mark_expired_backups(db::Connection& conn, SystemTime now, int limit);
// Step 2: removes the local files (and remote copies via the hook) of backups
// already marked expired. Returns the number of local files removed.
int remove_backup_files(db::Connection& conn, const RetentionOptions& options,
                        const std::vector<store::Backup>& expired);
// Both steps, in that order.
int expire_backups(db::Connection& conn, const RetentionOptions& options, SystemTime now,
                   SweepReport* report = nullptr);

// Sends the due expiry notices (one e-mail per project); returns how many e-mails went out.
int send_expiry_notices(db::Connection& conn, const RetentionOptions& options, SystemTime now);

// Drops the set-aside schemas ("tenant_<slug>__pre_restore_<timestamp>") of
// the projects in control_plane.projects that are older than `keep`; never a
// project's own schema.
int drop_old_pre_restore_schemas(db::Connection& conn, SystemTime now, std::chrono::hours keep);
// When a pre-restore schema was made, from its name; nullopt when unreadable.
// Reads the digits of the suffix: 14 (YYYYMMDDhhmmss, e.g. 20260102T030405Z),
// 8 (YYYYMMDD), 10 (Unix seconds) or 13 (Unix milliseconds).
std::optional<SystemTime> pre_restore_schema_time(const std::string& schema);

// Removes orphan files under options.storage_dir (see the header comment).
// Throws, having deleted nothing, when a completed backup's file cannot be
// checked.
int remove_orphan_files(db::Connection& conn, const RetentionOptions& options, SystemTime now);

// "Changing a project's retention applies ... on request, to existing ones":
// expires_at = created_at + retention_days for the project's completed backups.
// Returns how many rows changed.
int apply_retention_to_existing(db::Connection& conn, const std::string& project_id,
                                int retention_days);

// The sweep loop's body, with its own connection (re-opened after a failure).
class RetentionSweeper {
 public:
  RetentionSweeper(std::string conninfo, RetentionOptions options);
  // Every step runs even if an earlier one failed (errors logged); never throws.
  SweepReport run_once(SystemTime now);

 private:
  std::string conninfo_;
  RetentionOptions options_;
  std::unique_ptr<db::Connection> conn_;
};

}  // namespace tb::workflows
