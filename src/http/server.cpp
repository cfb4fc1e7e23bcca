// The server's life cycle: starting the listener and the I/O threads, and the
// graceful shutdown (stop accepting, close idle connections, let busy ones
// finish for up to shutdown_timeout, then close the rest and join every
// thread). The parts: listener.hpp (accepting), session.hpp (one coroutine
// per connection), dispatch.hpp (routing and handlers), middleware.hpp,
// response_writer.hpp and file_response.hpp (answers), access_log.hpp and
// request_metrics.hpp (what each answer records).
#include "http/server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <optional>
#include <thread>

#include "http/listener.hpp"
#include "http/log_failure.hpp"
#include "http/server_state.hpp"

namespace tb::http {

namespace asio = boost::asio;

struct Server::Impl {
  Impl(ServerOptions o, Router r, metrics::Registry& registry)
      : state(std::move(o), std::move(r), registry), listener(state) {}

  ServerState state;
  Listener listener;  // after state: its acceptor uses state's io_context
  std::optional<asio::signal_set> signals;
  std::vector<std::thread> threads;
  std::mutex join_mu;
  bool joined = false;

  void initiate_stop() {
    std::vector<std::shared_ptr<Connection>> snapshot;
    {
      std::lock_guard lock(state.mu);
      if (state.stopping.exchange(true) || !state.started) return;
      snapshot.assign(state.conns.begin(), state.conns.end());
    }
    listener.close();
    // Idle connections are closed now; busy ones finish their response
    // (with Connection: close) and then leave the loop.
    for (auto& c : snapshot) {
      asio::post(c->stream.get_executor(), [c] {
        if (!c->busy) c->stream.cancel();
      });
    }
    asio::co_spawn(state.ioc, drain(), LogFailure{"http shutdown"});
  }

  asio::awaitable<void> drain() {
    constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto deadline = std::chrono::steady_clock::now() + state.opts.shutdown_timeout;
    while (state.connection_count() > 0 && std::chrono::steady_clock::now() < deadline) {
      timer.expires_after(std::chrono::milliseconds(10));
      co_await timer.async_wait(kTuple);
    }
    if (state.connection_count() > 0) {
      auto snapshot = state.connections();
      spdlog::warn("http shutdown: closing {} connection(s) still busy after {}s", snapshot.size(),
                   state.opts.shutdown_timeout.count());
      // Closing the socket makes the client see the end at once; a handler
      // still running is waited for in join(), its response discarded.
      for (auto& c : snapshot) {
        asio::post(c->stream.get_executor(), [c] {
          boost::system::error_code ec;
          c->stream.socket().close(ec);
        });
      }
      timer.expires_after(std::chrono::milliseconds(50));
      co_await timer.async_wait(kTuple);
    }
    state.ioc.stop();
  }

  void join() {
    std::lock_guard lock(join_mu);
    if (joined) return;
    for (auto& t : threads) t.join();
    // Handlers still running after a forced shutdown finish here, before the
    // io_context (and the coroutine frames they reference) is destroyed.
    state.handler_pool.join();
    state.file_pool.join();
    joined = true;
  }
};

Server::Server(ServerOptions options, Router router, metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router), registry)) {}

// A destructor must not throw: a failure to stop is logged (the threads are
// joined by their own destructors either way).
Server::~Server() {
  try {
    stop();
    wait();
  } catch (const std::exception& e) {
    spdlog::error("http server: stopping failed: {}", e.what());
  } catch (...) {
    spdlog::error("http server: stopping failed with an exception that is not a std::exception");
  }
}

void Server::start() {
  auto& s = *impl_;
  s.listener.open();
  {
    std::lock_guard lock(s.state.mu);
    s.state.started = true;
  }
  s.listener.start();
  for (int i = 0; i < std::max(1, s.state.opts.io_threads); ++i) {
    s.threads.emplace_back([&s] {
      t_current_server = &s.state;
      s.state.ioc.run();
    });
  }
  spdlog::info("http listening on {}:{}", s.state.opts.host, s.listener.port());
}

uint16_t Server::port() const {
  return impl_->listener.port();
}

void Server::stop() {
  impl_->initiate_stop();
  {
    std::lock_guard lock(impl_->state.mu);
    if (!impl_->state.started) {
      impl_->state.stopping = true;
      return;
    }
  }
  if (t_current_server != &impl_->state) wait();
}

void Server::wait() {
  impl_->join();
}

void Server::stop_on_signals() {
  auto& s = *impl_;
  s.signals.emplace(s.state.ioc, SIGINT, SIGTERM);
  s.signals->async_wait([&s](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("http: signal {} received, shutting down", sig);
    s.initiate_stop();
  });
}

}  // namespace tb::http
