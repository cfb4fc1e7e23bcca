// store/backup_runs: how each backup was made, read from the export job that
// made it (control_plane.jobs keeps it as long as the backup): the dump's size
// before compression, when the run started and ended, how many attempts it
// took and the file it wrote. The backups table records none of these; the
// history and GET /api/backups/{id} show them as a backup's "run".
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "db/connection.hpp"

namespace tb::store {

struct BackupRun {
  std::optional<std::int64_t> dump_bytes;  // pg_dump's output, before compression
  std::optional<SystemTime> started_at;    // the last attempt's start
  std::optional<SystemTime> completed_at;
  int attempts = 0;
  std::optional<std::string> file_name;  // as written by the export
};

// The runs of these jobs, by job id; a job id that names no job is absent.
std::map<std::string, BackupRun> backup_runs(db::Connection& conn,
                                             const std::vector<std::string>& job_ids);

// {"dump_bytes", "started_at", "completed_at", "seconds", "attempts", "file_name"},
// each null when unknown (seconds: from started_at to completed_at).
boost::json::object to_json(const BackupRun& run);

}  // namespace tb::store
