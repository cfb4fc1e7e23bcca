#include "fleet/plan.hpp"

namespace tb::fleet {

Plan plan_batches(const std::vector<Tenant>& tenants, int max_tenants, std::int64_t max_locks) {
  Plan plan;
  std::vector<Tenant> batch;
  std::int64_t batch_locks = 0;
  auto close_batch = [&] {
    if (!batch.empty()) plan.batches.push_back(std::move(batch));
    batch.clear();
    batch_locks = 0;
  };
  for (const auto& tenant : tenants) {
    if (tenant.locks > max_locks) {
      plan.alone.push_back(tenant);
      continue;
    }
    if (static_cast<int>(batch.size()) >= max_tenants || batch_locks + tenant.locks > max_locks)
      close_batch();
    batch.push_back(tenant);
    batch_locks += tenant.locks;
  }
  close_batch();
  return plan;
}

}  // namespace tb::fleet
