#include "http/ip_address.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <charconv>

#include "core/text.hpp"

namespace tb::http {
namespace {

namespace ip = boost::asio::ip;

IpAddress from_asio(const ip::address& a) {
  IpAddress out;
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return from_asio(ip::make_address_v4(ip::v4_mapped, a.to_v6()));
  if (a.is_v4()) {
    out.v4 = true;
    const auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), out.bytes.begin());
  } else {
    out.bytes = a.to_v6().to_bytes();
  }
  return out;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  text = trim(text);
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  // Asio would read a zone (fe80::1%eth0) and look the interface up.
  if (text.empty() || text.find('%') != std::string_view::npos) return std::nullopt;
  boost::system::error_code ec;
  const auto a = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return from_asio(a);
}

std::optional<IpAddress> IpAddress::parse_forwarded(std::string_view text) {
  text = trim(text);
  if (auto plain = parse(text)) return plain;
  // "host:port" is an URI authority: IPv6 in brackets, IPv4 bare.
  auto authority = boost::urls::parse_authority(text);
  if (!authority || authority->has_userinfo() || !authority->has_port()) return std::nullopt;
  const auto type = authority->host_type();
  if (type != boost::urls::host_type::ipv4 && type != boost::urls::host_type::ipv6)
    return std::nullopt;
  // The grammar makes the port digits of any length (port_number() wraps
  // them modulo 2^16): 1..65535 or nothing.
  const auto port = authority->port();
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 ||
      value > 65535) {
    return std::nullopt;
  }
  return parse(authority->host_address());
}

std::string IpAddress::to_string() const {
  if (v4) return ip::address_v4({bytes[0], bytes[1], bytes[2], bytes[3]}).to_string();
  return ip::address_v6(bytes).to_string();
}

}  // namespace tb::http
