#include "core/money.hpp"

#include <array>

namespace al {

namespace {

constexpr std::array<std::string_view, 4> currencies{"ILS", "USD", "EUR",
                                                     "GBP"};

bool digit(char c) {
  return c >= '0' && c <= '9';
}

} // namespace

std::optional<std::int64_t> parse_amount_minor(std::string_view text) {
  auto ws = " \t\r\n";
  auto b = text.find_first_not_of(ws);
  if (b == std::string_view::npos)
    return std::nullopt;
  text = text.substr(b, text.find_last_not_of(ws) - b + 1);

  auto dot = text.find('.');
  auto whole = text.substr(0, dot);
  std::string_view frac;
  if (dot != std::string_view::npos) {
    frac = text.substr(dot + 1);
    if (frac.empty() || frac.size() > 2)
      return std::nullopt;
  }
  // At most 7 integer digits (1,000,000) keeps the arithmetic far from
  // overflow; leading zeros are refused as in JSON.
  if (whole.empty() || whole.size() > 7
      || (whole.size() > 1 && whole[0] == '0'))
    return std::nullopt;
  std::int64_t value = 0;
  for (char c : whole) {
    if (!digit(c))
      return std::nullopt;
    value = value * 10 + (c - '0');
  }
  std::int64_t cents = 0;
  for (std::size_t i = 0; i < 2; ++i) {
    cents *= 10;
    if (i < frac.size()) {
      if (!digit(frac[i]))
        return std::nullopt;
      cents += frac[i] - '0';
    }
  }
  auto minor = value * 100 + cents;
  if (minor <= 0 || minor > max_amount_minor)
    return std::nullopt;
  return minor;
}

std::string format_amount(std::int64_t minor) {
  bool negative = minor < 0;
  // Work in unsigned so INT64_MIN is representable.
  auto magnitude = negative ? 0 - static_cast<std::uint64_t>(minor)
                            : static_cast<std::uint64_t>(minor);
  auto cents = magnitude % 100;
  std::string out = negative ? "-" : "";
  out += std::to_string(magnitude / 100);
  out.push_back('.');
  out.push_back(static_cast<char>('0' + cents / 10));
  out.push_back(static_cast<char>('0' + cents % 10));
  return out;
}

bool known_currency(std::string_view code) {
  for (auto c : currencies)
    if (c == code)
      return true;
  return false;
}

std::optional<std::string> normalize_currency(std::string_view code) {
  if (code.size() != 3)
    return std::nullopt;
  std::string upper{code};
  for (auto& c : upper)
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
  if (!known_currency(upper))
    return std::nullopt;
  return upper;
}

} // namespace al
