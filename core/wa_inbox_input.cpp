#include "core/wa_inbox_input.hpp"

#include "core/input.hpp"
#include "core/phone.hpp"

namespace al {

std::string parse_wa_inbox_query(const form_params& q, wa_inbox_query& out) {
  if (auto err = parse_paging(q, out.paging); !err.empty())
    return err;
  if (auto v = q.get("filter"); v && !v->empty()) {
    if (*v != "all" && *v != "unread" && *v != "needs_agent" && *v != "human")
      return "filter must be all, unread, needs_agent or human";
    out.filter = std::string{*v};
  }
  return {};
}

std::string parse_wa_thread_query(const form_params& q, wa_thread_query& out) {
  if (auto v = q.get("before_seq"); v && !v->empty()) {
    // Sequence numbers start at 1; the bound keeps them in a BIGINT.
    auto n = parse_decimal(*v, 1, 999999999999999999);
    if (!n)
      return "before_seq must be an integer >= 1";
    out.before_seq = *n;
  }
  if (auto v = q.get("limit")) {
    auto n = parse_decimal(*v, 1, wa_thread_max_limit);
    if (!n)
      return "limit must be an integer between 1 and "
             + std::to_string(wa_thread_max_limit);
    out.limit = *n;
  }
  return {};
}

std::optional<std::string> wa_peer_of(std::string_view path_phone) {
  auto e164 = normalize_phone(path_phone);
  if (!e164)
    return std::nullopt;
  return whatsapp_address(*e164);
}

std::string_view wa_ai_state(bool ai_available, bool paused,
                             bool needs_agent) noexcept {
  if (!ai_available)
    return "off";
  if (paused)
    return "human";
  if (needs_agent)
    return "needs_agent";
  return "ai";
}

} // namespace al
