// The s3 copies of backups after the export wrote them
// (destinations/s3.hpp): reading one back, deleting it, and the sweep that
// cleans what a dead export or a refused delete left in the bucket.
//
// - Read-back: fetch_backup_from_s3 streams the object into a temporary file
//   beside dest_path, hashing it on the way; the file gets its final name only
//   when size and SHA-256 match the backup's, so a damaged object is never
//   restored or served (kConflict, nothing kept).
// - Delete: the object and its KEY.sha256 sidecar. A refused or failed delete
//   marks the location "remote_remains": true; the sweep retries it
//   (retry_s3_remains) until it is gone, then marks it "deleted": true.
// - Dead exports: an export records its upload ({"s3_upload": {key,
//   upload_id}} in the job's progress) before the first byte; its next
//   attempt aborts that upload and removes that key (discard_earlier_upload).
//   An upload no attempt cleaned (the last attempt died) is aborted by the
//   sweep once it is older than S3Options::stale_upload_grace.
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "db/connection.hpp"
#include "store/backups.hpp"
#include "workflows/options.hpp"

namespace tb::workflows {

// The {"type":"s3",...} entry of a backup's locations, if any.
std::optional<boost::json::object> s3_location_of(const boost::json::value& locations);
// Its key, when the object is still meant to exist (not deleted).
std::optional<std::string> live_s3_key(const boost::json::value& locations);

// Fetches the backup's s3 copy into dest_path (verified; see above). Throws
// kNotFound when the backup has no s3 copy or S3 is not configured,
// kConflict when the object does not match, s3::S3Error when S3 fails.
std::string fetch_backup_from_s3(const S3Options& options, const store::Backup& backup,
                                 const std::string& dest_path,
                                 const std::atomic<bool>* cancel = nullptr);

// Deletes the object and sidecar of every live s3 entry; returns the
// locations to store: the entry "deleted": true, or "remote_remains": true
// where S3 refused or could not be reached (or S3 is not configured).
// `attempts` caps the client's tries per call (request threads use 1).
// Never throws for S3 failures.
boost::json::value delete_s3_copies(const S3Options& options, const boost::json::value& locations,
                                    int attempts = 0);

// The progress record of an upload that began.
boost::json::object s3_upload_record(const std::string& key, const std::string& upload_id);
// Aborts the upload an earlier attempt recorded in `progress` and removes its
// key (unless it is `keep_key`, an object the attempt reuses). Errors are
// logged: the stale-upload sweep is the fallback.
void discard_earlier_upload(const S3Options& options, const boost::json::value& progress,
                            const std::string& keep_key = {});

// Sweep steps. Aborts the unfinished uploads under the prefix initiated more
// than stale_upload_grace before `now`; returns how many.
int abort_stale_s3_uploads(const S3Options& options, SystemTime now);
// Retries the delete of deleted or expired backups whose s3 entry is
// "remote_remains"; returns how many objects are now gone.
int retry_s3_remains(db::Connection& conn, const S3Options& options, int limit = 100);

}  // namespace tb::workflows
