#include "backup/restore.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <exception>
#include <memory>
#include <thread>
#include <vector>

#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/unique_fd.hpp"
#include "db/conninfo.hpp"
#include "io/compress.hpp"
#include "io/hash.hpp"
#include "io/sink.hpp"
#include "process/child.hpp"

namespace tb::backup {

std::string quote_literal(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

namespace {

constexpr std::size_t kChunk = 256 * 1024;
constexpr std::string_view kGuardTag = "tb-restore-guard: ";

// A child's stdin closed under us (it exited or was killed): the caller asks
// wait() why, which says more than "broken pipe".
struct StdinClosed {};

class ChildStdinSink final : public io::Sink {
 public:
  explicit ChildStdinSink(process::Child& child) : child_(child) {}
  void write(std::span<const std::byte> data) override {
    if (!child_.write_stdin(data)) throw StdinClosed{};
  }
  void finish() override {}

 private:
  process::Child& child_;
};

std::string quote_ident(std::string_view s) {
  return exact_schema_pattern(s);
}

// One row per catalog object that a dump could create, change or drop:
// (cat, key, xmin, nsp, tmp, label). `nsp` is the schema the object belongs
// to (0 for global objects: roles, databases, languages, casts, ...), `tmp`
// whether that is a temp or toast schema (never a concern), `label` what the
// refusal message names. Only pg_catalog-qualified names: the dump may have
// changed search_path or planted look-alikes.
std::string catalog_snapshot_sql() {
  auto by_oid = [](std::string_view cat, std::string_view nsp_col, std::string_view name_col) {
    return "SELECT '" + std::string(cat) +
           "'::text AS cat, o.oid::text AS key, o.xmin::text AS xm, o." + std::string(nsp_col) +
           " AS nsp, o." + std::string(name_col) + "::text AS label FROM pg_catalog." +
           std::string(cat) + " o";
  };
  auto by_rel = [](std::string_view cat, std::string_view key, std::string_view rel_col) {
    return "SELECT '" + std::string(cat) + "', " + std::string(key) +
           ", o.xmin::text, c.relnamespace, c.relname::text FROM pg_catalog." + std::string(cat) +
           " o LEFT JOIN pg_catalog.pg_class c ON c.oid = o." + std::string(rel_col);
  };
  auto global = [](std::string_view cat, std::string_view key, std::string_view xmin) {
    return "SELECT '" + std::string(cat) + "', " + std::string(key) + ", " + std::string(xmin) +
           ", 0::oid, NULL::text FROM pg_catalog." + std::string(cat) + " o";
  };
  std::vector<std::string> parts = {
      by_oid("pg_namespace", "oid", "nspname"),
      by_oid("pg_class", "relnamespace", "relname"),
      by_oid("pg_proc", "pronamespace", "proname"),
      by_oid("pg_type", "typnamespace", "typname"),
      by_oid("pg_constraint", "connamespace", "conname"),
      by_oid("pg_operator", "oprnamespace", "oprname"),
      by_oid("pg_collation", "collnamespace", "collname"),
      by_oid("pg_conversion", "connamespace", "conname"),
      by_oid("pg_opclass", "opcnamespace", "opcname"),
      by_oid("pg_opfamily", "opfnamespace", "opfname"),
      by_oid("pg_ts_config", "cfgnamespace", "cfgname"),
      by_oid("pg_ts_dict", "dictnamespace", "dictname"),
      by_oid("pg_ts_parser", "prsnamespace", "prsname"),
      by_oid("pg_ts_template", "tmplnamespace", "tmplname"),
      by_oid("pg_statistic_ext", "stxnamespace", "stxname"),
      by_oid("pg_extension", "extnamespace", "extname"),
      by_oid("pg_default_acl", "defaclnamespace", "defaclrole"),
      by_rel("pg_trigger", "o.oid::text", "tgrelid"),
      by_rel("pg_rewrite", "o.oid::text", "ev_class"),
      by_rel("pg_policy", "o.oid::text", "polrelid"),
      by_rel("pg_attrdef", "o.oid::text", "adrelid"),
      by_rel("pg_attribute", "o.attrelid::text || '.' || o.attnum::text", "attrelid"),
      by_rel("pg_index", "o.indexrelid::text", "indexrelid"),
      by_rel("pg_sequence", "o.seqrelid::text", "seqrelid"),
      "SELECT 'pg_enum', o.oid::text, o.xmin::text, t.typnamespace, t.typname::text FROM "
      "pg_catalog.pg_enum o "
      "LEFT JOIN pg_catalog.pg_type t ON t.oid = o.enumtypid",
      "SELECT 'pg_amop', o.oid::text, o.xmin::text, f.opfnamespace, f.opfname::text FROM "
      "pg_catalog.pg_amop o "
      "LEFT JOIN pg_catalog.pg_opfamily f ON f.oid = o.amopfamily",
      "SELECT 'pg_amproc', o.oid::text, o.xmin::text, f.opfnamespace, f.opfname::text FROM "
      "pg_catalog.pg_amproc o "
      "LEFT JOIN pg_catalog.pg_opfamily f ON f.oid = o.amprocfamily",
      // Comments: on objects of a schema count for that schema; others are global.
      "SELECT 'pg_description', o.objoid::text || '.' || o.classoid::text || '.' || "
      "o.objsubid::text, o.xmin::text, "
      "CASE o.classoid "
      "WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN (SELECT relnamespace FROM "
      "pg_catalog.pg_class WHERE oid = o.objoid) "
      "WHEN 'pg_catalog.pg_namespace'::pg_catalog.regclass THEN o.objoid "
      "WHEN 'pg_catalog.pg_proc'::pg_catalog.regclass THEN (SELECT pronamespace FROM "
      "pg_catalog.pg_proc WHERE oid = o.objoid) "
      "WHEN 'pg_catalog.pg_type'::pg_catalog.regclass THEN (SELECT typnamespace FROM "
      "pg_catalog.pg_type WHERE oid = o.objoid) "
      "WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN (SELECT connamespace FROM "
      "pg_catalog.pg_constraint WHERE oid = o.objoid) "
      "WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN (SELECT c.relnamespace FROM "
      "pg_catalog.pg_trigger t "
      "JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid WHERE t.oid = o.objoid) "
      "WHEN 'pg_catalog.pg_policy'::pg_catalog.regclass THEN (SELECT c.relnamespace FROM "
      "pg_catalog.pg_policy p "
      "JOIN pg_catalog.pg_class c ON c.oid = p.polrelid WHERE p.oid = o.objoid) "
      "ELSE 0::oid END, 'comment' FROM pg_catalog.pg_description o",
      // Global objects: any new, changed or dropped row is refused. Views
      // where the table needs superuser (roles, user mappings). A role's
      // "version" is a digest of its attributes (pg_roles hides xmin).
      "SELECT 'role', o.oid::text, pg_catalog.md5(ROW(o.rolname, o.rolsuper, o.rolinherit, "
      "o.rolcreaterole, "
      "o.rolcreatedb, o.rolcanlogin, o.rolreplication, o.rolbypassrls, o.rolconnlimit, "
      "o.rolconfig)::text), "
      "0::oid, o.rolname::text FROM pg_catalog.pg_roles o",
      "SELECT 'role membership', o.roleid::text || '.' || o.member::text, o.xmin::text, 0::oid, "
      "(SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) "
      "o.member)::text || ' in ' || "
      "(SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) "
      "o.roleid)::text "
      "FROM pg_catalog.pg_auth_members o",
      "SELECT 'user mapping', o.umid::text, '', 0::oid, NULL::text FROM "
      "pg_catalog.pg_user_mappings o",
      global("pg_database", "o.oid::text", "o.xmin::text"),
      global("pg_tablespace", "o.oid::text", "o.xmin::text"),
      global("pg_language", "o.oid::text", "o.xmin::text"),
      global("pg_cast", "o.oid::text", "o.xmin::text"),
      global("pg_event_trigger", "o.oid::text", "o.xmin::text"),
      global("pg_foreign_data_wrapper", "o.oid::text", "o.xmin::text"),
      global("pg_foreign_server", "o.oid::text", "o.xmin::text"),
      global("pg_publication", "o.oid::text", "o.xmin::text"),
      global("pg_largeobject_metadata", "o.oid::text", "o.xmin::text"),
      global("pg_am", "o.oid::text", "o.xmin::text"),
      global("pg_transform", "o.oid::text", "o.xmin::text"),
      global("pg_shdescription", "o.objoid::text || '.' || o.classoid::text", "o.xmin::text"),
      global("pg_db_role_setting", "o.setdatabase::text || '.' || o.setrole::text", "o.xmin::text"),
      global("pg_seclabel", "o.objoid::text || '.' || o.classoid::text || '.' || o.objsubid::text",
             "o.xmin::text"),
      global("pg_shseclabel", "o.objoid::text || '.' || o.classoid::text", "o.xmin::text"),
  };
  std::string sql =
      "SELECT s.cat, s.key, s.xm, s.nsp, COALESCE(n.nspname ~ '^pg_(toast|temp_)', false) AS tmp, "
      "COALESCE(n.nspname || '.', '') || COALESCE(s.label, s.key) AS label FROM (";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) sql += "\nUNION ALL ";
    sql += parts[i];
  }
  return sql + ") s LEFT JOIN pg_catalog.pg_namespace n ON n.oid = s.nsp";
}

// Every guard query runs with this search_path: nothing the dump created can
// stand in for a catalog, function or operator.
constexpr std::string_view kPinnedSearchPath = "SET search_path = pg_catalog, pg_temp;\n";

// The digest of the "before" snapshot, as a psql query whose \gset keeps the
// value on the client, where the replayed SQL cannot change it.
std::string guard_digest_sql(const std::string& guard_table) {
  return "(SELECT pg_catalog.md5(pg_catalog.string_agg(g::text, ',' ORDER BY g::text)) FROM "
         "pg_temp." +
         guard_table + " g)";
}

// BEGIN, the schema set aside, the "before" snapshot in a temp table whose
// name the dump cannot know, and its digest in the psql variable
// tb_guard_digest.
std::string prologue(const RestoreTarget& t, const std::string& guard_table) {
  std::string s = "BEGIN;\n";
  s += kPinnedSearchPath;
  if (t.identity.aside_through_service) {
    // The live schema belongs to a privileged role the replay login is not.
    s += "SELECT control_plane.set_schema_aside(" + quote_literal(t.schema) + ", " +
         quote_literal(t.aside_schema) + ");\n";
  } else {
    s += "DO $tb_restore$ BEGIN IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname "
         "OPERATOR(pg_catalog.=) " +
         quote_literal(t.schema) + ") THEN ALTER SCHEMA " + quote_ident(t.schema) + " RENAME TO " +
         quote_ident(t.aside_schema) + "; END IF; END $tb_restore$;\n";
  }
  s += "CREATE TEMP TABLE " + guard_table + " ON COMMIT DROP AS " + catalog_snapshot_sql() + ";\n";
  s += "SELECT " + guard_digest_sql(guard_table) + " AS tb_guard_digest \\gset\n";
  return s;
}

// A condition on a snapshot row `r`: false for the roles of *other*
// projects' restores (tb_replay_*, tb_owner_*), which the service itself
// creates, logs in and out and grants while this replay runs. Tenant code
// cannot touch them: it has no CREATEROLE and no admin option on them.
std::string others_replay_roles(const std::string& r, const ReplayIdentity& id) {
  const std::string name = "pg_catalog.split_part(" + r + ".label, ' in ', 1)";
  return "NOT (" + r + ".cat IN ('role', 'role membership') AND " + name +
         " ~ '^tb_(replay|owner)_' AND " + name + " NOT IN (" + quote_literal(id.login) + ", " +
         quote_literal(id.owner) + "))";
}

// The digest check, ownership to the owner, the guard, the caller's
// precondition, COMMIT, and a marker printed (as a WARNING, on stderr) only
// once COMMIT went through. Runs after the dump's own \unrestrict, so psql's
// meta-commands are available again (a dump cut short never gets here).
std::string epilogue(const RestoreTarget& t, const std::string& guard_table,
                     const std::string& marker) {
  std::string q = "$" + guard_table + "$";
  std::string s = "\n";
  s += kPinnedSearchPath;
  s += "SELECT " + guard_digest_sql(guard_table) +
       " OPERATOR(pg_catalog.=) :'tb_guard_digest' AS tb_guard_intact \\gset\n";
  s += "\\if :tb_guard_intact\n\\else\n\\warn " + std::string(kGuardTag) +
       "the code in the backup changed the records of the restore guard\n\\quit\n\\endif\n";
  s += "REASSIGN OWNED BY CURRENT_USER TO " + quote_ident(t.identity.owner) + ";\n";
  s += "DO " + q + " DECLARE bad text; BEGIN\n";
  s += "WITH after AS (" + catalog_snapshot_sql() + "), before AS (SELECT * FROM pg_temp." +
       guard_table + "), target AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = " +
       quote_literal(t.schema) + "),\n";
  s += "changed AS (SELECT a.* FROM after a WHERE NOT EXISTS (SELECT 1 FROM before b WHERE b.cat = "
       "a.cat AND "
       "b.key = a.key AND b.xm = a.xm)),\n";
  s += "gone AS (SELECT b.* FROM before b WHERE NOT EXISTS (SELECT 1 FROM after a WHERE a.cat = "
       "b.cat AND b.key = a.key))\n";
  s += "SELECT pg_catalog.left(pg_catalog.string_agg(DISTINCT what, ', '), 400) INTO bad FROM (\n";
  s += "SELECT c.label AS what FROM changed c WHERE NOT c.tmp AND c.nsp IS DISTINCT FROM (SELECT "
       "oid FROM target) AND " +
       others_replay_roles("c", t.identity) + "\n";
  s += "UNION ALL SELECT 'dropped ' || g.label FROM gone g WHERE NOT g.tmp AND " +
       others_replay_roles("g", t.identity) + ") x;\n";
  s += "IF bad IS NOT NULL THEN RAISE EXCEPTION '" + std::string(kGuardTag) +
       "the backup would create or change objects outside schema %: %', " +
       quote_literal(t.schema) + ", bad; END IF;\n";
  s += "IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = " +
       quote_literal(t.schema) + ") THEN RAISE EXCEPTION '" + std::string(kGuardTag) +
       "the backup does not contain schema %', " + quote_literal(t.schema) + "; END IF;\n";
  s += "END " + q + ";\n";
  if (!t.commit_precondition.empty())
    s += "DO " + q + " BEGIN\n" + t.commit_precondition + "\nEND " + q + ";\n";
  s += "COMMIT;\n";
  s += "SET client_min_messages = warning;\n";
  s += "DO " + q + " BEGIN RAISE WARNING '" + marker + "'; END " + q + ";\n";
  return s;
}

// The message of the first "ERROR:" line of psql's stderr.
std::string first_error(const std::string& tail) {
  auto p = tail.find("ERROR:");
  if (p == std::string::npos) return {};
  p += 6;
  while (p < tail.size() && tail[p] == ' ') ++p;
  auto nl = tail.find('\n', p);
  std::string line = tail.substr(p, nl == std::string::npos ? std::string::npos : nl - p);
  if (line.size() > 300) line = line.substr(0, 300) + "...";
  return line;
}

// Reads the file in chunks into `sink` (then finish()es it).
void feed_file(const std::string& path, io::Sink& sink, const std::atomic<bool>& stop,
               const RestoreProgressFn& progress, std::uint64_t& bytes) {
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.valid())
    throw Error(ErrorCode::kNotFound, "the backup file cannot be read",
                path + ": " + std::strerror(errno));
  const int fd = file.get();
  std::vector<std::byte> buf(kChunk);
  for (;;) {
    if (stop.load()) throw StdinClosed{};
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw Error(ErrorCode::kInternal, "the backup file cannot be read",
                  path + ": " + std::strerror(errno));
    if (n == 0) break;
    sink.write(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)));
    bytes += static_cast<std::uint64_t>(n);
    if (progress) progress(bytes);
  }
  sink.finish();
}

