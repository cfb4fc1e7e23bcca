// One pg_dump of a batch of tenant schemas: the catalog is read once and every
// schema is dumped from one snapshot, into an uncompressed directory-format
// archive that the batch's tenants are then cut from (tenant_archive.hpp).
//
// pg_dump's cost on a database with many schemas is its catalog read, which
// `-n` does not narrow: one tenant's pg_dump reads as much of the catalog as
// a batch's does. Data files stay uncompressed (-Z0): each is read once more,
// by its tenant's archive, which compresses with the tenant's own settings.
//
// Invariants: the same as a single export's pg_dump (backup/export.hpp): an
// argv, no shell; the password in PGPASSWORD only; exact schema names with
// --strict-names; --no-owner. Locks: pg_dump holds ACCESS SHARE on every table
// of the batch until it ends, so the caller sizes batches by their table
// count (max_locks_per_transaction); --lock-wait-timeout bounds the wait for a
// table another session holds exclusively, and that table's schema is named
// in the error, so the caller can dump the rest without it.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "archive/toc.hpp"
#include "backup/export.hpp"

namespace tb::fleet {

struct BatchOptions {
  int jobs = 1;  // pg_dump -j (each job is one more database connection)
  std::chrono::seconds timeout{std::chrono::hours(6)};
  std::chrono::milliseconds lock_wait{std::chrono::seconds(30)};
};

struct BatchDump {
  std::string dir;   // the directory archive (toc.dat + NNNN.dat files)
  archive::Toc toc;  // its table of contents, read once
};

// Dumps `schemas` into `dir` (which must not exist yet; its parent must).
// Throws tb::Error: kInternal with pg_dump's reason; when pg_dump could not
// lock a table, locked_schema() tells whose it is.
BatchDump dump_batch(const backup::DumpSource& source, const std::vector<std::string>& schemas,
                     const std::string& dir, const BatchOptions& options,
                     const std::atomic<bool>& cancel);

// A batch dump made earlier (its toc.dat read again), e.g. by a tenant's job.
BatchDump open_batch(const std::string& dir);

// The schema of the table pg_dump names in a lock failure ("LOCK TABLE
// tenant_a.items IN ACCESS SHARE MODE" after "lock timeout"), if any.
std::optional<std::string> locked_schema(const std::string& pg_dump_stderr);

}  // namespace tb::fleet
