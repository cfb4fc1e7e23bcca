#include "process/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/error.hpp"

extern char** environ;

namespace tb::process {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;
constexpr std::chrono::milliseconds kPollSlice{50};
constexpr int kPipeBytes = 1024 * 1024;

[[noreturn]] void spawn_fail(const Spec& spec, const std::string& what, int err) {
  // The public message names the program, not where it is installed.
  auto slash = spec.program.rfind('/');
  throw Error(ErrorCode::kInternal,
              "could not start " +
                  (slash == std::string::npos ? spec.program : spec.program.substr(slash + 1)),
              spec.program + ": " + what + ": " + std::strerror(err));
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string env_key(const std::string& entry) {
  return entry.substr(0, entry.find('='));
}

// libpq's connection variables: where to connect, as whom, over what TLS and
// with which files. Not PGPASSWORD (a secret: it comes from the job's own
// connection string), not PGOPTIONS (it could set a role or search_path).
// clang-format off
constexpr std::string_view kPgVariables[] = {
    "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSFILE", "PGSERVICE",
    "PGSERVICEFILE", "PGSYSCONFDIR", "PGAPPNAME", "PGCONNECT_TIMEOUT", "PGCLIENTENCODING",
    "PGTARGETSESSIONATTRS", "PGLOADBALANCEHOSTS", "PGREQUIREAUTH", "PGCHANNELBINDING",
    "PGREQUIREPEER", "PGSSLMODE", "PGSSLNEGOTIATION", "PGSSLCOMPRESSION", "PGSSLCERT", "PGSSLKEY",
    "PGSSLCERTMODE", "PGSSLROOTCERT", "PGSSLCRL", "PGSSLCRLDIR", "PGSSLSNI",
    "PGSSLMINPROTOCOLVERSION", "PGSSLMAXPROTOCOLVERSION", "PGGSSENCMODE", "PGKRBSRVNAME",
    "PGGSSLIB", "PGGSSDELEGATION"};
// clang-format on

}  // namespace

bool inherited_env_name(std::string_view name) {
  if (name == "PATH" || name == "LANG" || name == "LANGUAGE" || name == "TZ") return true;
  if (name.starts_with("LC_")) return true;
  return std::ranges::find(kPgVariables, name) != std::end(kPgVariables);
}

struct Child::State {
  std::string program;
  pid_t pid = -1;
  int in = -1;
  int out = -1;
  int err = -1;
  std::optional<SteadyTime> deadline;
  const std::atomic<bool>* cancel = nullptr;
  std::chrono::microseconds batch_wait{0};
  bool out_drained = false;  // the last read took less than a quarter of its buffer

  std::thread err_thread;
  std::atomic<bool> err_stop{false};
  std::mutex mu;
  std::string tail;

  bool reaped = false;
  int status = 0;
  bool timed_out = false;
  bool cancelled = false;

  // Why the caller should stop: sets timed_out/cancelled and terminates.
  bool should_stop(SteadyTime now) {
    if (cancel != nullptr && cancel->load()) {
      cancelled = true;
    } else if (deadline && now >= *deadline) {
      timed_out = true;
    } else {
      return false;
    }
    kill_and_reap(std::chrono::milliseconds(2000));
    return true;
  }

  int poll_timeout_ms(SteadyTime now) const {
    auto slice = kPollSlice;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - now);
      slice = std::clamp(left, std::chrono::milliseconds(0), slice);
    }
    return static_cast<int>(slice.count());
  }

  void drain_stderr() {
    std::array<char, 4096> buf{};
    for (;;) {
      pollfd p{err, POLLIN, 0};
      int r = ::poll(&p, 1, 100);
      if (r < 0 && errno != EINTR) return;
      if (r <= 0) {
        if (err_stop.load()) return;
        continue;
      }
      ssize_t n = ::read(err, buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) {
          if (err_stop.load() && errno == EAGAIN) return;
          continue;
        }
        return;
      }
      if (n == 0) return;
      std::lock_guard lock(mu);
      tail.append(buf.data(), static_cast<std::size_t>(n));
      if (tail.size() > kStderrTail) tail.erase(0, tail.size() - kStderrTail);
    }
  }

  void try_reap(bool block) {
    if (reaped) return;
    for (;;) {
      pid_t r = ::waitpid(pid, &status, block ? 0 : WNOHANG);
      if (r == pid) {
        reaped = true;
        break;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {  // ECHILD: someone else reaped it; treat as killed
        reaped = true;
        status = SIGKILL;
      }
      break;
    }
    if (reaped) finish_stderr();
  }

  void finish_stderr() {
    err_stop = true;
    if (err_thread.joinable()) err_thread.join();
    close_fd(err);
  }

  void kill_and_reap(std::chrono::milliseconds grace) {
    if (reaped) return;
    ::kill(pid, SIGTERM);
    auto until = std::chrono::steady_clock::now() + grace;
    auto nap = std::chrono::milliseconds(1);
    while (!reaped && std::chrono::steady_clock::now() < until) {
      try_reap(false);
      if (!reaped) {
        std::this_thread::sleep_for(nap);
        nap = std::min(nap * 2, std::chrono::milliseconds(50));
      }
    }
    if (!reaped) {
      ::kill(pid, SIGKILL);
      try_reap(true);
    }
  }
};

