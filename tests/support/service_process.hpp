// The real tenant-backup binary as a child process for e2e tests: started
// with an environment of the test's choosing, its stdout/stderr kept in a log
// file, its address read from the "LISTENING host:port" line that `serve`
// prints. Stopped with SIGTERM (then SIGKILL) by the destructor.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "support/child_process.hpp"

namespace tb::test {

// Path of the binary under test: $TB_BINARY (set by CTest).
std::string binary_path();

class ServiceProcess {
 public:
  // Starts `binary args...`; with wait_for_listen, blocks until it printed LISTENING.
  ServiceProcess(std::vector<std::string> args, std::map<std::string, std::string> env,
                 bool wait_for_listen = true);
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  const std::string& base_url() const { return base_url_; }
  pid_t pid() const { return child_.pid(); }
  void signal(int sig) { child_.signal(sig); }
  // Waits for exit; returns the exit status (128 + signal when killed), -1 on timeout.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return child_.wait(timeout);
  }
  std::string log() const { return child_.output(); }  // everything it wrote so far
  // Polls the log until it contains one of `any_of`; false when none
  // appeared within `timeout`.
  bool wait_for_log(const std::vector<std::string>& any_of,
                    std::chrono::milliseconds timeout = std::chrono::seconds(120)) const;

 private:
  ChildProcess child_;
  std::string base_url_;
};

// Runs the binary to completion (e.g. `migrate`, `token`); returns stdout, throws on failure.
std::string run_binary(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env);

// `tenant-backup token <args>`: the minted JWT (the last line it printed).
std::string mint_token(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env);

}  // namespace tb::test
