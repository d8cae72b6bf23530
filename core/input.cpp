#include "core/input.hpp"

namespace al {

namespace {

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
  if (s.size() < at + n)
    return false;
  out = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

bool valid_ymd(int y, int m, int d) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
  if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1)
    return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= days[m - 1] + (m == 2 && leap ? 1 : 0);
}

// "YYYY-MM-DD" at the start of `s`.
bool date_prefix(std::string_view s) {
  int y, m, d;
  return s.size() >= 10 && digits(s, 0, 4, y) && s[4] == '-'
         && digits(s, 5, 2, m) && s[7] == '-' && digits(s, 8, 2, d)
         && valid_ymd(y, m, d);
}

} // namespace

bool storable_text(std::string_view s) noexcept {
  return s.find('\0') == std::string_view::npos;
}

bool read_opt_string(simdjson::dom::object o, std::string_view key,
                     std::optional<std::string>& out, std::string& err,
                     std::size_t max) {
  auto f = get_string(o, key);
  if (f.state == field_state::wrong_type || (f.ok() && f.value.size() > max)
      || (f.ok() && !storable_text(f.value))) {
    err = std::string{key} + " must be a string of at most "
          + std::to_string(max) + " bytes";
    return false;
  }
  if (f.ok())
    out = std::string{f.value};
  return true;
}

bool read_patch_string(simdjson::dom::object o, std::string_view key,
                       patch_field<std::string>& out, std::string& err,
                       std::size_t max) {
  auto f = get_string(o, key);
  if (f.state == field_state::null) {
    out.emplace(std::nullopt);
    return true;
  }
  std::optional<std::string> v;
  if (!read_opt_string(o, key, v, err, max))
    return false;
  if (v)
    out.emplace(std::move(v));
  return true;
}

bool read_patch_int(simdjson::dom::object o, std::string_view key,
                    patch_field<std::int64_t>& out, std::string& err,
                    std::int64_t min, std::int64_t max) {
  auto f = get_int(o, key);
  switch (f.state) {
    case field_state::missing:
      return true;
    case field_state::null:
      out.emplace(std::nullopt);
      return true;
    case field_state::ok:
      if (f.value >= min && f.value <= max) {
        out.emplace(f.value);
        return true;
      }
      [[fallthrough]];
    case field_state::wrong_type:
      break;
  }
  err = std::string{key} + " must be an integer between " + std::to_string(min)
        + " and " + std::to_string(max);
  return false;
}

bool read_opt_strings(simdjson::dom::object o, std::string_view key,
                      std::optional<std::vector<std::string>>& out,
                      std::string& err, std::size_t max_items,
                      std::size_t max_each) {
  auto f = get_array(o, key);
  if (f.state == field_state::missing || f.state == field_state::null)
    return true;
  auto fail = [&] {
    err = std::string{key} + " must be an array of at most "
          + std::to_string(max_items) + " strings of at most "
          + std::to_string(max_each) + " bytes";
    return false;
  };
  if (!f.ok() || f.value.size() > max_items)
    return fail();
  std::vector<std::string> items;
  for (auto el : f.value) {
    std::string_view s;
    if (el.get(s) != simdjson::SUCCESS || s.size() > max_each
        || !storable_text(s))
      return fail();
    items.emplace_back(s);
  }
  out = std::move(items);
  return true;
}

std::optional<std::int64_t> parse_decimal(std::string_view s, std::int64_t min,
                                          std::int64_t max) {
  if (s.empty() || s.size() > 18)
    return std::nullopt;
  std::int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n < min || n > max)
    return std::nullopt;
  return n;
}

std::optional<std::string> parse_date(std::string_view s) {
  if (s.size() != 10 || !date_prefix(s))
    return std::nullopt;
  return std::string{s};
}

std::optional<std::string> parse_timestamp(std::string_view s) {
  if (s.size() > 40 || !date_prefix(s) || s.size() < 16)
    return std::nullopt;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
    return std::nullopt;
  int hh, mm, ss = 0;
  if (!digits(s, 11, 2, hh) || s[13] != ':' || !digits(s, 14, 2, mm) || hh > 23
      || mm > 59)
    return std::nullopt;
  std::size_t i = 16;
  if (i < s.size() && s[i] == ':') {
    if (!digits(s, i + 1, 2, ss) || ss > 59)
      return std::nullopt;
    i += 3;
    if (i < s.size() && s[i] == '.') {
      std::size_t j = i + 1;
      while (j < s.size() && s[j] >= '0' && s[j] <= '9')
        ++j;
      if (j == i + 1 || j - i - 1 > 9)
        return std::nullopt;
      i = j;
    }
  }
  if (i >= s.size())
    return std::nullopt; // the offset is required
  auto zone = s.substr(i);
  if (zone == "Z" || zone == "z")
    return std::string{s};
  if (zone[0] != '+' && zone[0] != '-')
    return std::nullopt;
  int oh, om = 0;
  if (!digits(zone, 1, 2, oh) || oh > 14)
    return std::nullopt;
  if (zone.size() == 3)
    return std::string{s};
  std::size_t at = zone[3] == ':' ? 4 : 3;
  if (zone.size() != at + 2 || !digits(zone, at, 2, om) || om > 59)
    return std::nullopt;
  return std::string{s};
}

bool valid_key(std::string_view s) noexcept {
  if (s.empty() || s.size() > 32)
    return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

} // namespace al
