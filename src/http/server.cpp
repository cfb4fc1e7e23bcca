#include "http/server.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/object.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <utility>

#include "core/ids.hpp"
#include "http/range.hpp"
#include "http/rate_limiter.hpp"
#include "http/trusted_proxies.hpp"

namespace tb::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kFileChunk = 256 * 1024;

// The server whose thread we are on (I/O thread or a handler running on its
// pool): stop() from there must not wait for itself.
thread_local const void* t_current_server = nullptr;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]);
    auto y = static_cast<unsigned char>(b[i]);
    if (std::tolower(x) != std::tolower(y)) return false;
  }
  return true;
}

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// "application/json" with optional parameters ("; charset=utf-8").
bool is_json_content_type(std::string_view ct) {
  auto semi = ct.find(';');
  auto type = ct.substr(0, semi);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return iequals(type, "application/json");
}

// Methods are a metric label: unknown ones collapse to "OTHER" to bound cardinality.
constexpr std::array<std::string_view, 7> kMethods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
std::size_t method_slot(std::string_view m) {
  for (std::size_t i = 0; i < kMethods.size(); ++i) {
    if (kMethods[i] == m) return i;
  }
  return kMethods.size();
}
std::string_view method_label(std::size_t slot) { return slot < kMethods.size() ? kMethods[slot] : "OTHER"; }

// Statuses with a lock-free counter cache slot; others go through the registry.
constexpr std::array<int, 18> kStatuses = {200, 201, 202, 204, 206, 400, 401, 403, 404,
                                           405, 409, 413, 415, 416, 429, 431, 500, 503};
std::optional<std::size_t> status_slot(int status) {
  for (std::size_t i = 0; i < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) return i;
  }
  return std::nullopt;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// A file response's file, opened and checked (FileBody::check) on the file pool.
struct OpenedFile {
  Fd fd;
  std::uint64_t size = 0;
  std::optional<Error> refused;  // the error to answer with instead
};

