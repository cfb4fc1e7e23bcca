#include <gtest/gtest.h>

#include "db/connection.hpp"

namespace tb::db {
namespace {

using namespace std::chrono;

TEST(Timestamp, ParsesPostgresOutputToTheMicrosecond) {
  auto t = parse_timestamp("2026-11-24 10:00:00.123456+00");
  EXPECT_EQ(format_timestamp(t), "2026-11-24 10:00:00.123456+00");
  EXPECT_EQ(format_rfc3339(t), "2026-11-24T10:00:00.123Z");
}

TEST(Timestamp, AppliesOffsetsAndShortFractions) {
  EXPECT_EQ(parse_timestamp("2026-11-24 12:30:00.5+02:30"),
            parse_timestamp("2026-11-24 10:00:00.500000+00"));
  EXPECT_EQ(parse_timestamp("2026-11-24 10:00:00-01"), parse_timestamp("2026-11-24 11:00:00+00"));
  EXPECT_EQ(parse_timestamp("1970-01-01 00:00:00+00"), SystemTime{});
}

TEST(Timestamp, FormatsBeforeTheEpochAndRoundTrips) {
  SystemTime t = SystemTime{} - microseconds(1);
  EXPECT_EQ(format_timestamp(t), "1969-12-31 23:59:59.999999+00");
  EXPECT_EQ(parse_timestamp(format_timestamp(t)), t);
}

TEST(Timestamp, RejectsGarbage) {
  EXPECT_THROW(parse_timestamp("yesterday"), tb::Error);
  EXPECT_THROW(parse_timestamp("2026-1"), tb::Error);
}

TEST(TextArray, QuotesAndEscapes) {
  EXPECT_EQ(text_array({}), "{}");
  EXPECT_EQ(text_array({"a", "b \"c\"", "d\\e", "x,y"}), R"({"a","b \"c\"","d\\e","x,y"})");
}

}  // namespace
}  // namespace tb::db
