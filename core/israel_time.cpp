#include "core/israel_time.hpp"

#include "core/jerusalem_tz.hpp"

#include "core/json.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>
#include <fmt/format.h>
#include <hdate.h>

namespace al {

namespace {

using instant = cctz::time_point<cctz::seconds>;

constexpr std::time_t day_s = 86400;

// How far next_opening and slot_alternatives look.
constexpr int search_days = 14;

const cctz::time_zone& jerusalem() {
  return jerusalem_tz();
}

instant at(std::time_t t) {
  return instant(cctz::seconds(t));
}

std::time_t secs(instant i) {
  return static_cast<std::time_t>(i.time_since_epoch().count());
}

cctz::civil_day local_day(std::time_t t) {
  return cctz::civil_day(jerusalem().lookup(at(t)).cs);
}

// The instant of an Israel wall time; a time skipped or repeated by a DST
// switch takes the offset in force before the switch.
std::time_t from_local(const cctz::civil_second& cs) {
  return secs(jerusalem().lookup(cs).pre);
}

std::time_t at_minutes(cctz::civil_day d, int minutes) {
  return from_local(cctz::civil_second(d.year(), d.month(), d.day(),
                                       minutes / 60, minutes % 60));
}

// 0 = Sunday (cctz counts from Monday).
int weekday_of(cctz::civil_day d) {
  return (static_cast<int>(cctz::get_weekday(d)) + 1) % 7;
}

constexpr std::array<const char*, 7> day_names{
  "ראשון", "שני", "שלישי", "רביעי", "חמישי", "שישי", "שבת"};

constexpr std::array<const char*, 7> day_keys{"sun", "mon", "tue", "wed",
                                              "thu", "fri", "sat"};

std::string weekday_he(int wd) {
  return std::string{"יום "} + day_names[static_cast<std::size_t>(wd)];
}

std::string date_text(cctz::civil_day d) {
  return fmt::format("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
}

std::string hhmm(int minutes) {
  return fmt::format("{:02}:{:02}", minutes / 60, minutes % 60);
}

std::string time_text(std::time_t t) {
  auto cs = jerusalem().lookup(at(t)).cs;
  return hhmm(cs.hour() * 60 + cs.minute());
}

bool digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads exactly n digits at s[i].
bool digits(std::string_view s, std::size_t& i, int n, int& out) {
  if (s.size() - i < static_cast<std::size_t>(n))
    return false;
  out = 0;
  for (int k = 0; k < n; ++k, ++i) {
    if (!digit(s[i]))
      return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

bool lit(std::string_view s, std::size_t& i, char c) {
  if (i < s.size() && s[i] == c) {
    ++i;
    return true;
  }
  return false;
}

std::optional<cctz::civil_day> parse_date(std::string_view s) {
  std::size_t i = 0;
  int y = 0, m = 0, d = 0;
  if (!digits(s, i, 4, y) || !lit(s, i, '-') || !digits(s, i, 2, m)
      || !lit(s, i, '-') || !digits(s, i, 2, d) || i != s.size() || m < 1
      || m > 12 || d < 1)
    return std::nullopt;
  cctz::civil_day day(y, m, d);
  if (day.month() != m || day.day() != d)
    return std::nullopt; // 2026-02-30 would normalise into March
  return day;
}

// -- holidays (libhdate, Israel mode) ----------------------------------------

struct holiday {
  int index; // hdate_get_holyday()
  const char* name_he;
};

// The libhdate holidays on which offices close. Intermediate days (Hol
// HaMoed, 6 and 16), eves, fasts, Chanukah and Purim are working days; 8,
// 29, 30 are the extra diaspora days libhdate never returns in Israel mode.
constexpr std::array<holiday, 9> closure_holidays{{
  {1, "ראש השנה (יום א׳)"},
  {2, "ראש השנה (יום ב׳)"},
  {4, "יום כיפור"},
  {5, "סוכות"},
  {27, "שמיני עצרת ושמחת תורה"},
  {15, "פסח"},
  {28, "שביעי של פסח"},
  {20, "שבועות"},
  {17, "יום העצמאות"},
}};

// The closure name of `d`, or nullptr on a working day.
const char* closure_of(cctz::civil_day d) {
  hdate_struct h{};
  // Never day or month 0: libhdate reads that as "today".
  hdate_set_gdate(&h, d.day(), d.month(), static_cast<int>(d.year()));
  int index = hdate_get_holyday(&h, HDATE_ISRAEL_FLAG);
  for (const auto& c : closure_holidays)
    if (c.index == index)
      return c.name_he;
  return nullptr;
}

// -- schedules ---------------------------------------------------------------

struct day_hours {
  bool open = false;
  int from = 0; // minutes since 00:00; from == to: the whole day
  int to = 0;
};

struct schedule {
  bool always_open = true;
  std::array<day_hours, 7> days{};
};

bool parse_hhmm(std::string_view s, int& minutes) {
  std::size_t i = 0;
  int h = 0, m = 0;
  if (!digits(s, i, 2, h) || !lit(s, i, ':') || !digits(s, i, 2, m)
      || i != s.size() || h > 23 || m > 59)
    return false;
  minutes = h * 60 + m;
  return true;
}

schedule parse_schedule(std::string_view json) {
  schedule s;
  json_doc doc;
  if (!doc.parse(json))
    return s;
  auto o = doc.object();
  if (!o || o->size() == 0)
    return s;
  s.always_open = false;
  for (std::size_t i = 0; i < day_keys.size(); ++i) {
    simdjson::dom::element el;
    if (o->at_key(day_keys[i]).get(el) != simdjson::SUCCESS)
      continue;
    auto& d = s.days[i];
    d.open = true;
    simdjson::dom::array a;
    std::string_view f, t;
    if (el.get(a) != simdjson::SUCCESS || a.size() != 2
        || a.at(0).get(f) != simdjson::SUCCESS
        || a.at(1).get(t) != simdjson::SUCCESS || !parse_hhmm(f, d.from)
        || !parse_hhmm(t, d.to))
      d.from = d.to = 0; // malformed: open all day, like within_working_hours
  }
  return s;
}

// The working interval that starts on day `d`, closures not considered.
std::optional<time_span> interval(const schedule& s, cctz::civil_day d) {
  if (s.always_open)
    return time_span{at_minutes(d, 0), at_minutes(d + 1, 0)};
  const auto& h = s.days[static_cast<std::size_t>(weekday_of(d))];
  if (!h.open)
    return std::nullopt;
  if (h.from == h.to)
    return time_span{at_minutes(d, 0), at_minutes(d + 1, 0)};
  return time_span{at_minutes(d, h.from), h.from < h.to
                                            ? at_minutes(d, h.to)
                                            : at_minutes(d + 1, h.to)};
}

bool open_at(const schedule& s, std::time_t t) {
  auto d = local_day(t);
  if (closure_of(d))
    return false;
  for (auto day : {d, d - 1}) {
    auto iv = interval(s, day);
    if (iv && iv->first <= t && t < iv->second && !closure_of(day))
      return true;
  }
  return false;
}

// When the open period around `t` ends; nullopt for "always open".
std::optional<std::time_t> open_until(const schedule& s, std::time_t t) {
  if (s.always_open)
    return std::nullopt;
  auto d = local_day(t);
  for (auto day : {d, d - 1}) {
    auto iv = interval(s, day);
    if (!iv || iv->first > t || t >= iv->second || closure_of(day))
      continue;
    // A shift past midnight stops where a closure day starts.
    for (auto next = d + 1; next <= local_day(iv->second - 1); ++next)
      if (closure_of(next))
        return at_minutes(next, 0);
    return iv->second;
  }
  return std::nullopt;
}

std::optional<std::time_t> next_open(const schedule& s, std::time_t now) {
  if (open_at(s, now))
    return now;
  auto today = local_day(now);
  auto limit = now + search_days * day_s;
  // Interval starts grow with the day, so the first open one is the answer.
  for (int i = 0; i <= search_days; ++i) {
    auto iv = interval(s, today + i);
    if (!iv || iv->first <= now)
      continue;
    if (iv->first > limit)
      break;
    if (open_at(s, iv->first))
      return iv->first;
  }
  return std::nullopt;
}

std::string opening_text(std::time_t t, std::time_t now) {
  if (t == now)
    return "עכשיו";
  auto m = israel_at(t);
  auto day = local_day(t);
  auto today = local_day(now);
  if (day == today)
    return "היום בשעה " + m.time;
  if (day == today + 1)
    return "מחר, " + m.weekday_he + ", בשעה " + m.time;
  return "ב" + m.weekday_he + ", " + m.date + ", בשעה " + m.time;
}

slot_problem check(const schedule& s, std::time_t start, int duration_min,
                   std::time_t now, const std::vector<time_span>& taken) {
  if (start < now)
    return slot_problem::past;
  auto duration = static_cast<std::int64_t>(std::max(duration_min, 1)) * 60;
  if (duration > search_days * day_s)
    return slot_problem::outside_hours;
  auto end = static_cast<std::time_t>(start + duration);
  auto first = local_day(start);
  for (auto d = first; d <= local_day(end - 1); ++d)
    if (closure_of(d))
      return slot_problem::closed_day;
  if (!s.always_open) {
    bool inside = false;
    for (auto d : {first, first - 1}) {
      auto iv = interval(s, d);
      if (iv && iv->first <= start && end <= iv->second) {
        if (closure_of(d))
          return slot_problem::closed_day; // the late shift of a holiday
        inside = true;
        break;
      }
    }
    if (!inside)
      return slot_problem::outside_hours;
  }
  for (const auto& [from, to] : taken)
    if (from < end && start < to)
      return slot_problem::taken;
  return slot_problem::none;
}

std::time_t floor_to(std::time_t t, std::time_t step) {
  auto q = t / step;
  if (t % step != 0 && t < 0)
    --q;
  return q * step;
}

} // namespace

israel_moment israel_at(std::time_t utc) {
  auto al = jerusalem().lookup(at(utc));
  cctz::civil_day d(al.cs);
  israel_moment m;
  m.date = date_text(d);
  m.time = hhmm(al.cs.hour() * 60 + al.cs.minute());
  m.weekday = weekday_of(d);
  m.weekday_he = weekday_he(m.weekday);
  m.utc_offset_s = al.offset;
  return m;
}

std::string iso_israel(std::time_t utc) {
  return cctz::format("%Y-%m-%dT%H:%M:%S%Ez", at(utc), jerusalem());
}

std::optional<std::time_t> parse_appointment_time(std::string_view text) {
  auto ws = " \t\r\n";
  auto b = text.find_first_not_of(ws);
  if (b == std::string_view::npos)
    return std::nullopt;
  auto s = text.substr(b, text.find_last_not_of(ws) - b + 1);
  std::size_t i = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, i, 4, y) || !lit(s, i, '-') || !digits(s, i, 2, mo)
      || !lit(s, i, '-') || !digits(s, i, 2, d))
    return std::nullopt;
  if (!lit(s, i, 'T') && !lit(s, i, 't') && !lit(s, i, ' '))
    return std::nullopt;
  if (!digits(s, i, 2, h) || !lit(s, i, ':') || !digits(s, i, 2, mi))
    return std::nullopt;
  if (lit(s, i, ':')) {
    if (!digits(s, i, 2, sec))
      return std::nullopt;
    if (lit(s, i, '.')) {
      std::size_t from = i;
      while (i < s.size() && digit(s[i]))
        ++i;
      if (i == from || i - from > 9)
        return std::nullopt; // fractions are accepted and dropped
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
    return std::nullopt;
  cctz::civil_second cs(y, mo, d, h, mi, sec);
  if (cs.month() != mo || cs.day() != d)
    return std::nullopt;
  if (i == s.size())
    return from_local(cs);
  std::time_t offset = 0;
  if (!lit(s, i, 'Z') && !lit(s, i, 'z')) {
    int sign = lit(s, i, '+') ? 1 : lit(s, i, '-') ? -1 : 0;
    int oh = 0, om = 0;
    if (sign == 0 || !digits(s, i, 2, oh))
      return std::nullopt;
    lit(s, i, ':');
    if (!digits(s, i, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset = sign * (oh * 3600 + om * 60);
  }
  if (i != s.size())
    return std::nullopt;
  return secs(cctz::convert(cs, cctz::utc_time_zone())) - offset;
}

std::vector<closure> coming_closures(std::time_t now, int days) {
  std::vector<closure> out;
  auto today = local_day(now);
  for (int i = 0; i < std::min(days, 3660); ++i)
    if (auto name = closure_of(today + i))
      out.push_back({date_text(today + i), name});
  return out;
}

bool is_closure(std::string_view date) {
  auto d = parse_date(date);
  return d && closure_of(*d);
}

std::string closure_name_he(std::string_view date) {
  auto d = parse_date(date);
  const char* name = d ? closure_of(*d) : nullptr;
  return name ? name : "";
}

std::string working_hours_he(std::string_view working_hours_json) {
  auto s = parse_schedule(working_hours_json);
  if (s.always_open)
    return "פתוח תמיד";
  auto text = [&](std::size_t i) -> std::string {
    const auto& h = s.days[i];
    if (!h.open)
      return "סגור";
    if (h.from == h.to)
      return "24 שעות";
    return hhmm(h.from) + "–" + hhmm(h.to);
  };
  std::string out;
  for (std::size_t i = 0; i < s.days.size();) {
    auto hours = text(i);
    auto j = i;
    while (j + 1 < s.days.size() && text(j + 1) == hours)
      ++j;
    if (!out.empty())
      out += ", ";
    out += day_names[i];
    if (j > i)
      out += std::string{"–"} + day_names[j];
    out += " " + hours;
    i = j + 1;
  }
  return out;
}

std::string office_context_he(std::string_view working_hours_json,
                              std::time_t now, int closure_days) {
  auto s = parse_schedule(working_hours_json);
  auto m = israel_at(now);
  auto tomorrow = local_day(now) + 1;
  std::string out = "היום: " + m.date + ", " + m.weekday_he + ", השעה " + m.time
                    + " (שעון ישראל)\n";
  out += "מחר: " + date_text(tomorrow) + ", " + weekday_he(weekday_of(tomorrow))
         + "\n";
  out += "שעות הפעילות: " + working_hours_he(working_hours_json) + "\n";
  auto closures = coming_closures(now, closure_days);
  if (closures.empty()) {
    out += "אין חגים בשבועות הקרובים\n";
  } else {
    out += "חגים שבהם המשרד סגור: ";
    for (std::size_t i = 0; i < closures.size(); ++i)
      out += (i ? ", " : "") + closures[i].date + " " + closures[i].name_he;
    out += "\n";
  }
  if (open_at(s, now)) {
    out += "המשרד פתוח עכשיו";
    if (auto until = open_until(s, now))
      out += " עד " + time_text(*until);
  } else {
    out += "המשרד סגור עכשיו";
    if (auto name = closure_of(local_day(now)))
      out += std::string{" ("} + name + ")";
    if (auto next = next_open(s, now))
      out += "; ייפתח " + opening_text(*next, now);
    else
      out += "; לא ייפתח בשבועיים הקרובים";
  }
  out += "\n";
  return out;
}

std::optional<std::time_t> next_opening(std::string_view working_hours_json,
                                        std::time_t now) {
  return next_open(parse_schedule(working_hours_json), now);
}

std::string next_opening_he(std::string_view working_hours_json,
                            std::time_t now) {
  auto next = next_opening(working_hours_json, now);
  return next ? opening_text(*next, now) : std::string{};
}

slot_problem check_slot(std::string_view working_hours_json, std::time_t start,
                        int duration_min, std::time_t now,
                        const std::vector<time_span>& taken) {
  return check(parse_schedule(working_hours_json), start, duration_min, now,
               taken);
}

std::vector<std::time_t>
slot_alternatives(std::string_view working_hours_json, std::time_t wanted,
                  int duration_min, std::time_t now,
                  const std::vector<time_span>& taken, int count) {
  std::vector<std::time_t> out;
  if (count <= 0)
    return out;
  auto s = parse_schedule(working_hours_json);
  // Israel's offsets are whole hours, so the local :00/:30 marks are
  // 30-minute marks of UTC shifted by the offset, on both sides of a switch.
  constexpr std::time_t step = 1800;
  std::time_t offset = jerusalem().lookup(at(wanted)).offset;
  auto reach = search_days * day_s;
  std::vector<std::time_t> grid;
  for (auto t = floor_to(wanted - reach + offset, step) - offset;
       t <= wanted + reach; t += step)
    if (t >= now && t >= wanted - reach)
      grid.push_back(t);
  auto distance = [&](std::time_t t) {
    return t < wanted ? wanted - t : t - wanted;
  };
  std::sort(grid.begin(), grid.end(), [&](std::time_t a, std::time_t b) {
    auto da = distance(a), db = distance(b);
    return da != db ? da < db : a < b;
  });
  for (auto t : grid) {
    if (check(s, t, duration_min, now, taken) != slot_problem::none)
      continue;
    out.push_back(t);
    if (out.size() == static_cast<std::size_t>(count))
      break;
  }
  return out;
}

const char* slot_problem_he(slot_problem p) noexcept {
  switch (p) {
    case slot_problem::none:
      return "";
    case slot_problem::past:
      return "המועד המבוקש כבר עבר.";
    case slot_problem::outside_hours:
      return "המועד המבוקש מחוץ לשעות הפעילות של המשרד.";
    case slot_problem::closed_day:
      return "המשרד סגור בתאריך הזה בגלל חג.";
    case slot_problem::taken:
      return "המועד המבוקש כבר תפוס.";
  }
  return "";
}

const char* slot_problem_code(slot_problem p) noexcept {
  switch (p) {
    case slot_problem::none:
      return "none";
    case slot_problem::past:
      return "past";
    case slot_problem::outside_hours:
      return "outside_working_hours";
    case slot_problem::closed_day:
      return "closed_for_holiday";
    case slot_problem::taken:
      return "slot_taken";
  }
  return "none";
}

// Asia/Jerusalem from the system tzdata, loaded once (cctz caches it).
const cctz::time_zone& jerusalem_tz() {
  static const cctz::time_zone tz = [] {
    cctz::time_zone z;
    if (!cctz::load_time_zone("Asia/Jerusalem", &z))
      // No tzdata on this machine (the tzdata package is missing): fall back
      // to Israel Standard Time, a fixed UTC+2 without daylight saving, so
      // summer times are an hour off instead of off by the whole offset.
      z = cctz::fixed_time_zone(cctz::seconds(7200));
    return z;
  }();
  return tz;
}

} // namespace al
