#include "core/stream_ticket.hpp"

#include "core/call_token.hpp"
#include "core/input.hpp"

#include <array>
#include <limits>

namespace al {

namespace {

constexpr std::string_view version = "st1";
constexpr std::size_t max_ticket = 200;

bool known_role(std::string_view r) {
  return r == "admin" || r == "owner" || r == "agent" || r == "read_only";
}

/// Digits only, no sign, no leading zero (one spelling per number), at
/// most 18 of them (fits int64).
std::optional<std::int64_t> number(std::string_view s) {
  if (s.size() > 1 && s[0] == '0')
    return std::nullopt;
  return parse_decimal(s, 0, std::numeric_limits<std::int64_t>::max());
}

std::string payload(const stream_ticket& t) {
  std::string p{version};
  p += '.' + std::to_string(t.business_id) + '.' + std::to_string(t.token_id)
       + '.' + t.role + '.' + std::to_string(t.expires_at);
  return p;
}

} // namespace

std::string issue_stream_ticket(std::string_view key, const stream_ticket& t) {
  if (key.empty() || !known_role(t.role) || t.business_id < 0 || t.token_id < 0
      || t.expires_at < 0)
    return {};
  auto p = payload(t);
  return p + '.' + issue_token(key, stream_ticket_purpose, p);
}

std::optional<stream_ticket> verify_stream_ticket(std::string_view key,
                                                  std::string_view text,
                                                  std::int64_t now) {
  if (key.empty() || text.empty() || text.size() > max_ticket)
    return std::nullopt;
  std::array<std::string_view, 6> parts;
  std::size_t n = 0;
  for (std::string_view rest = text;;) {
    if (n == parts.size())
      return std::nullopt; // too many parts
    auto dot = rest.find('.');
    parts[n++] = rest.substr(0, dot);
    if (dot == std::string_view::npos)
      break;
    rest.remove_prefix(dot + 1);
  }
  if (n != parts.size() || parts[0] != version)
    return std::nullopt;
  auto signed_part = text.substr(0, text.size() - parts[5].size() - 1);
  if (!verify_token(key, stream_ticket_purpose, signed_part, parts[5]))
    return std::nullopt;
  auto business = number(parts[1]);
  auto token = number(parts[2]);
  auto expires = number(parts[4]);
  if (!business || !token || !expires || !known_role(parts[3]))
    return std::nullopt;
  if (*expires <= now)
    return std::nullopt;
  return stream_ticket{*business, *token, std::string{parts[3]}, *expires};
}

} // namespace al
