#pragma once

// The shared WhatsApp inbox behind /api/crm/whatsapp/conversations*: the
// business's conversations (schemas/0011, 0021, 0023) newest first with
// their last message, unread count and AI state; one conversation's
// thread in conversation order with its media (schemas/0025); the read
// marker. Pure DB functions that run inside a store job; every statement
// filters by business_id, so another business's conversation is "not
// found".

#include "actors/crm_queries.hpp"
#include "actors/store.hpp"
#include "core/wa_inbox_input.hpp"

#include <cstdint>
#include <string>

namespace al {

/// {"items":[conversation...],"page","per_page","total"}, the most recent
/// last message first. `ai_key`: the service can run the AI at all (an
/// OpenAI key is configured); without it every conversation is "off".
crm_reply list_wa_conversations(db_tx& tx, std::int64_t business,
                                const wa_inbox_query& q, bool ai_key);

/// The conversation with `peer` ("whatsapp:+972..."): its summary and a
/// page of its messages, oldest first, those before q.before_seq (else the
/// newest); 404 "No such conversation".
crm_reply wa_conversation_thread(db_tx& tx, std::int64_t business,
                                 const std::string& peer,
                                 const wa_thread_query& q, bool ai_key);

/// Marks the conversation read up to its last message: 200
/// {"success":true,"unread":0}, or 404.
crm_reply mark_wa_conversation_read(db_tx& tx, std::int64_t business,
                                    const std::string& peer);

} // namespace al
