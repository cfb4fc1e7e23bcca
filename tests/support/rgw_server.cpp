#include "support/rgw_server.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "support/pg_cluster.hpp"

namespace tb::test {
namespace fs = std::filesystem;
namespace {

std::string support_dir() {
  if (const char* src = std::getenv("TB_SOURCE_DIR"); src && *src) {
    return std::string(src) + "/tests/support/s3";
  }
  return (fs::path(__FILE__).parent_path() / "s3").string();
}

// A port the kernel just handed out and released. rgw-up.sh refuses a port
// in use, and the constructor then tries other ones.
int unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string quote(const std::string& s) {
  return "'" + s + "'";
}

}  // namespace

RgwServer::RgwServer(std::string bucket) : bucket_(std::move(bucket)) {
  dir_ = make_temp_dir("tb-rgw");
  std::string last_error;
  for (int attempt = 0; attempt < 3 && endpoint_.empty(); ++attempt) {
    int port = unused_port();
    int mon_port = unused_port();
    auto t0 = std::chrono::steady_clock::now();
    try {
      std::string out =
          run_shell("CEPH_DIR=" + quote(dir_ + "/ceph") + " RGW_PORT=" + std::to_string(port) +
                    " MON_PORT=" + std::to_string(mon_port) + " RGW_BUCKET=" + quote(bucket_) +
                    " RGW_OWNER_PID=" + std::to_string(::getpid()) + " " +
                    quote(support_dir() + "/rgw-up.sh") + " 2>&1");
      start_time_ = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - t0);
      port_ = port;
      endpoint_ = "http://127.0.0.1:" + std::to_string(port);
    } catch (const std::exception& e) {
      last_error = e.what();
    }
  }
  if (endpoint_.empty()) throw std::runtime_error("radosgw did not start: " + last_error);
}

RgwServer::~RgwServer() {
  try {
    run_shell("CEPH_DIR=" + quote(dir_ + "/ceph") + " " + quote(support_dir() + "/rgw-down.sh"));
  } catch (...) {
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string S3Tool::run(const std::string& command, const std::string& arg, bool* missing) const {
  std::string cmd = "S3_TOOL_KEY=" + std::string(RgwServer::kAccessKey) +
                    " S3_TOOL_SECRET=" + RgwServer::kSecretKey + " /usr/bin/python3 " +
                    quote(support_dir() + "/s3_tool.py") + " " + quote(server_.endpoint()) + " " +
                    quote(server_.bucket()) + " " + command + " " + quote(arg);
  if (missing) {
    // exit 3: no such object
    std::string out = run_shell(cmd + "; echo \" EXIT=$?\"");
    auto at = out.rfind(" EXIT=");
    *missing = out.substr(at + 6, 1) == "3";
    if (!*missing && out.substr(at + 6, 1) != "0")
      throw std::runtime_error("s3_tool failed: " + out);
    return out.substr(0, at);
  }
  return run_shell(cmd);
}

boost::json::value S3Tool::get(const std::string& key) const {
  bool missing = false;
  auto out = run("get", key, &missing);
  return missing ? boost::json::value(nullptr) : boost::json::parse(out);
}

std::string S3Tool::text(const std::string& key) const {
  return run("text", key);
}

boost::json::value S3Tool::head(const std::string& key) const {
  bool missing = false;
  auto out = run("head", key, &missing);
  return missing ? boost::json::value(nullptr) : boost::json::parse(out);
}

std::vector<std::string> S3Tool::uploads(const std::string& prefix) const {
  std::vector<std::string> out;
  auto list = boost::json::parse(run("uploads", prefix));
  for (const auto& u : list.as_array()) {
    out.emplace_back(u.at("key").as_string());
  }
  return out;
}

std::vector<std::string> S3Tool::keys(const std::string& prefix) const {
  std::vector<std::string> out;
  auto list = boost::json::parse(run("keys", prefix));
  for (const auto& k : list.as_array()) out.emplace_back(k.as_string());
  return out;
}

FaultProxy::FaultProxy(int upstream_port, const std::string& mode, int count) {
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/bin/python3", support_dir() + "/fault_proxy.py",
                               std::to_string(upstream_port), mode, std::to_string(count)});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto text = process_->output();
    if (auto at = text.find("PORT ");
        at != std::string::npos && text.find('\n', at) != std::string::npos) {
      port_ = std::stoi(text.substr(at + 5));
      return;
    }
    if (!process_->running()) throw std::runtime_error("the fault proxy exited: " + text);
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("the fault proxy did not start");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int FaultProxy::faults() const {
  int n = 0;
  auto text = process_->output();
  for (std::size_t at = 0; (at = text.find("FAULT ", at)) != std::string::npos; ++at) ++n;
  return n;
}

}  // namespace tb::test
