#include "support/service_process.hpp"

#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace tb::test {
namespace {

std::vector<std::string> with_binary(const std::vector<std::string>& args) {
  std::vector<std::string> argv{binary_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

}  // namespace

std::string binary_path() {
  const char* p = std::getenv("TB_BINARY");
  if (p == nullptr) throw std::runtime_error("TB_BINARY is not set (run through ctest)");
  return p;
}

ServiceProcess::ServiceProcess(std::vector<std::string> args,
                               std::map<std::string, std::string> env, bool wait_for_listen)
    : child_(with_binary(args), env) {
  if (!wait_for_listen) return;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto text = child_.output();
    auto pos = text.find("LISTENING ");
    if (pos != std::string::npos) {
      auto end = text.find('\n', pos);
      if (end != std::string::npos) {
        base_url_ = "http://" + text.substr(pos + 10, end - pos - 10);
        return;
      }
    }
    if (!child_.running()) throw std::runtime_error("service exited before listening:\n" + text);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("service did not start listening within 60 s:\n" + child_.output());
}

bool ServiceProcess::wait_for_log(const std::vector<std::string>& any_of,
                                  std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto text = log();
    for (const auto& s : any_of) {
      if (text.find(s) != std::string::npos) return true;
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string run_binary(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env) {
  ChildProcess child(with_binary(args), env);
  int code = child.wait(std::chrono::minutes(10));
  auto out = child.output();
  if (code != 0) {
    throw std::runtime_error("tenant-backup " + (args.empty() ? "" : args[0]) + " failed (" +
                             std::to_string(code) + "):\n" + out);
  }
  return out;
}

std::string mint_token(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env) {
  std::vector<std::string> full{"token"};
  full.insert(full.end(), args.begin(), args.end());
  std::string out = run_binary(full, env);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  auto nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);
}

}  // namespace tb::test
