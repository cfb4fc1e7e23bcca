// The HTTP server end to end on 127.0.0.1 (port 0): real sockets, libcurl as
// the client, raw sockets where curl would hide what we test (slowloris,
// pipelining, a body sent without waiting for 100-continue).
#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <random>
#include <thread>

#include "http/server.hpp"

namespace tb::http {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

struct Reply {
  long status = 0;
  std::string body;
  std::multimap<std::string, std::string> headers;  // lower-case names
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

size_t on_body(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

size_t on_header(char* p, size_t size, size_t n, void* out) {
  std::string line(p, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    static_cast<Reply*>(out)->headers.emplace(name, value);
  }
  return size * n;
}

Reply fetch(const std::string& url, const std::string& method = "GET", const std::string& body = {},
            std::vector<std::string> headers = {}) {
  CURL* c = curl_easy_init();
  Reply r;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
  if (method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (!body.empty() || method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  auto rc = curl_easy_perform(c);
  if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK) r.body = std::string("curl: ") + curl_easy_strerror(rc);
  return r;
}

std::string error_code_of(const Reply& r) {
  try {
    return std::string(boost::json::parse(r.body).at("error").at("code").as_string());
  } catch (...) {
    return "<not an error envelope: " + r.body + ">";
  }
}

// A raw TCP client for what curl would hide.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool send(std::string_view s) {
    while (!s.empty()) {
      auto n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads until `until` appears `count` times, EOF, or the timeout. Returns what was read.
  std::string read(std::chrono::milliseconds timeout, std::string_view until = {}, int count = 1) {
    std::string out;
    const auto deadline = SteadyClock::now() + timeout;
    while (SteadyClock::now() < deadline) {
      if (!until.empty() && occurrences(out, until) >= count) break;
      pollfd p{fd_, POLLIN, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0) continue;
      char buf[65536];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof_ = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  bool eof() const { return eof_; }

  static int occurrences(std::string_view hay, std::string_view needle) {
    int n = 0;
    for (auto pos = hay.find(needle); pos != std::string_view::npos; pos = hay.find(needle, pos + 1)) ++n;
    return n;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
};

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("tb_http_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    // A multi-MB file of random bytes (not a multiple of the chunk size).
    file_path_ = (dir_ / "backup.bin").string();
    std::mt19937_64 rng(42);
    file_.resize(5 * 1024 * 1024 + 12345);
    for (auto& c : file_) c = static_cast<char>(rng());
    std::ofstream(file_path_, std::ios::binary).write(file_.data(), static_cast<std::streamsize>(file_.size()));
  }

  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::vector<Route> routes() {
    return {
        {"GET", "/api/items/{id}", RateClass::kRead,
         [](Request& req) {
           boost::json::object o{{"id", req.params.at("id")}, {"client_ip", req.client_ip},
                                 {"request_id", req.request_id}};
           if (auto it = req.query.find("q"); it != req.query.end()) o["q"] = it->second;
           return json_data(o);
         }},
        {"DELETE", "/api/items/{id}", RateClass::kRead, [](Request&) { return json_data(nullptr); }},
        {"POST", "/api/echo", RateClass::kRead,
         [](Request& req) { return json_data(boost::json::value{{"body", req.body}}); }},
        {"POST", "/api/work", RateClass::kWork, [](Request&) { return json_data("started", 202); }},
        {"GET", "/api/fail/{kind}", RateClass::kNone,
         [](Request& req) -> Response {
           if (req.params.at("kind") == "conflict") {
             throw Error(ErrorCode::kConflict, "a restore is already running", "SELECT pg_secret()");
           }
           throw std::runtime_error("/var/lib/secret/path exploded");
         }},
        {"GET", "/api/slow", RateClass::kNone,
         [this](Request&) {
           ++slow_started_;
           // Sleeps slow_ms_, or less when a test releases it.
           const auto until = SteadyClock::now() + std::chrono::milliseconds(slow_ms_);
           while (!release_slow_ && SteadyClock::now() < until) std::this_thread::sleep_for(5ms);
           ++slow_finished_;
           return json_data("slow");
         }},
        {"GET", "/files/backup", RateClass::kNone,
         [this](Request&) { return file_response(file_path_, "backup \"1\".bin"); }},
        {"GET", "/files/missing", RateClass::kNone,
         [this](Request&) { return file_response((dir_ / "nope").string(), "x"); }},
    };
  }

  void start(ServerOptions o = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    if (o.clock == nullptr) o.clock = &clock_;
    server_ = std::make_unique<Server>(o, Router(routes()), registry_);
    server_->start();
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }

  ManualClock clock_;
  metrics::Registry registry_;
  std::unique_ptr<Server> server_;
  std::string base_;
  std::filesystem::path dir_;
  std::string file_path_;
  std::string file_;
  std::atomic<int> slow_started_{0};
  std::atomic<int> slow_finished_{0};
  std::atomic<bool> release_slow_{false};
  int slow_ms_ = 1000;
};

TEST_F(ServerTest, JsonRouteWithParamsQueryAndStandardHeaders) {
  start();
  auto r = fetch(base_ + "/api/items/a%20b?q=hello%20world&x=1", "GET", {}, {"X-Request-Id: my-req_1"});
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = boost::json::parse(r.body);
  EXPECT_EQ(v.at("data").at("id").as_string(), "a b");
  EXPECT_EQ(v.at("data").at("q").as_string(), "hello world");
  EXPECT_EQ(v.at("data").at("client_ip").as_string(), "127.0.0.1");
  EXPECT_EQ(v.at("data").at("request_id").as_string(), "my-req_1");
  EXPECT_EQ(r.header("x-request-id"), "my-req_1");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("cache-control"), "no-store");
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.header("ratelimit-policy"), "1200;w=60");

  // An insane request id is replaced by a generated one.
  r = fetch(base_ + "/api/items/1", "GET", {}, {"X-Request-Id: bad id\" <script>"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-request-id").size(), 36u) << r.header("x-request-id");
}

TEST_F(ServerTest, NotFoundAndMethodNotAllowedUseTheEnvelope) {
  start();
  auto r = fetch(base_ + "/api/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code_of(r), "NOT_FOUND");
  r = fetch(base_ + "/api/items/1", "PUT", "{}", {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(error_code_of(r), "METHOD_NOT_ALLOWED");
  EXPECT_EQ(r.header("allow"), "DELETE, GET, HEAD");
}

TEST_F(ServerTest, BodyOverTheLimitIs413) {
  start();
  std::string big(70 * 1024, 'x');
  big = "\"" + big + "\"";
  auto r = fetch(base_ + "/api/echo", "POST", big, {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(error_code_of(r), "PAYLOAD_TOO_LARGE");
  // Just under the limit is fine.
  std::string ok = "\"" + std::string(60 * 1024, 'y') + "\"";
  r = fetch(base_ + "/api/echo", "POST", ok, {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(boost::json::parse(r.body).at("data").at("body").as_string().size(), ok.size());

  // A client that sends the whole body at once (no 100-continue) still reads
  // the 413 instead of a connection reset.
  RawClient raw(server_->port());
  ASSERT_TRUE(raw.connected());
  raw.send("POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(big.size()) + "\r\n\r\n" + big);
  auto text = raw.read(5s, "}}");
  EXPECT_EQ(text.rfind("HTTP/1.1 413", 0), 0u) << text.substr(0, 200);

  // Chunked bodies have no Content-Length: the limit applies while reading.
  RawClient chunked(server_->port());
  std::string req = "POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 70; ++i) req += "400\r\n" + std::string(1024, 'z') + "\r\n";
  req += "0\r\n\r\n";
  chunked.send(req);
  text = chunked.read(5s, "}}");
  EXPECT_EQ(text.rfind("HTTP/1.1 413", 0), 0u) << text.substr(0, 200);
}

TEST_F(ServerTest, NonJsonBodyIs415) {
  start();
  auto r = fetch(base_ + "/api/echo", "POST", "hello", {"Content-Type: text/plain"});
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(error_code_of(r), "UNSUPPORTED_MEDIA_TYPE");
  r = fetch(base_ + "/api/echo", "POST", "{}", {"Content-Type: Application/JSON; charset=utf-8"});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(ServerTest, WorkRoutesAreRateLimitedPerClient) {
  ServerOptions o;
  o.work_limit_per_minute = 3;
  o.trusted_proxies = {"127.0.0.1"};
  start(o);
  for (int i = 0; i < 3; ++i) {
    auto r = fetch(base_ + "/api/work", "POST");
    ASSERT_EQ(r.status, 202) << i << r.body;
    EXPECT_EQ(r.header("ratelimit-policy"), "3;w=60");
    EXPECT_EQ(r.header("ratelimit"), "limit=3, remaining=" + std::to_string(2 - i) + ", reset=" +
                                         std::to_string(20 * (i + 1)));
  }
  auto r = fetch(base_ + "/api/work", "POST");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(error_code_of(r), "RATE_LIMITED");
  EXPECT_EQ(r.header("retry-after"), "20");
  EXPECT_EQ(r.header("ratelimit"), "limit=3, remaining=0, reset=60");
  // Reads have their own budget.
  EXPECT_EQ(fetch(base_ + "/api/items/1").status, 200);
  // Another client behind the trusted proxy has its own budget.
  r = fetch(base_ + "/api/work", "POST", {}, {"X-Forwarded-For: 198.51.100.4"});
  EXPECT_EQ(r.status, 202);
  // The window moves on with the (injected) clock.
  clock_.advance(20s);
  EXPECT_EQ(fetch(base_ + "/api/work", "POST").status, 202);
  EXPECT_EQ(fetch(base_ + "/api/work", "POST").status, 429);
}

TEST_F(ServerTest, ClientIpFromTrustedProxyOnly) {
  ServerOptions o;
  o.trusted_proxies = {"127.0.0.0/8"};
  start(o);
  auto r = fetch(base_ + "/api/items/1", "GET", {}, {"X-Forwarded-For: 6.6.6.6, 203.0.113.9"});
  EXPECT_EQ(boost::json::parse(r.body).at("data").at("client_ip").as_string(), "203.0.113.9");
  server_.reset();
  start();  // no trusted proxies: the header is ignored
  r = fetch(base_ + "/api/items/1", "GET", {}, {"X-Forwarded-For: 203.0.113.9"});
  EXPECT_EQ(boost::json::parse(r.body).at("data").at("client_ip").as_string(), "127.0.0.1");
}

TEST_F(ServerTest, HandlerErrorsAreRenderedWithoutInternals) {
  start();
  auto r = fetch(base_ + "/api/fail/conflict");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_code_of(r), "CONFLICT");
  EXPECT_NE(r.body.find("a restore is already running"), std::string::npos);
  EXPECT_EQ(r.body.find("pg_secret"), std::string::npos);
  r = fetch(base_ + "/api/fail/other");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(error_code_of(r), "INTERNAL");
  EXPECT_EQ(r.body.find("secret"), std::string::npos) << r.body;
}

TEST_F(ServerTest, FileDownloadFullRangeAndHead) {
  start();
  auto r = fetch(base_ + "/files/backup");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == file_) << "full download differs; got " << r.body.size() << " bytes";
  EXPECT_EQ(r.header("accept-ranges"), "bytes");
  EXPECT_EQ(r.header("content-length"), std::to_string(file_.size()));
  EXPECT_EQ(r.header("content-type"), "application/octet-stream");
  EXPECT_EQ(r.header("content-disposition"), "attachment; filename=\"backup _1_.bin\"");

  r = fetch(base_ + "/files/backup", "GET", {}, {"Range: bytes=1000-2999"});
  ASSERT_EQ(r.status, 206);
  EXPECT_EQ(r.body, file_.substr(1000, 2000));
  EXPECT_EQ(r.header("content-range"), "bytes 1000-2999/" + std::to_string(file_.size()));

  r = fetch(base_ + "/files/backup", "GET", {}, {"Range: bytes=-100"});
  ASSERT_EQ(r.status, 206);
  EXPECT_EQ(r.body, file_.substr(file_.size() - 100));

  r = fetch(base_ + "/files/backup", "GET", {}, {"Range: bytes=4000000-"});  // across chunk boundaries
  ASSERT_EQ(r.status, 206);
  EXPECT_TRUE(r.body == file_.substr(4000000));

  r = fetch(base_ + "/files/backup", "GET", {}, {"Range: bytes=" + std::to_string(file_.size()) + "-"});
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.header("content-range"), "bytes */" + std::to_string(file_.size()));

  r = fetch(base_ + "/files/backup", "HEAD");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-length"), std::to_string(file_.size()));
  EXPECT_TRUE(r.body.empty());

  r = fetch(base_ + "/files/missing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code_of(r), "NOT_FOUND");
  EXPECT_EQ(r.body.find(dir_.string()), std::string::npos);
}

TEST_F(ServerTest, KeepAliveAndPipelining) {
  start();
  RawClient c(server_->port());
  ASSERT_TRUE(c.connected());
  c.send("GET /api/items/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /api/items/2 HTTP/1.1\r\nHost: x\r\n\r\n"
         "HEAD /api/items/3 HTTP/1.1\r\nHost: x\r\n\r\n");
  auto text = c.read(5s, "HTTP/1.1 200", 3);
  EXPECT_EQ(RawClient::occurrences(text, "HTTP/1.1 200"), 3) << text;
  auto one = text.find("\"id\":\"1\"");
  auto two = text.find("\"id\":\"2\"");
  EXPECT_NE(one, std::string::npos);
  EXPECT_NE(two, std::string::npos);
  EXPECT_LT(one, two);  // answered in order
  EXPECT_EQ(text.find("\"id\":\"3\""), std::string::npos);  // HEAD: no body
  // Still open for a fourth request on the same connection.
  c.send("GET /api/items/4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  text = c.read(5s);
  EXPECT_NE(text.find("\"id\":\"4\""), std::string::npos) << text;
  EXPECT_TRUE(c.eof());
}

TEST_F(ServerTest, OversizedHeadersAreRefused) {
  start();
  RawClient c(server_->port());
  c.send("GET /api/items/1 HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  auto text = c.read(5s);
  EXPECT_EQ(text.rfind("HTTP/1.1 431", 0), 0u) << text.substr(0, 100);
  EXPECT_TRUE(c.eof());
}

TEST_F(ServerTest, SlowlorisIsDroppedWhileOthersAreServed) {
  ServerOptions o;
  o.header_timeout = 2s;
  o.io_threads = 1;
  start(o);
  RawClient slow(server_->port());
  ASSERT_TRUE(slow.connected());
  // One byte per 300 ms: the whole header would take ~27 s to arrive, so a
  // drop before its last byte is the 2 s header timeout at work.
  const std::string request =
      "GET /api/items/1 HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
  const auto t0 = SteadyClock::now();
  std::atomic<std::size_t> sent{0};
  std::atomic<bool> dropped{false};
  std::string answer;
  std::thread dribble([&] {
    for (char ch : request) {
      if (!slow.send(std::string_view(&ch, 1))) break;
      ++sent;
      answer += slow.read(300ms);  // also notices the close
      if (slow.eof()) break;
    }
    dropped = slow.eof();
  });
  // Meanwhile another client is served on the same single I/O thread: its
  // answer comes while the slowloris is still connected.
  while (sent == 0) std::this_thread::sleep_for(5ms);
  auto r = fetch(base_ + "/api/items/2");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(dropped.load()) << "the other client was only served once the slowloris was dropped";
  dribble.join();
  EXPECT_TRUE(dropped.load());
  EXPECT_LT(sent.load(), request.size()) << "dropped only after the whole header arrived";
  EXPECT_TRUE(answer.empty()) << answer;  // dropped without an answer
  EXPECT_GE(SteadyClock::now() - t0, 1900ms);
}

TEST_F(ServerTest, IdleKeepAliveConnectionsAreClosed) {
  ServerOptions o;
  o.idle_timeout = 1s;
  start(o);
  RawClient c(server_->port());
  c.send("GET /api/items/1 HTTP/1.1\r\nHost: x\r\n\r\n");
  auto text = c.read(20s, "}}");
  ASSERT_NE(text.find("200"), std::string::npos);
  // Closed by the 1 s idle timeout: a connection left open would only end
  // this read after 60 s.
  const auto t0 = SteadyClock::now();
  EXPECT_EQ(c.read(60s), "");
  EXPECT_TRUE(c.eof());
  EXPECT_GE(SteadyClock::now() - t0, 900ms);
}

TEST_F(ServerTest, HandlersDoNotBlockTheIoThread) {
  ServerOptions o;
  o.io_threads = 1;
  start(o);
  slow_ms_ = 60'000;  // held until released below (the bound only stops a broken server hanging the test)
  auto slow = std::async(std::launch::async, [&] { return fetch(base_ + "/api/slow"); });
  while (slow_started_ == 0) std::this_thread::sleep_for(5ms);
  // Answered while the slow handler still runs: no timing involved.
  EXPECT_EQ(fetch(base_ + "/api/items/1").status, 200);
  EXPECT_EQ(slow_finished_, 0);
  release_slow_ = true;
  EXPECT_EQ(slow.get().status, 200);
}

TEST_F(ServerTest, StopLetsInFlightRequestsFinish) {
  slow_ms_ = 60'000;  // held until released below
  ServerOptions o;
  o.shutdown_timeout = 60s;
  start(o);
  RawClient idle(server_->port());  // an idle keep-alive connection must not hold up shutdown
  ASSERT_TRUE(idle.connected());
  auto slow = std::async(std::launch::async, [&] { return fetch(base_ + "/api/slow"); });
  while (slow_started_ == 0) std::this_thread::sleep_for(5ms);
  auto stopped = std::async(std::launch::async, [&] { server_->stop(); });
  // The idle connection is closed at once, while the request is still in flight.
  idle.read(30s);
  EXPECT_TRUE(idle.eof());
  EXPECT_EQ(slow_finished_, 0);
  // stop() waits for the request in flight.
  EXPECT_EQ(stopped.wait_for(0s), std::future_status::timeout);
  release_slow_ = true;
  stopped.get();
  auto r = slow.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("connection"), "close");
  // No longer listening.
  RawClient late(server_->port());
  EXPECT_FALSE(late.connected() && late.send("GET / HTTP/1.1\r\n\r\n") && !late.read(1s).empty());
}

TEST_F(ServerTest, StopIsBoundedWhenAHandlerHangs) {
  slow_ms_ = 60'000;  // held until released below
  ServerOptions o;
  o.shutdown_timeout = 1s;
  start(o);
  RawClient client(server_->port());
  ASSERT_TRUE(client.connected());
  client.send("GET /api/slow HTTP/1.1\r\nHost: x\r\n\r\n");
  while (slow_started_ == 0) std::this_thread::sleep_for(5ms);
  // stop() returns only after the handler finished (it cannot be killed)...
  auto stopped = std::async(std::launch::async, [&] { server_->stop(); });
  // ...but the connection is closed after shutdown_timeout, while the handler
  // still runs: a server waiting for it would answer after 60 s instead.
  EXPECT_EQ(client.read(60s), "");
  EXPECT_TRUE(client.eof());
  EXPECT_EQ(slow_finished_, 0);
  release_slow_ = true;
  stopped.get();
}

TEST_F(ServerTest, MetricsByRoutePattern) {
  start();
  fetch(base_ + "/api/items/1");
  fetch(base_ + "/api/items/2");
  fetch(base_ + "/api/nothing");
  fetch(base_ + "/api/fail/conflict");
  // A request is recorded once its response is written, which may be just
  // after the client has read it: poll for a moment.
  const std::vector<std::string> want = {
      "tb_http_requests_total{method=\"GET\",route=\"/api/items/{id}\",status=\"200\"} 2\n",
      "tb_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1\n",
      "tb_http_requests_total{method=\"GET\",route=\"/api/fail/{kind}\",status=\"409\"} 1\n",
      "tb_http_request_duration_seconds_count{method=\"GET\",route=\"/api/items/{id}\"} 2\n",
  };
  std::string text;
  auto all_there = [&] {
    for (const auto& w : want) {
      if (text.find(w) == std::string::npos) return false;
    }
    return true;
  };
  for (int i = 0; i < 300 && !all_there(); ++i) {
    std::this_thread::sleep_for(10ms);
    text = registry_.render();
  }
  for (const auto& w : want) EXPECT_NE(text.find(w), std::string::npos) << w << "\nin:\n" << text;
}

}  // namespace
}  // namespace tb::http
