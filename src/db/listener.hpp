// db::Listener: a dedicated connection that LISTENs on channels.
//
// Invariants:
// - wait() never throws because the server went away: it reconnects (at most
//   every `retry` interval) and re-issues every LISTEN. Notifications sent while
//   it was disconnected are lost, so after each reconnect wait() returns one
//   Notification with an empty channel meaning "you may have missed some":
//   callers treat it like any wake-up and poll the table they care about.
// - wait() is called from one thread; interrupt() may be called from any
//   thread and makes a current or the next wait() return at once.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/unique_fd.hpp"
#include "db/connection.hpp"

namespace tb::db {

struct Notification {
  std::string channel;  // "" after a reconnect (see above)
  std::string payload;
};

class Listener {
 public:
  explicit Listener(std::string conninfo,
                    std::chrono::milliseconds retry = std::chrono::milliseconds(500));
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Remembers the channel and LISTENs now if connected (or at the next
  // connect). Does not throw when the server is down.
  void listen(const std::string& channel);

  // Waits up to `timeout` for notifications; returns as soon as there is at
  // least one (or on interrupt/timeout: possibly empty).
  std::vector<Notification> wait(std::chrono::milliseconds timeout);

  void interrupt();
  bool connected() const;
  int reconnects() const { return reconnects_.load(); }

 private:
  bool ensure_connected();
  void listen_on_connection(const std::string& channel);
  void drain(std::vector<Notification>& out);

  std::string conninfo_;
  std::chrono::milliseconds retry_;
  std::unique_ptr<Connection> conn_;
  std::vector<std::string> channels_;
  std::chrono::steady_clock::time_point next_attempt_{};
  bool ever_connected_ = false;
  std::atomic<int> reconnects_{0};
  UniqueFd wake_read_;  // a pipe: wake() writes a byte, wait() polls for it
  UniqueFd wake_write_;
};

}  // namespace tb::db
