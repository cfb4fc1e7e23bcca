#include "io/zstd_adapt.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"

namespace tb::io {

AdaptiveLevel::AdaptiveLevel(int floor, int ceiling, int workers, int start)
    : floor_(floor),
      ceiling_(ceiling),
      warm_up_(static_cast<unsigned>(std::max(workers, 0)) + 1),
      level_(std::max(floor, std::min(start, ceiling))),
      lowest_(level_),
      highest_(level_) {
  if (floor < 1 || ceiling > 19 || floor > ceiling || workers < 0) {
    throw Error(ErrorCode::kInternal, "internal error",
                "adaptive zstd needs 1 <= floor <= ceiling <= 19; got floor " +
                    std::to_string(floor) + ", ceiling " + std::to_string(ceiling) + ", workers " +
                    std::to_string(workers));
  }
}

int AdaptiveLevel::observe(const AdaptSample& s) {
  presented_ += s.presented;
  blocked_ += s.blocked;
  if (s.idle_cores >= 0) {
    idle_sum_ += s.idle_cores;
    ++idle_n_;
  }
  // Decide only when libzstd started a new job (a level applies to whole
  // jobs), and not while the first jobs merely fill the workers.
  if (s.job <= last_job_) return level_;
  last_job_ = s.job;
  if (s.job <= warm_up_) {
    presented_ = blocked_ = idle_n_ = 0;
    idle_sum_ = 0;
    return level_;
  }
  const bool producer_waited = presented_ > 0 && blocked_ * 8 > presented_;
  const bool idle_known = idle_n_ > 0;
  const double idle = idle_known ? idle_sum_ / idle_n_ : 0;
  // A machine short of CPU never has room: the two steps cannot both apply.
  static_assert(kRoomCores > kBusyCores);
  const bool cpu_short = idle_known && idle < kBusyCores;
  int step = 0;
  if (producer_waited || cpu_short) {
    step = -1;
  } else if (blocked_ == 0 && (!idle_known || idle >= kRoomCores)) {
    step = 1;
  }
  level_ = std::clamp(level_ + step, floor_, ceiling_);
  lowest_ = std::min(lowest_, level_);
  highest_ = std::max(highest_, level_);
  presented_ = blocked_ = idle_n_ = 0;
  idle_sum_ = 0;
  return level_;
}

}  // namespace tb::io
