#pragma once

// The WhatsApp AI (SPEC §7 "WhatsApp conversations"): what the conversation
// actor (actors/whatsapp_conversation.cpp) calls to answer inbound messages
// with a chat-completions model, the agent's takeover and release, and the
// per-message author (messages.sent_by). Pure DB functions run inside a
// store job; run_wa_ai is an asynchronous chain.
//
// Exactly one AI reply per burst, across instances and restarts
// -----------------------------------------------------------------
// Every message insert, on any instance, takes the conversation row's lock
// and the next conversation_seq (schemas/0011). The AI's progress lives on
// the same row (schemas/0023):
//
//   ai_answered_seq   inbound messages up to here are dealt with
//   ai_claim_seq      the instance holding the claim answers up to here
//   ai_claim_token    who holds it (a random token per attempt)
//   ai_claim_until    the claim's lease
//
// A conversation actor that wants to answer (its debounce ran out, or it
// was (re)started) runs claim_wa_ai, one transaction holding the row lock:
// with N = the newest inbound conversation_seq,
//   N <= ai_answered_seq           -> none: nothing new to answer
//   an unexpired lease is held     -> busy: another instance (or this
//                                     actor's previous incarnation, whose
//                                     chain outlives it) is answering;
//                                     look again when the lease ends
//   the AI is off or paused        -> not_for_ai: ai_answered_seq = N
//   (or N is stale, > 1 h old)        (a person deals with it)
//   otherwise                      -> claimed: lease (token, N, now+lease)
// The chain then asks the model and, right before it sends, renews the
// lease with its token (renew_wa_ai_claim): a chain that overran its lease
// (another may have taken it over) sends nothing. After the send,
// finish_wa_ai (token-checked) sets ai_answered_seq = max(it, claim seq)
// and drops the lease. Messages that arrived during the answer have higher
// seqs: the actor claims again when the chain reports back. So two
// instances each holding messages of one burst produce one reply, a
// restarted actor finds the answered seq (or the live lease) and does not
// answer again, and an instance that died mid-answer leaves a lease that
// expires, after which the next claim answers. The only window for a
// second reply is a chain whose send was accepted by the provider but that
// died before finish_wa_ai; its lease then expires and the burst is
// answered again (at-least-once at that single point).

#include "actors/store.hpp"
#include "actors/whatsapp_conversation.hpp"
#include "core/wa_ai_wire.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace al {

// What claim_wa_ai finds, wa_ai_claim, travels to the conversation actor
// in a message: it is defined in actors/whatsapp_protocol.hpp.

/// How many messages of the history the model sees.
inline constexpr int wa_ai_history = 20;

/// The claim protocol above for the conversation (business, e164).
/// `token` identifies this attempt; `lease` how long it may take.
wa_ai_claim claim_wa_ai(db_tx& tx, std::int64_t business,
                        const std::string& e164, const std::string& token,
                        std::chrono::seconds lease);

/// Extends the lease of `token`; false when it is no longer held (expired
/// and taken, or finished): the caller must not send.
bool renew_wa_ai_claim(db_tx& tx, std::int64_t business,
                       const std::string& e164, const std::string& token,
                       std::chrono::seconds lease);

/// Ends the claim of `token`: answered up to `seq`; `needs_agent`
/// (the AI could not answer) flags the conversation and notifies the
/// dashboards.
void finish_wa_ai(db_tx& tx, std::int64_t business, const std::string& e164,
                  const std::string& token, std::int64_t seq, bool needs_agent);

/// Marks every inbound message so far as dealt with (an opt-out word gets
/// no AI reply, even from a debounce that was already running elsewhere).
void skip_wa_ai(db_tx& tx, std::int64_t business, const std::string& e164);

/// The handoff tool: needs_agent, the AI paused for 12 h (by "ai"), the
/// dashboards notified.
void handoff_wa_ai(db_tx& tx, std::int64_t business, const std::string& e164);

/// Records who wrote outbound message `message_id` (ai, agent, auto,
/// system). An agent's message also pauses the AI of that conversation for
/// 12 h (ai_paused_by = `agent`) and clears needs_agent.
void mark_wa_sent_by(db_tx& tx, std::int64_t business, std::int64_t message_id,
                     const std::string& peer, const std::string& sent_by,
                     const std::string& agent);

/// POST /api/crm/leads/{id}/takeover: pauses the AI of the lead's
/// conversation for 12 h; the pause end as ISO-8601 (UTC), nullopt when the
/// lead does not exist in `business` or has no phone.
std::optional<std::string> takeover_wa_ai(db_tx& tx, std::int64_t business,
                                          std::int64_t lead,
                                          const std::string& by);

/// POST /api/crm/leads/{id}/release: the AI answers again, needs_agent
/// cleared; false when the lead does not exist or has no phone.
bool release_wa_ai(db_tx& tx, std::int64_t business, std::int64_t lead);

/// Answers the claimed burst: the model (with the tools, at most
/// settings.ai_max_rounds rounds), then the reply through whatsapp_send
/// (sent_by "ai"), then finish_wa_ai. Any failure (provider 5xx, timeout,
/// malformed reply, the send refused) sends nothing and flags needs_agent.
/// Captures only what it is given, so it completes even if the
/// conversation actor dies; `done` runs exactly once, on some thread.
void run_wa_ai(caf::actor_system& sys, whatsapp_manager_actor manager,
               whatsapp_context_ptr ctx, std::int64_t business,
               std::string e164, wa_ai_claim claim, std::function<void()> done);

/// A random claim token.
std::string new_wa_ai_token();

} // namespace al