// file → decompressor (if any) → next.
void feed_decompressed(const std::string& path, Compression compression, io::Sink& next,
                       const std::atomic<bool>& stop, const RestoreProgressFn& progress,
                       std::uint64_t& bytes) {
  std::unique_ptr<io::Sink> decompressor;
  if (compression == Compression::kZstd)
    decompressor = std::make_unique<io::ZstdDecompressor>(next);
  if (compression == Compression::kGzip)
    decompressor = std::make_unique<io::GzipDecompressor>(next);
  feed_file(path, decompressor ? *decompressor : next, stop, progress, bytes);
}

process::Spec spec_for(const std::string& program, std::vector<std::string> args,
                       const std::string& password) {
  process::Spec spec;
  spec.program = program;
  spec.args = std::move(args);
  // PGOPTIONS could set a role or search_path behind our back.
  spec.env_remove = {"PGOPTIONS", "PGPASSWORD"};
  if (!password.empty()) spec.env_add = {{"PGPASSWORD", password}};
  return spec;
}

// The SQL of a tar archive: a writer thread feeds the decompressed archive to
// pg_restore's stdin while this thread pumps its stdout into `out`. Only this
// thread stops pg_restore (its Spec has no cancel), so the two never race.
void pump_tar(const std::string& bin, const std::string& path, Compression compression,
              io::Sink& out, const RestoreProgressFn& progress, std::uint64_t& file_bytes) {
  // pg_restore only turns the archive into SQL here: it connects nowhere.
  auto spec = spec_for(bin + "pg_restore", {"--no-owner", "--file=-"}, {});
  spec.stdin_pipe = true;
  process::Child pg_restore = process::Child::spawn(spec);
  std::atomic<bool> stop_feed{false};
  std::exception_ptr feed_error;
  std::thread feeder([&] {
    try {
      ChildStdinSink to_restore(pg_restore);
      feed_decompressed(path, compression, to_restore, stop_feed, progress, file_bytes);
    } catch (const StdinClosed&) {
    } catch (...) {
      feed_error = std::current_exception();
    }
    pg_restore.close_stdin();
  });
  auto stop_all = [&] {
    stop_feed = true;
    pg_restore.terminate();  // the feeder's next write fails with EPIPE
    feeder.join();
  };
  try {
    std::vector<std::byte> buf(kChunk);
    while (std::size_t n = pg_restore.read_stdout(buf))
      out.write(std::span<const std::byte>(buf.data(), n));
  } catch (...) {
    stop_all();
    throw;
  }
  feeder.join();
  if (feed_error) std::rethrow_exception(feed_error);
  auto exit = pg_restore.wait();
  if (!exit.ok()) {
    throw Error(ErrorCode::kInternal,
                "pg_restore could not read the backup: " + first_error(exit.stderr_tail),
                "pg_restore " + exit.describe() + "; stderr: " + log::redact(exit.stderr_tail));
  }
}

}  // namespace

