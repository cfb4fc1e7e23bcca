// How much of the machine's CPU was idle between two looks, in cores, from
// /proc/stat (idle + iowait over all CPUs). What the adaptive zstd level asks
// before it compresses harder: on a machine whose cores are all busy (the
// PostgreSQL backend, other jobs, other programs), a higher level slows
// everything else down.
#pragma once

#include <cstdint>

namespace tb::io {

class CpuIdleMeter {
 public:
  CpuIdleMeter();
  // Idle cores on average over the last stretch of at least ~100 ms that
  // ended at this call or before; negative while unknown (/proc/stat
  // unreadable, or less than ~100 ms since construction).
  double idle_cores();

 private:
  bool read(std::uint64_t& idle, std::uint64_t& total) const;
  std::uint64_t idle_ = 0;
  std::uint64_t total_ = 0;
  bool valid_ = false;
  double last_ = -1;
  int cpus_ = 1;
};

}  // namespace tb::io
