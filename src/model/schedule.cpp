#include "model/schedule.hpp"

#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <vector>

#include "core/error.hpp"

namespace tb::model {
namespace {

using namespace std::chrono;

constexpr std::array<std::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed",
                                                       "thu", "fri", "sat"};

[[noreturn]] void bad_cron(const std::string& why) {
  throw Error(ErrorCode::kValidation, "'schedule.expr' is not a valid cron expression: " + why, {},
              "schedule.expr");
}

int parse_number(std::string_view s, std::string_view field) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size()) {
    bad_cron("'" + std::string(s) + "' in the " + std::string(field) + " field is not a number");
  }
  return v;
}

// Sets the bits of one field ("*/15", "1-5", "0,30", ...) in [lo, hi].
// Returns whether the field starts with "*" (cron's day-matching rule needs it).
template <std::size_t N>
bool parse_field(std::string_view text, std::string_view name, int lo, int hi,
                 std::bitset<N>& out) {
  bool star = !text.empty() && text.front() == '*';
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto item = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) bad_cron("empty list item in the " + std::string(name) + " field");
    int step = 1;
    bool has_step = false;
    if (auto slash = item.find('/'); slash != std::string_view::npos) {
      step = parse_number(item.substr(slash + 1), name);
      if (step < 1) bad_cron("step 0 in the " + std::string(name) + " field");
      item = item.substr(0, slash);
      has_step = true;
    }
    int from = lo;
    int to = hi;
    if (item == "*") {
      // the whole range
    } else if (auto dash = item.find('-'); dash != std::string_view::npos) {
      from = parse_number(item.substr(0, dash), name);
      to = parse_number(item.substr(dash + 1), name);
    } else {
      from = parse_number(item, name);
      to = has_step ? hi : from;  // "a/n" means a, a+n, ... up to the maximum (Vixie cron)
    }
    if (from < lo || to > hi || from > to) {
      bad_cron("'" + std::string(item) + "' is outside " + std::to_string(lo) + "-" +
               std::to_string(hi) + " in the " + std::string(name) + " field");
    }
    for (int v = from; v <= to; v += step) out.set(static_cast<std::size_t>(v));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return star;
}

struct Civil {
  sys_days day;
  int year, month, dom, dow, hour, minute;
};

Civil civil(SystemTime t) {
  auto minute_point = floor<minutes>(t);
  auto day = floor<days>(minute_point);
  year_month_day ymd{day};
  hh_mm_ss hms{minute_point - day};
  return {day,
          static_cast<int>(ymd.year()),
          static_cast<int>(static_cast<unsigned>(ymd.month())),
          static_cast<int>(static_cast<unsigned>(ymd.day())),
          static_cast<int>(weekday{day}.c_encoding()),
          static_cast<int>(hms.hours().count()),
          static_cast<int>(hms.minutes().count())};
}

// "HH:MM" -> minutes since midnight (validated by parse_schedule before storing).
int minute_of_day(const std::string& hhmm) {
  if (hhmm.size() != 5 || hhmm[2] != ':') throw_internal("bad schedule time '" + hhmm + "'");
  int h = (hhmm[0] - '0') * 10 + (hhmm[1] - '0');
  int m = (hhmm[3] - '0') * 10 + (hhmm[4] - '0');
  if (h < 0 || h > 23 || m < 0 || m > 59) throw_internal("bad schedule time '" + hhmm + "'");
  return h * 60 + m;
}

}  // namespace

Schedule schedule_from_text(std::string_view text) {
  Schedule s;
  if (text.empty() || text == "off") return s;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object())
    throw_internal("stored schedule is not a JSON object: " + std::string(text));
  const auto& o = v.as_object();
  auto get = [&](const char* k) {
    const auto* p = o.if_contains(k);
    return p && p->is_string() ? std::string(p->as_string()) : std::string();
  };
  s.kind = get("kind");
  s.time = get("time");
  s.day = get("day");
  s.expr = get("expr");
  if (s.kind != "off" && s.kind != "daily" && s.kind != "weekly" && s.kind != "cron") {
    throw_internal("stored schedule has an unknown kind: " + std::string(text));
  }
  return s;
}

boost::json::object schedule_json(const Schedule& s) {
  boost::json::object o{{"kind", s.kind}};
  if (!s.time.empty()) o["time"] = s.time;
  if (!s.day.empty()) o["day"] = s.day;
  if (!s.expr.empty()) o["expr"] = s.expr;
  return o;
}

std::string schedule_to_text(const Schedule& s) {
  return s.kind == "off" ? std::string("off") : boost::json::serialize(schedule_json(s));
}

