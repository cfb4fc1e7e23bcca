#include "db/client_errors.hpp"

#include <initializer_list>

#include "core/public_text.hpp"

namespace tb::db {
namespace {

bool contains_any(std::string_view text, std::initializer_list<std::string_view> parts) {
  for (auto p : parts) {
    if (text.find(p) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

std::string public_client_error(std::string_view line) {
  if (contains_any(line, {"server closed the connection", "terminating connection",
                          "connection to server was lost", "SSL SYSCALL error"})) {
    return "the connection to the database was lost";
  }
  // libpq's wording for a connection that was never made, with the server's
  // FATAL reason (which names roles, databases and client addresses).
  if (contains_any(line, {"connection to server", "could not connect",
                          "could not translate host name", "FATAL:"})) {
    return "could not connect to the database";
  }
  return hide_internals(line);
}

}  // namespace tb::db
