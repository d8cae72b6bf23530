#include "core/working_hours.hpp"

#include "core/json.hpp"

#include <array>

#include "core/jerusalem_tz.hpp"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

namespace al {

const char* const default_after_hours_reply
  = "תודה על פנייתך! קיבלנו את ההודעה ונחזור אליך בשעות הפעילות.";

namespace {

cctz::time_zone::absolute_lookup lookup(std::time_t utc) noexcept {
  return jerusalem_tz().lookup(
    cctz::time_point<cctz::seconds>(cctz::seconds(utc)));
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
  return lookup(utc).offset;
}

local_clock jerusalem_clock(std::time_t utc) noexcept {
  auto cs = lookup(utc).cs;
  local_clock out;
  // cctz counts weekdays from Monday; ours start on Sunday.
  out.weekday = (static_cast<int>(cctz::get_weekday(cctz::civil_day(cs))) + 1)
                % 7;
  out.minutes = cs.hour() * 60 + cs.minute();
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
