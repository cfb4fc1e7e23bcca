// The restore use case: a stored backup file → its SHA-256 checked → decompressed
// → (tar: pg_restore turns it into SQL) → psql, in ONE transaction that first
// sets the current schema aside and ends with a guard:
//
//   file ─▶ sha256 check (whole file, before anything runs)
//   file ─▶ [age::Decryptor] ─▶ zstd|gzip|none ─▶ [pg_restore -f -] ─▶ psql stdin, connected as
//   the replay login (see replay_identity.hpp), never as the service:
//       BEGIN; rename tenant_x → tenant_x__pre_restore_<stamp> (if it exists);
//       snapshot of the catalogs (its digest kept in psql, out of SQL's reach);
//       <the dump>; digest check; REASSIGN OWNED BY CURRENT_USER TO <owner>;
//       guard; commit precondition; COMMIT; commit marker
//
// Invariants:
// - Nothing reaches psql before the whole file matched `expected_sha256`.
// - An encrypted file passes on only chunks that authenticate; a chunk that
//   does not (or a key the service no longer holds) stops the replay before
//   its COMMIT, so the transaction rolls back.
// - Every statement of the dump, and every function, trigger, CHECK,
//   default or index expression it sets off, runs as the replay login: a role
//   with the schema owner's privileges (plus CREATE on the database), never
//   the service's. `RESET ROLE` gives tenant code nothing: the session itself
//   is the replay login. Every restored object belongs to the owner.
// - The transaction is opened and committed by our own script (not psql -1),
//   so anything that swallows our epilogue (an unterminated COPY or string in
//   the dump) leaves the transaction uncommitted → rolled back when psql exits.
//   Success is proven by a random marker that psql prints only after COMMIT.
// - psql failing, being killed (cancel, timeout) or the guard raising all
//   roll back: the schema is exactly as before, no aside schema is left.
// - The guard is the second line behind privilege: it compares the catalogs
//   (pg_class, pg_proc, pg_type, pg_namespace, triggers, rules, policies,
//   defaults, attributes, comments, role attributes and memberships, ...)
//   before and after the dump and raises when a row outside the new schema
//   (temp and toast schemas excepted) was created, changed or dropped. Its
//   "before" table lives in the replay's own session, where tenant code could
//   reach it, so its digest is held by psql (\gset) and checked first. Its
//   queries run with search_path pinned to pg_catalog.
// - Programs run with an argv; the password reaches them via PGPASSWORD.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "age/keys.hpp"
#include "backup/export.hpp"
#include "backup/replay_identity.hpp"
#include "core/error.hpp"

namespace tb::backup {

// A SQL string literal ('it''s'), for standard_conforming_strings = on.
std::string quote_literal(std::string_view s);

struct RestoreTarget {
  std::string pg_bin_dir;  // folder of psql and pg_restore; "" = PATH
  // Who the replay runs as, how it connects (its password goes to
  // PGPASSWORD) and who ends up owning the restored objects.
  ReplayIdentity identity;
  std::string schema;        // "tenant_acme": what the dump must (re)create
  std::string aside_schema;  // where the current schema goes; see aside_schema_name()
  // PL/pgSQL statements run inside the restore's transaction right before
  // COMMIT: the caller's own last word (the job worker checks it still owns
  // its job). Raising an exception rolls everything back. Empty = none.
  std::string commit_precondition;
};

struct RestoreOptions {
  Format format = Format::kSql;
  Compression compression = Compression::kZstd;
  std::string expected_sha256;  // lowercase hex of the stored file
  // The stored file is an age file (the backup row says so): decrypted with
  // `identities` (every one tried) before decompression.
  bool encrypted = false;
  std::vector<age::Identity> identities;
  std::chrono::seconds timeout{std::chrono::hours(6)};
};

struct RestoreResult {
  std::uint64_t file_bytes = 0;  // stored bytes read
  std::uint64_t sql_bytes = 0;   // SQL bytes given to psql (dump only)
};

// Called after each chunk with the stored bytes read so far.
using RestoreProgressFn = std::function<void(std::uint64_t file_bytes)>;

// The file does not match its recorded SHA-256: nothing was run.
class ChecksumMismatch : public Error {
 public:
  explicit ChecksumMismatch(std::string detail)
      : Error(ErrorCode::kConflict,
              "the backup file does not match its SHA-256: it is damaged, nothing was restored",
              std::move(detail)) {}
};

// An encrypted backup that cannot be read: a key the service no longer holds
// (or none at all), or bytes that fail age's authentication. Nothing was
// committed. CONFLICT: trying again cannot help.
class NotDecryptable : public Error {
 public:
  NotDecryptable(std::string message, std::string detail)
      : Error(ErrorCode::kConflict, std::move(message), std::move(detail)) {}
};

// The dump would create, change or drop objects outside its schema: rolled back.
class OutsideSchema : public Error {
 public:
  OutsideSchema(std::string message, std::string detail)
      : Error(ErrorCode::kConflict, std::move(message), std::move(detail)) {}
};

// Verifies, then replays. Throws one of the errors above, tb::Cancelled when
// `cancel` turned true (psql was killed, the transaction rolled back), or
// tb::Error (kInternal) with psql's/pg_restore's exit status and stderr tail
// as detail when the replay failed; in every failing case nothing was
// committed.
RestoreResult run_restore(const RestoreTarget& target, const std::string& file_path,
                          const RestoreOptions& options, const RestoreProgressFn& progress,
                          const std::atomic<bool>& cancel);

// "tenant_acme__pre_restore_20261124_100000" (UTC). Kept within PostgreSQL's
// 63-byte identifier limit: a long schema name is cut and given an 8-hex hash
// of the full name so two long names never share an aside schema.
std::string aside_schema_name(std::string_view schema, SystemTime at);
inline constexpr std::string_view kAsideMarker = "__pre_restore_";

}  // namespace tb::backup
