// The schedule domain: stored text round trip, the 5-field cron evaluator
// and "latest due slot" for daily / weekly / cron at day, week, month and
// year boundaries (all UTC).
#include "model/schedule.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "core/error.hpp"
#include "model/requests.hpp"

namespace tb::model {
namespace {

using namespace std::chrono;

// 2026-03-04 is a Wednesday.
SystemTime at(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return SystemTime{sys_days{year{y} / month{mo} / day{d}}} + hours(h) + minutes(mi) + seconds(s);
}

Schedule daily(const std::string& time) {
  Schedule s;
  s.kind = "daily";
  s.time = time;
  return s;
}
Schedule weekly(const std::string& day, const std::string& time) {
  Schedule s;
  s.kind = "weekly";
  s.day = day;
  s.time = time;
  return s;
}
Schedule cron(const std::string& expr) {
  Schedule s;
  s.kind = "cron";
  s.expr = expr;
  return s;
}

TEST(ScheduleText, RoundTripsEveryKind) {
  for (const auto& s : {Schedule{}, daily("02:30"), weekly("sun", "23:59"), cron("*/15 * * * *")}) {
    auto back = schedule_from_text(schedule_to_text(s));
    EXPECT_EQ(back.kind, s.kind);
    EXPECT_EQ(back.time, s.time);
    EXPECT_EQ(back.day, s.day);
    EXPECT_EQ(back.expr, s.expr);
  }
  EXPECT_EQ(schedule_to_text(Schedule{}), "off");
  EXPECT_EQ(schedule_from_text("").kind, "off");
  EXPECT_THROW(schedule_from_text("not json"), Error);
  EXPECT_THROW(schedule_from_text(R"({"kind":"hourly"})"), Error);
}

TEST(Cron, EveryFifteenMinutes) {
  auto c = CronExpr::parse("*/15 * * * *");
  EXPECT_TRUE(c.matches(at(2026, 3, 4, 10, 0)));
  EXPECT_TRUE(c.matches(at(2026, 3, 4, 10, 45, 59)));
  EXPECT_FALSE(c.matches(at(2026, 3, 4, 10, 44)));
  EXPECT_EQ(c.latest_at_or_before(at(2026, 3, 4, 10, 44, 59)), at(2026, 3, 4, 10, 30));
  EXPECT_EQ(c.latest_at_or_before(at(2026, 3, 4, 10, 45)), at(2026, 3, 4, 10, 45));
  // Across midnight and a year boundary.
  EXPECT_EQ(c.latest_at_or_before(at(2026, 1, 1, 0, 14)), at(2026, 1, 1, 0, 0));
  EXPECT_EQ(CronExpr::parse("30 23 * * *").latest_at_or_before(at(2026, 1, 1, 0, 14)),
            at(2025, 12, 31, 23, 30));
}

TEST(Cron, RangesListsAndSteps) {
  auto c = CronExpr::parse("0,30 9-17/4 * * *");  // 9:00 9:30 13:00 13:30 17:00 17:30
  EXPECT_TRUE(c.matches(at(2026, 3, 4, 13, 30)));
  EXPECT_FALSE(c.matches(at(2026, 3, 4, 11, 0)));
  EXPECT_EQ(c.latest_at_or_before(at(2026, 3, 4, 16, 59)), at(2026, 3, 4, 13, 30));
  EXPECT_EQ(c.latest_at_or_before(at(2026, 3, 4, 8, 0)), at(2026, 3, 3, 17, 30));
  auto from = CronExpr::parse("5/20 * * * *");  // 5, 25, 45
  EXPECT_EQ(from.latest_at_or_before(at(2026, 3, 4, 10, 44)), at(2026, 3, 4, 10, 25));
  auto months = CronExpr::parse("0 0 1 1,7 *");  // twice a year
  EXPECT_EQ(months.latest_at_or_before(at(2026, 6, 30, 23, 59)), at(2026, 1, 1, 0, 0));
}

TEST(Cron, DayOfWeekAndTheOrRule) {
  // Mon-Fri at 02:00; 2026-03-07 is a Saturday, so Monday's morning looks back to Friday.
  auto weekdays = CronExpr::parse("0 2 * * 1-5");
  EXPECT_EQ(weekdays.latest_at_or_before(at(2026, 3, 9, 1, 0)), at(2026, 3, 6, 2, 0));
  // Sunday is 0 and 7.
  EXPECT_EQ(CronExpr::parse("0 0 * * 7").latest_at_or_before(at(2026, 3, 4)),
            CronExpr::parse("0 0 * * 0").latest_at_or_before(at(2026, 3, 4)));
  EXPECT_EQ(CronExpr::parse("0 0 * * 0").latest_at_or_before(at(2026, 3, 4)), at(2026, 3, 1));
  // Both day fields restricted: either matches (the 13th OR a Friday).
  auto either = CronExpr::parse("0 0 13 * 5");
  EXPECT_TRUE(either.matches(at(2026, 3, 13)));  // a Friday the 13th
  EXPECT_TRUE(either.matches(at(2026, 3, 6)));   // a Friday
  EXPECT_TRUE(either.matches(at(2026, 4, 13)));  // a Monday the 13th
  EXPECT_FALSE(either.matches(at(2026, 3, 7)));
  // A star day-of-month: both must match (every Friday only).
  auto fridays = CronExpr::parse("0 0 */1 * 5");
  EXPECT_FALSE(fridays.matches(at(2026, 4, 13)));
  EXPECT_TRUE(fridays.matches(at(2026, 4, 10)));
}

TEST(Cron, LeapDayAndImpossibleDates) {
  EXPECT_EQ(CronExpr::parse("0 12 29 2 *").latest_at_or_before(at(2027, 6, 1)),
            at(2024, 2, 29, 12, 0));
  EXPECT_EQ(CronExpr::parse("0 0 30 2 *").latest_at_or_before(at(2026, 3, 4)), std::nullopt);
}

TEST(Cron, RefusesBadExpressionsNamingTheField) {
  for (const char* bad : {"* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *",
                          "* * * 13 *", "* * * * 8", "*/0 * * * *", "5-1 * * * *", "1,,2 * * * *",
                          "a * * * *", "-1 * * * *", "", "* * * * mon"}) {
    try {
      CronExpr::parse(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kValidation) << bad;
      EXPECT_EQ(e.field(), "schedule.expr") << bad;
    }
  }
}

TEST(Slots, DailyAtAndAroundMidnight) {
  auto s = daily("00:00");
  EXPECT_EQ(latest_slot(s, at(2026, 3, 4, 0, 0)), at(2026, 3, 4, 0, 0));
  EXPECT_EQ(latest_slot(s, at(2026, 3, 3, 23, 59, 59)), at(2026, 3, 3, 0, 0));
  auto late = daily("23:59");
  EXPECT_EQ(latest_slot(late, at(2026, 3, 4, 23, 58)), at(2026, 3, 3, 23, 59));
  EXPECT_EQ(latest_slot(late, at(2026, 3, 1, 0, 0)), at(2026, 2, 28, 23, 59));  // month boundary
  EXPECT_EQ(latest_slot(daily("02:30"), at(2026, 1, 1, 2, 29)), at(2025, 12, 31, 2, 30));
}

TEST(Slots, WeeklyDayBoundaries) {
  // 2026-03-04 is a Wednesday.
  EXPECT_EQ(latest_slot(weekly("wed", "10:00"), at(2026, 3, 4, 10, 0)), at(2026, 3, 4, 10, 0));
  EXPECT_EQ(latest_slot(weekly("wed", "10:00"), at(2026, 3, 4, 9, 59)), at(2026, 2, 25, 10, 0));
  EXPECT_EQ(latest_slot(weekly("sun", "23:59"), at(2026, 3, 2, 0, 0)), at(2026, 3, 1, 23, 59));
  EXPECT_EQ(latest_slot(weekly("mon", "00:00"), at(2026, 3, 1, 23, 59)), at(2026, 2, 23, 0, 0));
  EXPECT_EQ(latest_slot(Schedule{}, at(2026, 3, 4)), std::nullopt);
}

TEST(Slots, NextSlotIsTheFirstOneStrictlyAfterNow) {
  // Daily and weekly: the day (week) after the latest slot, also at the slot itself.
  EXPECT_EQ(next_slot(daily("03:00"), at(2026, 3, 4, 2, 59, 59)), at(2026, 3, 4, 3, 0));
  EXPECT_EQ(next_slot(daily("03:00"), at(2026, 3, 4, 3, 0)), at(2026, 3, 5, 3, 0));
  EXPECT_EQ(next_slot(daily("23:59"), at(2026, 12, 31, 23, 59, 30)), at(2027, 1, 1, 23, 59));
  EXPECT_EQ(next_slot(weekly("wed", "10:00"), at(2026, 3, 4, 9, 59)), at(2026, 3, 4, 10, 0));
  EXPECT_EQ(next_slot(weekly("wed", "10:00"), at(2026, 3, 4, 10, 0)), at(2026, 3, 11, 10, 0));
  EXPECT_EQ(next_slot(weekly("mon", "00:00"), at(2026, 3, 1, 23, 59)), at(2026, 3, 2, 0, 0));
  // Cron: the next matching minute, across hour, day, month and year ends.
  EXPECT_EQ(next_slot(cron("* * * * *"), at(2026, 3, 4, 10, 44, 30)), at(2026, 3, 4, 10, 45));
  EXPECT_EQ(next_slot(cron("*/15 * * * *"), at(2026, 3, 4, 10, 45)), at(2026, 3, 4, 11, 0));
  EXPECT_EQ(next_slot(cron("30 23 * * *"), at(2026, 3, 4, 23, 30)), at(2026, 3, 5, 23, 30));
  EXPECT_EQ(next_slot(cron("0 0 1 1 *"), at(2026, 6, 1)), at(2027, 1, 1, 0, 0));
  EXPECT_EQ(next_slot(cron("0 0 29 2 *"), at(2026, 3, 1)), at(2028, 2, 29, 0, 0));
  EXPECT_EQ(next_slot(cron("0 0 30 2 *"), at(2026, 3, 1)), std::nullopt);  // never fires
  EXPECT_EQ(next_slot(Schedule{}, at(2026, 3, 4)), std::nullopt);
}

TEST(Slots, SettingsUpdateRefusesBadCronAndReadsApplyToExisting) {
  BackupSettings current;
  EXPECT_THROW(
      parse_settings_update(R"({"schedule":{"kind":"cron","expr":"61 * * * *"}})", current), Error);
  auto ok = parse_settings_update(R"({"schedule":{"kind":"cron","expr":"*/15 * * * *"}})", current);
  EXPECT_EQ(ok.schedule.expr, "*/15 * * * *");
  EXPECT_FALSE(ok.apply_to_existing);
  auto apply = parse_settings_update(R"({"retention_days":7,"apply_to_existing":true})", current);
  EXPECT_TRUE(apply.apply_to_existing);
  EXPECT_EQ(apply.retention_days, 7);
  EXPECT_THROW(parse_settings_update(R"({"apply_to_existing":"yes"})", current), Error);
  EXPECT_THROW(parse_settings_update(R"({"apply_to_everything":true})", current), Error);
}

}  // namespace
}  // namespace tb::model
