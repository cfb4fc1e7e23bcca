#include "support/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/pg_cluster.hpp"

extern char** environ;

namespace tb::test {
namespace fs = std::filesystem;
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

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Owns the posix_spawn attribute objects for one call.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  explicit SpawnSetup(const std::string& output) {
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    posix_spawnattr_init(&attr);
    // A test may block or ignore signals (gtest threads, libcurl's SIGPIPE);
    // the child must get SIGTERM and SIGPIPE as any process does.
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int sig : {SIGTERM, SIGINT, SIGPIPE, SIGHUP, SIGCHLD}) sigaddset(&defaults, sig);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

}  // namespace

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ChildProcess::ChildProcess(std::vector<std::string> argv,
                           const std::map<std::string, std::string>& env, std::string output)
    : output_(std::move(output)) {
  if (argv.empty()) throw std::invalid_argument("ChildProcess: empty argv");
  if (output_.empty()) {
    own_dir_ = make_temp_dir("tb-child");
    output_ = own_dir_ + "/output.log";
  }
  auto envs = merged_environment(env);
  auto argp = pointers(argv);
  auto envp = pointers(envs);
  SpawnSetup setup(output_);
  int rc =
      posix_spawn(&pid_, argv[0].c_str(), &setup.actions, &setup.attr, argp.data(), envp.data());
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
}

ChildProcess::~ChildProcess() {
  stop();
  if (!own_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(own_dir_, ec);
  }
}

bool ChildProcess::running() {
  if (pid_ <= 0 || exited_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    exited_ = true;
    status_ = status;
  }
  return !exited_;
}

void ChildProcess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (pid_ <= 0) return -1;
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (running()) {
    ::kill(pid_, SIGTERM);
    // A stopped process only acts on SIGTERM once it continues.
    ::kill(pid_, SIGCONT);
    if (wait(grace) == -1) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      if (waitpid(pid_, &status, 0) == pid_) {
        exited_ = true;
        status_ = status;
      }
    }
  }
  return wait(std::chrono::milliseconds(0));
}

std::string ChildProcess::output() const {
  return read_text_file(output_);
}

std::string run_shell(const std::string& command) {
  ChildProcess child({"/bin/sh", "-c", command});
  int code = child.wait(std::chrono::hours(24));
  auto out = child.output();
  if (code != 0) {
    throw std::runtime_error("command failed (" + std::to_string(code) + "): " + command + "\n" +
                             out);
  }
  return out;
}

}  // namespace tb::test
