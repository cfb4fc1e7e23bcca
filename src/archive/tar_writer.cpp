#include "archive/tar_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <exception>
#include <vector>

#include "core/error.hpp"
#include "core/unique_fd.hpp"

namespace tb::archive {
namespace {

constexpr std::size_t kBlock = std::size_t{1} << 20;

[[noreturn]] void fail(struct archive* a, const std::string& what) {
  const char* why = a ? archive_error_string(a) : nullptr;
  throw Error(ErrorCode::kInternal, "internal error",
              "tar writer: " + what + (why ? std::string(": ") + why : std::string()));
}

}  // namespace

struct TarWriter::State {
  io::Sink* out = nullptr;
  struct archive* a = nullptr;
  // A Sink's exception cannot cross libarchive's C frames: it is kept here and
  // rethrown once libarchive has returned its error.
  std::exception_ptr sink_error;
  bool finished = false;

  static la_ssize_t write_cb(struct archive*, void* self, const void* data, size_t n) {
    auto* s = static_cast<State*>(self);
    try {
      s->out->write({static_cast<const std::byte*>(data), n});
      return static_cast<la_ssize_t>(n);
    } catch (...) {
      s->sink_error = std::current_exception();
      return -1;
    }
  }

  void check(int rc, const std::string& what) {
    if (rc == ARCHIVE_OK) return;
    if (sink_error) std::rethrow_exception(sink_error);
    fail(a, what);
  }

  struct archive_entry* entry(std::string_view name, std::int64_t size) {
    struct archive_entry* e = archive_entry_new();
    if (!e) fail(nullptr, "out of memory");
    archive_entry_copy_pathname(e, std::string(name).c_str());
    archive_entry_set_size(e, size);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0600);
    archive_entry_set_mtime(e, std::time(nullptr), 0);
    return e;
  }

  void header(std::string_view name, std::int64_t size) {
    struct archive_entry* e = entry(name, size);
    int rc = archive_write_header(a, e);
    archive_entry_free(e);
    check(rc, "member " + std::string(name));
  }

  void data(const void* p, std::size_t n, std::string_view name) {
    la_ssize_t w = archive_write_data(a, p, n);
    if (w < 0 || static_cast<std::size_t>(w) != n)
      check(ARCHIVE_FATAL, "data of " + std::string(name));
  }
};

TarWriter::TarWriter(io::Sink& out) : s_(std::make_unique<State>()) {
  s_->out = &out;
  s_->a = archive_write_new();
  if (!s_->a) fail(nullptr, "out of memory");
  s_->check(archive_write_set_format_ustar(s_->a), "ustar format");
  s_->check(archive_write_add_filter_none(s_->a), "no filter");
  s_->check(archive_write_open2(s_->a, s_.get(), nullptr, &State::write_cb, nullptr, nullptr),
            "open");
}

TarWriter::~TarWriter() {
  if (s_ && s_->a) archive_write_free(s_->a);  // after finish(), or abandoned mid-way
}

void TarWriter::add(std::string_view name, std::string_view content) {
  s_->header(name, static_cast<std::int64_t>(content.size()));
  if (!content.empty()) s_->data(content.data(), content.size(), name);
}

void TarWriter::add_file(std::string_view name, const std::string& path,
                         const std::atomic<bool>& cancel) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid())
    throw Error(ErrorCode::kInternal, "internal error", "tar writer: cannot open " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    throw Error(ErrorCode::kInternal, "internal error", "tar writer: cannot stat " + path);
  s_->header(name, st.st_size);
  std::vector<char> buf(kBlock);
  std::int64_t left = st.st_size;
  while (left > 0) {
    if (cancel.load()) throw Cancelled("the export was cancelled");
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw Error(ErrorCode::kInternal, "internal error", "tar writer: short read of " + path);
    const auto take = std::min<std::int64_t>(n, left);
    s_->data(buf.data(), static_cast<std::size_t>(take), name);
    left -= take;
  }
}

void TarWriter::finish() {
  if (s_->finished) return;
  s_->check(archive_write_close(s_->a), "close");
  s_->finished = true;
}

}  // namespace tb::archive
