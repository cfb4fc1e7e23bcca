// Versioned migrations of the control-plane schema (control_plane).
//
// Invariants:
// - Migrations are append-only: never edit a released one, add the next
//   version. Each is applied once, recorded in control_plane.schema_migrations.
// - migrate() runs everything in one transaction holding a lock on
//   control_plane.schema_migrations (an advisory lock only on a fresh
//   database, before that table exists), so two processes migrating at once
//   are safe (the second waits, then finds nothing to do) and running it
//   twice is a no-op. Versions need not be contiguous: each missing one is
//   applied, in the order of migrations().
#pragma once

#include <string>
#include <vector>

#include "db/connection.hpp"

namespace tb::db {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// All migrations known to this binary, in version order.
const std::vector<Migration>& migrations();

// Applies the missing migrations; returns how many were applied.
int migrate(Connection& conn);

// The highest applied version (0 when the schema does not exist yet).
int schema_version(Connection& conn);

}  // namespace tb::db
