// The export use case: pg_dump of one tenant schema → compression → SHA-256 →
// every destination, in one pass with bounded memory:
//
//   pg_dump stdout ─▶ ManifestCounter (rows per table) ─▶ ByteCounter(progress) ─▶ zstd|gzip|none
//   ─▶ [age::Encryptor] ─▶ Sha256 ─▶ ByteCounter ─▶ destinations
//
// With recipients, no destination ever sees a plaintext byte, and the
// SHA-256 and size are those of the stored age file.
//
// Invariants: pg_dump is started with an argv (no shell); the password never
// appears on its command line (PGPASSWORD in its environment); the schema is
// matched exactly (quoted pattern, --strict-names); on any failure — pg_dump
// exiting non-zero or killed, timeout, cancel, a destination error — every
// destination is aborted (no file under a final name) and a tb::Error is
// thrown whose detail holds pg_dump's own exit status and stderr tail.
// Destinations are committed in order after the dump succeeded; if commit k
// fails, destinations k..n are aborted (1..k-1 are already durable: the caller
// records nothing, so they are orphans for a later clean-up).
//
// pg_dump flags, decided: --no-owner (a restore decides ownership itself:
// everything goes to the schema's owner, see replay_identity.hpp; ALTER OWNER
// to a missing role would fail the all-or-nothing restore); privileges are
// kept (GRANTs are part of the tenant's schema); --no-password (never
// prompt); --strict-names.
#pragma once

#include <atomic>
#include <boost/json/array.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "age/keys.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "destinations/destination.hpp"
#include "io/sink.hpp"

namespace tb::backup {

enum class Format { kSql, kTar };
enum class Compression { kNone, kZstd, kGzip };

std::string_view to_string(Format f);       // "sql", "tar"
std::string_view to_string(Compression c);  // "none", "zstd", "gzip"
// Throw tb::Error kValidation with field "format" / "compression".
Format parse_format(std::string_view s);
Compression parse_compression(std::string_view s);

struct DumpSource {
  std::string pg_bin_dir;  // folder of pg_dump; "" = look it up in PATH
  // libpq keyword/value string or URL. Its password reaches pg_dump through
  // PGPASSWORD in the child's environment, never argv.
  std::string conninfo;
  std::string schema;  // exact name, e.g. "tenant_acme"
};

// zstd threads per export: the machine's cores beyond the two that the
// PostgreSQL backend serving the dump and pg_dump with this process need, at
// most 2 (memory: each adds ~8 MB). On 2 cores none: compressing on the
// reading thread, with pg_dump's 1 MiB pipe as the buffer, measured 1.27-1.42
// x `pg_dump > /dev/null` at level 1 where one worker thread gave 1.60 (and
// `pg_dump | zstd -1 -T1` 1.37 against `--single-thread` 1.16).
int default_zstd_workers();

struct ExportOptions {
  Format format = Format::kSql;
  Compression compression = Compression::kZstd;
  // zstd: adaptive by default, its level following the CPU the machine has
  // to spare (io/zstd_adapt.hpp) between zstd_floor and zstd_ceiling; or the
  // fixed zstd_level. On dumps, level 1 is already smaller than gzip -6 (the
  // benchmark tenant: 0.98 of it); each level up costs CPU that on a small
  // machine the PostgreSQL backend serving the dump needs.
  bool zstd_adaptive = true;
  int zstd_floor = 1;
  int zstd_ceiling = 6;
  int zstd_level = 3;
  int zstd_workers = default_zstd_workers();
  // libdeflate level 5: on the benchmark tenant (1 MiB members) 0.948 of
  // gzip -6's size in 79 % of level 6's time (level 6: 0.937; level 4: 0.961).
  int gzip_level = 5;
  int compression_threads = 2;  // gzip pool size
  // Non-empty: the stored file is one age v1 file encrypted to all of them
  // (the service's own recipient first, then the project's).
  std::vector<age::Recipient> recipients;
  std::chrono::seconds timeout{std::chrono::hours(6)};
  // Set: the archive's bytes come from it instead of pg_dump (a fleet run's
  // cut of the tenant out of its batch dump). It writes the whole archive
  // into the sink (without finishing it) or throws.
  std::function<void(io::Sink&, const std::atomic<bool>& cancel)> producer;
};

// One table of a backup's manifest (backup/manifest.hpp counts them).
struct TableRows {
  std::string name;  // as written after the schema, unquoted
  std::uint64_t rows = 0;
  bool operator==(const TableRows&) const = default;
};
// The compression levels an export used (none: all 0).
struct CompressionLevels {
  std::string requested;  // "adaptive" or the fixed level
  int lowest = 0;
  int highest = 0;
  int last = 0;
};
// {"requested", "lowest", "highest", "last"}; null without compression.
boost::json::value to_json(const CompressionLevels& levels);

struct ExportResult {
  std::uint64_t size_bytes = 0;  // stored (compressed) bytes
  std::uint64_t dump_bytes = 0;  // raw bytes from pg_dump
  std::string sha256_hex;        // of the stored bytes (= sha256sum of the file)
  boost::json::array locations;  // one record per destination, in order
  // Rows per table, counted from the dump stream (backup/manifest.hpp).
  std::vector<TableRows> tables;
  CompressionLevels levels;
};

// Called from the exporting thread after each chunk (<= 1 MiB) with the raw
// byte count so far; throttle in the callback if it is costly.
using ProgressFn = std::function<void(std::uint64_t dump_bytes)>;

ExportResult run_export(const DumpSource& source, const ExportOptions& options,
                        std::vector<destinations::Destination*> dests,
                        const destinations::ObjectInfo& object, const ProgressFn& progress,
                        const std::atomic<bool>& cancel);

// "acme-2026-11-24T10-00-00Z.sql.zst" (UTC; no ':' so it is a safe file
// name everywhere). Extensions: .sql / .tar, then .zst / .gz, then .age
// when `encrypted`.
// `unique` (e.g. the first 8 characters of the job id) goes after the time, so
// two exports of a project within the same second get different names:
// "acme-2026-11-24T10-00-00Z-1a2b3c4d.sql.zst".
std::string file_name_for(std::string_view project_slug, SystemTime created, Format format,
                          Compression compression, std::string_view unique = {},
                          bool encrypted = false);
// "application/zstd", "application/gzip", "application/sql", "application/x-tar";
// "application/octet-stream" when `encrypted` (age has no registered type).
std::string content_type_for(Format format, Compression compression, bool encrypted = false);

// The line of pg_dump's stderr that says what went wrong, without its
// "pg_dump: error: " prefix (at most 300 characters), for a public message.
std::string first_error_line(const std::string& tail);

// pg_dump's -n takes a pattern: this quotes the exact name so that "*", "?",
// ".", uppercase and quotes are literal ("tenant_acme" → "\"tenant_acme\"").
std::string exact_schema_pattern(std::string_view schema);

// The argv (without argv[0]) and extra environment used to run pg_dump;
// exposed so tests can check that no secret reaches the command line.
struct PgDumpCommand {
  std::string program;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
};
PgDumpCommand pg_dump_command(const DumpSource& source, Format format);

}  // namespace tb::backup
