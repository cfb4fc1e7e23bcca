// Backup lifecycle gauges for /metrics, computed at scrape time from the
// control plane with ONE aggregate query (cached for a second, because the
// registry calls each family's collector separately during one render):
//   tb_backups{status}                       rows per status (all four listed, 0 included)
//   tb_backup_bytes{project}                 bytes of completed backups per project
//   tb_last_successful_backup_age_seconds{project}
//                                            now - newest backup that completed
//                                            (expired/deleted ones count: they
//                                            did complete); projects without any
//                                            successful backup have no series
//   tb_last_verification_passed_age_seconds{project}
//                                            now - the newest verification that
//                                            passed (projects without one have no series)
// A database error makes the collectors throw; the registry skips them and
// logs it, so the rest of /metrics still renders.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.hpp"
#include "db/pool.hpp"
#include "metrics/registry.hpp"

namespace tb::schedule {

struct LifecycleSnapshot {
  std::map<std::string, double> backups_by_status;
  std::map<std::string, double> bytes_by_project;
  std::map<std::string, SystemTime> last_success_by_project;
  std::map<std::string, SystemTime> last_verified_by_project;  // newest passed verification
};

// The aggregate query, exposed for tests.
LifecycleSnapshot read_lifecycle_snapshot(db::Connection& conn);

// Registers the four gauge families; `pool` and `clock` must outlive `registry`.
void register_lifecycle_metrics(metrics::Registry& registry, db::Pool& pool, const Clock& clock);

}  // namespace tb::schedule
