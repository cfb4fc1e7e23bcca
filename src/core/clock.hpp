// Time is injected: production code asks a Clock, tests pass a ManualClock so
// that background loops (rate limiter, scheduler, retention) never sleep.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

namespace tb {

using SystemTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime now() const = 0;
  // Monotonic time for durations and timeouts.
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
};

class RealClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
  static const RealClock& instance();
};

// A clock that moves only when told to (tests).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(SystemTime start = SystemTime{std::chrono::hours(24 * 365 * 56)})
      : now_(start.time_since_epoch().count()) {}
  SystemTime now() const override { return SystemTime{SystemTime::duration{now_.load()}}; }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::time_point{
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(now().time_since_epoch())};
  }
  void advance(std::chrono::nanoseconds d) {
    now_ += std::chrono::duration_cast<SystemTime::duration>(d).count();
  }
  void set(SystemTime t) { now_ = t.time_since_epoch().count(); }

 private:
  std::atomic<SystemTime::rep> now_;
};

// RFC 3339 UTC with milliseconds, e.g. "2026-11-24T10:00:00.123Z".
std::string format_rfc3339(SystemTime t);

}  // namespace tb