CronExpr CronExpr::parse(std::string_view expr) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < expr.size()) {
    while (i < expr.size() && (expr[i] == ' ' || expr[i] == '\t')) ++i;
    if (i >= expr.size()) break;
    auto j = i;
    while (j < expr.size() && expr[j] != ' ' && expr[j] != '\t') ++j;
    fields.push_back(expr.substr(i, j - i));
    i = j;
  }
  if (fields.size() != 5)
    bad_cron("it needs five fields (minute hour day-of-month month day-of-week)");
  CronExpr c;
  parse_field(fields[0], "minute", 0, 59, c.minutes_);
  parse_field(fields[1], "hour", 0, 23, c.hours_);
  c.days_star_ = parse_field(fields[2], "day-of-month", 1, 31, c.days_);
  parse_field(fields[3], "month", 1, 12, c.months_);
  std::bitset<8> dow;
  c.weekdays_star_ = parse_field(fields[4], "day-of-week", 0, 7, dow);
  for (std::size_t d = 0; d < 7; ++d) c.weekdays_[d] = dow[d];
  if (dow[7]) c.weekdays_.set(0);  // 7 is Sunday too
  return c;
}

bool CronExpr::day_matches(int month, int dom, int dow) const {
  if (!months_[static_cast<std::size_t>(month)]) return false;
  bool d = days_[static_cast<std::size_t>(dom)];
  bool w = weekdays_[static_cast<std::size_t>(dow)];
  return days_star_ || weekdays_star_ ? d && w : d || w;
}

bool CronExpr::matches(SystemTime t) const {
  auto c = civil(t);
  return day_matches(c.month, c.dom, c.dow) && hours_[static_cast<std::size_t>(c.hour)] &&
         minutes_[static_cast<std::size_t>(c.minute)];
}

std::optional<SystemTime> CronExpr::latest_at_or_before(SystemTime t) const {
  auto now = civil(t);
  // Walk back day by day (a leap-day-only expression needs up to 8 years);
  // within a day, the latest matching hour and minute.
  for (int back = 0; back <= 366 * 8; ++back) {
    sys_days day = now.day - days(back);
    auto c = civil(SystemTime{day});
    if (!day_matches(c.month, c.dom, c.dow)) continue;
    int max_hour = back == 0 ? now.hour : 23;
    for (int h = max_hour; h >= 0; --h) {
      if (!hours_[static_cast<std::size_t>(h)]) continue;
      int max_minute = back == 0 && h == now.hour ? now.minute : 59;
      for (int m = max_minute; m >= 0; --m) {
        if (minutes_[static_cast<std::size_t>(m)]) {
          return SystemTime{day} + hours(h) + minutes(m);
        }
      }
    }
  }
  return std::nullopt;
}

std::optional<SystemTime> CronExpr::earliest_after(SystemTime t) const {
  // The first whole minute after t, then forward day by day, as above.
  auto from = civil(floor<minutes>(t) + minutes(1));
  for (int ahead = 0; ahead <= 366 * 8; ++ahead) {
    sys_days day = from.day + days(ahead);
    auto c = civil(SystemTime{day});
    if (!day_matches(c.month, c.dom, c.dow)) continue;
    for (int h = ahead == 0 ? from.hour : 0; h < 24; ++h) {
      if (!hours_[static_cast<std::size_t>(h)]) continue;
      for (int m = ahead == 0 && h == from.hour ? from.minute : 0; m < 60; ++m) {
        if (minutes_[static_cast<std::size_t>(m)]) {
          return SystemTime{day} + hours(h) + minutes(m);
        }
      }
    }
  }
  return std::nullopt;
}

std::optional<SystemTime> next_slot(const Schedule& s, SystemTime now) {
  if (s.kind == "off") return std::nullopt;
  if (s.kind == "cron") return CronExpr::parse(s.expr).earliest_after(now);
  // The slot after the latest one: a day, or a week, later.
  auto latest = latest_slot(s, now);
  if (!latest) return std::nullopt;
  return *latest + (s.kind == "weekly" ? days(7) : days(1));
}

std::optional<SystemTime> latest_slot(const Schedule& s, SystemTime now) {
  if (s.kind == "off") return std::nullopt;
  if (s.kind == "cron") return CronExpr::parse(s.expr).latest_at_or_before(now);
  auto at = minutes(minute_of_day(s.time));
  auto today = floor<days>(now);
  if (s.kind == "daily") {
    SystemTime slot = SystemTime{today} + at;
    return slot <= now ? slot : slot - days(1);
  }
  if (s.kind == "weekly") {
    int want = -1;
    for (std::size_t i = 0; i < kDayNames.size(); ++i) {
      if (kDayNames[i] == s.day) want = static_cast<int>(i);
    }
    if (want < 0) throw_internal("bad weekly schedule day '" + s.day + "'");
    for (int back = 0; back <= 7; ++back) {
      sys_days day = today - days(back);
      if (static_cast<int>(weekday{day}.c_encoding()) != want) continue;
      SystemTime slot = SystemTime{day} + at;
      if (slot <= now) return slot;
    }
    throw_internal("weekly slot not found");  // unreachable: 8 days hold the weekday twice
  }
  throw_internal("unknown schedule kind '" + s.kind + "'");
}

}  // namespace tb::model
