#pragma once

// Use cases of the shared WhatsApp inbox (/api/crm/whatsapp/conversations*,
// SPEC §7 "WhatsApp conversations"): the list, a thread, the read marker,
// an agent's takeover of a lead's conversation from the AI and its
// release, and the media of inbound messages. Input is parsed and
// authorised by transport; each use case runs in one transaction and
// answers once through `done`.

#include "actors/audit.hpp"
#include "actors/domain.hpp"
#include "actors/store.hpp"
#include "actors/whatsapp_media.hpp"
#include "core/wa_inbox_input.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace al::domain::whatsapp_inbox {

/// {"items":[conversation...],"page","per_page","total"}, the most recent
/// last message first. `ai_key`: the service can run the AI at all.
void list(const store& db, scope s, wa_inbox_query q, bool ai_key,
          reply_fn done);

/// The conversation with `peer` ("whatsapp:+972..."): its summary and a
/// page of its messages; 404 "No such conversation".
void thread(const store& db, scope s, std::string peer, wa_thread_query q,
            bool ai_key, reply_fn done);

/// Marks the conversation with `peer` read: 200 {"success":true,
/// "unread":0}, or 404.
void mark_read(const store& db, scope s, std::string peer, reply_fn done);

/// Pauses the AI of lead `lead`'s conversation for 12 h on behalf of `by`
/// ("token:N" | "admin"): 200 {"success":true,"ai_paused_until":
/// "<ISO-8601 UTC>"}, or 404 when the lead does not exist or has no phone;
/// audited as "whatsapp.takeover".
void takeover(const store& db, scope s, audit_who who, std::int64_t lead,
              std::string by, reply_fn done);

/// The AI answers lead `lead`'s conversation again (needs_agent cleared):
/// 200 {"success":true}, or 404 as for takeover; audited as
/// "whatsapp.release".
void release(const store& db, scope s, audit_who who, std::int64_t lead,
             reply_fn done);

/// One stored attachment: ok with the blob (status "stored"), else
/// not_found with what the client is told ("No such media", "Media not
/// fetched yet", "Media failed: <error>", ...), "No such business", or the
/// database's failure.
struct media_result {
  domain_status status;
  wa_media_blob blob;
};

/// Item `idx` of message `message`'s media.
void media(const store& db, scope s, std::int64_t message, int idx,
           std::function<void(media_result)> done);

} // namespace al::domain::whatsapp_inbox
