#include "schedule/lifecycle_metrics.hpp"

#include "model/jobs.hpp"

namespace tb::schedule {
namespace {

// One snapshot per scrape: the first collector of a render reads, the other
// two reuse it (they run within microseconds of each other).
class SnapshotCache {
 public:
  SnapshotCache(db::Pool& pool, const Clock& clock) : pool_(pool), clock_(clock) {}

  LifecycleSnapshot get() {
    std::lock_guard lock(mutex_);
    auto now = clock_.steady_now();
    if (!snapshot_ || now - taken_ > std::chrono::seconds(1)) {
      auto conn = pool_.acquire(std::chrono::seconds(2));
      snapshot_ = read_lifecycle_snapshot(*conn);
      taken_ = now;
    }
    return *snapshot_;
  }
  const Clock& clock() const { return clock_; }

 private:
  db::Pool& pool_;
  const Clock& clock_;
  std::mutex mutex_;
  std::optional<LifecycleSnapshot> snapshot_;
  std::chrono::steady_clock::time_point taken_{};
};

}  // namespace

LifecycleSnapshot read_lifecycle_snapshot(db::Connection& conn) {
  LifecycleSnapshot s;
  for (auto status : model::kAllBackupStatuses)
    s.backups_by_status[std::string(model::to_string(status))] = 0;
  auto r = conn.exec(
      "SELECT project_id, status, count(*), coalesce(sum(size_bytes), 0), max(created_at) "
      "FROM control_plane.backups GROUP BY project_id, status");
  for (int i = 0; i < r.rows(); ++i) {
    auto project = r.text(i, 0);
    auto status = model::parse_backup_status(r.text(i, 1));
    s.backups_by_status[std::string(model::to_string(status))] +=
        static_cast<double>(r.int64(i, 2));
    if (status == model::BackupStatus::kCompleted)
      s.bytes_by_project[project] += static_cast<double>(r.int64(i, 3));
    if (status != model::BackupStatus::kFailed) {
      auto newest = r.time(i, 4);
      auto [it, inserted] = s.last_success_by_project.emplace(project, newest);
      if (!inserted && it->second < newest) it->second = newest;
    }
  }
  auto v = conn.exec(
      "SELECT project_id, max(verified_at) FROM control_plane.backups "
      "WHERE verification_status = 'passed' GROUP BY project_id");
  for (int i = 0; i < v.rows(); ++i) s.last_verified_by_project[v.text(i, 0)] = v.time(i, 1);
  return s;
}

void register_lifecycle_metrics(metrics::Registry& registry, db::Pool& pool, const Clock& clock) {
  auto cache = std::make_shared<SnapshotCache>(pool, clock);
  registry.add_gauge_collector("tb_backups", "Backups by status", [cache] {
    std::vector<metrics::Sample> out;
    for (const auto& [status, n] : cache->get().backups_by_status)
      out.push_back({{{"status", status}}, n});
    return out;
  });
  registry.add_gauge_collector("tb_backup_bytes", "Bytes of completed backups stored per project",
                               [cache] {
                                 std::vector<metrics::Sample> out;
                                 for (const auto& [project, n] : cache->get().bytes_by_project)
                                   out.push_back({{{"project", project}}, n});
                                 return out;
                               });
  registry.add_gauge_collector(
      "tb_last_successful_backup_age_seconds",
      "Seconds since the project's newest successful backup", [cache] {
        std::vector<metrics::Sample> out;
        auto now = cache->clock().now();
        for (const auto& [project, at] : cache->get().last_success_by_project) {
          out.push_back({{{"project", project}}, std::chrono::duration<double>(now - at).count()});
        }
        return out;
      });
  registry.add_gauge_collector(
      "tb_last_verification_passed_age_seconds",
      "Seconds since the newest verification of a project's backups that passed", [cache] {
        std::vector<metrics::Sample> out;
        auto now = cache->clock().now();
        for (const auto& [project, at] : cache->get().last_verified_by_project) {
          out.push_back({{{"project", project}}, std::chrono::duration<double>(now - at).count()});
        }
        return out;
      });
}

}  // namespace tb::schedule
