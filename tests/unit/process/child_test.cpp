// The child-process wrapper against real programs: argv is literal (no
// shell), timeouts and cancellation kill, stderr is a bounded tail, children
// are always reaped, no descriptor leaks and only allow-listed environment
// variables are inherited.
#include "process/child.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"

namespace tb::process {
namespace {

using namespace std::chrono_literals;

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// Designated initializers would trip -Wmissing-field-initializers (GCC 12).
Spec make(std::string program, std::vector<std::string> args = {}) {
  Spec spec;
  spec.program = std::move(program);
  spec.args = std::move(args);
  return spec;
}

std::string read_all(Child& c) {
  std::string out;
  std::array<std::byte, 4096> buf{};
  while (std::size_t n = c.read_stdout(buf))
    out.append(reinterpret_cast<const char*>(buf.data()), n);
  return out;
}

TEST(Child, ArgumentsWithShellMetacharactersArePassedLiterally) {
  std::vector<std::string> args = {
      "$(touch /tmp/tb-pwned)", "; rm -rf /", "`id`", "a b", "*", "'\"", "\\n"};
  Child c = Child::spawn(make("/bin/echo", args));
  std::string out = read_all(c);
  auto e = c.wait();
  EXPECT_TRUE(e.ok()) << e.describe();
  EXPECT_EQ(out, "$(touch /tmp/tb-pwned) ; rm -rf / `id` a b * '\" \\n\n");
  EXPECT_FALSE(std::filesystem::exists("/tmp/tb-pwned"));
}

TEST(Child, EnvironmentIsAddedAndRemoved) {
  ::setenv("TB_TEST_STRAY", "leak", 1);
  Child c = Child::spawn([] {
    Spec s = make("env");
    s.env_add = {{"TB_TEST_SECRET", "s3cr=t"}, {"HOME", "/nowhere"}};
    s.env_remove = {"TB_TEST_STRAY"};
    return s;
  }());
  std::string out = read_all(c);
  EXPECT_TRUE(c.wait().ok());
  EXPECT_NE(out.find("TB_TEST_SECRET=s3cr=t\n"), std::string::npos);
  EXPECT_NE(out.find("HOME=/nowhere\n"), std::string::npos);
  EXPECT_EQ(out.find("HOME=/root"), std::string::npos);
  EXPECT_EQ(out.find("TB_TEST_STRAY"), std::string::npos);
  ::unsetenv("TB_TEST_STRAY");
}

TEST(Child, OnlyAllowListedVariablesReachTheChild) {
  // The service's own settings, set the way a deployment sets them.
  const std::vector<std::pair<std::string, std::string>> ours = {
      {"JWT_SECRET", "jwt-SENTINEL"},
      {"TELEGRAM_BOT_TOKEN", "1:bot-SENTINEL"},
      {"SMTP_URL", "smtp://u:smtp-SENTINEL@x"},
      {"DOWNLOAD_LINK_SECRET", "link-SENTINEL"},
      {"METRICS_TOKEN", "metrics-SENTINEL"},
      {"PGPASSWORD", "inherited-pg-SENTINEL"},
      {"PGOPTIONS", "-c role=SENTINEL"},
      {"AWS_SECRET_ACCESS_KEY", "aws-SENTINEL"},
      {"PGHOST", "/run/tb-test"},
      {"PGSSLMODE", "verify-full"},
      {"LC_TIME", "C.UTF-8"}};
  for (const auto& [k, v] : ours) ::setenv(k.c_str(), v.c_str(), 1);
  Child c = Child::spawn([] {
    Spec s = make("/usr/bin/env");
    s.env_add = {{"PGPASSWORD", "from-the-conninfo"}};
    return s;
  }());
  std::string out = read_all(c);
  EXPECT_TRUE(c.wait().ok());
  for (const auto& [k, v] : ours) ::unsetenv(k.c_str());

  EXPECT_EQ(out.find("SENTINEL"), std::string::npos) << out;
  std::istringstream lines(out);
  std::set<std::string> names;
  for (std::string line; std::getline(lines, line);) names.insert(line.substr(0, line.find('=')));
  for (const auto& name : names) {
    EXPECT_TRUE(inherited_env_name(name) || name == "PGPASSWORD") << name << " reached the child";
  }
  EXPECT_NE(out.find("PATH="), std::string::npos);
  EXPECT_NE(out.find("PGHOST=/run/tb-test\n"), std::string::npos) << out;
  EXPECT_NE(out.find("PGSSLMODE=verify-full\n"), std::string::npos) << out;
  EXPECT_NE(out.find("LC_TIME=C.UTF-8\n"), std::string::npos) << out;
  EXPECT_NE(out.find("PGPASSWORD=from-the-conninfo\n"), std::string::npos) << out;
  EXPECT_FALSE(inherited_env_name("JWT_SECRET"));
  EXPECT_FALSE(inherited_env_name("PGPASSWORD"));
  EXPECT_FALSE(inherited_env_name("PGOPTIONS"));
  EXPECT_FALSE(inherited_env_name("HOME"));
}

TEST(Child, ExitCodeAndStderrTailAreBounded) {
  Child c = Child::spawn(make(
      "/bin/sh",
      {"-c", "head -c 100000 /dev/zero | tr '\\0' a >&2; echo 'pg_dump: error: END' >&2; exit 3"}));
  std::string out = read_all(c);
  auto e = c.wait();
  EXPECT_EQ(out, "");
  EXPECT_EQ(e.code, 3);
  EXPECT_EQ(e.signal, 0);
  EXPECT_FALSE(e.ok());
  EXPECT_LE(e.stderr_tail.size(), kStderrTail);
  EXPECT_GE(e.stderr_tail.size(), kStderrTail - 100);
  EXPECT_TRUE(e.stderr_tail.ends_with("aaapg_dump: error: END\n"))
      << e.stderr_tail.substr(e.stderr_tail.size() - 40);
}

TEST(Child, TimeoutTerminatesTheChild) {
  auto start = std::chrono::steady_clock::now();
  Child c = Child::spawn([] {
    Spec s = make("sleep", {"30"});
    s.timeout = 1s;
    return s;
  }());
  std::array<std::byte, 64> buf{};
  EXPECT_EQ(c.read_stdout(buf), 0u);
  auto e = c.wait();
  EXPECT_TRUE(e.timed_out);
  EXPECT_EQ(e.signal, SIGTERM);
  EXPECT_FALSE(e.ok());
  // Ended by the timeout (sleep 30 would have exited 0 on its own), not before it.
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1s);
}

TEST(Child, TimeoutAlsoAppliesToWait) {
  Child c = Child::spawn([] {
    Spec s = make("sleep", {"30"});
    s.timeout = 1s;
    s.stdout_pipe = false;
    return s;
  }());
  auto e = c.wait();
  EXPECT_TRUE(e.timed_out);
  EXPECT_EQ(e.signal, SIGTERM);
}

TEST(Child, SigtermIgnoredMeansSigkillAfterGrace) {
  Child c = Child::spawn(make("/bin/sh", {"-c", "trap '' TERM; echo ready; exec sleep 30"}));
  std::array<std::byte, 64> buf{};
  ASSERT_GT(c.read_stdout(buf), 0u);  // the trap is installed
  auto start = std::chrono::steady_clock::now();
  c.terminate(300ms);
  auto e = c.wait();
  // SIGKILL (sleep 30 would have exited 0 on its own), after the grace period.
  EXPECT_EQ(e.signal, SIGKILL);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
}

TEST(Child, CancelFlagStopsTheChild) {
  std::atomic<bool> cancel{false};
  Child c = Child::spawn([&] {
    Spec s = make("sleep", {"30"});
    s.cancel = &cancel;
    return s;
  }());
  std::thread t([&] {
    std::this_thread::sleep_for(200ms);
    cancel = true;
  });
  std::array<std::byte, 64> buf{};
  EXPECT_EQ(c.read_stdout(buf), 0u);
  t.join();
  auto e = c.wait();
  EXPECT_TRUE(e.cancelled);
  EXPECT_FALSE(e.ok());
}

TEST(Child, StdinPipeCarriesData) {
  Child c = Child::spawn([] {
    Spec s = make("wc", {"-c"});
    s.stdin_pipe = true;
    return s;
  }());
  std::string chunk(1024 * 1024, 'x');
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.write_stdin({reinterpret_cast<const std::byte*>(chunk.data()), chunk.size()}));
  }
  c.close_stdin();
  EXPECT_EQ(read_all(c), "5242880\n");
  EXPECT_TRUE(c.wait().ok());
}

