// A child process for tests: started with an argv and extra environment
// variables, stdin from /dev/null, stdout and stderr together in one file,
// signals unblocked and at their defaults (whatever the test process set).
// The destructor stops it (SIGTERM, then SIGKILL after a grace period) and
// reaps it, so no test leaves a zombie or a stray server behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace tb::test {

class ChildProcess {
 public:
  // argv[0] is the program's path (not searched in PATH). `env` is added to,
  // and overrides, the test process's environment. `output`: the file that
  // receives stdout and stderr; "" = a new temporary file, removed with the
  // object.
  ChildProcess(std::vector<std::string> argv, const std::map<std::string, std::string>& env = {},
               std::string output = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // False once it exited (and it is then reaped).
  bool running();
  void signal(int sig);
  // Waits for the exit; returns the exit code (128 + signal when killed), or
  // -1 when it is still running after `timeout`.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // SIGTERM; SIGKILL when still running after `grace`; reaped either way.
  // Returns what wait() returns.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(20));

  const std::string& output_path() const { return output_; }
  std::string output() const;  // everything it wrote so far

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
  std::string output_;
  std::string own_dir_;  // the temporary folder of a self-chosen output file
};

// Runs `command` with /bin/sh -c to completion; returns its stdout and
// stderr; throws std::runtime_error with them when it exits non-zero.
std::string run_shell(const std::string& command);

// The whole content of a file ("" when it does not exist).
std::string read_text_file(const std::string& path);

}  // namespace tb::test
