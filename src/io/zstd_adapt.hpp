// The adaptive zstd level: which level the next jobs of a multithreaded zstd
// stream are compressed at, chosen from how the stream is going, in the way
// `zstd --adapt` does it, plus one thing `zstd --adapt` does not look at: the
// machine's idle CPU.
//
// Why idle CPU: the producer here is pg_dump, and the PostgreSQL backend that
// serves its COPY needs a whole core. `zstd --adapt` raises the level whenever
// its input is never blocked; on a 2-core machine that is always, so it keeps
// raising it until its own worker takes CPU from the backend and the dump as a
// whole slows down (`pg_dump | zstd --adapt -T1` measured 2.3 x `pg_dump >
// /dev/null` there). So a level goes up only while the machine has a whole
// core idle, and down when the machine has almost none left.
//
// The rules, applied once per new job started by libzstd (after the first
// workers + 1 jobs, which only fill the workers):
//   - the producer waited on the compressor (more than 1/8 of the writes
//     handed to libzstd took nothing in): one level down;
//   - else the producer never waited and the machine had at least
//     kRoomCores idle (or its idle time is unknown): one level up;
//   - else the machine had less than kBusyCores idle: one level down;
//   - else the level stays.
// always within [floor, ceiling].
//
// Pure: it is fed samples and answers levels, so it is unit-tested with
// synthetic progressions (tests/unit/io).
#pragma once

#include <cstdint>

namespace tb::io {

// What the compressor saw since the previous sample.
struct AdaptSample {
  // ZSTD_frameProgression.currentJobID: the latest job libzstd started.
  unsigned job = 0;
  // ZSTD_compressStream2 calls that had input to give, and how many of those
  // took none of it (libzstd's buffers were full: the producer waited). On
  // the producer's thread (no workers): writes, and how many found the
  // producer's own buffer (pg_dump's pipe) nearly full.
  unsigned presented = 0;
  unsigned blocked = 0;
  // Idle CPU of the whole machine over the same time, in cores (0.5 = half a
  // core idle on average); negative when unknown.
  double idle_cores = -1;
};

class AdaptiveLevel {
 public:
  // A whole idle core: on 2 cores, where the backend serving the dump has
  // one, a level above the floor measured slower (levels 1-4: 1.39 x
  // pg_dump > /dev/null against 1.27 at level 1 fixed, same run).
  static constexpr double kRoomCores = 1.0;
  static constexpr double kBusyCores = 0.15;

  // Throws tb::Error kInternal unless 1 <= floor <=
  // ceiling <= 19 and workers >= 0 (0: the compressor runs on the producer's
  // thread and counts its own jobs; see ZstdSettings).
  // `start` (clamped to the bounds; default the floor) is the first level.
  AdaptiveLevel(int floor, int ceiling, int workers, int start = 0);

  // Feeds one sample; returns the level for the jobs that follow.
  int observe(const AdaptSample& sample);

  int level() const { return level_; }
  int lowest() const { return lowest_; }    // lowest level used so far
  int highest() const { return highest_; }  // highest level used so far

 private:
  int floor_;
  int ceiling_;
  unsigned warm_up_;  // jobs that only fill the workers
  int level_;
  int lowest_;
  int highest_;
  unsigned last_job_ = 0;
  // Accumulated over the samples since the last decision.
  unsigned presented_ = 0;
  unsigned blocked_ = 0;
  double idle_sum_ = 0;
  unsigned idle_n_ = 0;
};

}  // namespace tb::io
