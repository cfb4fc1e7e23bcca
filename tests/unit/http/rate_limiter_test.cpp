#include "http/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace tb::http {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, AllowsTheLimitThenRefuses) {
  ManualClock clock;
  RateLimiter rl(10, clock);
  for (int i = 0; i < 10; ++i) {
    auto d = rl.check("1.2.3.4");
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 10);
    EXPECT_EQ(d.remaining, 9 - i);
  }
  auto d = rl.check("1.2.3.4");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.retry_after, 6s);  // one token every 60/10 s
  EXPECT_EQ(d.reset, 60s);
  // Another client is not affected.
  EXPECT_TRUE(rl.check("5.6.7.8").allowed);
}

TEST(RateLimiter, RefillsOverTimeAndFullyAfterAMinute) {
  ManualClock clock;
  RateLimiter rl(10, clock);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(rl.check("k").allowed);
  clock.advance(5s);
  auto d = rl.check("k");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 1s);
  clock.advance(1s);
  EXPECT_TRUE(rl.check("k").allowed);
  EXPECT_FALSE(rl.check("k").allowed);

  clock.advance(60s);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(rl.check("k").allowed) << i;
  EXPECT_FALSE(rl.check("k").allowed);
}

TEST(RateLimiter, RefusedRequestsDoNotConsume) {
  ManualClock clock;
  RateLimiter rl(2, clock);
  ASSERT_TRUE(rl.check("k").allowed);
  ASSERT_TRUE(rl.check("k").allowed);
  for (int i = 0; i < 50; ++i) ASSERT_FALSE(rl.check("k").allowed);
  clock.advance(30s);  // exactly one token back
  EXPECT_TRUE(rl.check("k").allowed);
}

TEST(RateLimiter, DisabledWhenLimitIsZero) {
  ManualClock clock;
  RateLimiter rl(0, clock);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(rl.check("k").allowed);
  EXPECT_EQ(rl.size(), 0u);
}

TEST(RateLimiter, EvictsIdleKeysButKeepsBusyOnes) {
  ManualClock clock;
  RateLimiter rl(10, clock, /*max_keys=*/64);  // 4 keys per shard
  for (int i = 0; i < 1000; ++i) {
    clock.advance(61s);  // every earlier one-off client has refilled: evictable
    for (int j = 0; j < 10; ++j) rl.check("busy");  // "busy" is empty right now: not evictable
    rl.check("client-" + std::to_string(i));
    ASSERT_LE(rl.size(), 64u);
  }
  // Had "busy" been evicted it would have a fresh, full bucket.
  EXPECT_FALSE(rl.check("busy").allowed);
}

TEST(RateLimiter, FloodOfDistinctKeysStaysBounded) {
  ManualClock clock;
  RateLimiter rl(10, clock, 1600);
  for (int i = 0; i < 100000; ++i) rl.check("k" + std::to_string(i));
  EXPECT_LE(rl.size(), 1600u);
}

TEST(RateLimiter, ConcurrentChecksNeverOverAllow) {
  ManualClock clock;
  RateLimiter rl(100, clock);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (rl.check("shared").allowed) ++allowed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 100);
}

// A subscriber owns a whole /64: keyed per address, it could rotate through
// 2^64 fresh buckets.
TEST(RateLimiter, IPv6ClientsShareTheBucketOfTheirSlash64) {
  ManualClock clock;
  RateLimiter rl(2, clock);
  EXPECT_TRUE(rl.check("2001:db8:1:2::1").allowed);
  EXPECT_TRUE(rl.check("2001:db8:1:2:ffff:ffff:ffff:fffe").allowed);
  auto d = rl.check("2001:db8:1:2:abcd::77");  // third address, same /64
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 30s);
  // The neighbouring /64s are other subscribers.
  EXPECT_TRUE(rl.check("2001:db8:1:3::1").allowed);
  EXPECT_TRUE(rl.check("2001:db8:1:1:ffff:ffff:ffff:ffff").allowed);
  EXPECT_EQ(rl.size(), 3u);
}

TEST(RateLimiter, IPv4MappedClientsAreKeyedAsTheirIPv4Address) {
  ManualClock clock;
  RateLimiter rl(1, clock);
  EXPECT_TRUE(rl.check("::ffff:1.2.3.4").allowed);
  EXPECT_FALSE(rl.check("1.2.3.4").allowed);
  EXPECT_FALSE(rl.check("::FFFF:1.2.3.4").allowed);
  // Another IPv4 address is another client (no /24 grouping for IPv4).
  EXPECT_TRUE(rl.check("1.2.3.5").allowed);
}

TEST(RateLimiter, ClientKeys) {
  EXPECT_EQ(client_key("203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(client_key("::ffff:203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(client_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(client_key("2001:0DB8:0001:0002::"), "2001:db8:1:2::/64");
  EXPECT_EQ(client_key("::1"), "::/64");
  // Not an address (a unix socket peer, a test key): its own key.
  EXPECT_EQ(client_key("k"), "k");
  EXPECT_EQ(client_key(""), "");
}

TEST(RateLimiter, Headers) {
  ManualClock clock;
  RateLimiter rl(10, clock);
  EXPECT_EQ(rl.policy(), "10;w=60");
  for (int i = 0; i < 7; ++i) rl.check("k");
  auto d = rl.check("k");
  EXPECT_EQ(ratelimit_header(d), "limit=10, remaining=2, reset=48");
}

}  // namespace
}  // namespace tb::http
