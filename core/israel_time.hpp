#pragma once

// Israel dates and times for the receptionist: the Asia/Jerusalem wall clock
// (from tzdata, through cctz), the Israeli holidays on which an office is
// closed (from libhdate, Israel mode), the business's working hours in
// Hebrew, and validation of appointment slots against all of these.
//
// Working hours use the JSON of core/working_hours.hpp:
// {"sun":["09:00","18:00"],"fri":["09:00","13:00"]}. A day not listed is
// closed; an interval whose end is before its start runs past midnight and
// belongs to the day it starts on; equal ends ("00:00","00:00") mean the
// whole day; a listed day whose value is malformed counts as open all day
// (as within_working_hours treats it). An empty object, or text that is not
// an object, means "no schedule": always open. Closures apply to every
// schedule, including "always open".
//
// Dates are Israel-local civil dates ("YYYY-MM-DD"); weekdays are 0 = Sunday.

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace al {

/// One instant as seen on an Israeli wall clock.
struct israel_moment {
  std::string date;       ///< "YYYY-MM-DD"
  std::string time;       ///< "HH:MM"
  int weekday = 0;        ///< 0 = Sunday .. 6 = Saturday
  std::string weekday_he; ///< "יום שלישי"
  int utc_offset_s = 0;   ///< 7200 (IST) or 10800 (IDT)
};

/// The Asia/Jerusalem wall clock at `utc`.
israel_moment israel_at(std::time_t utc);

/// ISO-8601 with the offset in force at that instant:
/// "2026-12-08T10:00:00+02:00".
std::string iso_israel(std::time_t utc);

/// The instant named by `text`, or nullopt (never throws). Accepted, with
/// surrounding whitespace ignored: "YYYY-MM-DDTHH:MM[:SS[.frac]]" followed by
/// "Z" or a "±HH:MM" / "±HHMM" offset (an absolute instant; 'T' may also be
/// a space), and the same without an offset ("2026-12-08T10:00",
/// "2026-12-08 10:00:30") as Israel wall time. A wall time that does not
/// exist (spring forward, 02:00-02:59) or occurs twice (fall back,
/// 01:00-01:59) is read with the offset in force before the switch.
std::optional<std::time_t> parse_appointment_time(std::string_view text);

/// A day on which offices close for a holiday.
struct closure {
  std::string date;    ///< "YYYY-MM-DD", Israel
  std::string name_he; ///< "יום כיפור"
};

/// Closure days from the Israel date of `now` (included) for `days` days
/// (capped at 3660), in date order. Closures are the libhdate (Israel mode)
/// holidays 1-2 Rosh Hashana, 4 Yom Kippur, 5 Sukkot, 27 Shemini Atzeret /
/// Simchat Torah, 15 Pesach, 28 Pesach VII, 20 Shavuot and 17 Yom HaAtzmaut
/// (libhdate already moves it off Friday, Saturday and Monday).
std::vector<closure> coming_closures(std::time_t now, int days);

/// True when `date` ("YYYY-MM-DD") is a closure day; false for any other
/// text.
bool is_closure(std::string_view date);

/// The holiday name of a closure `date`, or an empty string.
std::string closure_name_he(std::string_view date);

/// Short Hebrew description of a schedule, consecutive days with the same
/// hours grouped: "ראשון–חמישי 09:00–18:00, שישי 09:00–13:00, שבת סגור";
/// "פתוח תמיד" when there is no schedule.
std::string working_hours_he(std::string_view working_hours_json);

/// A few Hebrew lines for an assistant's instructions: today's Israel date,
/// weekday and time, tomorrow's date and weekday, the working hours, the
/// closures in the next `closure_days` days (or "אין חגים בשבועות
/// הקרובים"), and whether the office is open now or when it opens next.
std::string office_context_he(std::string_view working_hours_json,
                              std::time_t now, int closure_days = 30);

/// The first moment at or after `now` at which the office is open (inside a
/// working interval, not on a closure day): `now` itself when open now;
/// nullopt when it does not open within 14 days.
std::optional<std::time_t> next_opening(std::string_view working_hours_json,
                                        std::time_t now);

/// next_opening in Hebrew, relative to `now`: "עכשיו", "היום בשעה 16:00",
/// "מחר, יום רביעי, בשעה 09:00", "ביום ראשון, 2026-12-13, בשעה 09:00";
/// an empty string when it does not open within 14 days.
std::string next_opening_he(std::string_view working_hours_json,
                            std::time_t now);

/// Why an appointment slot cannot be booked.
enum class slot_problem { none, past, outside_hours, closed_day, taken };

/// A busy interval [first, second) in UTC seconds.
using time_span = std::pair<std::time_t, std::time_t>;

/// Checks the slot [start, start + duration_min minutes), in this order:
/// `past` when start < now; `closed_day` when any Israel date it touches is
/// a closure (or it lies in a past-midnight shift of a closure day);
/// `outside_hours` unless one working interval contains it whole (any time
/// is inside for an always-open schedule; a slot longer than 14 days never
/// is); `taken` when it overlaps an interval of `taken` (touching ends do
/// not overlap). A duration below 1 minute counts as 1 minute.
slot_problem check_slot(std::string_view working_hours_json, std::time_t start,
                        int duration_min, std::time_t now,
                        const std::vector<time_span>& taken);

/// Up to `count` starts on the Israel :00/:30 grid for which check_slot
/// finds no problem, nearest to `wanted` first (either direction, the
/// earlier first on a tie), at most 14 days from `wanted`.
std::vector<std::time_t>
slot_alternatives(std::string_view working_hours_json, std::time_t wanted,
                  int duration_min, std::time_t now,
                  const std::vector<time_span>& taken, int count = 3);

/// A short Hebrew explanation of `p` for the caller ("" for none).
const char* slot_problem_he(slot_problem p) noexcept;

/// A stable machine code for `p`: "none", "past", "outside_working_hours",
/// "closed_for_holiday", "slot_taken".
const char* slot_problem_code(slot_problem p) noexcept;

} // namespace al
