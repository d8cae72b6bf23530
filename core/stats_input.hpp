#pragma once

// The range of GET /api/crm/stats: ?from=&to= as Israel calendar days
// (Asia/Jerusalem), parsed and validated here (pure, no I/O), so the
// handler answers 400 itself and the SQL in actors/stats.cpp only ever sees
// real dates. The clock is a parameter: tests pass a fixed "now".

#include "core/form.hpp"

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace al {

/// Days in the default range: the last 30 days, today included.
constexpr int default_stats_days = 30;
/// The longest range, in days (both ends included): a leap year.
constexpr int max_stats_days = 366;

/// What the statistics cover. `from`..`to` (both "YYYY-MM-DD", inclusive)
/// bound the calls and leads counted; `today` and `now` anchor the parts
/// that are about the present whatever the range: appointments this week
/// (Sunday to Saturday) and from now on, payments this month.
struct stats_range {
  std::string from;
  std::string to;
  std::string today;    ///< the Israel date of `now`
  std::int64_t now = 0; ///< Unix seconds
  int days = 0;         ///< to - from + 1
};

/// ?from=YYYY-MM-DD&to=YYYY-MM-DD (each optional; an empty value counts as
/// missing): `to` defaults to today (Israel), `from` to 29 days before
/// `to`. Returns a message for a 400 (not a date, from after to, longer
/// than max_stats_days), or an empty string and fills `out`.
std::string parse_stats_range(const form_params& q, std::time_t now,
                              stats_range& out);

/// Days since 1970-01-01 of a valid "YYYY-MM-DD" (proleptic Gregorian);
/// nullopt for anything else.
std::optional<std::int64_t> day_number(std::string_view date);

/// The "YYYY-MM-DD" of a day number (inverse of day_number).
std::string date_of_day(std::int64_t days);

} // namespace al
