#include "db/listener.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>

namespace tb::db {

Listener::Listener(std::string conninfo, std::chrono::milliseconds retry)
    : conninfo_(std::move(conninfo)), retry_(retry) {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    throw_internal("pipe2 failed for the database listener: errno " + std::to_string(errno));
  }
  wake_read_.reset(fds[0]);
  wake_write_.reset(fds[1]);
}

Listener::~Listener() = default;

void Listener::listen(const std::string& channel) {
  channels_.push_back(channel);
  if (conn_ && conn_->ok()) {
    try {
      listen_on_connection(channel);
    } catch (const tb::Error& e) {
      spdlog::warn("db listener: LISTEN {} failed: {}", channel, e.detail());
      conn_.reset();
    }
  }
}

void Listener::listen_on_connection(const std::string& channel) {
  char* quoted = PQescapeIdentifier(conn_->raw(), channel.c_str(), channel.size());
  if (quoted == nullptr) throw_internal("cannot quote channel name \"" + channel + "\"");
  std::string sql = std::string("LISTEN ") + quoted;
  PQfreemem(quoted);
  conn_->exec(sql);
}

bool Listener::connected() const {
  return conn_ && conn_->ok();
}

bool Listener::ensure_connected() {
  if (conn_ && conn_->ok()) return true;
  conn_.reset();
  auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_) return false;
  next_attempt_ = now + retry_;
  try {
    conn_ = std::make_unique<Connection>(Connection::open(conninfo_));
    for (const auto& ch : channels_) listen_on_connection(ch);
    if (ever_connected_) {
      ++reconnects_;
      spdlog::info("db listener: reconnected, listening again on {} channel(s)", channels_.size());
    }
    ever_connected_ = true;
    return true;
  } catch (const tb::Error& e) {
    spdlog::debug("db listener: cannot connect: {}", e.detail());
    conn_.reset();
    return false;
  }
}

void Listener::drain(std::vector<Notification>& out) {
  while (PGnotify* n = PQnotifies(conn_->raw())) {
    out.push_back({n->relname, n->extra != nullptr ? n->extra : ""});
    PQfreemem(n);
  }
}

std::vector<Notification> Listener::wait(std::chrono::milliseconds timeout) {
  std::vector<Notification> out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int before = reconnects_.load();
  bool up = ensure_connected();
  if (up && reconnects_.load() != before) out.push_back({});
  for (;;) {
    if (up) {
      if (PQconsumeInput(conn_->raw()) == 0) {
        spdlog::warn("db listener: connection lost: {}", PQerrorMessage(conn_->raw()));
        conn_.reset();
        up = false;
        continue;
      }
      drain(out);
      if (!out.empty()) return out;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    if (!up) {
      // Wait for the next reconnect attempt (or an interrupt), then try again.
      auto step = std::min(left, retry_);
      pollfd p{wake_read_.get(), POLLIN, 0};
      int n = ::poll(&p, 1, static_cast<int>(step.count()));
      if (n > 0) {
        char buf[64];
        while (::read(wake_read_.get(), buf, sizeof buf) > 0) {
        }
        return out;
      }
      before = reconnects_.load();
      up = ensure_connected();
      if (up && reconnects_.load() != before) {
        out.push_back({});
        return out;
      }
      continue;
    }
    pollfd fds[2] = {{PQsocket(conn_->raw()), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) throw_internal("poll failed in the database listener");
    if (n > 0 && (fds[1].revents & POLLIN) != 0) {
      char buf[64];
      while (::read(wake_read_.get(), buf, sizeof buf) > 0) {
      }
      if (PQconsumeInput(conn_->raw()) != 0) drain(out);
      return out;
    }
  }
}

void Listener::interrupt() {
  char c = 1;
  [[maybe_unused]] auto n = ::write(wake_write_.get(), &c, 1);
}

}  // namespace tb::db
