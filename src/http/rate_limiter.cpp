#include "http/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

#include "http/ip_address.hpp"

namespace tb::http {
namespace {

std::chrono::seconds ceil_seconds(double s) {
  return std::chrono::seconds(static_cast<std::int64_t>(std::ceil(std::max(0.0, s) - 1e-9)));
}

}  // namespace

RateLimiter::RateLimiter(int per_minute, const tb::Clock& clock, std::size_t max_keys)
    : per_minute_(per_minute),
      clock_(clock),
      max_per_shard_(std::max<std::size_t>(1, max_keys / kShards)) {}

std::string RateLimiter::policy() const {
  return std::to_string(per_minute_) + ";w=60";
}

std::size_t RateLimiter::size() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.buckets.size();
  }
  return n;
}

void RateLimiter::evict(Shard& shard, std::chrono::steady_clock::time_point now) {
  const double rate = per_minute_ / 60.0;  // tokens per second
  for (auto it = shard.buckets.begin(); it != shard.buckets.end();) {
    const double elapsed = std::chrono::duration<double>(now - it->second.updated).count();
    if (it->second.tokens + elapsed * rate >= per_minute_) {
      it = shard.buckets.erase(it);
    } else {
      ++it;
    }
  }
  // Still full: a flood of distinct keys. Drop half (arbitrary) so the cost of
  // the next sweep is amortised over many inserts.
  if (shard.buckets.size() >= max_per_shard_) {
    std::size_t drop = shard.buckets.size() / 2 + 1;
    for (auto it = shard.buckets.begin(); it != shard.buckets.end() && drop > 0; --drop) {
      it = shard.buckets.erase(it);
    }
  }
}

RateLimiter::Decision RateLimiter::check(std::string_view client) {
  Decision d;
  d.limit = per_minute_;
  if (per_minute_ <= 0) {
    d.limit = 0;
    return d;
  }
  const auto now = clock_.steady_now();
  const double cap = per_minute_;
  const double rate = cap / 60.0;
  const std::string key = client_key(client);
  auto& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(key);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= max_per_shard_) evict(shard, now);
    it = shard.buckets.emplace(std::string(key), Bucket{cap, now}).first;
  }
  auto& b = it->second;
  const double elapsed = std::max(0.0, std::chrono::duration<double>(now - b.updated).count());
  b.tokens = std::min(cap, b.tokens + elapsed * rate);
  b.updated = now;
  // The epsilon absorbs rounding: 6 s at 10/min must give back exactly one token.
  constexpr double kEpsilon = 1e-9;
  if (b.tokens >= 1.0 - kEpsilon) {
    b.tokens = std::max(0.0, b.tokens - 1.0);
    d.allowed = true;
  } else {
    d.allowed = false;
    d.retry_after = std::max(std::chrono::seconds(1), ceil_seconds((1.0 - b.tokens) / rate));
  }
  d.remaining = static_cast<int>(std::floor(b.tokens + kEpsilon));
  d.reset = ceil_seconds((cap - b.tokens) / rate);
  return d;
}

std::string client_key(std::string_view client_ip) {
  auto ip = IpAddress::parse(client_ip);
  if (!ip) return std::string(client_ip);
  if (ip->v4) return ip->to_string();
  std::fill(ip->bytes.begin() + 8, ip->bytes.end(), std::uint8_t{0});
  return ip->to_string() + "/64";
}

std::string ratelimit_header(const RateLimiter::Decision& d) {
  return "limit=" + std::to_string(d.limit) + ", remaining=" + std::to_string(d.remaining) +
         ", reset=" + std::to_string(d.reset.count());
}

}  // namespace tb::http
