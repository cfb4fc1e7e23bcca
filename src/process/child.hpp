// One child-process type for pg_dump, psql and pg_restore.
//
// Invariants: programs are started with an argument vector through
// posix_spawn — never a shell, so metacharacters in arguments are literal;
// every descriptor we create is O_CLOEXEC, and the child closes every
// descriptor above stderr before exec, so it inherits none of ours (the
// service's listening socket, client connections, database sockets, log files)
// whatever flags they carry; the environment is an allow-list
// (inherited_env_name), so no secret of the service reaches a child;
// stderr is drained by a thread into a bounded tail (the last kStderrTail
// bytes) so a chatty child never blocks; a Child is always reaped (the
// destructor terminates and waits), so no zombies. Timeouts and cancellation
// are honoured while reading stdout, writing stdin and waiting. When a pipe
// breaks, callers report wait()'s exit status and stderr tail, which say why.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tb::process {

inline constexpr std::size_t kStderrTail = std::size_t{8} * 1024;

// True for the names a child takes from the parent's environment: PATH, the
// locale (LANG, LANGUAGE, LC_*), TZ, and the libpq variables that say where
// and how to connect (PGHOST, PGPORT, PGUSER, PGSSL*, PGPASSFILE, ...). Nothing
// else is inherited: not JWT_SECRET, TELEGRAM_BOT_TOKEN, SMTP_URL or any other
// setting of the service, and not PGPASSWORD or PGOPTIONS (a password comes
// from the job's connection string through Spec::env_add).
bool inherited_env_name(std::string_view name);

struct Spec {
  std::string program;            // absolute path, or a name looked up in PATH
  std::vector<std::string> args;  // argv[1..]; argv[0] is the program
  // Added to (or replacing in) the inherited, allow-listed environment.
  // Secrets such as PGPASSWORD go here, never in args.
  std::vector<std::pair<std::string, std::string>> env_add;
  // Removed from the inherited environment even when allow-listed.
  std::vector<std::string> env_remove;
  std::optional<std::chrono::seconds> timeout;  // from spawn; then SIGTERM, SIGKILL
  bool stdin_pipe = false;                      // false: stdin is /dev/null
  bool stdout_pipe = true;                      // false: stdout is /dev/null
  // Polled (every ~50 ms) while reading, writing and waiting; when it turns
  // true the child is terminated.
  const std::atomic<bool>* cancel = nullptr;
  // Batches a streaming child's pipes: after a read that found the stdout
  // pipe nearly empty, or a write that found the stdin pipe full, wait this
  // long before polling again, so the child fills (or drains) the 1 MiB pipe
  // meanwhile. Otherwise each side is woken for every few KiB the other
  // writes (pg_dump and psql do 4 KiB stdio writes and reads), and on 2 cores
  // those wake-ups are CPU that the database backend, the bottleneck, loses.
  // Zero: poll at once (for children whose output is small or interactive).
  std::chrono::microseconds pipe_batch_wait{0};
};

// The pipe_batch_wait of the dump and replay streams. At pg_dump's ~150 MB/s
// on a 2-core machine, 1 ms makes ~150 KiB per read instead of the few KiB a
// read at once finds; even at 500 MB/s the 1 MiB pipe would not fill (nor
// drain, for psql) meanwhile. Measured on a 1.4 GB schema: 70k -> 10k context
// switches per export, ~100k -> 15k per restore.
inline constexpr std::chrono::microseconds kStreamBatchWait{1000};

class Child {
 public:
  // Throws tb::Error (kInternal) when the program cannot be started.
  static Child spawn(const Spec& spec);

  Child(Child&&) noexcept;
  Child& operator=(Child&&) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();  // terminates and reaps if still running; closes every fd

  pid_t pid() const;
  int stdout_fd() const;  // -1 when not piped or closed
  int stdin_fd() const;   // -1 when not piped or closed
  void close_stdin();

  // Reads up to buf.size() bytes of stdout; 0 at EOF. On timeout or cancel
  // the child is terminated and 0 is returned: wait() then tells why.
  std::size_t read_stdout(std::span<std::byte> buf);
  // Writes all of data to stdin. Returns false when the child closed its
  // stdin (EPIPE) or on timeout/cancel (child terminated): call wait().
  bool write_stdin(std::span<const std::byte> data);

  // SIGTERM, then SIGKILL after `grace`; always reaps.
  void terminate(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

  struct Exit {
    int code = -1;   // exit status when exited normally, else -1
    int signal = 0;  // terminating signal, else 0
    std::string stderr_tail;
    bool timed_out = false;
    bool cancelled = false;
    bool ok() const { return code == 0 && signal == 0 && !timed_out && !cancelled; }
    // e.g. "exit code 1", "killed by signal 9 (timed out)"
    std::string describe() const;
  };
  // Closes stdin, waits for the child (honouring timeout/cancel) and returns
  // how it ended. Idempotent.
  Exit wait();

 private:
  struct State;
  explicit Child(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

}  // namespace tb::process
