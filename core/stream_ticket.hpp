#pragma once

// Stream tickets: what a browser puts in the URL of GET /api/crm/events
// instead of its API token (EventSource cannot send headers, and URLs end
// up in proxy logs). A ticket is short-lived and stateless: it carries the
// business, the API token it was issued for, that token's role and an
// expiry, signed with the service's signing key (core/call_token.hpp, its
// own purpose), so any instance sharing the key accepts it. It is a
// permission to open the stream only: revocation of the token is checked
// by the stream itself (at start and at every read).
//
//   st1.<business>.<token id>.<role>.<expires, unix s>.<mac>
//
// Every part is [0-9a-z_] or base64url: safe in a query string unescaped.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace al {

/// How long a ticket opens a stream (seconds).
inline constexpr std::int64_t stream_ticket_ttl = 60;

/// Purpose string of the ticket's HMAC (issue_token in core/call_token).
inline constexpr std::string_view stream_ticket_purpose = "stream-ticket";

struct stream_ticket {
  std::int64_t business_id = 0;
  std::int64_t token_id = 0;   // 0: the admin token
  std::string role;            // admin | owner | agent | read_only
  std::int64_t expires_at = 0; // unix seconds
};

/// The signed text of `t`; empty when `key` is empty, the role is not one
/// of the four or an id is negative (fail closed).
std::string issue_stream_ticket(std::string_view key, const stream_ticket& t);

/// The ticket in `text` when it is well-formed, signed with `key` and not
/// expired at `now` (unix seconds); constant-time MAC check.
std::optional<stream_ticket> verify_stream_ticket(std::string_view key,
                                                  std::string_view text,
                                                  std::int64_t now);

} // namespace al
