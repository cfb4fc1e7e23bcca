#include "backup/export.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <thread>

#include "age/stream.hpp"
#include "backup/manifest.hpp"
#include "core/log.hpp"
#include "db/client_errors.hpp"
#include "db/conninfo.hpp"
#include "io/compress.hpp"
#include "io/hash.hpp"
#include "io/sink.hpp"
#include "model/compression_level.hpp"
#include "process/child.hpp"

namespace tb::backup {
namespace {

// pg_dump's stdout (a 1 MiB pipe, process::Child) is read in blocks of up to
// 1 MiB: each block costs a call per filter of the chain.
constexpr std::size_t kChunk = std::size_t{1} << 20;

// Forwards the stored bytes to every destination.
class DestinationsSink final : public io::Sink {
 public:
  explicit DestinationsSink(const std::vector<destinations::Destination*>& dests) : dests_(dests) {}
  void write(std::span<const std::byte> data) override {
    for (auto* d : dests_) d->write(data);
  }
  void finish() override {}

 private:
  const std::vector<destinations::Destination*>& dests_;
};

}  // namespace

// The first line of pg_dump's stderr that says what went wrong, without the
// "pg_dump: error: " prefix, for the public message.
std::string first_error_line(const std::string& tail) {
  std::string best;
  std::size_t pos = 0;
  while (pos < tail.size()) {
    std::size_t nl = tail.find('\n', pos);
    std::string line = tail.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? tail.size() : nl + 1;
    if (line.empty()) continue;
    for (const char* prefix : {"pg_dump: error: ", "pg_dump: fatal: ", "pg_dump: "}) {
      if (line.rfind(prefix, 0) == 0) {
        line = line.substr(std::strlen(prefix));
        break;
      }
    }
    if (best.empty()) best = line;
    if (line.find("error") != std::string::npos || line.find("failed") != std::string::npos ||
        line.find("no matching") != std::string::npos) {
      best = line;
      break;
    }
  }
  if (best.size() > 300) best = best.substr(0, 300) + "...";
  return best;
}

int default_zstd_workers() {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores <= 2 ? 0 : cores == 3 ? 1 : 2;
}

boost::json::value to_json(const CompressionLevels& l) {
  if (l.requested.empty()) return nullptr;
  return boost::json::object{{"requested", model::compression_level_json(l.requested)},
                             {"lowest", l.lowest},
                             {"highest", l.highest},
                             {"last", l.last}};
}

std::string_view to_string(Format f) {
  return f == Format::kTar ? "tar" : "sql";
}

std::string_view to_string(Compression c) {
  switch (c) {
    case Compression::kZstd:
      return "zstd";
    case Compression::kGzip:
      return "gzip";
    case Compression::kNone:
      return "none";
  }
  return "none";
}

Format parse_format(std::string_view s) {
  if (s == "sql") return Format::kSql;
  if (s == "tar") return Format::kTar;
  throw_validation("format", "format must be \"sql\" or \"tar\"");
}

Compression parse_compression(std::string_view s) {
  if (s == "zstd") return Compression::kZstd;
  if (s == "gzip") return Compression::kGzip;
  if (s == "none") return Compression::kNone;
  throw_validation("compression", "compression must be \"zstd\", \"gzip\" or \"none\"");
}

std::string exact_schema_pattern(std::string_view schema) {
  std::string out = "\"";
  for (char c : schema) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

PgDumpCommand pg_dump_command(const DumpSource& source, Format format) {
  if (source.schema.empty() || source.schema.find('\0') != std::string::npos) {
    throw Error(ErrorCode::kInternal, "internal error", "invalid schema name for pg_dump");
  }
  PgDumpCommand cmd;
  auto [conninfo, password] = db::split_password(source.conninfo);
  if (!password.empty()) cmd.env.emplace_back("PGPASSWORD", std::move(password));
  cmd.program = source.pg_bin_dir.empty() ? "pg_dump" : source.pg_bin_dir + "/pg_dump";
  cmd.args = {format == Format::kTar ? "--format=tar" : "--format=plain",
              "--schema=" + exact_schema_pattern(source.schema),
              "--strict-names",
              "--no-owner",
              "--no-password",
              "--dbname=" + conninfo};
  return cmd;
}

std::string file_name_for(std::string_view project_slug, SystemTime created, Format format,
                          Compression compression, std::string_view unique, bool encrypted) {
  std::time_t t = std::chrono::system_clock::to_time_t(created);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H-%M-%SZ", &tm);
  std::string name = std::string(project_slug) + "-" + stamp;
  if (!unique.empty()) name += "-" + std::string(unique);
  name += format == Format::kTar ? ".tar" : ".sql";
  if (compression == Compression::kZstd) name += ".zst";
  if (compression == Compression::kGzip) name += ".gz";
  if (encrypted) name += ".age";
  return name;
}

std::string content_type_for(Format format, Compression compression, bool encrypted) {
  if (encrypted) return "application/octet-stream";
  if (compression == Compression::kZstd) return "application/zstd";
  if (compression == Compression::kGzip) return "application/gzip";
  return format == Format::kTar ? "application/x-tar" : "application/sql";
}

namespace {

// pg_dump's stdout into `out`; throws with pg_dump's reason when it fails.
// `stdout_fd` is pg_dump's pipe while it runs (-1 before and after).
void dump_with_pg_dump(const PgDumpCommand& cmd, const ExportOptions& options,
                       const std::string& password, io::Sink& out, const std::atomic<bool>& cancel,
                       int& stdout_fd) {
  process::Spec spec;
  spec.program = cmd.program;
  spec.args = cmd.args;
  spec.env_add = cmd.env;
  spec.timeout = options.timeout;
  spec.cancel = &cancel;
  spec.pipe_batch_wait = process::kStreamBatchWait;
  process::Child child = process::Child::spawn(spec);
  stdout_fd = child.stdout_fd();
  std::vector<std::byte> buf(kChunk);
  try {
    while (std::size_t n = child.read_stdout(buf))
      out.write(std::span<const std::byte>(buf.data(), n));
  } catch (...) {
    stdout_fd = -1;
    throw;
  }
  stdout_fd = -1;

  process::Child::Exit exit = child.wait();
  if (exit.cancelled) throw Cancelled("the export was cancelled");
  std::string detail =
      "pg_dump " + exit.describe() + "; stderr: " + log::redact(exit.stderr_tail, password);
  if (exit.timed_out) {
    throw Error(ErrorCode::kInternal,
                "pg_dump timed out after " + std::to_string(options.timeout.count()) + "s", detail);
  }
  if (!exit.ok()) {
    // The public message names no host, port, role or file (they stay in `detail`).
    std::string why =
        db::public_client_error(log::redact(first_error_line(exit.stderr_tail), password));
    // A schema that does not exist (pg_dump --strict-names) will not appear
    // on a retry: the job fails at once, as NOT_FOUND, instead of three times.
    const bool no_schema = why.find("no matching schemas were found") != std::string::npos;
    throw Error(no_schema ? ErrorCode::kNotFound : ErrorCode::kInternal,
                "pg_dump failed: " + (why.empty() ? exit.describe() : why), detail);
  }
}

}  // namespace

ExportResult run_export(const DumpSource& source, const ExportOptions& options,
                        std::vector<destinations::Destination*> dests,
                        const destinations::ObjectInfo& object, const ProgressFn& progress,
                        const std::atomic<bool>& cancel) {
  if (dests.empty())
    throw Error(ErrorCode::kInternal, "internal error", "run_export without destinations");
  PgDumpCommand cmd = pg_dump_command(source, options.format);
  const std::string password = db::split_password(source.conninfo).password;

  ExportResult result;
  try {
    for (auto* d : dests) d->begin(object);

    // The chain, built from its end.
    DestinationsSink to_dests(dests);
    io::ByteCounter stored(to_dests);
    io::Sha256 sha(stored);
    std::unique_ptr<io::Sink> encryptor;
    if (!options.recipients.empty())
      encryptor = std::make_unique<age::Encryptor>(sha, options.recipients);
    io::Sink& compressed = encryptor ? *encryptor : static_cast<io::Sink&>(sha);
    std::unique_ptr<io::Sink> compressor;
    io::ZstdCompressor* zstd = nullptr;
    // Without zstd workers, the adaptive level asks whether pg_dump is held
    // up by this thread: its pipe is at least 3/4 full. (A fleet run's
    // producer has no pipe: the level then follows the idle CPU alone.)
    int dump_fd = -1;
    auto dump_waiting = [&dump_fd] {
      int queued = 0;
      const int size = dump_fd >= 0 ? ::fcntl(dump_fd, F_GETPIPE_SZ) : -1;
      return size > 0 && ::ioctl(dump_fd, FIONREAD, &queued) == 0 && queued >= size / 4 * 3;
    };
    if (options.compression == Compression::kZstd) {
      auto z = std::make_unique<io::ZstdCompressor>(
          compressed,
          io::ZstdSettings{.level = options.zstd_adaptive ? options.zstd_floor : options.zstd_level,
                           .adaptive = options.zstd_adaptive,
                           .floor = options.zstd_floor,
                           .ceiling = options.zstd_ceiling,
                           .workers = options.zstd_workers,
                           .producer_waiting = dump_waiting});
      zstd = z.get();
      compressor = std::move(z);
    } else if (options.compression == Compression::kGzip) {
      compressor = std::make_unique<io::GzipCompressor>(compressed, options.gzip_level,
                                                        options.compression_threads);
    }
    io::ByteCounter dumped(compressor ? *compressor : compressed, progress);
    // Counts each table's rows from the dump itself, before compression.
    ManifestCounter manifest(options.format, dumped);
    if (options.producer) {
      options.producer(manifest, cancel);
    } else {
      dump_with_pg_dump(cmd, options, password, manifest, cancel, dump_fd);
    }

    manifest.finish();
    result.dump_bytes = dumped.count();
    result.tables = manifest.manifest();
    result.size_bytes = stored.count();
    result.sha256_hex = sha.hex();
    if (zstd != nullptr) {
      const io::ZstdLevels l = zstd->levels();
      result.levels = {l.adaptive ? "adaptive" : std::to_string(l.last), l.lowest, l.highest,
                       l.last};
    } else if (options.compression == Compression::kGzip) {
      const int g = options.gzip_level;
      result.levels = {std::to_string(g), g, g, g};
    }
    for (auto& dest : dests) {
      result.locations.push_back(dest->commit(result.sha256_hex, result.size_bytes));
      dest = nullptr;  // committed: not aborted below
    }
  } catch (...) {
    // The Child (if any) is already terminated and reaped by its destructor.
    for (auto* d : dests) {
      if (d != nullptr) d->abort();
    }
    throw;
  }
  return result;
}

}  // namespace tb::backup
