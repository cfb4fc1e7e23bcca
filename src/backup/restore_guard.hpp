// The restore guard's SQL: what psql runs around the dump inside the
// restore's one transaction (see restore.hpp for the pipeline).
//
// - The prologue opens the transaction, sets the live schema aside, and
//   takes a "before" snapshot of every catalog a dump could touch into a temp
//   table whose name the dump cannot know; its digest goes to a psql variable,
//   on the client, out of the replayed SQL's reach.
// - The epilogue checks that digest, gives every object to the schema owner,
//   compares the catalogs before and after (any row outside the new schema
//   created, changed or dropped raises, with kRestoreGuardTag), runs the
//   caller's commit precondition, COMMITs, and prints a marker that only a
//   committed transaction reaches.
// - Every guard query runs with search_path pinned to pg_catalog, pg_temp.
#pragma once

#include <string>
#include <string_view>

#include "backup/restore.hpp"

namespace tb::backup {

// Prefixes the guard's own refusals in psql's stderr.
inline constexpr std::string_view kRestoreGuardTag = "tb-restore-guard: ";

// BEGIN, the schema set aside, the "before" snapshot in pg_temp.<guard_table>
// and its digest in the psql variable tb_guard_digest.
std::string restore_prologue(const RestoreTarget& target, const std::string& guard_table);

// After the dump: the digest check, REASSIGN OWNED to the owner, the guard,
// the commit precondition, COMMIT, then `marker` raised as a WARNING.
std::string restore_epilogue(const RestoreTarget& target, const std::string& guard_table,
                             const std::string& marker);

}  // namespace tb::backup
