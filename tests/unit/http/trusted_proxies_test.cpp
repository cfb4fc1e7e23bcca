#include "http/trusted_proxies.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace tb::http {
namespace {

TEST(IpAddress, ParsesAndNormalises) {
  EXPECT_EQ(IpAddress::parse("10.1.2.3")->to_string(), "10.1.2.3");
  EXPECT_EQ(IpAddress::parse(" ::1 ")->to_string(), "::1");
  EXPECT_EQ(IpAddress::parse("[2001:db8::1]")->to_string(), "2001:db8::1");
  auto mapped = IpAddress::parse("::ffff:192.168.0.9");
  ASSERT_TRUE(mapped);
  EXPECT_TRUE(mapped->v4);
  EXPECT_EQ(mapped->to_string(), "192.168.0.9");
  for (const char* bad : {"", "1.2.3", "1.2.3.256", "abc", "1.2.3.4:80", "::g", "1.2.3.4/8"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
}

TEST(TrustedProxies, CidrMembershipV4) {
  TrustedProxies p({"10.0.0.0/8", "192.168.1.7", "172.16.0.0/12"});
  EXPECT_TRUE(p.contains("10.255.0.1"));
  EXPECT_TRUE(p.contains("192.168.1.7"));
  EXPECT_FALSE(p.contains("192.168.1.8"));
  EXPECT_TRUE(p.contains("172.31.255.255"));
  EXPECT_FALSE(p.contains("172.32.0.0"));
  EXPECT_FALSE(p.contains("11.0.0.1"));
  EXPECT_TRUE(p.contains("::ffff:10.0.0.1"));  // mapped form of a trusted IPv4
  EXPECT_FALSE(p.contains("::1"));
}

TEST(TrustedProxies, CidrMembershipV6) {
  TrustedProxies p({"fd00::/8", "2001:db8:abcd::/48", "::1"});
  EXPECT_TRUE(p.contains("fd12:3456::1"));
  EXPECT_FALSE(p.contains("fe00::1"));
  EXPECT_TRUE(p.contains("2001:db8:abcd:ffff::5"));
  EXPECT_FALSE(p.contains("2001:db8:abce::5"));
  EXPECT_TRUE(p.contains("::1"));
  EXPECT_FALSE(p.contains("::2"));
  EXPECT_FALSE(p.contains("127.0.0.1"));
}

TEST(TrustedProxies, OddPrefixLengths) {
  TrustedProxies p({"10.0.0.128/25", "0.0.0.0/0"});
  EXPECT_TRUE(p.contains("1.2.3.4"));  // /0 trusts every IPv4
  EXPECT_FALSE(p.contains("::5"));     // but no IPv6
  TrustedProxies q({"10.0.0.128/25"});
  EXPECT_TRUE(q.contains("10.0.0.200"));
  EXPECT_FALSE(q.contains("10.0.0.127"));
}

TEST(TrustedProxies, RejectsBadEntriesNamingThem) {
  for (const char* bad :
       {"10.0.0.0/33", "fd00::/129", "nope", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x"}) {
    try {
      TrustedProxies p({bad});
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.field(), "TRUSTED_PROXIES");
      EXPECT_NE(e.message().find(bad), std::string::npos) << e.message();
    }
  }
}

TEST(TrustedProxies, ClientIpIgnoresForwardedForFromUntrustedPeers) {
  TrustedProxies p({"10.0.0.0/8"});
  EXPECT_EQ(p.client_ip("203.0.113.5", "1.1.1.1"), "203.0.113.5");
  TrustedProxies none;
  EXPECT_EQ(none.client_ip("10.0.0.1", "1.1.1.1"), "10.0.0.1");
  EXPECT_EQ(none.client_ip("::ffff:127.0.0.1", ""), "127.0.0.1");
}

TEST(TrustedProxies, ClientIpIsRightmostUntrustedHop) {
  TrustedProxies p({"10.0.0.0/8", "fd00::/8"});
  // The client forged "6.6.6.6"; the real client is what our proxy appended.
  EXPECT_EQ(p.client_ip("10.0.0.1", "6.6.6.6, 198.51.100.7"), "198.51.100.7");
  // Two trusted proxies in a row.
  EXPECT_EQ(p.client_ip("10.0.0.1", "6.6.6.6, 198.51.100.7, 10.9.9.9"), "198.51.100.7");
  EXPECT_EQ(p.client_ip("fd00::1", "2001:db8::7,fd00::2"), "2001:db8::7");
  // Every hop trusted: the leftmost is the best we know.
  EXPECT_EQ(p.client_ip("10.0.0.1", "10.0.0.3, 10.0.0.2"), "10.0.0.3");
  // A trusted proxy sending no header.
  EXPECT_EQ(p.client_ip("10.0.0.1", ""), "10.0.0.1");
  // Garbage appended by a trusted hop: fall back to that hop.
  EXPECT_EQ(p.client_ip("10.0.0.1", "1.1.1.1, bogus"), "10.0.0.1");
}

TEST(IpAddress, ForwardedEntriesMayCarryAPort) {
  EXPECT_EQ(IpAddress::parse_forwarded("1.2.3.4:5678")->to_string(), "1.2.3.4");
  EXPECT_EQ(IpAddress::parse_forwarded(" [2001:db8::1]:443 ")->to_string(), "2001:db8::1");
  EXPECT_EQ(IpAddress::parse_forwarded("[2001:db8::1]")->to_string(), "2001:db8::1");
  EXPECT_EQ(IpAddress::parse_forwarded("2001:db8::1")->to_string(), "2001:db8::1");
  EXPECT_EQ(IpAddress::parse_forwarded("1.2.3.4")->to_string(), "1.2.3.4");
  EXPECT_EQ(IpAddress::parse_forwarded("[::ffff:1.2.3.4]:80")->to_string(), "1.2.3.4");
  for (const char* bad : {"",
                          "unknown",
                          "host.example:80",
                          "1.2.3.4:",
                          "1.2.3.4:0",
                          "1.2.3.4:65536",
                          "1.2.3.4:99999",
                          "1.2.3.4:80x",
                          "1.2.3.4:-1",
                          "[2001:db8::1]:",
                          "[2001:db8::1]x",
                          "[2001:db8::1",
                          "2001:db8::1:443x",
                          "[1.2.3.4]:80",
                          "user@1.2.3.4:80",
                          "1.2.3.4:80:90",
                          "[fe80::1%25eth0]:80",
                          "fe80::1%eth0",
                          "_hidden",
                          "[v1.x]:80",
                          "1.2.3.256:80"}) {
    EXPECT_FALSE(IpAddress::parse_forwarded(bad)) << bad;
  }
}

TEST(TrustedProxies, ForwardedForHopsWithPorts) {
  TrustedProxies p({"10.0.0.0/8", "fd00::/8"});
  EXPECT_EQ(p.client_ip("10.0.0.1", "198.51.100.7:5678"), "198.51.100.7");
  EXPECT_EQ(p.client_ip("10.0.0.1", "6.6.6.6, [2001:db8::7]:443"), "2001:db8::7");
  EXPECT_EQ(p.client_ip("fd00::1", "2001:db8::7, [fd00::2]:8080"), "2001:db8::7");
  EXPECT_EQ(p.client_ip("10.0.0.1", "198.51.100.7:5678, 10.0.0.9:443"), "198.51.100.7");
  // A malformed hop ends the walk at the last trusted address: the client
  // cannot pick its own key by sending garbage through the proxy.
  EXPECT_EQ(p.client_ip("10.0.0.1", "6.6.6.6, 198.51.100.7:99999"), "10.0.0.1");
  EXPECT_EQ(p.client_ip("10.0.0.1", "6.6.6.6, [2001:db8::7]:"), "10.0.0.1");
  EXPECT_EQ(p.client_ip("10.0.0.1", "6.6.6.6, host.example:80, 10.0.0.3"), "10.0.0.3");
  // Ports from an untrusted peer are as ignored as its header.
  EXPECT_EQ(p.client_ip("203.0.113.5", "1.1.1.1:80"), "203.0.113.5");
}

}  // namespace
}  // namespace tb::http