OpenedFile open_and_check(const FileBody& body, const std::string& request_id) {
  OpenedFile out;
  out.fd = Fd(::open(body.path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (out.fd.get() < 0 || ::fstat(out.fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
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
  }
  return out;
}

}  // namespace

struct Server::Impl {
  struct Conn {
    explicit Conn(tcp::socket&& s) : stream(std::move(s)) {}
    beast::tcp_stream stream;
    bool busy = false;  // a request is being handled; touched only on the connection's strand
  };

  // What the server knows about the request being answered (for headers, log, metrics).
  struct Exchange {
    Clock::time_point start;
    std::string method;
    std::string log_path;  // raw path without the query (which may hold tokens)
    std::string request_id;
    std::string client_ip;
    std::string user_agent;  // as sent: the log line escapes it
    unsigned version = 11;
    bool keep_alive = false;
    bool head = false;
    bool api = false;
    std::size_t route_slot = 0;  // routes().size() = unmatched
    std::vector<std::pair<std::string, std::string>> extra_headers;  // rate limit headers
  };

  // Metric handles per (route, method), filled lazily; the hot path only reads atomics.
  struct RouteMetrics {
    std::string label;
    std::array<std::atomic<metrics::Histogram*>, kMethods.size() + 1> duration{};
    std::array<std::array<std::atomic<metrics::Counter*>, kStatuses.size()>, kMethods.size() + 1> count{};
  };

  Impl(ServerOptions o, Router r, metrics::Registry& reg)
      : opts(std::move(o)),
        router(std::move(r)),
        registry(reg),
        clock(opts.clock ? *opts.clock : RealClock::instance()),
        proxies(opts.trusted_proxies),
        read_limiter(opts.read_limit_per_minute, clock),
        work_limiter(opts.work_limit_per_minute, clock),
        route_metrics(router.routes().size() + 1),
        pool(static_cast<std::size_t>(std::max(1, opts.handler_threads))),
        file_pool(static_cast<std::size_t>(std::max(1, opts.file_threads))) {
    for (std::size_t i = 0; i < router.routes().size(); ++i) route_metrics[i].label = router.routes()[i].pattern;
    route_metrics.back().label = "unmatched";
  }

  ServerOptions opts;
  Router router;
  metrics::Registry& registry;
  const tb::Clock& clock;
  TrustedProxies proxies;
  RateLimiter read_limiter;
  RateLimiter work_limiter;
  std::vector<RouteMetrics> route_metrics;

  std::mutex mu;  // guards conns and the stopping transition
  std::unordered_set<std::shared_ptr<Conn>> conns;
  std::atomic<bool> stopping{false};
  bool started = false;
  std::atomic<std::uint16_t> bound_port{0};

  // Declared after conns/mu: destroying the io_context destroys suspended
  // coroutine frames, whose clean-up touches them.
  asio::io_context ioc{std::max(1, opts.io_threads)};
  tcp::acceptor acceptor{asio::make_strand(ioc)};
  std::optional<asio::signal_set> signals;
  asio::thread_pool pool;
  asio::thread_pool file_pool;
  std::vector<std::thread> threads;
  std::mutex join_mu;
  bool joined = false;

  // ---- metrics and log ----------------------------------------------------

  void record(const Exchange& ex, int status) {
    const double seconds = std::chrono::duration<double>(Clock::now() - ex.start).count();
    auto& rm = route_metrics[ex.route_slot];
    const std::size_t ms = method_slot(ex.method);
    auto* h = rm.duration[ms].load(std::memory_order_acquire);
    if (h == nullptr) {
      h = &registry.histogram("tb_http_request_duration_seconds", "HTTP request duration in seconds.",
                              {{"route", rm.label}, {"method", std::string(method_label(ms))}});
      rm.duration[ms].store(h, std::memory_order_release);
    }
    h->observe(seconds);
    metrics::Counter* c = nullptr;
    auto ss = status_slot(status);
    if (ss) c = rm.count[ms][*ss].load(std::memory_order_acquire);
    if (c == nullptr) {
      c = &registry.counter("tb_http_requests_total", "HTTP requests by route, method and status.",
                            {{"route", rm.label},
                             {"method", std::string(method_label(ms))},
                             {"status", std::to_string(status)}});
      if (ss) rm.count[ms][*ss].store(c, std::memory_order_release);
    }
    c->inc();

    // Rounded to 10 µs: enough for a reader, and short in both formats.
    const double ms_elapsed = std::round(seconds * 100000.0) / 100.0;
    log::event(log::Level::kInfo, "http_request",
               {{"method", ex.method},
                {"path", ex.log_path},
                {"status", status},
                {"duration_ms", ms_elapsed},
                {"request_id", ex.request_id},
                {"client_ip", ex.client_ip},
                {"user_agent", ex.user_agent}});
  }

  // ---- writing ------------------------------------------------------------

  template <class Res>
  void common_headers(Res& res, const Exchange& ex) {
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Request-Id", ex.request_id);
    if (ex.api) res.set(bhttp::field::cache_control, "no-store");
    for (const auto& [k, v] : ex.extra_headers) res.insert(k, v);
    res.keep_alive(ex.keep_alive && !stopping.load(std::memory_order_relaxed));
  }

  asio::awaitable<bool> write_string(Conn& conn, Exchange& ex, Response& r) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), ex.version};
    res.set(bhttp::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res.insert(k, v);
    common_headers(res, ex);
    if (ex.head) {
      res.content_length(r.body.size());
    } else {
      res.body() = std::move(r.body);
      res.prepare_payload();
    }
    conn.stream.expires_after(opts.request_timeout);
    auto [ec, n] = co_await bhttp::async_write(conn.stream, res, kTuple);
    record(ex, r.status);
    co_return !ec && res.keep_alive();
  }

  asio::awaitable<bool> write_error(Conn& conn, Exchange& ex, const Error& e) {
    auto r = error_response(e, ex.request_id);
    co_return co_await write_string(conn, ex, r);
  }

  // Streams r.file in fixed chunks (memory stays bounded whatever the size),
  // after open_and_check() ran on the file pool.
  asio::awaitable<bool> write_file(Conn& conn, Exchange& ex, Response& r, std::string_view range_header) {
    OpenedFile opened = co_await asio::co_spawn(
        file_pool,
        [&]() -> asio::awaitable<OpenedFile> { co_return open_and_check(*r.file, ex.request_id); },
        asio::use_awaitable);
    if (opened.refused) co_return co_await write_error(conn, ex, *opened.refused);
    const Fd& fd = opened.fd;
    const auto size = opened.size;
    ByteRange range = parse_range(range_header, size);
    if (range.kind == ByteRange::kUnsatisfiable) {
      ex.extra_headers.emplace_back("Content-Range", content_range(range, size));
      Response err = error_response(Error(ErrorCode::kValidation, "requested range not satisfiable", {}, "Range"),
                                    ex.request_id);
      err.status = 416;
      co_return co_await write_string(conn, ex, err);
    }
    const int status = range.kind == ByteRange::kSatisfiable ? 206 : 200;
    const std::uint64_t first = range.kind == ByteRange::kSatisfiable ? range.first : 0;
    const std::uint64_t length = range.kind == ByteRange::kSatisfiable ? range.length() : size;

    bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(status), ex.version};
    res.set(bhttp::field::content_type, r.content_type);
    res.set(bhttp::field::accept_ranges, "bytes");
    if (!r.file->download_name.empty()) {
      res.set(bhttp::field::content_disposition, content_disposition(r.file->download_name));
    }
    if (status == 206) res.set(bhttp::field::content_range, content_range(range, size));
    for (const auto& [k, v] : r.headers) res.insert(k, v);
    common_headers(res, ex);
    res.content_length(length);  // set by hand: the body is written below, not by the serializer
    bhttp::response_serializer<bhttp::empty_body> sr{res};
    conn.stream.expires_after(opts.request_timeout);
    auto [ec, n] = co_await bhttp::async_write_header(conn.stream, sr, kTuple);
    bool ok = !ec;
    if (ok && !ex.head) {
      auto chunk = std::make_unique<char[]>(kFileChunk);
      std::uint64_t off = first;
      std::uint64_t left = length;
      while (left > 0) {
        // pread on the I/O thread: a bounded chunk, normally from the page
        // cache; a blocking pool hop per chunk would cost more than it saves.
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, kFileChunk));
        const ssize_t got = ::pread(fd.get(), chunk.get(), want, static_cast<off_t>(off));
        if (got <= 0) {
          // The file shrank or failed under us: the length is promised, so close.
          spdlog::error("http file read failed request_id={} path='{}' offset={}", ex.request_id,
                        r.file->path, off);
          ok = false;
          break;
        }
        conn.stream.expires_after(opts.request_timeout);
        auto [wec, wn] = co_await asio::async_write(conn.stream, asio::buffer(chunk.get(), static_cast<std::size_t>(got)),
                                                    kTuple);
        if (wec) {
          ok = false;
          break;
        }
        off += static_cast<std::uint64_t>(got);
        left -= static_cast<std::uint64_t>(got);
      }
    }
    record(ex, status);
    co_return ok && res.keep_alive();
  }

  // Answers with an error and closes without resetting: the client may still be
  // sending a body we refused, and closing with unread data makes TCP send a
  // reset that can destroy our response before the client reads it.
  asio::awaitable<void> reject_and_close(Conn& conn, Exchange& ex, Response r) {
    ex.keep_alive = false;
    co_await write_string(conn, ex, r);
    beast::error_code ec;
    conn.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::array<char, 16 * 1024> scratch;
    std::size_t drained = 0;
    conn.stream.expires_after(std::chrono::seconds(1));
    while (drained < 4 * 1024 * 1024) {
      auto [rec, n] = co_await conn.stream.async_read_some(asio::buffer(scratch), kTuple);
      if (rec) break;
      drained += n;
    }
  }

  // ---- handling -----------------------------------------------------------

  // Calls the route's handler; errors become the error envelope.
  Response invoke_handler(const Route& route, Request& req) {
    t_current_server = this;
    try {
      Response r = route.handler(req);
      t_current_server = nullptr;
      return r;
    } catch (const Error& e) {
      t_current_server = nullptr;
      if (e.code() == ErrorCode::kInternal || e.code() == ErrorCode::kUnavailable) {
        spdlog::error("http handler error request_id={} code={} message='{}' detail='{}'", req.request_id,
                      code_name(e.code()), e.message(), log::redact(e.detail()));
      } else if (!e.detail().empty()) {
        spdlog::info("http handler refused request_id={} code={} detail='{}'", req.request_id, code_name(e.code()),
                     log::redact(e.detail()));
      }
      return error_response(e, req.request_id);
    } catch (const std::exception& e) {
      t_current_server = nullptr;
      spdlog::error("http handler exception request_id={}: {}", req.request_id, log::redact(e.what()));
    } catch (...) {
      t_current_server = nullptr;
      spdlog::error("http handler threw a non-exception request_id={}", req.request_id);
    }
    return error_response(Error(ErrorCode::kInternal, "internal error"), req.request_id);
  }

  // Runs the handler on the pool; the coroutine resumes on the connection's
  // strand. (Running handlers inline on the I/O threads instead, with 2 or 8
  // of them, measured 30-40 % fewer requests/s for GET /api/jobs/{id}.)
  asio::awaitable<Response> run_handler(const Route& route, Request& req) {
    co_return co_await asio::co_spawn(
        pool, [this, &route, &req]() -> asio::awaitable<Response> { co_return invoke_handler(route, req); },
        asio::use_awaitable);
  }

  // Everything after the request was read. Returns whether to keep the connection.
  asio::awaitable<bool> handle(Conn& conn, bhttp::request<bhttp::string_body>& msg, Exchange& ex) {
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.request_id = ex.request_id;
    req.client_ip = ex.client_ip;
    auto url = boost::urls::parse_origin_form(req.target);
    if (!url) {
      co_return co_await write_error(conn, ex, Error(ErrorCode::kValidation, "malformed request target"));
    }
    req.path = url->path();
    boost::urls::encoding_opts form;
    form.space_as_plus = true;
    for (auto p : url->params(form)) req.query[p.key] = p.value;

    auto m = router.match(req.method, req.path);
    if (m.route == nullptr) {
      if (m.allow.empty()) co_return co_await write_error(conn, ex, Error(ErrorCode::kNotFound, "no such resource"));
      Response r = error_response(Error(ErrorCode::kMethodNotAllowed, "method not allowed"), ex.request_id);
      r.headers.emplace_back("Allow", m.allow);
      co_return co_await write_string(conn, ex, r);
    }
    ex.route_slot = m.index;
    const Route& route = *m.route;

    if (route.rate != RateClass::kNone) {
      auto& limiter = route.rate == RateClass::kWork ? work_limiter : read_limiter;
      if (limiter.limit() > 0) {
        auto d = limiter.check(ex.client_ip);
        ex.extra_headers.emplace_back("RateLimit-Policy", limiter.policy());
        ex.extra_headers.emplace_back("RateLimit", ratelimit_header(d));
        if (!d.allowed) {
          ex.extra_headers.emplace_back("Retry-After", std::to_string(d.retry_after.count()));
          co_return co_await write_error(conn, ex, Error(ErrorCode::kRateLimited, "too many requests, retry later"));
        }
      }
    }

    const auto method = msg.method();
    if ((method == bhttp::verb::post || method == bhttp::verb::put || method == bhttp::verb::patch) &&
        !msg.body().empty() && !is_json_content_type(msg[bhttp::field::content_type])) {
      co_return co_await write_error(
          conn, ex, Error(ErrorCode::kUnsupportedMedia, "request body must be application/json"));
    }

    req.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
    for (const auto& f : msg) req.headers.emplace_back(f.name_string(), f.value());
    req.body = std::move(msg.body());
    req.params = std::move(m.params);

    Response r = co_await run_handler(route, req);
    if (r.file && r.status == 200) {
      const std::string range = (method == bhttp::verb::get || method == bhttp::verb::head)
                                    ? std::string(msg[bhttp::field::range])
                                    : std::string();
      co_return co_await write_file(conn, ex, r, range);
    }
    co_return co_await write_string(conn, ex, r);
  }

  Exchange begin_exchange(const bhttp::request<bhttp::string_body>& h, const std::string& peer) {
    Exchange ex;
    ex.start = Clock::now();
    ex.method = std::string(h.method_string());
    auto target = h.target();
    ex.log_path = std::string(target.substr(0, target.find('?')));
    ex.api = ex.log_path.starts_with("/api/") || ex.log_path == "/api";
    auto rid = h["X-Request-Id"];
    ex.request_id = sane_request_id(rid) ? std::string(rid) : new_uuid();
    ex.user_agent = std::string(h[bhttp::field::user_agent].substr(0, 512));
    if (proxies.empty()) {
      ex.client_ip = peer;
    } else {
      std::string xff;
      for (auto [it, end] = h.equal_range("X-Forwarded-For"); it != end; ++it) {
        if (!xff.empty()) xff += ',';
        xff += it->value();
      }
      ex.client_ip = proxies.client_ip(peer, xff);
    }
    ex.version = h.version();
    ex.keep_alive = h.keep_alive();
    ex.head = h.method() == bhttp::verb::head;
    ex.route_slot = router.routes().size();
    return ex;
  }

  asio::awaitable<void> session(std::shared_ptr<Conn> conn) {
    auto& stream = conn->stream;
    std::string peer;
    {
      beast::error_code ec;
      auto ep = stream.socket().remote_endpoint(ec);
      if (!ec) {
        auto a = ep.address();
        peer = (a.is_v6() && a.to_v6().is_v4_mapped()) ? asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string()
                                                        : a.to_string();
      }
    }
    beast::flat_buffer buffer;
    bool first = true;
    while (!stopping.load(std::memory_order_relaxed)) {
      // Between requests the client may stay silent for idle_timeout; once the
      // first byte is in, the whole header must arrive within header_timeout
      // (a client dribbling bytes is dropped). The first request of a
      // connection has header_timeout from the accept.
      if (!first && buffer.size() == 0) {
        stream.expires_after(opts.idle_timeout);
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kTuple);
        if (ec) break;
        buffer.commit(n);
      }
      first = false;
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(opts.header_limit));
      parser.body_limit(opts.body_limit);
      stream.expires_after(opts.header_timeout);
      auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
      if (ec) {
        if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
            ec.category() != bhttp::make_error_code(bhttp::error::need_more).category()) {
          break;  // closed, timed out, cancelled or a socket error: nothing to answer
        }
        Exchange ex;
        ex.start = Clock::now();
        ex.request_id = new_uuid();
        ex.client_ip = peer;
        ex.route_slot = router.routes().size();
        if (parser.is_header_done()) ex = begin_exchange(parser.get(), peer);
        conn->busy = true;
        Response r;
        if (ec == bhttp::error::body_limit) {
          r = error_response(Error(ErrorCode::kPayloadTooLarge, "request body too large"), ex.request_id);
        } else if (ec == bhttp::error::header_limit) {
          r = error_response(Error(ErrorCode::kPayloadTooLarge, "request headers too large"), ex.request_id);
          r.status = 431;
        } else {
          r = error_response(Error(ErrorCode::kValidation, "malformed HTTP request"), ex.request_id);
        }
        co_await reject_and_close(*conn, ex, std::move(r));
        break;
      }
      conn->busy = true;
      Exchange ex = begin_exchange(parser.get(), peer);
      if (!parser.is_done()) {
        if (iequals(parser.get()[bhttp::field::expect], "100-continue")) {
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          stream.expires_after(opts.request_timeout);
          auto [cec, cn] = co_await asio::async_write(stream, asio::buffer(kContinue.data(), kContinue.size()), kTuple);
          if (cec) break;
        }
        stream.expires_after(opts.request_timeout);
        auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
        if (bec == bhttp::error::body_limit) {
          co_await reject_and_close(
              *conn, ex, error_response(Error(ErrorCode::kPayloadTooLarge, "request body too large"), ex.request_id));
          break;
        }
        if (bec) break;
      }
      bool keep = co_await handle(*conn, parser.get(), ex);
      conn->busy = false;
      if (!keep) break;
    }
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.socket().close(ec);
  }

  // ---- accepting and life cycle ------------------------------------------

  asio::awaitable<void> accept_loop() {
    while (!stopping.load()) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc), kTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
        // EMFILE and friends: back off instead of spinning.
        spdlog::warn("http accept failed: {}", ec.message());
        asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(100));
        co_await t.async_wait(kTuple);
        continue;
      }
      // Asio accepts with accept(2), not accept4(SOCK_CLOEXEC): mark the
      // connection close-on-exec so a program started later cannot keep it.
      (void)::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
      beast::error_code nec;
      socket.set_option(tcp::no_delay(true), nec);
      auto conn = std::make_shared<Conn>(std::move(socket));
      {
        std::lock_guard lock(mu);
        if (stopping.load()) break;
        conns.insert(conn);
      }
      auto ex = conn->stream.get_executor();
      asio::co_spawn(ex, run_session(std::move(conn)), [](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& x) {
            spdlog::error("http session failed: {}", x.what());
          }
        }
      });
    }
  }

  asio::awaitable<void> run_session(std::shared_ptr<Conn> conn) {
    struct Forget {
      Impl* self;
      std::shared_ptr<Conn> conn;
      ~Forget() {
        std::lock_guard lock(self->mu);
        self->conns.erase(conn);
      }
    } forget{this, conn};
    co_await session(std::move(conn));
  }

  std::size_t conn_count() {
    std::lock_guard lock(mu);
    return conns.size();
  }

  void initiate_stop() {
    std::vector<std::shared_ptr<Conn>> snapshot;
    {
      std::lock_guard lock(mu);
      if (stopping.exchange(true) || !started) return;
      snapshot.assign(conns.begin(), conns.end());
    }
    asio::post(acceptor.get_executor(), [this] {
      beast::error_code ec;
      acceptor.close(ec);
    });
    // Idle connections are closed now; busy ones finish their response
    // (with Connection: close) and then leave the loop.
    for (auto& c : snapshot) {
      asio::post(c->stream.get_executor(), [c] {
        if (!c->busy) c->stream.cancel();
      });
    }
    asio::co_spawn(ioc, drain(), [](std::exception_ptr) {});
  }

  asio::awaitable<void> drain() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto deadline = Clock::now() + opts.shutdown_timeout;
    while (conn_count() > 0 && Clock::now() < deadline) {
      timer.expires_after(std::chrono::milliseconds(10));
      co_await timer.async_wait(kTuple);
    }
    if (conn_count() > 0) {
      spdlog::warn("http shutdown: closing {} connection(s) still busy after {}s", conn_count(),
                   opts.shutdown_timeout.count());
      std::vector<std::shared_ptr<Conn>> snapshot;
      {
        std::lock_guard lock(mu);
        snapshot.assign(conns.begin(), conns.end());
      }
      // Closing the socket makes the client see the end at once; a handler
      // still running is waited for in join(), its response discarded.
      for (auto& c : snapshot) {
        asio::post(c->stream.get_executor(), [c] {
          beast::error_code ec;
          c->stream.socket().close(ec);
        });
      }
      timer.expires_after(std::chrono::milliseconds(50));
      co_await timer.async_wait(kTuple);
    }
    ioc.stop();
  }

  void join() {
    std::lock_guard lock(join_mu);
    if (joined) return;
    for (auto& t : threads) t.join();
    // Handlers still running after a forced shutdown finish here, before the
    // io_context (and the coroutine frames they reference) is destroyed.
    pool.join();
    file_pool.join();
    joined = true;
  }

  ~Impl() {
    std::lock_guard lock(mu);
    conns.clear();
  }
};

