#pragma once

// The typed protocol of the WhatsApp conversation actors
// (actors/whatsapp_conversation.hpp): what a send, an inbound message and
// the AI's claim carry, the typed_actor interfaces of the conversation, of
// the one-shot requester behind each send and of the inbound notifier, and
// the type-ID block al_whatsapp of the message types they carry
// (actors/type_ids.hpp lists the ranges). Every message type here is a
// plain value with an `inspect` overload; nothing is declared unsafe. The
// whatsapp_manager takes a wa_conversation_ref (a number of a business).

#include "actors/domain.hpp"
#include "actors/supervisor.hpp"
#include "actors/type_ids.hpp"
#include "core/wa_ai_wire.hpp"
#include "core/whatsapp_wire.hpp"

#include <caf/actor_clock.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace al {

/// A send, as the API (or the auto-reply) asks for it.
struct wa_send_request {
  std::int64_t business_id = default_business_id;
  std::string to;       // E.164
  std::string body;     // non-empty, at most wa_max_body bytes
  std::string provider; // "" (business or global default), twilio, meta
  bool auto_reply = false;
  /// A template send (body unused): the business's template of that name
  /// with these values; goes out whatever the 24-hour window.
  std::string template_name;
  wa_template_values template_values;
  /// A free-form send outside the 24-hour window: the business's first
  /// template of this purpose whose variables these facts fill (see
  /// wa_fill_template) goes instead; "" = none (answer outside_window).
  std::string fallback_purpose;
  wa_template_values fallback_facts;
  /// A picture or a document to send (https URL, checked by the caller
  /// with wa_media_url_error); `body` is then its caption and may be "".
  std::string media_url;
  /// Who wrote it (messages.sent_by): ai, agent, auto, system. An agent's
  /// message pauses the conversation's AI for 12 h (ai_paused_by = agent).
  std::string sent_by = "system";
  std::string agent; // "token:N" | "admin", for an agent's message
};

/// How a send ended; domain/whatsapp.hpp maps it to a domain_code.
enum class wa_send_status {
  sent,            // the provider accepted it (sid set)
  provider_failed, // the provider refused, failed or timed out
  not_configured,  // no credentials for the chosen provider
  no_business,     // the business does not exist
  rate_limited,    // too many sends to this number
  outside_window,  // free-form past the 24-hour window, no template
  bad_template,    // unknown template, missing variables
  unavailable,     // database down, supervisor gave up
  timeout,         // no answer in time (queue or actor)
  opted_out,       // a follow-up to a number on the DNC list
};

std::string to_string(wa_send_status s);

struct wa_send_result {
  wa_send_status status = wa_send_status::unavailable;
  std::string provider;
  std::string sid;
  std::int64_t message_id = 0; // 0 when no row was written
  std::string error;
  std::string error_code;
  std::string template_name; // the template sent, "" for free-form
};

/// An inbound message was stored: the conversation decides the reply.
struct wa_inbound_event {
  std::int64_t message_id = 0;
  std::int64_t lead_id = 0;
  std::string working_hours = "{}"; // the business's, JSON text
  std::string after_hours_reply;    // "" = the default Hebrew text
  /// The message was an opt-out word (הסר / STOP): the number is now on the
  /// do-not-contact list. newly: it was not before (one confirmation goes
  /// out); the AI and the after-hours reply stay silent either way.
  enum class opt_out { none, newly, again } opted_out = opt_out::none;
};

/// What claim_wa_ai (actors/whatsapp_ai.hpp) found.
struct wa_ai_claim {
  enum class outcome { none, busy, not_for_ai, claimed };
  outcome what = outcome::none;
  std::int64_t seq = 0; // claimed: answers inbound messages up to this
  std::string token;
  std::int64_t lead_id = 0;
  std::string lead_label; // the lead's name, else its phone
  wa_ai_brief brief;
  std::vector<std::string> transfer_numbers;
  /// Oldest first, ending with the newest message (up to seq).
  std::vector<wa_chat_message> history;
};

/// The requester behind one send (whatsapp_send):
///   (wa_accept_atom)                conversation: the job's chain started;
///                                   its result comes even if the
///                                   conversation dies now
///   (result_atom, wa_send_result)   the chain (or the conversation): done
///   (wa_submit_atom)                itself: submit the job (again)
///   (timeout_atom)                  itself: the last-resort deadline
using wa_requester_actor = caf::typed_actor<
  caf::reacts_to<wa_accept_atom>, caf::reacts_to<result_atom, wa_send_result>,
  caf::reacts_to<wa_submit_atom>, caf::reacts_to<timeout_atom>>;

/// A send waiting in a conversation's queue.
struct wa_send_job {
  wa_send_request req;
  wa_requester_actor reply_to;           // invalid for the automatic replies
  caf::actor_clock::time_point deadline; // start it by then (actor clock)
};

