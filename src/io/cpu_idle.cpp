#include "io/cpu_idle.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "core/unique_fd.hpp"

namespace tb::io {

CpuIdleMeter::CpuIdleMeter() {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  cpus_ = n > 0 ? static_cast<int>(n) : 1;
  valid_ = read(idle_, total_);
}

// The first line: "cpu  user nice system idle iowait irq softirq steal ...",
// in clock ticks summed over every CPU.
bool CpuIdleMeter::read(std::uint64_t& idle, std::uint64_t& total) const {
  UniqueFd fd(::open("/proc/stat", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  char buf[512];
  const ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return false;
  buf[n] = '\0';
  unsigned long long v[8] = {};
  if (std::sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                  &v[4], &v[5], &v[6], &v[7]) != 8) {
    return false;
  }
  idle = v[3] + v[4];
  total = 0;
  for (unsigned long long x : v) total += x;
  return true;
}

double CpuIdleMeter::idle_cores() {
  std::uint64_t idle = 0;
  std::uint64_t total = 0;
  if (!read(idle, total)) {
    valid_ = false;
    return -1;
  }
  if (!valid_) {
    idle_ = idle;
    total_ = total;
    valid_ = true;
    return last_;
  }
  // The counters move in clock ticks (10 ms): over less than ~100 ms a
  // figure would be mostly rounding, so the previous one is kept until then.
  const std::uint64_t d_total = total - total_;
  if (d_total < 10 * static_cast<std::uint64_t>(cpus_)) return last_;
  last_ = static_cast<double>(idle - idle_) / static_cast<double>(d_total) * cpus_;
  idle_ = idle;
  total_ = total;
  return last_;
}

}  // namespace tb::io
