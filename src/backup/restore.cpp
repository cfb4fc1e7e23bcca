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

#include "age/stream.hpp"
#include "backup/restore_guard.hpp"
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

Cancelled cancelled() {
  return Cancelled("the restore was cancelled; the schema is unchanged");
}

constexpr std::size_t kChunk = 256 * 1024;

// A child's stdin closed under us (it exited or was killed): the caller asks
// wait() why, which says more than "broken pipe".
struct StdinClosed {};

// pg_restore may exit as soon as it has what it needs, before the archive's
// trailing padding. The rest of the file is still read to its end (the
// decompressor and decryptor check it, and the byte count is the file's),
// and what the child no longer takes is dropped. Whether pg_restore did its
// job is its exit status's to say.
class ChildStdinSink final : public io::Sink {
 public:
  explicit ChildStdinSink(process::Child& child) : child_(child) {}
  void write(std::span<const std::byte> data) override {
    if (!closed_ && !child_.write_stdin(data)) closed_ = true;
  }
  void finish() override {}

 private:
  process::Child& child_;
  bool closed_ = false;
};

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

// file → decryptor (if encrypted) → decompressor (if any) → next.
void feed_decompressed(const std::string& path, const RestoreOptions& options, io::Sink& next,
                       const std::atomic<bool>& stop, const RestoreProgressFn& progress,
                       std::uint64_t& bytes) {
  std::unique_ptr<io::Sink> decompressor;
  if (options.compression == Compression::kZstd)
    decompressor = std::make_unique<io::ZstdDecompressor>(next);
  if (options.compression == Compression::kGzip)
    decompressor = std::make_unique<io::GzipDecompressor>(next);
  io::Sink& plain = decompressor ? *decompressor : next;
  std::unique_ptr<io::Sink> decryptor;
  if (options.encrypted) decryptor = std::make_unique<age::Decryptor>(plain, options.identities);
  feed_file(path, decryptor ? *decryptor : plain, stop, progress, bytes);
}

// What the tenant reads when an encrypted backup cannot be opened.
NotDecryptable refusal_of(const age::DecryptError& e) {
  if (e.reason() == age::DecryptError::Reason::kNoMatchingIdentity) {
    return NotDecryptable(
        "this backup is encrypted to a key this service no longer holds (the identity that made "
        "it must be back in AGE_IDENTITY_FILE, after the current one); nothing was restored",
        e.detail());
  }
  return NotDecryptable(
      "the backup file fails age authentication: it was altered or damaged; nothing was restored",
      e.detail());
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
void pump_tar(const std::string& bin, const std::string& path, const RestoreOptions& options,
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
      feed_decompressed(path, options, to_restore, stop_feed, progress, file_bytes);
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
  if (cancel.load()) throw cancelled();
  if (options.encrypted && options.identities.empty()) {
    throw NotDecryptable(
        "this backup is encrypted and this service holds no age key (AGE_IDENTITY_FILE is "
        "unset); nothing was restored",
        file_path + ": encrypted, no identities");
  }

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
  // psql reads 4 KiB at a time: without a wait, every read of the full pipe
  // wakes this thread for the next 4 KiB.
  spec.pipe_batch_wait = process::kStreamBatchWait;

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
    to_psql.write(io::as_bytes(restore_prologue(target, guard_table)));
    if (options.format == Format::kSql) {
      feed_decompressed(file_path, options, sql_counter, cancel, progress, result.file_bytes);
    } else {
      pump_tar(bin, file_path, options, sql_counter, progress, result.file_bytes);
    }
    if (cancel.load()) throw StdinClosed{};
    to_psql.write(io::as_bytes(restore_epilogue(target, guard_table, marker)));
    fed = true;
  } catch (const StdinClosed&) {
    // psql ended (or we were cancelled): wait() below says why.
  } catch (const age::DecryptError& e) {
    // No COMMIT was written: killing psql rolls back what the chunks that
    // did authenticate had replayed.
    psql.terminate();
    throw refusal_of(e);
  } catch (...) {
    // An upstream stage failed: no COMMIT was written; killing psql rolls back.
    psql.terminate();
    throw;
  }
  process::Child::Exit exit = psql.wait();
  result.sql_bytes = sql_counter.count();
  std::string detail =
      "psql " + exit.describe() + "; stderr: " + log::redact(exit.stderr_tail, password);
  if (exit.cancelled || (cancel.load() && !exit.ok())) throw cancelled();
  if (exit.timed_out) {
    throw Error(ErrorCode::kInternal,
                "the restore timed out after " + std::to_string(options.timeout.count()) +
                    "s; the schema is unchanged",
                detail);
  }
  if (auto g = exit.stderr_tail.find(kRestoreGuardTag); g != std::string::npos) {
    auto start = g + kRestoreGuardTag.size();
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
