// How a fleet run splits its tenants into batch dumps.
//
// A batch's pg_dump holds ACCESS SHARE on every relation of every schema in it
// until it ends, in the server's shared lock table (max_locks_per_transaction
// x (max_connections + max_prepared_transactions) slots, shared with every
// other session). A batch therefore holds at most `max_locks` relations and
// `max_tenants` tenants; tenants are taken in the given order. A tenant that
// alone has more relations than `max_locks` is not batched: it gets its own
// pg_dump, as a single export would (and fails as one would if it cannot fit
// the lock table at all).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tb::fleet {

struct Tenant {
  std::string project_id;
  std::string schema;
  std::int64_t locks = 0;  // relations its dump locks
};

struct Plan {
  std::vector<std::vector<Tenant>> batches;
  std::vector<Tenant> alone;  // each dumped by its own pg_dump
};

Plan plan_batches(const std::vector<Tenant>& tenants, int max_tenants, std::int64_t max_locks);

}  // namespace tb::fleet