Child::Child(std::unique_ptr<State> state) : s_(std::move(state)) {}
Child::Child(Child&&) noexcept = default;
Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    if (s_) {
      s_->kill_and_reap(std::chrono::milliseconds(2000));
      close_fd(s_->in);
      close_fd(s_->out);
    }
    s_ = std::move(other.s_);
  }
  return *this;
}

Child::~Child() {
  if (!s_) return;
  close_fd(s_->in);
  close_fd(s_->out);
  s_->kill_and_reap(std::chrono::milliseconds(2000));
  s_->finish_stderr();
}

Child Child::spawn(const Spec& spec) {
  // A child that exits while we write its stdin must give EPIPE, not kill us.
  static std::once_flag sigpipe_once;
  std::call_once(sigpipe_once, [] { ::signal(SIGPIPE, SIG_IGN); });

  auto s = std::make_unique<State>();
  s->program = spec.program;
  s->cancel = spec.cancel;
  s->batch_wait = spec.pipe_batch_wait;
  if (spec.timeout) s->deadline = std::chrono::steady_clock::now() + *spec.timeout;

  int in_pipe[2] = {-1, -1};
  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {in_pipe, out_pipe, err_pipe}) {
      close_fd(p[0]);
      close_fd(p[1]);
    }
  };
  if ((spec.stdin_pipe && ::pipe2(in_pipe, O_CLOEXEC) != 0) ||
      (spec.stdout_pipe && ::pipe2(out_pipe, O_CLOEXEC) != 0) ||
      ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    close_all();
    spawn_fail(spec, "pipe2", e);
  }
  // A larger pipe means fewer wake-ups per MiB of dump or replay (best effort).
  if (spec.stdout_pipe) (void)::fcntl(out_pipe[0], F_SETPIPE_SZ, kPipeBytes);
  if (spec.stdin_pipe && spec.pipe_batch_wait.count() > 0)
    (void)::fcntl(in_pipe[1], F_SETPIPE_SZ, kPipeBytes);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (spec.stdin_pipe)
    posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
  else
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (spec.stdout_pipe)
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  else
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
  // Nothing above stderr survives the exec, whatever its flags: a descriptor
  // a library opened without O_CLOEXEC, or one another thread accepted a
  // moment ago, would otherwise stay open in a dump that runs for hours (a
  // listening port a restarted service cannot bind, a client connection that
  // never closes).
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);

  // The child starts with default signal handling and an empty mask (we
  // ignore SIGPIPE; pg_dump should not inherit that).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t def;
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  sigaddset(&def, SIGTERM);
  sigaddset(&def, SIGINT);
  sigaddset(&def, SIGHUP);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    std::string key = env_key(entry);
    bool drop =
        !inherited_env_name(key) ||
        std::any_of(spec.env_add.begin(), spec.env_add.end(),
                    [&](const auto& kv) { return kv.first == key; }) ||
        std::find(spec.env_remove.begin(), spec.env_remove.end(), key) != spec.env_remove.end();
    if (!drop) env.push_back(std::move(entry));
  }
  for (const auto& [k, v] : spec.env_add) env.push_back(std::string(k).append("=").append(v));
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  std::vector<std::string> argv_store;
  argv_store.push_back(spec.program);
  argv_store.insert(argv_store.end(), spec.args.begin(), spec.args.end());
  std::vector<char*> argv;
  argv.reserve(argv_store.size() + 1);
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = -1;
  int rc = spec.program.find('/') == std::string::npos
               ? ::posix_spawnp(&pid, spec.program.c_str(), &fa, &attr, argv.data(), envp.data())
               : ::posix_spawn(&pid, spec.program.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    close_all();
    spawn_fail(spec, "posix_spawn '" + spec.program + "'", rc);
  }
  s->pid = pid;
  // Keep our ends, close the child's.
  s->in = in_pipe[1];
  close_fd(in_pipe[0]);
  s->out = out_pipe[0];
  close_fd(out_pipe[1]);
  s->err = err_pipe[0];
  close_fd(err_pipe[1]);
  if (s->in >= 0) (void)::fcntl(s->in, F_SETFL, ::fcntl(s->in, F_GETFL) | O_NONBLOCK);
  (void)::fcntl(s->err, F_SETFL, ::fcntl(s->err, F_GETFL) | O_NONBLOCK);
  State* raw = s.get();
  s->err_thread = std::thread([raw] { raw->drain_stderr(); });
  return Child(std::move(s));
}

