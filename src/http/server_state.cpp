#include "http/server_state.hpp"

#include <algorithm>

namespace tb::http {

ServerState::ServerState(ServerOptions o, Router r, metrics::Registry& registry)
    : opts(std::move(o)),
      router(std::move(r)),
      proxies(opts.trusted_proxies),
      limits(opts, opts.clock ? *opts.clock : RealClock::instance()),
      metrics(registry, router),
      ioc(std::max(1, opts.io_threads)),
      handler_pool(static_cast<std::size_t>(std::max(1, opts.handler_threads))),
      file_pool(static_cast<std::size_t>(std::max(1, opts.file_threads))) {}

ServerState::~ServerState() {
  std::lock_guard lock(mu);
  conns.clear();
}

bool ServerState::add(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(mu);
  if (stopping.load()) return false;
  conns.insert(c);
  return true;
}

void ServerState::remove(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(mu);
  conns.erase(c);
}

std::size_t ServerState::connection_count() {
  std::lock_guard lock(mu);
  return conns.size();
}

std::vector<std::shared_ptr<Connection>> ServerState::connections() {
  std::lock_guard lock(mu);
  return {conns.begin(), conns.end()};
}

}  // namespace tb::http
