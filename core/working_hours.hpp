#pragma once

// Business working hours in Israel time (Asia/Jerusalem, from the system
// tzdata through cctz; see core/israel_time.hpp for dates, holidays and
// appointment slots). Used to decide when a WhatsApp sender gets the
// after-hours reply.

#include <ctime>
#include <string>
#include <string_view>

namespace al {

/// Offset of Asia/Jerusalem from UTC at `utc`, in seconds (7200 or 10800).
int jerusalem_utc_offset(std::time_t utc) noexcept;

/// A local wall-clock moment: weekday (0 = Sunday) and minutes since 00:00.
struct local_clock {
  int weekday = 0;
  int minutes = 0;
};

/// Asia/Jerusalem wall clock at `utc`.
local_clock jerusalem_clock(std::time_t utc) noexcept;

/// True when `working_hours_json` ({"sun":["09:00","18:00"],...}) has the
/// business open at `utc`, Israel time. A day that is not listed is closed;
/// an interval whose end is before its start runs past midnight. An empty
/// object, or text that is not such an object, means "no schedule": always
/// open (so nobody gets an after-hours reply by accident).
bool within_working_hours(std::string_view working_hours_json, std::time_t utc);

/// The Hebrew acknowledgement sent after hours when the business has not
/// configured its own (businesses.after_hours_reply).
extern const char* const default_after_hours_reply;

} // namespace al
