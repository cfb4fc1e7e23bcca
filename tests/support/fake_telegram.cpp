#include "support/fake_telegram.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <thread>

#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"

namespace tb::test {
namespace fs = std::filesystem;

namespace {

std::string script_path() {
  if (const char* src = std::getenv("TB_SOURCE_DIR"); src && *src) {
    return std::string(src) + "/tests/support/fake_telegram.py";
  }
  return (fs::path(__FILE__).parent_path() / "fake_telegram.py").string();
}

}  // namespace

FakeTelegram::FakeTelegram(std::string token) : token_(std::move(token)) {
  dir_ = make_temp_dir("tb-fake-telegram");
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/bin/python3", script_path(), token_, dir_ + "/data"},
      std::map<std::string, std::string>{}, dir_ + "/output.log");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    auto text = process_->output();
    if (auto at = text.find("PORT ");
        at != std::string::npos && text.find('\n', at) != std::string::npos) {
      port_ = std::stoi(text.substr(at + 5));
      break;
    }
    if (!process_->running()) throw std::runtime_error("the fake Telegram server exited: " + text);
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("the fake Telegram server did not start: " + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

FakeTelegram::~FakeTelegram() {
  process_.reset();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void FakeTelegram::fault(const std::string& method, const std::string& kind, int count,
                         boost::json::object extra) {
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

void FakeTelegram::reset() {
  http_post_json(url() + "/_control/reset", "{}");
}

std::string FakeTelegram::log() const {
  return process_->output();
}

}  // namespace tb::test
