// What a fleet run reads and changes in the database: the size of each
// tenant schema in locks, the server's lock table, and the export jobs that
// are its tenants (found by payload.fleet.run, indexed).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "db/connection.hpp"
#include "store/jobs.hpp"

namespace tb::store {

// Per schema, the relations a pg_dump of it locks (tables, partitioned and
// foreign tables, views, materialized views, sequences). Schemas that do not
// exist are absent.
std::map<std::string, std::int64_t> schema_lock_counts(db::Connection& conn,
                                                       const std::vector<std::string>& schemas);

// max_locks_per_transaction x (max_connections + max_prepared_transactions):
// the shared lock table's size, which every session's locks share.
std::int64_t lock_table_capacity(db::Connection& conn);

struct FleetTenantJob {
  std::string job_id;
  std::string project_id;
  JobStatus status = JobStatus::kPending;
  std::optional<std::string> last_error;
  std::string batch_dir;  // the batch dump it is cut from; "": its own pg_dump
};
// The export jobs of fleet run `run`.
std::vector<FleetTenantJob> fleet_tenant_jobs(db::Connection& conn, const std::string& run);

// Cancels the run's tenant jobs that have not ended; returns how many.
int cancel_fleet_tenant_jobs(db::Connection& conn, const std::string& run);

}  // namespace tb::store
