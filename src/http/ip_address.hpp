// Client addresses as the HTTP layer sees them: the socket peer, and the hops
// of X-Forwarded-For. Parsing is Boost.Asio's (make_address) and, for
// "host:port" hops, Boost.URL's authority grammar; nothing here reads digits
// by hand.
//
// Invariants: an IPv4-mapped IPv6 address (::ffff:1.2.3.4) is its IPv4
// address everywhere; scoped IPv6 addresses (fe80::1%eth0) are refused (a
// zone means nothing on another host).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tb::http {

struct IpAddress {
  bool v4 = false;
  std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4 bytes

  // Accepts "1.2.3.4", "::1", "[::1]", "::ffff:1.2.3.4" (→ IPv4). nullopt when invalid.
  static std::optional<IpAddress> parse(std::string_view text);
  // An X-Forwarded-For entry: what parse() accepts, and the forms some proxies
  // append with the client's port: "1.2.3.4:5678", "[2001:db8::1]:443".
  // nullopt for anything else (names, "unknown", empty or bad ports).
  static std::optional<IpAddress> parse_forwarded(std::string_view text);
  std::string to_string() const;
};

}  // namespace tb::http
