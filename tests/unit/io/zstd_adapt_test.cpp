// The adaptive zstd level controller, fed synthetic progressions (no timing):
// the producer waiting on the compressor takes the level down, an idle
// compressor on a machine with spare CPU takes it up, a saturated machine
// takes it down, and the floor and ceiling hold. Then a real adaptive stream
// round-trips through the zstd CLI.
#include "io/zstd_adapt.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.hpp"
#include "io/compress.hpp"

namespace tb::io {
namespace {

// What `zstd -dc` makes of `packed`.
std::string run_zstd_cli(const std::string& packed) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto in = dir / ("tb-adapt-" + std::to_string(::getpid()) + ".zst");
  std::ofstream(in, std::ios::binary) << packed;
  std::string out;
  FILE* p = ::popen(("zstd -dc " + in.string()).c_str(), "r");
  char buf[65536];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ::pclose(p);
  std::filesystem::remove(in);
  return out;
}

// One sample per new job; `blocked` of `presented` writes took nothing.
AdaptSample job(unsigned id, unsigned presented, unsigned blocked, double idle) {
  return AdaptSample{.job = id, .presented = presented, .blocked = blocked, .idle_cores = idle};
}

TEST(AdaptiveLevel, StartsAtTheFloorAndWaitsForTheWorkersToFill) {
  AdaptiveLevel a(1, 6, 1);
  EXPECT_EQ(a.level(), 1);
  // Jobs 1 and 2 only fill the single worker: no decision, however idle.
  EXPECT_EQ(a.observe(job(1, 4, 0, 8.0)), 1);
  EXPECT_EQ(a.observe(job(2, 4, 0, 8.0)), 1);
  EXPECT_EQ(a.observe(job(3, 4, 0, 8.0)), 2);
}

TEST(AdaptiveLevel, AnIdleCompressorWithSpareCpuClimbsToTheCeilingAndStays) {
  AdaptiveLevel a(1, 6, 1);
  unsigned id = 3;
  std::vector<int> seen;
  seen.reserve(10);
  for (int i = 0; i < 10; ++i) seen.push_back(a.observe(job(id++, 4, 0, 3.5)));
  EXPECT_EQ(seen, (std::vector<int>{2, 3, 4, 5, 6, 6, 6, 6, 6, 6}));
  EXPECT_EQ(a.lowest(), 1);
  EXPECT_EQ(a.highest(), 6);
}

TEST(AdaptiveLevel, AProducerWaitingOnTheCompressorTakesTheLevelDownToTheFloor) {
  AdaptiveLevel a(2, 9, 2);
  unsigned id = 4;  // past the warm-up of 2 workers
  for (int i = 0; i < 7; ++i) a.observe(job(id++, 4, 0, 6.0));
  ASSERT_EQ(a.level(), 9);
  // 3 of 10 writes waited (more than 1/8), even with idle CPU elsewhere.
  std::vector<int> seen;
  seen.reserve(9);
  for (int i = 0; i < 9; ++i) seen.push_back(a.observe(job(id++, 10, 3, 6.0)));
  EXPECT_EQ(seen, (std::vector<int>{8, 7, 6, 5, 4, 3, 2, 2, 2}));
  EXPECT_EQ(a.lowest(), 2);
  EXPECT_EQ(a.highest(), 9);
}

TEST(AdaptiveLevel, ASaturatedMachineTakesTheLevelDownAMiddlingOneHoldsIt) {
  AdaptiveLevel a(1, 6, 1);
  unsigned id = 3;
  for (int i = 0; i < 3; ++i) a.observe(job(id++, 4, 0, 1.0));
  ASSERT_EQ(a.level(), 4);
  // The compressor keeps up, but nothing is idle: it competes with the backend.
  EXPECT_EQ(a.observe(job(id++, 4, 0, 0.05)), 3);
  // Between kBusyCores and kRoomCores idle: stay.
  EXPECT_EQ(a.observe(job(id++, 4, 0, 0.3)), 3);
  EXPECT_EQ(a.observe(job(id++, 4, 0, 0.3)), 3);
  // A little waiting (1 of 10, not more than 1/8) without room: stay too.
  EXPECT_EQ(a.observe(job(id++, 10, 1, 2.0)), 3);
}

TEST(AdaptiveLevel, DecidesOncePerJobOverEverythingSeenSinceTheLastDecision) {
  AdaptiveLevel a(1, 6, 1);
  a.observe(job(1, 1, 0, 4));
  a.observe(job(2, 1, 0, 4));
  ASSERT_EQ(a.observe(job(3, 4, 0, 4)), 2);
  // The same job again: no decision, but its writes count towards the next.
  EXPECT_EQ(a.observe(job(3, 8, 8, 4)), 2);
  EXPECT_EQ(a.observe(job(4, 8, 0, 4)), 1);  // 8 of 16 waited
}

TEST(AdaptiveLevel, UnknownIdleTimeBehavesLikeZstdAdapt) {
  AdaptiveLevel a(1, 3, 1);
  unsigned id = 3;
  EXPECT_EQ(a.observe(job(id++, 4, 0, -1)), 2);
  EXPECT_EQ(a.observe(job(id++, 4, 0, -1)), 3);
  EXPECT_EQ(a.observe(job(id++, 4, 0, -1)), 3);
  EXPECT_EQ(a.observe(job(id++, 4, 4, -1)), 2);
}

TEST(AdaptiveLevel, RefusesBoundsItCannotKeep) {
  EXPECT_THROW(AdaptiveLevel(0, 6, 1), Error);
  EXPECT_THROW(AdaptiveLevel(4, 3, 1), Error);
  EXPECT_THROW(AdaptiveLevel(1, 20, 1), Error);
  EXPECT_THROW(AdaptiveLevel(1, 6, -1), Error);
  EXPECT_NO_THROW(AdaptiveLevel(3, 3, 1));
}

TEST(AdaptiveLevel, WithoutWorkersOnlyTheFirstJobIsWarmUp) {
  AdaptiveLevel a(1, 6, 0);
  EXPECT_EQ(a.observe(job(1, 2, 0, 3.0)), 1);
  EXPECT_EQ(a.observe(job(2, 2, 0, 3.0)), 2);
  EXPECT_EQ(a.observe(job(3, 2, 2, 3.0)), 1);
}

// With workers (libzstd takes the level mid-frame) and without (a new frame
// per level change, here forced by a producer that always waits: from 4 down
// to the floor, one frame per level).
TEST(AdaptiveZstd, AStreamRoundTripsAndReportsLevelsWithinItsBounds) {
  std::mt19937 rng(7);
  std::string data;
  while (data.size() < (40u << 20)) {
    data += "INSERT INTO t VALUES (" + std::to_string(rng() % 1000000) + ", 'row text');\n";
  }
  for (int workers : {1, 0}) {
    SCOPED_TRACE(workers);
    StringSink packed;
    ZstdCompressor z(packed, ZstdSettings{.level = 4,
                                          .adaptive = true,
                                          .floor = 1,
                                          .ceiling = 4,
                                          .workers = workers,
                                          .producer_waiting = [] { return true; }});
    for (std::size_t i = 0; i < data.size(); i += 1 << 20) {
      z.write(as_bytes(std::string_view(data).substr(i, 1 << 20)));
    }
    z.finish();
    const ZstdLevels l = z.levels();
    EXPECT_TRUE(l.adaptive);
    EXPECT_GE(l.lowest, 1);
    EXPECT_LE(l.highest, 4);
    EXPECT_LE(l.lowest, l.last);
    EXPECT_LE(l.last, l.highest);
    StringSink back;
    ZstdDecompressor d(back);
    d.write(as_bytes(packed.str()));
    d.finish();
    EXPECT_EQ(back.str(), data);
    if (workers == 0) {
      // 4 -> 1, 8 MiB a step: four frames, one stream for every reader.
      EXPECT_EQ(l.highest, 4);
      EXPECT_EQ(l.last, 1);
      EXPECT_EQ(run_zstd_cli(packed.str()), data);
    }
  }
}

}  // namespace
}  // namespace tb::io
