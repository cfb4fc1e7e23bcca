#include "fleet/batch_dump.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "core/error.hpp"
#include "core/log.hpp"
#include "db/client_errors.hpp"
#include "db/conninfo.hpp"
#include "process/child.hpp"

namespace tb::fleet {
namespace {

namespace fs = std::filesystem;

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kInternal, "internal error", "cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The identifier at the start of `s` ("tenant_a" or "\"tenant a\"\"x\""), unquoted.
std::optional<std::string> leading_identifier(std::string_view s) {
  std::string name;
  if (!s.empty() && s[0] == '"') {
    for (std::size_t i = 1; i < s.size(); ++i) {
      if (s[i] != '"') {
        name += s[i];
      } else if (i + 1 < s.size() && s[i + 1] == '"') {
        name += '"';
        ++i;
      } else {
        return name;
      }
    }
    return std::nullopt;
  }
  for (char c : s) {
    if (c == '.' || c == ' ') break;
    name += c;
  }
  if (name.empty()) return std::nullopt;
  return name;
}

}  // namespace

std::optional<std::string> locked_schema(const std::string& pg_dump_stderr) {
  constexpr std::string_view kLock = "LOCK TABLE ";
  const auto at = pg_dump_stderr.find(kLock);
  if (at == std::string::npos) return std::nullopt;
  return leading_identifier(std::string_view(pg_dump_stderr).substr(at + kLock.size()));
}

BatchDump open_batch(const std::string& dir) {
  return BatchDump{dir, archive::read_toc(read_whole_file(dir + "/toc.dat"))};
}

BatchDump dump_batch(const backup::DumpSource& source, const std::vector<std::string>& schemas,
                     const std::string& dir, const BatchOptions& options,
                     const std::atomic<bool>& cancel) {
  if (schemas.empty())
    throw Error(ErrorCode::kInternal, "internal error", "dump_batch without schemas");
  auto [conninfo, password] = db::split_password(source.conninfo);
  process::Spec spec;
  spec.program = source.pg_bin_dir.empty() ? "pg_dump" : source.pg_bin_dir + "/pg_dump";
  spec.args = {"--format=directory",
               "--compress=0",
               "--jobs=" + std::to_string(std::max(1, options.jobs)),
               "--file=" + dir,
               "--strict-names",
               "--no-owner",
               "--no-password",
               "--lock-wait-timeout=" + std::to_string(options.lock_wait.count()) + "ms"};
  for (const auto& schema : schemas)
    spec.args.push_back("--schema=" + backup::exact_schema_pattern(schema));
  spec.args.push_back("--dbname=" + conninfo);
  if (!password.empty()) spec.env_add.emplace_back("PGPASSWORD", password);
  spec.timeout = options.timeout;
  spec.cancel = &cancel;
  spec.stdout_pipe = false;

  auto remove_dir = [&] {
    std::error_code ec;
    fs::remove_all(dir, ec);
  };
  process::Child::Exit exit;
  try {
    exit = process::Child::spawn(spec).wait();
  } catch (...) {
    remove_dir();
    throw;
  }
  if (!exit.ok()) {
    remove_dir();
    if (exit.cancelled) throw Cancelled("the fleet run was cancelled");
    const std::string tail = log::redact(exit.stderr_tail, password);
    std::string why = exit.timed_out
                          ? "timed out after " + std::to_string(options.timeout.count()) + "s"
                          : db::public_client_error(backup::first_error_line(tail));
    throw Error(ErrorCode::kInternal,
                "pg_dump of a batch of " + std::to_string(schemas.size()) +
                    " schemas failed: " + (why.empty() ? exit.describe() : why),
                "pg_dump " + exit.describe() + "; stderr: " + tail);
  }
  try {
    return open_batch(dir);
  } catch (...) {
    remove_dir();
    throw;
  }
}

}  // namespace tb::fleet
