#pragma once

// The request input of the shared WhatsApp inbox (/api/crm/whatsapp/
// conversations*): the list's filter and paging, the thread's backwards
// paging, the phone in the path, and the AI state a conversation shows.
// Pure (no I/O): parsers return an error message for a 400, or empty.

#include "core/crm_input.hpp"
#include "core/form.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace al {

/// GET /api/crm/whatsapp/conversations: ?page=&per_page=
/// &filter=all|unread|needs_agent|human
struct wa_inbox_query {
  page_params paging;
  std::string filter = "all";
};

std::string parse_wa_inbox_query(const form_params& q, wa_inbox_query& out);

constexpr std::int64_t wa_thread_default_limit = 50;
constexpr std::int64_t wa_thread_max_limit = 200;

/// GET /api/crm/whatsapp/conversations/{phone}/messages: ?before_seq=
/// (>= 1; absent: the newest messages) &limit= (1..200, default 50).
struct wa_thread_query {
  std::optional<std::int64_t> before_seq;
  std::int64_t limit = wa_thread_default_limit;
};

std::string parse_wa_thread_query(const form_params& q, wa_thread_query& out);

/// The conversation key (wa_conversations.peer, "whatsapp:+972...") of the
/// phone in a path: E.164 ("+9725..."), local ("05..."), or already with
/// the "whatsapp:" prefix; nullopt when it is not a phone number.
std::optional<std::string> wa_peer_of(std::string_view path_phone);

/// What drives a conversation, in the inbox's order of precedence: "off"
/// (the business switched the AI off, or the service has no AI key),
/// "human" (an agent took it over and the pause has not run out),
/// "needs_agent" (the AI asked for a person), else "ai".
std::string_view wa_ai_state(bool ai_available, bool paused,
                             bool needs_agent) noexcept;

} // namespace al
