#pragma once

// Use cases of the WhatsApp webhooks (Twilio and Meta Cloud API) and of
// POST /api/whatsapp/send (SPEC §7). Input is checked and parsed by
// transport; each webhook stores what it was told in one transaction and
// answers once through `done`, then hands the messages it stored to their
// conversations (actors/whatsapp_conversation.hpp).

#include "actors/domain.hpp"
#include "actors/store.hpp"
#include "actors/whatsapp_conversation.hpp"
#include "core/form.hpp"
#include "core/whatsapp_wire.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <functional>
#include <string>

namespace al {
struct metrics;
} // namespace al

namespace al::domain::whatsapp {

/// Where inbound messages and sends go: the conversation actors (none of
/// the pointers is null).
struct conversations {
  caf::actor_system* sys = nullptr;
  whatsapp_manager_actor manager;
  whatsapp_context_ptr ctx;
  metrics* m = nullptr;
};

/// Whether a Twilio webhook's `form` is signed with `own_token`, the auth
/// token of the business it is for ("" = it has none: the global one).
/// Transport builds it from the request; it runs inside the transaction
/// that found the business.
using twilio_check
  = std::function<bool(const form_params& form, const std::string& own_token)>;

/// How a webhook went: ok, forbidden "Invalid signature", bad_request with
/// the parser's message, or the database's failure (the provider retries).
using webhook_fn = std::function<void(domain_status)>;

/// POST /webhook/whatsapp/incoming: the business of the `To` number, its
/// signature, then the message stored (a sid delivered twice is stored
/// once). After `done`, a newly stored message goes to its conversation.
void incoming(const store& db, conversations to, form_params form,
              twilio_check is_signed, webhook_fn done);

/// POST /webhook/whatsapp/status: the business of the message (for an
/// unknown sid, of the `From` number), its signature, then the delivery
/// status applied; a status for an unknown message is logged and ignored.
void update_status(const store& db, form_params form, twilio_check is_signed,
                   webhook_fn done);

/// POST /webhook/whatsapp/meta (signature checked, body parsed): stores
/// its messages, each for the business of its `to` number, and applies its
/// statuses (unknown messages logged and ignored), in one transaction.
/// After `done`, newly stored messages go to their conversations.
void apply_webhook(const store& db, conversations to, meta_webhook hook,
                   webhook_fn done);

/// POST /api/whatsapp/send: `req` through its conversation; `done` is
/// called once, from an actor thread.
void send(const conversations& to, wa_send_request req,
          std::function<void(wa_send_result)> done);

/// A send's outcome as the seam's status (the one mapping of
/// wa_send_status): ok when sent, else its code and the send's error.
/// provider_failed is bad_gateway, not_configured not_implemented,
/// no_business not_found, rate_limited too_many_requests, opted_out
/// conflict, outside_window and bad_template unprocessable, unavailable
/// unavailable, timeout gateway_timeout.
domain_status status_of(const wa_send_result& r);

} // namespace al::domain::whatsapp
