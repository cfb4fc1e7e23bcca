#include "http/trusted_proxies.hpp"

#include <charconv>
#include <cstring>

#include "core/error.hpp"
#include "core/text.hpp"

namespace tb::http {
namespace {

bool prefix_match(const IpAddress& a, const IpAddress& base, int prefix) {
  if (a.v4 != base.v4) return false;
  int full = prefix / 8;
  if (std::memcmp(a.bytes.data(), base.bytes.data(), static_cast<std::size_t>(full)) != 0)
    return false;
  int bits = prefix % 8;
  if (bits == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xFF << (8 - bits));
  return (a.bytes[static_cast<std::size_t>(full)] & mask) ==
         (base.bytes[static_cast<std::size_t>(full)] & mask);
}

}  // namespace

TrustedProxies::TrustedProxies(const std::vector<std::string>& entries) {
  for (const auto& raw : entries) {
    std::string_view e = trim(raw);
    if (e.empty()) continue;
    auto bad = [&] {
      throw Error(ErrorCode::kValidation,
                  "'TRUSTED_PROXIES': '" + std::string(e) + "' is not an IP or CIDR", {},
                  "TRUSTED_PROXIES");
    };
    auto slash = e.find('/');
    auto ip = IpAddress::parse(e.substr(0, slash));
    if (!ip) bad();
    // A mapped IPv6 CIDR (::ffff:10.0.0.0/104) becomes the IPv4 one.
    const bool mapped = ip->v4 && e.substr(0, slash).find(':') != std::string_view::npos;
    int max = ip->v4 ? 32 : 128;
    int prefix = max;
    if (slash != std::string_view::npos) {
      auto p = e.substr(slash + 1);
      auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
      if (p.empty() || ec != std::errc{} || ptr != p.data() + p.size()) bad();
      if (mapped) prefix -= 96;
      if (prefix < 0 || prefix > max) bad();
    }
    nets_.push_back({*ip, prefix});
  }
}

bool TrustedProxies::contains(const IpAddress& ip) const {
  for (const auto& n : nets_) {
    if (prefix_match(ip, n.base, n.prefix)) return true;
  }
  return false;
}

bool TrustedProxies::contains(std::string_view ip) const {
  auto a = IpAddress::parse(ip);
  return a && contains(*a);
}

std::string TrustedProxies::client_ip(std::string_view peer, std::string_view forwarded_for) const {
  auto peer_ip = IpAddress::parse(peer);
  if (!peer_ip) return std::string(peer);
  if (nets_.empty() || forwarded_for.empty() || !contains(*peer_ip)) return peer_ip->to_string();
  // Right to left: each hop was appended by the proxy to its right.
  IpAddress last = *peer_ip;
  std::string_view rest = forwarded_for;
  while (!rest.empty()) {
    auto comma = rest.rfind(',');
    std::string_view hop = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
    hop = trim(hop);
    if (hop.empty()) continue;
    auto ip = IpAddress::parse_forwarded(hop);
    // A trusted proxy reported garbage: we cannot know the client better than
    // the last address we could trust.
    if (!ip) return last.to_string();
    if (!contains(*ip)) return ip->to_string();
    last = *ip;
  }
  // Every hop is a trusted proxy: the leftmost one is the best we know.
  return last.to_string();
}

}  // namespace tb::http
