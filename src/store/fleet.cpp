#include "store/fleet.hpp"

namespace tb::store {

std::map<std::string, std::int64_t> schema_lock_counts(db::Connection& conn,
                                                       const std::vector<std::string>& schemas) {
  auto r = conn.query(
      "SELECT n.nspname, count(c.oid) FROM pg_catalog.pg_namespace n "
      "LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid "
      "  AND c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') "
      "WHERE n.nspname = ANY($1::text[]) GROUP BY n.nspname",
      db::text_array(schemas));
  std::map<std::string, std::int64_t> counts;
  for (int i = 0; i < r.rows(); ++i) counts[r.text(i, 0)] = r.int64(i, 1);
  return counts;
}

std::int64_t lock_table_capacity(db::Connection& conn) {
  auto r = conn.exec(
      "SELECT current_setting('max_locks_per_transaction')::bigint * "
      "(current_setting('max_connections')::bigint + "
      " current_setting('max_prepared_transactions')::bigint)");
  return r.int64(0, 0);
}

std::vector<FleetTenantJob> fleet_tenant_jobs(db::Connection& conn, const std::string& run) {
  // The predicate is the index's expression (jobs_fleet_run_idx).
  auto r = conn.query(
      "SELECT id, coalesce(project_id, ''), status, last_error, "
      "  coalesce(payload -> 'fleet' ->> 'batch_dir', '') FROM control_plane.jobs "
      "WHERE payload ? 'fleet' AND payload -> 'fleet' ->> 'run' = $1 ORDER BY created_at, id",
      run);
  std::vector<FleetTenantJob> jobs;
  jobs.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i)
    jobs.push_back(
        {r.text(i, 0), r.text(i, 1), parse_job_status(r.get(i, 2)), r.opt(i, 3), r.text(i, 4)});
  return jobs;
}

int cancel_fleet_tenant_jobs(db::Connection& conn, const std::string& run) {
  int n = 0;
  for (const auto& job : fleet_tenant_jobs(conn, run)) {
    if (is_terminal(job.status)) continue;
    if (cancel_job(conn, job.job_id)) ++n;
  }
  return n;
}

}  // namespace tb::store
