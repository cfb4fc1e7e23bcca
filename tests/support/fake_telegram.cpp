#include "support/fake_telegram.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"

extern char** environ;

namespace tb::test {
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string script_path() {
  if (const char* src = std::getenv("TB_SOURCE_DIR"); src && *src) {
    return std::string(src) + "/tests/support/fake_telegram.py";
  }
  return (fs::path(__FILE__).parent_path() / "fake_telegram.py").string();
}

}  // namespace

FakeTelegram::FakeTelegram(std::string token) : token_(std::move(token)) {
  dir_ = make_temp_dir("tb-fake-telegram");
  std::string python = "/usr/bin/python3";
  std::string script = script_path();
  std::string data = dir_ + "/data";
  std::string out = dir_ + "/stdout";
  std::string err = dir_ + "/stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  char* argv[] = {python.data(), script.data(), token_.data(), data.data(), nullptr};
  int rc = posix_spawn(&pid_, python.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("cannot start the fake Telegram server: " + std::to_string(rc));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    auto text = slurp(out);
    if (auto at = text.find("PORT "); at != std::string::npos && text.find('\n', at) != std::string::npos) {
      port_ = std::stoi(text.substr(at + 5));
      break;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("the fake Telegram server exited: " + slurp(err));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("the fake Telegram server did not start: " + slurp(err));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

FakeTelegram::~FakeTelegram() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void FakeTelegram::fault(const std::string& method, const std::string& kind, int count, boost::json::object extra) {
  extra["method"] = method;
  extra["kind"] = kind;
  extra["count"] = count;
  auto r = http_post_json(url() + "/_control/fault", boost::json::serialize(extra));
  if (r.status != 200) throw std::runtime_error("fake Telegram: fault not accepted: " + r.body);
}

boost::json::object FakeTelegram::state() const {
  auto r = http_get(url() + "/_control/state");
  if (r.status != 200) throw std::runtime_error("fake Telegram: state: " + r.body);
  return r.json().as_object();
}

void FakeTelegram::reset() { http_post_json(url() + "/_control/reset", "{}"); }

std::string FakeTelegram::log() const { return slurp(dir_ + "/stderr"); }

}  // namespace tb::test
