#include "fleet/tenant_archive.hpp"

#include <filesystem>
#include <fstream>
#include <vector>

#include "archive/cut.hpp"
#include "archive/tar_writer.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "process/child.hpp"

namespace tb::fleet {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kChunk = std::size_t{1} << 20;

archive::Toc tenant_toc(const BatchDump& batch, std::string_view schema) {
  auto toc = archive::cut_schema(batch.toc, schema);
  const auto names = archive::schemas_of(toc);
  if (names.size() != 1)
    throw Error(ErrorCode::kNotFound, "schema " + std::string(schema) + " is not in this batch");
  return toc;
}

void write_tar(const BatchDump& batch, const archive::Toc& toc, io::Sink& out,
               const std::atomic<bool>& cancel) {
  archive::TarWriter tar(out);
  tar.add("toc.dat", archive::write_toc(toc));
  for (const auto& file : archive::data_files(toc))
    tar.add_file(file, batch.dir + "/" + file, cancel);
  tar.finish();
}

// A directory next to the batch's files: toc.dat and a link per data file.
class CutDirectory {
 public:
  CutDirectory(const BatchDump& batch, const archive::Toc& toc)
      : path_(batch.dir + "/.cut-" + new_uuid().substr(0, 8)) {
    fs::create_directory(path_);
    std::ofstream(path_ + "/toc.dat", std::ios::binary) << archive::write_toc(toc);
    for (const auto& file : archive::data_files(toc))
      fs::create_symlink(fs::path("..") / file, fs::path(path_) / file);
  }
  ~CutDirectory() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  CutDirectory(const CutDirectory&) = delete;
  CutDirectory& operator=(const CutDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write_sql(const BatchDump& batch, const archive::Toc& toc, io::Sink& out,
               const TenantArchiveOptions& options, const std::atomic<bool>& cancel) {
  CutDirectory dir(batch, toc);
  process::Spec spec;
  spec.program = options.pg_bin_dir.empty() ? "pg_restore" : options.pg_bin_dir + "/pg_restore";
  // --no-owner as the single export's pg_dump; --file=- prints the script.
  spec.args = {"--format=directory", "--no-owner", "--file=-", dir.path()};
  spec.timeout = options.timeout;
  spec.cancel = &cancel;
  auto child = process::Child::spawn(spec);
  std::vector<std::byte> buf(kChunk);
  while (std::size_t n = child.read_stdout(buf)) out.write({buf.data(), n});
  auto exit = child.wait();
  if (exit.cancelled) throw Cancelled("the export was cancelled");
  if (!exit.ok()) {
    throw Error(ErrorCode::kInternal, "pg_restore could not print the tenant's cut",
                "pg_restore " + exit.describe() + "; stderr: " + exit.stderr_tail);
  }
}

}  // namespace

void write_tenant_archive(const BatchDump& batch, std::string_view schema, backup::Format format,
                          io::Sink& out, const TenantArchiveOptions& options,
                          const std::atomic<bool>& cancel) {
  const auto toc = tenant_toc(batch, schema);
  if (format == backup::Format::kTar) {
    write_tar(batch, toc, out, cancel);
  } else {
    write_sql(batch, toc, out, options, cancel);
  }
}

}  // namespace tb::fleet