std::string aside_schema_name(std::string_view schema, SystemTime at) {
  std::time_t tt = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
  std::string suffix = std::string(kAsideMarker) + stamp;
  constexpr std::size_t kMaxIdent = 63;
  if (schema.size() + suffix.size() <= kMaxIdent) return std::string(schema) + suffix;
  // FNV-1a of the full name: short, stable, good enough to tell names apart.
  std::uint32_t h = 2166136261u;
  for (char c : schema) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  char hex[16];
  std::snprintf(hex, sizeof hex, "_%08x", h);
  return std::string(schema.substr(0, kMaxIdent - suffix.size() - 9)) + hex + suffix;
}

RestoreResult run_restore(const RestoreTarget& target, const std::string& file_path,
                          const RestoreOptions& options, const RestoreProgressFn& progress,
                          const std::atomic<bool>& cancel) {
  if (target.schema.empty() || target.aside_schema.empty() ||
      target.schema == target.aside_schema) {
    throw Error(ErrorCode::kInternal, "internal error", "run_restore: bad schema names");
  }
  // 1. The whole file must be the one we stored before anything runs.
  std::string actual = io::sha256_file(file_path);
  if (actual != options.expected_sha256) {
    throw ChecksumMismatch(file_path + ": sha256 " + actual + ", expected " +
                           options.expected_sha256);
  }
  if (cancel.load()) throw RestoreCancelled();

  // 2. psql, connected as the replay login.
  if (target.identity.owner.empty() || target.identity.conninfo.empty()) {
    throw Error(ErrorCode::kInternal, "internal error", "run_restore: no replay identity");
  }
  // psql gets --dbname without the password, which goes to PGPASSWORD.
  const auto connection = db::split_password(target.identity.conninfo);
  const std::string bin = target.pg_bin_dir.empty() ? "" : target.pg_bin_dir + "/";
  const std::string& password = connection.password;
  auto spec = spec_for(bin + "psql",
                       {"--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1",
                        "--dbname=" + connection.conninfo, "--file=-"},
                       password);
  spec.stdin_pipe = true;
  spec.stdout_pipe = false;  // query output (setval rows) is not needed
  spec.timeout = options.timeout;
  spec.cancel = &cancel;

  std::string token = new_uuid();
  token.erase(std::remove(token.begin(), token.end(), '-'), token.end());
  const std::string guard_table = "tb_restore_guard_" + token.substr(0, 16);
  const std::string marker = "tb-restore-committed-" + token;

  RestoreResult result;
  process::Child psql = process::Child::spawn(spec);
  ChildStdinSink to_psql(psql);
  io::ByteCounter sql_counter(to_psql);
  bool fed = false;
  try {
    to_psql.write(io::as_bytes(prologue(target, guard_table)));
    if (options.format == Format::kSql) {
      feed_decompressed(file_path, options.compression, sql_counter, cancel, progress,
                        result.file_bytes);
    } else {
      pump_tar(bin, file_path, options.compression, sql_counter, progress, result.file_bytes);
    }
    if (cancel.load()) throw StdinClosed{};
    to_psql.write(io::as_bytes(epilogue(target, guard_table, marker)));
    fed = true;
  } catch (const StdinClosed&) {
    // psql ended (or we were cancelled): wait() below says why.
  } catch (...) {
    // An upstream stage failed: no COMMIT was written; killing psql rolls back.
    psql.terminate();
    throw;
  }
  process::Child::Exit exit = psql.wait();
  result.sql_bytes = sql_counter.count();
  std::string detail = "psql " + exit.describe() + "; stderr: " + log::redact(exit.stderr_tail, password);
  if (exit.cancelled || (cancel.load() && !exit.ok())) throw RestoreCancelled();
  if (exit.timed_out) {
    throw Error(ErrorCode::kInternal,
                "the restore timed out after " + std::to_string(options.timeout.count()) +
                    "s; the schema is unchanged",
                detail);
  }
  if (auto g = exit.stderr_tail.find(kGuardTag); g != std::string::npos) {
    auto start = g + kGuardTag.size();
    auto end = exit.stderr_tail.find('\n', start);
    throw OutsideSchema(
        exit.stderr_tail.substr(start, end == std::string::npos ? std::string::npos : end - start) +
            "; nothing was restored",
        detail);
  }
  if (!exit.ok()) {
    std::string why = log::redact(first_error(exit.stderr_tail), password);
    throw Error(ErrorCode::kInternal,
                "the restore failed and was rolled back: " +
                    (why.empty() ? "psql " + exit.describe() : why),
                detail);
  }
  if (!fed || exit.stderr_tail.find(marker) == std::string::npos) {
    throw Error(ErrorCode::kInternal,
                "the restore did not commit (the dump ended inside a statement or COPY); the "
                "schema is unchanged",
                detail);
  }
  return result;
}

}  // namespace tb::backup
