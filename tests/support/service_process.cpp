#include "support/service_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/pg_cluster.hpp"

extern char** environ;

namespace tb::test {
namespace {

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

pid_t spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env, int out_fd) {
  auto envs = merged_environment(env);
  std::vector<std::string> argv_s{binary_path()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, STDIN_FILENO);
    // Undo the test's blocked signals so SIGTERM reaches the child normally.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string binary_path() {
  const char* p = std::getenv("TB_BINARY");
  if (p == nullptr) throw std::runtime_error("TB_BINARY is not set (run through ctest)");
  return p;
}

ServiceProcess::ServiceProcess(std::vector<std::string> args, std::map<std::string, std::string> env,
                               bool wait_for_listen) {
  log_path_ = make_temp_dir("tb-service") + "/service.log";
  int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + log_path_);
  pid_ = spawn(args, env, fd);
  close(fd);
  if (!wait_for_listen) return;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto text = read_file(log_path_);
    auto pos = text.find("LISTENING ");
    if (pos != std::string::npos) {
      auto end = text.find('\n', pos);
      if (end != std::string::npos) {
        base_url_ = "http://" + text.substr(pos + 10, end - pos - 10);
        return;
      }
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      status_ = status;
      throw std::runtime_error("service exited before listening:\n" + text);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("service did not start listening within 60 s:\n" + read_file(log_path_));
}

ServiceProcess::~ServiceProcess() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGTERM);
    if (wait(std::chrono::seconds(20)) == -1) {
      ::kill(pid_, SIGKILL);
      wait(std::chrono::seconds(5));
    }
  }
}

void ServiceProcess::signal(int sig) { ::kill(pid_, sig); }

int ServiceProcess::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exited_) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      status_ = status;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

std::string ServiceProcess::log() const { return read_file(log_path_); }

std::string run_binary(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  auto dir = make_temp_dir("tb-run");
  auto path = dir + "/out.log";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_t pid = spawn(args, env, fd);
  close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  auto out = read_file(path);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("tenant-backup " + (args.empty() ? "" : args[0]) + " failed:\n" + out);
  }
  return out;
}

std::string mint_token(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  std::vector<std::string> full{"token"};
  full.insert(full.end(), args.begin(), args.end());
  std::string out = run_binary(full, env);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  auto nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);
}

}  // namespace tb::test
