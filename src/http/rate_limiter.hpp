// Per-client rate limiting with a token bucket per client_key() (an IPv4
// address, an IPv6 /64): `per_minute` tokens of capacity, refilled
// continuously at per_minute/60 s. A full minute without requests gives a
// client its whole quota back; a steady client gets one request every
// 60/per_minute seconds.
//
// Invariants:
// - Thread-safe; the map is sharded (one mutex per shard) so concurrent
//   clients rarely contend.
// - Bounded memory: a shard holds at most max_keys/kShards keys. Keys whose
//   bucket has refilled completely carry no information and are evicted first;
//   under a flood of distinct keys, arbitrary keys are dropped (memory wins
//   over exactness: a dropped key starts again with a full bucket).
// - per_minute <= 0 disables the limiter (every check is allowed).
// - Time comes from the injected tb::Clock (steady_now), so tests never sleep.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.hpp"

namespace tb::http {

class RateLimiter {
 public:
  struct Decision {
    bool allowed = true;
    int limit = 0;
    int remaining = 0;                    // requests left right now after this one
    std::chrono::seconds reset{0};        // until the bucket is full again
    std::chrono::seconds retry_after{0};  // until the next request is allowed (0 when allowed)
  };

  RateLimiter(int per_minute, const tb::Clock& clock, std::size_t max_keys = 100000);

  // Takes one token from the bucket of client_key(client) when available.
  Decision check(std::string_view client);

  int limit() const { return per_minute_; }
  // "10;w=60": the RateLimit-Policy header value.
  std::string policy() const;
  // Keys currently tracked (tests, metrics).
  std::size_t size() const;

 private:
  static constexpr std::size_t kShards = 16;
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point updated;
  };
  struct KeyHash {  // transparent: look keys up by string_view without a copy
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Bucket, KeyHash, std::equal_to<>> buckets;
  };
  void evict(Shard& shard, std::chrono::steady_clock::time_point now);

  int per_minute_;
  const tb::Clock& clock_;
  std::size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
};

// The bucket key of a client address (TrustedProxies::client_ip's answer): an
// IPv4 address as is (also when it comes IPv4-mapped), an IPv6 address as its
// /64 ("2001:db8:1:2::/64"). A subscriber is given a whole /64 and can use any
// address in it, so a key per /128 would hand it 2^64 buckets. Text that is
// not an address is its own key.
std::string client_key(std::string_view client_ip);

// The header values for a limited route (IETF draft-ietf-httpapi-ratelimit-headers):
// RateLimit: "limit=10, remaining=3, reset=42".
std::string ratelimit_header(const RateLimiter::Decision& d);

}  // namespace tb::http
