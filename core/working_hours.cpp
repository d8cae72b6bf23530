#include "core/working_hours.hpp"

#include "core/json.hpp"

#include <array>

namespace al {

const char* const default_after_hours_reply
  = "תודה על פנייתך! קיבלנו את ההודעה ונחזור אליך בשעות הפעילות.";

namespace {

constexpr long day_seconds = 86400;

// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
constexpr long days_from_civil(long y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long>(doe) - 719468;
}

// 0 = Sunday.
constexpr int weekday(long days) noexcept {
  return static_cast<int>(days >= -4 ? (days + 4) % 7 : (days + 5) % 7 + 6);
}

long floor_div(long a, long b) noexcept {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// The civil year of a UTC instant (Israel's DST switches are far from the
// new year, so the UTC year is the local one where it matters).
long utc_year(std::time_t utc) noexcept {
  std::tm tm{};
  gmtime_r(&utc, &tm);
  return tm.tm_year + 1900L;
}

bool parse_hhmm(std::string_view s, int& minutes) noexcept {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (s.size() != 5 || !digit(s[0]) || !digit(s[1]) || s[2] != ':'
      || !digit(s[3]) || !digit(s[4]))
    return false;
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59)
    return false;
  minutes = h * 60 + m;
  return true;
}

constexpr std::array<const char*, 7> day_keys{"sun", "mon", "tue", "wed",
                                              "thu", "fri", "sat"};

} // namespace

int jerusalem_utc_offset(std::time_t utc) noexcept {
  auto y = utc_year(utc);
  auto march31 = days_from_civil(y, 3, 31);
  auto dst_start_day = march31 - weekday(march31) - 2; // the Friday before
  auto october31 = days_from_civil(y, 10, 31);
  auto dst_end_day = october31 - weekday(october31);
  // 02:00 IST = 00:00 UTC; 02:00 IDT = 23:00 UTC the day before.
  long start = dst_start_day * day_seconds;
  long end = dst_end_day * day_seconds - 3600;
  long t = static_cast<long>(utc);
  return t >= start && t < end ? 10800 : 7200;
}

local_clock jerusalem_clock(std::time_t utc) noexcept {
  long local = static_cast<long>(utc) + jerusalem_utc_offset(utc);
  long days = floor_div(local, day_seconds);
  local_clock out;
  out.weekday = weekday(days);
  out.minutes = static_cast<int>((local - days * day_seconds) / 60);
  return out;
}

bool within_working_hours(std::string_view working_hours_json,
                          std::time_t utc) {
  json_doc doc;
  if (!doc.parse(working_hours_json))
    return true;
  auto o = doc.object();
  if (!o || o->size() == 0)
    return true;
  auto now = jerusalem_clock(utc);
  // Today's interval, and yesterday's when it runs past midnight.
  auto interval = [&](int wd, int& from, int& to) -> int {
    // 1 = has a valid interval, 0 = day not listed, -1 = malformed.
    simdjson::dom::element el;
    if (o->at_key(day_keys[static_cast<std::size_t>(wd)]).get(el)
        != simdjson::SUCCESS)
      return 0;
    simdjson::dom::array a;
    std::string_view f, t;
    if (el.get(a) != simdjson::SUCCESS || a.size() != 2
        || a.at(0).get(f) != simdjson::SUCCESS
        || a.at(1).get(t) != simdjson::SUCCESS || !parse_hhmm(f, from)
        || !parse_hhmm(t, to))
      return -1;
    return 1;
  };
  int from = 0, to = 0;
  switch (interval(now.weekday, from, to)) {
    case -1:
      return true;
    case 1:
      if (from == to)
        return true; // "00:00"-"00:00": the whole day
      if (from < to ? (now.minutes >= from && now.minutes < to)
                    : now.minutes >= from)
        return true;
      break;
    default:
      break;
  }
  int yfrom = 0, yto = 0;
  if (interval((now.weekday + 6) % 7, yfrom, yto) == 1 && yfrom > yto
      && now.minutes < yto)
    return true; // yesterday's late shift is still on
  return false;
}

} // namespace al
