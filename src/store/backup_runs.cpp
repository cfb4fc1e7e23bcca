#include "store/backup_runs.hpp"

#include <chrono>

#include "core/ids.hpp"

namespace tb::store {

std::map<std::string, BackupRun> backup_runs(db::Connection& conn,
                                             const std::vector<std::string>& job_ids) {
  std::map<std::string, BackupRun> runs;
  std::vector<std::string> ids;
  for (const auto& id : job_ids)
    if (is_uuid(id)) ids.push_back(id);
  if (ids.empty()) return runs;
  // dump_bytes is written by a completed export only; a failed run has none.
  auto r = conn.query(
      "SELECT id, CASE WHEN jsonb_typeof(result -> 'dump_bytes') = 'number' "
      "THEN (result ->> 'dump_bytes')::numeric::bigint END, "
      "started_at, completed_at, attempts, result ->> 'file_name' "
      "FROM control_plane.jobs WHERE id = ANY($1::uuid[])",
      db::text_array(ids));
  for (int i = 0; i < r.rows(); ++i) {
    BackupRun run;
    run.dump_bytes = r.opt_int64(i, 1);
    run.started_at = r.opt_time(i, 2);
    run.completed_at = r.opt_time(i, 3);
    run.attempts = static_cast<int>(r.int64(i, 4));
    run.file_name = r.opt(i, 5);
    runs.emplace(r.text(i, 0), std::move(run));
  }
  return runs;
}

boost::json::object to_json(const BackupRun& run) {
  auto time_or_null = [](const std::optional<SystemTime>& t) -> boost::json::value {
    if (!t) return nullptr;
    return boost::json::string(format_rfc3339(*t));
  };
  boost::json::object o;
  o["dump_bytes"] = run.dump_bytes ? boost::json::value(*run.dump_bytes) : nullptr;
  o["started_at"] = time_or_null(run.started_at);
  o["completed_at"] = time_or_null(run.completed_at);
  if (run.started_at && run.completed_at && *run.completed_at >= *run.started_at) {
    o["seconds"] = std::chrono::duration<double>(*run.completed_at - *run.started_at).count();
  } else {
    o["seconds"] = nullptr;
  }
  o["attempts"] = run.attempts;
  o["file_name"] = run.file_name ? boost::json::value(*run.file_name) : nullptr;
  return o;
}

}  // namespace tb::store
