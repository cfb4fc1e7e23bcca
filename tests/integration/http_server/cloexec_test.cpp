// The server's own sockets are close-on-exec: a program started by the
// service (pg_dump runs for hours) must not keep the listening port or a
// client's connection open. Asio opens and accepts without SOCK_CLOEXEC, so
// the server sets it itself.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <string>

#include "http/server.hpp"

namespace tb::http {
namespace {

// The port a socket is bound to locally, or 0 when it is not a TCP/IPv4 socket.
std::uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0 || a.sin_family != AF_INET)
    return 0;
  return ntohs(a.sin_port);
}

TEST(ServerSockets, ListeningAndAcceptedSocketsAreCloseOnExec) {
  metrics::Registry registry;
  ServerOptions opts;
  opts.io_threads = 1;
  opts.handler_threads = 1;
  Server server(opts,
                Router({{"GET", "/ping", RateClass::kNone,
                         [](Request&) {
                           return json_data(boost::json::object{{"pong", true}});
                         }}}),
                registry);
  server.start();

  // One kept-alive connection, answered, so the server has accepted it.
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(server.port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string req = "GET /ping HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_EQ(::send(client, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string reply;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (reply.find("pong") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{client, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    auto n = ::recv(client, buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ASSERT_NE(reply.find("pong"), std::string::npos) << reply;

  // Every socket of this process bound to the server's port is the server's:
  // the listener and the accepted connection (the client's end has another
  // local port).
  int server_sockets = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    int fd = std::stoi(e.path().filename().string());
    if (fd == client || local_port(fd) != server.port()) continue;
    ++server_sockets;
    int flags = ::fcntl(fd, F_GETFD);
    EXPECT_TRUE(flags >= 0 && (flags & FD_CLOEXEC) != 0) << "fd " << fd << " is not close-on-exec";
  }
  EXPECT_GE(server_sockets, 2);  // listening + accepted
  ::close(client);
  server.stop();
  server.wait();
}

}  // namespace
}  // namespace tb::http