/// Database -> conversation: what claim_wa_ai found for the inbound events
/// that were waiting (ok false: the database failed, `claim` is empty).
struct wa_ai_claimed {
  bool ok = false;
  wa_ai_claim claim;
  std::vector<wa_inbound_event> events;
};

/// One conversation (business, number):
///   (send_atom, wa_send_job)        a requester: queue this send
///   (inbound_atom, wa_inbound_event)  an inbound message was stored
///   (wa_loaded_atom, std::int64_t)  itself: the last automatic reply read
///                                   back at (re)start, unix seconds
///   (wa_done_atom)                  a send chain ended: start the next
///   (timeout_atom)                  itself: a queued job's deadline passed
///   (ai_timer_atom, std::uint64_t)  itself: the AI's debounce ran out
///                                   (stale unless the generation is the
///                                   newest)
///   (wa_ai_claimed)                 itself: the claim's outcome
///   (wa_ai_done_atom)               the AI chain dealt with its burst
using wa_conversation_actor = caf::typed_actor<
  caf::reacts_to<send_atom, wa_send_job>,
  caf::reacts_to<inbound_atom, wa_inbound_event>,
  caf::reacts_to<wa_loaded_atom, std::int64_t>, caf::reacts_to<wa_done_atom>,
  caf::reacts_to<timeout_atom>, caf::reacts_to<ai_timer_atom, std::uint64_t>,
  caf::reacts_to<wa_ai_claimed>, caf::reacts_to<wa_ai_done_atom>>;

/// Hands one inbound event to its conversation (whatsapp_notify_inbound):
///   (inbound_atom, wa_inbound_event)  ask the manager for the
///                                     conversation, send it the event, end
using wa_notifier_actor
  = caf::typed_actor<caf::reacts_to<inbound_atom, wa_inbound_event>>;

/// A conversation: the business's chat with one number.
struct wa_conversation_ref {
  std::int64_t business_id = default_business_id;
  std::string e164;
};

/// The whatsapp_manager: (spawn_atom, wa_conversation_ref) finds the
/// conversation actor or starts it (spawn_whatsapp_manager in
/// actors/whatsapp_conversation.hpp builds it).
using whatsapp_manager_actor = manager_actor<wa_conversation_ref>;

// -- inspection ---------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wa_conversation_ref& x) {
  return f(caf::meta::type_name("wa_conversation_ref"), x.business_id, x.e164);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wa_send_request& x) {
  return f(caf::meta::type_name("wa_send_request"), x.business_id, x.to, x.body,
           x.provider, x.auto_reply, x.template_name, x.template_values,
           x.fallback_purpose, x.fallback_facts, x.media_url, x.sent_by,
           x.agent);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wa_send_result& x) {
  return f(caf::meta::type_name("wa_send_result"), x.status, x.provider, x.sid,
           x.message_id, x.error, x.error_code, x.template_name);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wa_inbound_event& x) {
  return f(caf::meta::type_name("wa_inbound_event"), x.message_id, x.lead_id,
           x.working_hours, x.after_hours_reply, x.opted_out);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wa_tool_call& x) {
  return f(caf::meta::type_name("wa_tool_call"), x.id, x.name, x.arguments);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wa_chat_message& x) {
  return f(caf::meta::type_name("wa_chat_message"), x.role, x.content,
           x.tool_call_id, x.tool_calls);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wa_ai_brief& x) {
  return f(caf::meta::type_name("wa_ai_brief"), x.business_name, x.prompt,
           x.office_context, x.lead_facts, x.can_hand_off);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wa_ai_claim& x) {
  return f(caf::meta::type_name("wa_ai_claim"), x.what, x.seq, x.token,
           x.lead_id, x.lead_label, x.brief, x.transfer_numbers, x.history);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wa_send_job& x) {
  return f(caf::meta::type_name("wa_send_job"), x.req, x.reply_to, x.deadline);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wa_ai_claimed& x) {
  return f(caf::meta::type_name("wa_ai_claimed"), x.ok, x.claim, x.events);
}

} // namespace al

CAF_BEGIN_TYPE_ID_BLOCK(al_whatsapp, caf::first_custom_type_id + 300)

CAF_ADD_TYPE_ID(al_whatsapp, (al::wa_send_result))
CAF_ADD_TYPE_ID(al_whatsapp, (al::wa_inbound_event))
CAF_ADD_TYPE_ID(al_whatsapp, (al::wa_send_job))
CAF_ADD_TYPE_ID(al_whatsapp, (al::wa_ai_claimed))
CAF_ADD_TYPE_ID(al_whatsapp, (al::wa_conversation_ref))

CAF_END_TYPE_ID_BLOCK(al_whatsapp)