Server::Server(ServerOptions options, Router router, metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router), registry)) {}

Server::~Server() {
  stop();
  wait();
}

void Server::start() {
  auto& s = *impl_;
  const std::string where = s.opts.host + ":" + std::to_string(s.opts.port);
  beast::error_code ec;
  tcp::resolver resolver(s.ioc);
  auto results = resolver.resolve(s.opts.host, std::to_string(s.opts.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    throw Error(ErrorCode::kInternal, "cannot listen on '" + where + "'", ec.message());
  }
  auto ep = results.begin()->endpoint();
  // Opened close-on-exec (acceptor.open() would not be): a pg_dump started
  // by this process must not hold the port after the service exits.
  int listen_fd = ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, ep.protocol().protocol());
  if (listen_fd < 0) ec.assign(errno, boost::system::system_category());
  if (!ec) s.acceptor.assign(ep.protocol(), listen_fd, ec);
  if (ec && listen_fd >= 0) ::close(listen_fd);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw Error(ErrorCode::kInternal, "cannot listen on '" + where + "'", ec.message());
  s.bound_port = s.acceptor.local_endpoint().port();
  {
    std::lock_guard lock(s.mu);
    s.started = true;
  }
  asio::co_spawn(s.acceptor.get_executor(), s.accept_loop(), [](std::exception_ptr e) {
    if (e) spdlog::error("http accept loop ended with an exception");
  });
  for (int i = 0; i < std::max(1, s.opts.io_threads); ++i) {
    s.threads.emplace_back([&s] {
      t_current_server = &s;
      s.ioc.run();
    });
  }
  spdlog::info("http listening on {}:{}", s.opts.host, s.bound_port.load());
}

uint16_t Server::port() const { return impl_->bound_port.load(); }

void Server::stop() {
  impl_->initiate_stop();
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->started) {
      impl_->stopping = true;
      return;
    }
  }
  if (t_current_server != impl_.get()) wait();
}

void Server::wait() { impl_->join(); }

void Server::stop_on_signals() {
  auto& s = *impl_;
  s.signals.emplace(s.ioc, SIGINT, SIGTERM);
  s.signals->async_wait([&s](const beast::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("http: signal {} received, shutting down", sig);
    s.initiate_stop();
  });
}

}  // namespace tb::http
