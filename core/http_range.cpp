#include "core/http_range.hpp"

#include <limits>

namespace al {

namespace {

constexpr std::uint64_t saturated = std::numeric_limits<std::uint64_t>::max();

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

/// Reads one or more digits from `s`, saturating; false when `s` is empty
/// or holds anything else.
bool read_number(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty())
    return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c))
      return false;
    auto d = static_cast<std::uint64_t>(c - '0');
    v = v > (saturated - d) / 10 ? saturated : v * 10 + d;
  }
  out = v;
  return true;
}

bool unit_is_bytes(std::string_view unit) noexcept {
  constexpr std::string_view bytes = "bytes";
  if (unit.size() != bytes.size())
    return false;
  for (std::size_t i = 0; i < unit.size(); ++i) {
    char c = unit[i];
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    if (c != bytes[i])
      return false;
  }
  return true;
}

range_request partial(std::uint64_t first, std::uint64_t last) {
  range_request r;
  r.what = range_request::kind::partial;
  r.range = byte_range{first, last};
  return r;
}

range_request unsatisfiable() {
  range_request r;
  r.what = range_request::kind::unsatisfiable;
  return r;
}

} // namespace

range_request parse_range(std::string_view header, std::uint64_t size) {
  const range_request whole{};
  while (!header.empty() && is_ows(header.front()))
    header.remove_prefix(1);
  while (!header.empty() && is_ows(header.back()))
    header.remove_suffix(1);
  auto eq = header.find('=');
  if (eq == std::string_view::npos || !unit_is_bytes(header.substr(0, eq)))
    return whole;
  auto spec = header.substr(eq + 1);
  auto dash = spec.find('-');
  // One dash exactly; a comma (a list of ranges) or anything else fails
  // read_number below.
  if (dash == std::string_view::npos
      || spec.find('-', dash + 1) != std::string_view::npos)
    return whole;
  auto first_text = spec.substr(0, dash);
  auto last_text = spec.substr(dash + 1);
  if (first_text.empty()) {
    // Suffix: the last n bytes.
    std::uint64_t n = 0;
    if (!read_number(last_text, n))
      return whole;
    if (n == 0 || size == 0)
      return unsatisfiable();
    return partial(n >= size ? 0 : size - n, size - 1);
  }
  std::uint64_t first = 0;
  if (!read_number(first_text, first))
    return whole;
  std::uint64_t last = saturated;
  if (!last_text.empty()) {
    if (!read_number(last_text, last))
      return whole;
    if (last < first)
      return whole; // invalid range-spec: ignored
  }
  if (first >= size)
    return unsatisfiable();
  return partial(first, last >= size ? size - 1 : last);
}

std::string content_range(const byte_range& r, std::uint64_t size) {
  return "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/"
         + std::to_string(size);
}

std::string unsatisfied_range(std::uint64_t size) {
  return "bytes */" + std::to_string(size);
}

} // namespace al
