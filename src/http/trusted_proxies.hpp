// Which client a request comes from, when reverse proxies sit in front.
//
// TRUSTED_PROXIES is a list of IPs and CIDRs (IPv4 and IPv6). The client IP is
// the socket peer, unless the peer is a trusted proxy: then X-Forwarded-For is
// read from the right, skipping trusted hops, and the first untrusted hop is
// the client (the rightmost untrusted address: everything left of it may be
// forged by the client). A hop may carry a port ("1.2.3.4:5678",
// "[2001:db8::1]:443"); a hop that is not an address ends the walk at the last
// trusted one. IPv4-mapped IPv6 addresses (::ffff:1.2.3.4) are treated as
// their IPv4 address everywhere.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/ip_address.hpp"

namespace tb::http {

class TrustedProxies {
 public:
  TrustedProxies() = default;
  // Entries: "10.0.0.1", "10.0.0.0/8", "fd00::/8". Throws tb::Error
  // (VALIDATION_ERROR, field "TRUSTED_PROXIES") naming the bad entry.
  explicit TrustedProxies(const std::vector<std::string>& entries);

  bool empty() const { return nets_.empty(); }
  bool contains(const IpAddress& ip) const;
  bool contains(std::string_view ip) const;

  // `peer`: the socket's remote address; `forwarded_for`: the X-Forwarded-For
  // value(s) joined with ',' ("" when absent).
  std::string client_ip(std::string_view peer, std::string_view forwarded_for) const;

 private:
  struct Net {
    IpAddress base;
    int prefix;
  };
  std::vector<Net> nets_;
};

}  // namespace tb::http
