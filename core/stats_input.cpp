#include "core/stats_input.hpp"

#include "core/input.hpp"
#include "core/israel_time.hpp"

#include <cstdio>

#include <fmt/format.h>

namespace al {

// Civil-date arithmetic after Howard Hinnant's days_from_civil and
// civil_from_days (public domain): exact for every Gregorian date.

std::optional<std::int64_t> day_number(std::string_view date) {
  if (!parse_date(date))
    return std::nullopt;
  auto num = [&](std::size_t at, std::size_t n) {
    std::int64_t v = 0;
    for (std::size_t i = at; i < at + n; ++i)
      v = v * 10 + (date[i] - '0');
    return v;
  };
  std::int64_t y = num(0, 4);
  std::int64_t m = num(5, 2);
  std::int64_t d = num(8, 2);
  y -= m <= 2;
  std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  std::int64_t yoe = y - era * 400;
  std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::string date_of_day(std::int64_t z) {
  z += 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  std::int64_t doe = z - era * 146097;
  std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = yoe + era * 400;
  std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  std::int64_t mp = (5 * doy + 2) / 153;
  std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  std::int64_t m = mp + (mp < 10 ? 3 : -9);
  y += m <= 2;
  return fmt::format("{:04}-{:02}-{:02}", y, m, d);
}

std::string parse_stats_range(const form_params& q, std::time_t now,
                              stats_range& out) {
  auto today = israel_at(now).date;
  auto today_n = day_number(today);
  if (!today_n) // a clock outside 1900..9999
    return "the server clock is not a usable date";
  auto bound = [&](std::string_view key,
                   std::optional<std::int64_t>& n) -> std::string {
    auto v = q.get(key);
    if (!v || v->empty())
      return {};
    if (!(n = day_number(*v)))
      return std::string{key} + " must be a date YYYY-MM-DD (Israel time)";
    return {};
  };
  std::optional<std::int64_t> from, to;
  std::string err;
  if (!(err = bound("from", from)).empty() || !(err = bound("to", to)).empty())
    return err;
  if (!to)
    to = *today_n;
  if (!from)
    from = *to - (default_stats_days - 1);
  if (*from > *to)
    return "from must not be after to";
  if (*to - *from + 1 > max_stats_days)
    return "the range must be at most " + std::to_string(max_stats_days)
           + " days";
  auto first = date_of_day(*from);
  if (!parse_date(first)) // a default before the year 1900
    return "from must be a date YYYY-MM-DD (Israel time)";
  out.from = std::move(first);
  out.to = date_of_day(*to);
  out.today = std::move(today);
  out.now = static_cast<std::int64_t>(now);
  out.days = static_cast<int>(*to - *from + 1);
  return {};
}

} // namespace al