// With pipe_batch_wait the reader naps after a short read and the writer
// after a full pipe: every byte still arrives, in order, through both pipes.
// Read in 1 MiB blocks, as the export does (read_all's 4 KiB reads are never
// short enough to nap).
TEST(Child, BatchedPipesCarryEveryByteInOrder) {
  Child c = Child::spawn([] {
    Spec s = make("cat", {});
    s.stdin_pipe = true;
    s.pipe_batch_wait = 1ms;
    return s;
  }());
  std::string sent;
  for (int i = 0; i < 3 * 1024 * 1024 / 16; ++i) sent += "line " + std::to_string(i % 99999) + "\n";
  std::string received;
  std::thread writer([&] {
    for (std::size_t at = 0; at < sent.size(); at += 100 * 1000) {
      auto part = std::string_view(sent).substr(at, 100 * 1000);
      ASSERT_TRUE(c.write_stdin({reinterpret_cast<const std::byte*>(part.data()), part.size()}));
    }
    c.close_stdin();
  });
  std::vector<std::byte> buf(1 << 20);
  while (std::size_t n = c.read_stdout(buf))
    received.append(reinterpret_cast<char*>(buf.data()), n);
  writer.join();
  EXPECT_EQ(received.size(), sent.size());
  EXPECT_TRUE(received == sent);
  EXPECT_TRUE(c.wait().ok());
}