pid_t Child::pid() const {
  return s_->pid;
}
int Child::stdout_fd() const {
  return s_->out;
}
int Child::stdin_fd() const {
  return s_->in;
}
void Child::close_stdin() {
  close_fd(s_->in);
}

std::size_t Child::read_stdout(std::span<std::byte> buf) {
  if (s_->out < 0 || buf.empty()) return 0;
  if (s_->out_drained && s_->batch_wait.count() > 0) std::this_thread::sleep_for(s_->batch_wait);
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (s_->should_stop(now)) {
      close_fd(s_->out);
      return 0;
    }
    pollfd p{s_->out, POLLIN, 0};
    int r = ::poll(&p, 1, s_->poll_timeout_ms(now));
    if (r < 0 && errno != EINTR) {
      throw Error(ErrorCode::kInternal, "internal error",
                  std::string("poll(child stdout): ") + std::strerror(errno));
    }
    if (r <= 0) continue;
    ssize_t n = ::read(s_->out, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw Error(ErrorCode::kInternal, "internal error",
                  std::string("read(child stdout): ") + std::strerror(errno));
    }
    s_->out_drained = static_cast<std::size_t>(n) < buf.size() / 4;
    return static_cast<std::size_t>(n);
  }
}

bool Child::write_stdin(std::span<const std::byte> data) {
  if (s_->in < 0) return false;
  while (!data.empty()) {
    auto now = std::chrono::steady_clock::now();
    if (s_->should_stop(now)) {
      close_fd(s_->in);
      return false;
    }
    pollfd p{s_->in, POLLOUT, 0};
    int r = ::poll(&p, 1, s_->poll_timeout_ms(now));
    if (r < 0 && errno != EINTR) {
      throw Error(ErrorCode::kInternal, "internal error",
                  std::string("poll(child stdin): ") + std::strerror(errno));
    }
    if (r <= 0) continue;
    ssize_t n = ::write(s_->in, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == EPIPE) {
        close_fd(s_->in);
        return false;
      }
      throw Error(ErrorCode::kInternal, "internal error",
                  std::string("write(child stdin): ") + std::strerror(errno));
    }
    data = data.subspan(static_cast<std::size_t>(n));
    // The pipe is full: let the child drain it for a while.
    if (!data.empty() && s_->batch_wait.count() > 0) std::this_thread::sleep_for(s_->batch_wait);
  }
  return true;
}

void Child::terminate(std::chrono::milliseconds grace) {
  s_->kill_and_reap(grace);
}

Child::Exit Child::wait() {
  close_fd(s_->in);
  // A caller that stopped reading stdout must not deadlock us: closing our end
  // makes a still-writing child fail with EPIPE instead of blocking forever.
  close_fd(s_->out);
  auto nap = std::chrono::milliseconds(1);
  while (!s_->reaped) {
    s_->try_reap(false);
    if (s_->reaped || s_->should_stop(std::chrono::steady_clock::now())) break;
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, kPollSlice);
  }
  Exit e;
  if (WIFEXITED(s_->status)) e.code = WEXITSTATUS(s_->status);
  if (WIFSIGNALED(s_->status)) e.signal = WTERMSIG(s_->status);
  e.timed_out = s_->timed_out;
  e.cancelled = s_->cancelled;
  std::lock_guard lock(s_->mu);
  e.stderr_tail = s_->tail;
  return e;
}

std::string Child::Exit::describe() const {
  std::string d = signal != 0 ? "killed by signal " + std::to_string(signal)
                              : "exit code " + std::to_string(code);
  if (timed_out) d += " (timed out)";
  if (cancelled) d += " (cancelled)";
  return d;
}

}  // namespace tb::process
