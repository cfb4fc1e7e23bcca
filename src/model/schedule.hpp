// Backup schedules as a domain type: the stored text form, the 5-field cron
// evaluator and "which slot is due".
//
// Invariants:
// - The store keeps a schedule as text: "off" or the compact JSON of
//   {"kind":"daily","time":"HH:MM"} | {"kind":"weekly","day":"mon".."sun","time":"HH:MM"}
//   | {"kind":"cron","expr":"m h dom mon dow"}. schedule_to_text() and
//   schedule_from_text() are each other's inverse; every reader uses them.
// - All times are UTC; a slot is a whole minute.
// - Cron: minute hour day-of-month month day-of-week, each field "*", numbers,
//   ranges "a-b", lists "a,b", steps "*/n", "a-b/n", "a/n" (= a-max/n); no
//   names, no "?", "L", "W", "#". Day-of-week 0-7 (0 and 7 are Sunday). As in
//   Vixie cron, when both day fields are restricted (neither starts with "*")
//   a day matches if EITHER matches; otherwise both must.
#pragma once

#include <bitset>
#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "model/requests.hpp"

namespace tb::model {

// "off" / "" -> kind "off". Throws tb::Error(kInternal) for text that is not
// a schedule this module wrote.
Schedule schedule_from_text(std::string_view text);
std::string schedule_to_text(const Schedule& s);
// The API shape: {"kind": ..., "time"?: ..., "day"?: ..., "expr"?: ...}.
boost::json::object schedule_json(const Schedule& s);

class CronExpr {
 public:
  // Throws tb::Error(kValidation, field "schedule.expr") naming what is wrong.
  static CronExpr parse(std::string_view expr);

  // Whether the minute containing `t` is a slot.
  bool matches(SystemTime t) const;
  // The latest slot <= t (t's own minute included); nullopt when none exists
  // within the last 8 years (e.g. "0 0 30 2 *").
  std::optional<SystemTime> latest_at_or_before(SystemTime t) const;
  // The earliest slot strictly after t (a slot is the start of its minute);
  // nullopt when none exists within the next 8 years.
  std::optional<SystemTime> earliest_after(SystemTime t) const;

 private:
  bool day_matches(int month, int dom, int dow) const;

  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0 = Sunday
  bool days_star_ = false;
  bool weekdays_star_ = false;
};

// The most recent slot <= now of `s`; nullopt for "off" (or a cron that never
// fires). Daily/weekly "time" is HH:MM UTC; weekly "day" is mon..sun.
std::optional<SystemTime> latest_slot(const Schedule& s, SystemTime now);
// The earliest slot strictly after now (when the next scheduled run is due,
// before the scheduler's jitter); nullopt for "off" or a cron that never fires.
std::optional<SystemTime> next_slot(const Schedule& s, SystemTime now);

}  // namespace tb::model
