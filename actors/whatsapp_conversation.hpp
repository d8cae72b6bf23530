#pragma once

// One actor per WhatsApp conversation, i.e. per (business, number), keyed
// "wa:<business>:<e164>" under the whatsapp_manager supervisor. It
// serialises the sends to that number (one provider call at a time, in
// arrival order), rate-limits them, and decides the automatic after-hours
// reply to inbound messages. It stops itself after an idle period and is
// revived from the database when needed (the last automatic reply is read
// back, everything else lives in the messages table).
//
// Crash safety: a send is a self-contained chain (insert the row -> call the
// provider -> record the outcome -> answer the requester) that captures only
// the shared context, never the actor. If the actor dies mid-send, the chain
// still finishes: the row ends `sent` or `failed` and the requester gets its
// answer. Sends still waiting in the dead actor's queue were never started
// (no row, nothing sent): their requesters notice the actor's death and
// submit them again to the restarted actor. So no message is lost or sent
// twice; only the order between a crash's in-flight send and the resubmitted
// ones is not guaranteed.
//
// The AI (actors/whatsapp_ai.hpp): with an OpenAI key, inbound messages are
// debounced on the actor clock (ai_debounce: a burst gets one answer), then
// the conversation claims the burst in PostgreSQL and a self-contained
// chain answers it through the normal send path (sent_by 'ai'). A business
// with whatsapp_ai off, or a conversation an agent took over, gets the
// after-hours reply instead. An opt-out word (wa_inbound_event::opted_out)
// gets one confirmation when new, and never an AI or after-hours reply.
//
// The messages these actors exchange, and their typed interfaces, are in
// actors/whatsapp_protocol.hpp.

#include "actors/domain.hpp"
#include "actors/store.hpp"
#include "actors/supervisor.hpp"
#include "actors/whatsapp_protocol.hpp"
#include "core/outbound.hpp"
#include "core/whatsapp_wire.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace al {

struct metrics;

/// Provider settings and limits, fixed at start-up (from config).
struct whatsapp_settings {
  std::string default_provider = "twilio"; // twilio | meta
  std::string twilio_api_base = "https://api.twilio.com";
  std::string twilio_account_sid; // global; a business may carry its own
  std::string twilio_auth_token;
  std::string twilio_from = "whatsapp:+14155238886"; // global sender
  std::string meta_api_base;
  std::string meta_token;
  std::string meta_phone_id;
  std::string status_callback_url; // Twilio StatusCallback; "" = none
  std::chrono::milliseconds provider_timeout{5000};
  std::chrono::seconds idle_timeout{1800};
  int rate_per_minute = 30;                      // per number, also the burst
  std::chrono::seconds auto_reply_gap{4 * 3600}; // per conversation
  std::chrono::seconds queue_timeout{20}; // longest wait for a send's turn
  // The AI (SPEC §7 "WhatsApp conversations"); off without a key.
  std::string openai_api_key;
  std::string openai_api_base = "https://api.openai.com/v1";
  std::string text_model = "gpt-4o-mini";
  std::chrono::milliseconds ai_debounce{2500}; // quiet time before answering
  std::chrono::milliseconds ai_timeout{20000}; // per completion
  int ai_max_rounds = 4;                       // completions per answer
  /// How long a claim may take before another instance may take it over;
  /// above ai_max_rounds * ai_timeout + a send.
  std::chrono::seconds ai_lease{150};
};

/// What every conversation actor shares.
struct whatsapp_context {
  store db;
  http_send_fn http; // the outbound HTTP client, injected by app/
  metrics* m = nullptr;
  whatsapp_settings settings;
  /// The whatsapp_manager (weak): conversations end when it does, so a
  /// shutdown never waits for their idle timeout.
  caf::actor_addr manager;
};

using whatsapp_context_ptr = std::shared_ptr<const whatsapp_context>;

/// "wa:<business>:<e164>".
std::string whatsapp_conversation_key(std::int64_t business,
                                      std::string_view e164);

/// The supervisor's recipe for the conversation (business, e164).
child_spec whatsapp_conversation_spec(whatsapp_context_ptr ctx,
                                      std::int64_t business, std::string e164);

/// Spawns the whatsapp_manager: each (spawn_atom, wa_conversation_ref)
/// becomes whatsapp_conversation_spec(ctx, ...). Sets ctx->manager; call it
/// once `ctx` is complete and before it is shared.
whatsapp_manager_actor
spawn_whatsapp_manager(caf::actor_system& sys, supervision_stats& stats,
                       metrics* m, std::shared_ptr<whatsapp_context> ctx,
                       supervisor_options opts = {});

/// Sends `req` through its conversation actor (spawned through `manager`
/// when needed) and calls `done` exactly once, from some actor thread, with
/// the outcome. Never blocks; safe from an io thread.
void whatsapp_send(caf::actor_system& sys,
                   const whatsapp_manager_actor& manager,
                   whatsapp_context_ptr ctx, wa_send_request req,
                   std::function<void(wa_send_result)> done);

/// Tells the conversation (business, e164) that an inbound message was
/// stored. Fire and forget; never blocks.
void whatsapp_notify_inbound(caf::actor_system& sys,
                             const whatsapp_manager_actor& manager,
                             whatsapp_context_ptr ctx, std::int64_t business,
                             std::string e164, wa_inbound_event ev);

} // namespace al
