// The HTTP server suite's fixture and clients, shared by its test files: a
// Server on 127.0.0.1 (port 0) with a small route table (JSON, echo, a work
// route, failing and slow handlers, a file download), libcurl as the client
// (fetch), and a raw TCP client for what curl would hide.
#pragma once

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
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "http/server.hpp"

namespace tb::http::test {

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

inline size_t on_body(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

inline size_t on_header(char* p, size_t size, size_t n, void* out) {
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

inline Reply fetch(const std::string& url, const std::string& method = "GET",
                   const std::string& body = {}, std::vector<std::string> headers = {}) {
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

inline std::string error_code_of(const Reply& r) {
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
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
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
    for (auto pos = hay.find(needle); pos != std::string_view::npos;
         pos = hay.find(needle, pos + 1))
      ++n;
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
    std::ofstream(file_path_, std::ios::binary)
        .write(file_.data(), static_cast<std::streamsize>(file_.size()));
  }

  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::vector<Route> routes() {
    return {
        {"GET", "/api/items/{id}", RateClass::kRead,
         [](Request& req) {
           boost::json::object o{{"id", req.params.at("id")},
                                 {"client_ip", req.client_ip},
                                 {"request_id", req.request_id}};
           if (auto it = req.query.find("q"); it != req.query.end()) o["q"] = it->second;
           return json_data(o);
         }},
        {"DELETE", "/api/items/{id}", RateClass::kRead,
         [](Request&) { return json_data(nullptr); }},
        {"POST", "/api/echo", RateClass::kRead,
         [](Request& req) {
           return json_data(boost::json::value{{"body", req.body}});
         }},
        {"POST", "/api/work", RateClass::kWork, [](Request&) { return json_data("started", 202); }},
        {"GET", "/api/fail/{kind}", RateClass::kNone,
         [](Request& req) -> Response {
           if (req.params.at("kind") == "conflict") {
             throw Error(ErrorCode::kConflict, "a restore is already running",
                         "SELECT pg_secret()");
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

}  // namespace tb::http::test
