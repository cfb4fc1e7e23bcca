#include "http/file_response.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "core/log.hpp"
#include "core/unique_fd.hpp"
#include "http/middleware.hpp"
#include "http/range.hpp"
#include "http/response_writer.hpp"

namespace tb::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kFileChunk = 256 * 1024;

// A file response's file, opened and checked.
struct OpenedFile {
  UniqueFd fd;
  std::uint64_t size = 0;
  std::optional<Error> refused;  // the error to answer with instead
};

// Runs on the file pool.
OpenedFile open_and_check(const FileBody& body, const std::string& request_id) {
  OpenedFile out;
  out.fd.reset(::open(body.path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!out.fd.valid() || ::fstat(out.fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    spdlog::error("http file response failed request_id={} path='{}': {}", request_id, body.path,
                  std::strerror(errno));
    out.refused = Error(ErrorCode::kNotFound, "file not found");
    return out;
  }
  out.size = static_cast<std::uint64_t>(st.st_size);
  if (!body.check) return out;
  try {
    body.check(out.fd.get());
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kInternal || e.code() == ErrorCode::kUnavailable) {
      spdlog::error("http file check failed request_id={} message='{}' detail='{}'", request_id,
                    e.message(), log::redact(e.detail()));
    } else if (!e.detail().empty()) {
      spdlog::info("http file check refused request_id={} detail='{}'", request_id,
                   log::redact(e.detail()));
    }
    out.refused = e;
  } catch (const std::exception& e) {
    spdlog::error("http file check exception request_id={}: {}", request_id, log::redact(e.what()));
    out.refused = Error(ErrorCode::kInternal, "internal error");
  } catch (...) {
    spdlog::error("http file check threw a non-exception request_id={}", request_id);
    out.refused = Error(ErrorCode::kInternal, "internal error");
  }
  return out;
}

// Streams [first, first + length) of fd in fixed chunks. False when the file
// or the client failed: the length is promised, so the connection must close.
asio::awaitable<bool> stream_bytes(ServerState& s, Connection& conn, const Exchange& ex,
                                   const FileBody& file, int fd, std::uint64_t first,
                                   std::uint64_t length) {
  auto chunk = std::make_unique<char[]>(kFileChunk);
  std::uint64_t off = first;
  std::uint64_t left = length;
  while (left > 0) {
    // pread on the I/O thread: a bounded chunk, normally from the page
    // cache; a blocking pool hop per chunk would cost more than it saves.
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, kFileChunk));
    const ssize_t got = ::pread(fd, chunk.get(), want, static_cast<off_t>(off));
    if (got <= 0) {
      spdlog::error("http file read failed request_id={} path='{}' offset={}", ex.request_id,
                    file.path, off);
      co_return false;
    }
    conn.stream.expires_after(s.opts.request_timeout);
    auto [ec, n] = co_await asio::async_write(
        conn.stream, asio::buffer(chunk.get(), static_cast<std::size_t>(got)), kTuple);
    if (ec) co_return false;
    off += static_cast<std::uint64_t>(got);
    left -= static_cast<std::uint64_t>(got);
  }
  co_return true;
}

}  // namespace

asio::awaitable<bool> write_file(ServerState& s, Connection& conn, Exchange& ex, Response& r,
                                 std::string_view range_header) {
  const FileBody& file = *r.file;
  OpenedFile opened = co_await asio::co_spawn(
      s.file_pool,
      [&]() -> asio::awaitable<OpenedFile> { co_return open_and_check(file, ex.request_id); },
      asio::use_awaitable);
  if (opened.refused) co_return co_await write_error(s, conn, ex, *opened.refused);
  const auto size = opened.size;
  ByteRange range = parse_range(range_header, size);
  if (range.kind == ByteRange::kUnsatisfiable) {
    ex.extra_headers.emplace_back("Content-Range", content_range(range, size));
    Response err = error_response(
        Error(ErrorCode::kValidation, "requested range not satisfiable", {}, "Range"),
        ex.request_id);
    err.status = 416;
    co_return co_await write_response(s, conn, ex, err);
  }
  const bool partial = range.kind == ByteRange::kSatisfiable;
  const int status = partial ? 206 : 200;
  const std::uint64_t first = partial ? range.first : 0;
  const std::uint64_t length = partial ? range.length() : size;

  bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(status), ex.version};
  res.set(bhttp::field::content_type, r.content_type);
  res.set(bhttp::field::accept_ranges, "bytes");
  if (!file.download_name.empty()) {
    res.set(bhttp::field::content_disposition, content_disposition(file.download_name));
  }
  if (partial) res.set(bhttp::field::content_range, content_range(range, size));
  for (const auto& [k, v] : r.headers) res.insert(k, v);
  stamp_response(res, ex, s.is_stopping());
  res.content_length(length);  // set by hand: the body is written below, not by the serializer
  bhttp::response_serializer<bhttp::empty_body> sr{res};
  conn.stream.expires_after(s.opts.request_timeout);
  auto [ec, n] = co_await bhttp::async_write_header(conn.stream, sr, kTuple);
  bool ok = !ec;
  if (ok && !ex.head) ok = co_await stream_bytes(s, conn, ex, file, opened.fd.get(), first, length);
  record(s, ex, status);
  co_return ok&& res.keep_alive();
}

}  // namespace tb::http