TEST(Child, WritingToAChildThatExitedReportsItsStatusNotSigpipe) {
  Child c = Child::spawn([] {
    Spec s = make("/bin/sh", {"-c", "echo 'psql: fatal: no' >&2; exit 2"});
    s.stdin_pipe = true;
    return s;
  }());
  std::string chunk(1024 * 1024, 'x');
  bool ok = true;
  for (int i = 0; i < 10 && ok; ++i)
    ok = c.write_stdin({reinterpret_cast<const std::byte*>(chunk.data()), chunk.size()});
  EXPECT_FALSE(ok);
  auto e = c.wait();
  EXPECT_EQ(e.code, 2);
  EXPECT_EQ(e.stderr_tail, "psql: fatal: no\n");
}

TEST(Child, MissingProgramThrowsAndLeaksNothing) {
  std::size_t before = open_fds();
  EXPECT_THROW(Child::spawn(make("/nonexistent/pg_dump")), tb::Error);
  EXPECT_THROW(Child::spawn(make("no-such-program-tb")), tb::Error);
  EXPECT_EQ(open_fds(), before);
}

TEST(Child, NoFdLeaksAndNoZombies) {
  // What another library (or a socket accepted on another thread) may hold
  // without O_CLOEXEC: a listening socket and a plain file.
  int stray_socket = ::socket(AF_INET, SOCK_STREAM, 0);
  int stray_file = ::open("/proc/self/status", O_RDONLY);
  ASSERT_GE(stray_socket, 3);
  ASSERT_GE(stray_file, 3);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(stray_socket, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(stray_socket, 1), 0);
  std::size_t before = open_fds();
  pid_t running_pid = 0;
  {
    Child running = Child::spawn([] {
      Spec s = make("sleep", {"30"});
      s.stdin_pipe = true;
      return s;
    }());
    running_pid = running.pid();
    // The child holds 0, 1, 2 and nothing else: not the fds we made, not the
    // strays above, not what this test process itself inherited. Read
    // straight from /proc/<child>/fd, so no helper program's own fds muddy
    // the picture.
    const std::set<std::string> expected = {"0", "1", "2"};
    ASSERT_EQ(expected.count(std::to_string(running.stdin_fd())), 0u);
    // posix_spawn returns once the exec has begun; the kernel closes the
    // O_CLOEXEC descriptors a moment later, so poll until the table settles.
    // A real leak never goes away and still fails.
    std::set<std::string> seen;
    for (int attempt = 0; attempt < 100; ++attempt) {
      seen.clear();
      for (const auto& e :
           std::filesystem::directory_iterator("/proc/" + std::to_string(running_pid) + "/fd")) {
        seen.insert(e.path().filename().string());
      }
      if (seen == expected) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(seen, expected);
  }  // destructor of `running` terminates and reaps it
  EXPECT_EQ(::kill(running_pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  for (int i = 0; i < 20; ++i) {
    Child c = Child::spawn([] {
      Spec s = make("true");
      s.stdin_pipe = true;
      return s;
    }());
    EXPECT_TRUE(c.wait().ok());
  }
  EXPECT_EQ(open_fds(), before);
  ::close(stray_socket);
  ::close(stray_file);
}

TEST(Child, WaitIsIdempotentAndMoveKeepsOwnership) {
  Child a = Child::spawn(make("false"));
  Child b = std::move(a);
  auto e1 = b.wait();
  auto e2 = b.wait();
  EXPECT_EQ(e1.code, 1);
  EXPECT_EQ(e2.code, 1);
}

}  // namespace
}  // namespace tb::process
