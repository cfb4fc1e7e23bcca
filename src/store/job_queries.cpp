#include "store/job_queries.hpp"

#include "core/ids.hpp"

namespace tb::store {
namespace {

std::string type_text(model::JobType type) {
  return std::string(model::to_string(type));
}

}  // namespace

std::optional<std::string> active_project_job(db::Connection& conn, const std::string& project_id,
                                              model::JobType type) {
  auto r = conn.query(
      "SELECT id::text FROM control_plane.jobs WHERE project_id = $1 AND type = $2 "
      "AND status IN ('pending', 'running') LIMIT 1",
      project_id, type_text(type));
  if (r.empty()) return std::nullopt;
  return r.text(0, 0);
}

std::optional<std::string> active_backup_job(db::Connection& conn, model::JobType type,
                                             const std::string& backup_id) {
  auto r = conn.query(
      "SELECT id::text FROM control_plane.jobs WHERE type = $1 AND status IN ('pending', "
      "'running') "
      "AND payload->>'backup_id' = $2 ORDER BY created_at LIMIT 1",
      type_text(type), backup_id);
  if (r.empty()) return std::nullopt;
  return r.text(0, 0);
}

std::vector<std::string> active_job_ids(db::Connection& conn, model::JobType type) {
  auto r = conn.query(
      "SELECT id::text FROM control_plane.jobs WHERE type = $1 AND status IN ('pending', "
      "'running')",
      type_text(type));
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) ids.push_back(r.text(i, 0));
  return ids;
}

bool job_key_exists(db::Connection& conn, const std::string& idempotency_key) {
  return !conn.query("SELECT 1 FROM control_plane.jobs WHERE idempotency_key = $1", idempotency_key)
              .empty();
}

std::optional<JobLease> job_lease(db::Connection& conn, const std::string& id) {
  if (!is_uuid(id)) return std::nullopt;
  auto r = conn.query(
      "SELECT status, attempts, coalesce(locked_until > now(), false) FROM control_plane.jobs "
      "WHERE id = $1::uuid",
      id);
  if (r.empty()) return std::nullopt;
  return JobLease{parse_job_status(r.get(0, 0)), static_cast<int>(r.int64(0, 1)), r.boolean(0, 2)};
}

void lock_project_row(db::Connection& conn, const std::string& project_id) {
  conn.query("SELECT 1 FROM control_plane.projects WHERE id = $1 FOR NO KEY UPDATE", project_id);
}

}  // namespace tb::store
