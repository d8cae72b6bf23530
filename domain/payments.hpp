#pragma once

// Use cases of the payments API (/api/crm/payments*, SPEC §2 Payments):
// create a pay link, list and read payments. Input is parsed and
// authorised by transport; the checks that need the business run here, in
// the order of the spec. A create hands the new payment to a supervised
// payment actor (actors/payment.hpp), which talks to the provider. The
// provider callbacks and buyer pages are in domain/payment_callbacks.hpp.

#include "actors/domain.hpp"
#include "actors/payment.hpp"
#include "actors/payment_rows.hpp"
#include "actors/whatsapp_conversation.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace al::domain::payments {

/// A business's payment settings with the global defaults applied.
struct settings {
  bool found = false; // the business exists
  std::string name;
  bool enabled = false;
  std::optional<payment_provider> default_provider;
  std::optional<paypal_credentials> paypal; // business's, else global
  std::string tranzila_terminal;            // business's, else global
};

settings load_settings(db_tx& tx, const payment_env& env,
                       std::int64_t business_id);

/// The body of a create request as transport read it, before any check is
/// applied: a non-empty *_error is that field's 400, answered in the order
/// of the spec.
struct create_input {
  std::optional<std::string> provider; // lower case; nullopt = not given
  bool provider_wrong_type = false;
  std::string amount_error;
  std::int64_t amount_minor = 0;
  std::string currency = "ILS";
  std::string currency_error;
  std::string description;
  std::string description_error;
  std::optional<std::int64_t> lead_id;
  std::string lead_error;
  std::optional<std::string> idempotency_key;
  std::string key_error;
  bool send_whatsapp = false;
  std::string send_whatsapp_error;
};

/// Where a new link goes out by WhatsApp (send_whatsapp); when the manager
/// or the context is missing the link is reported not sent.
struct link_channel {
  caf::actor_system* sys = nullptr;
  whatsapp_manager_actor manager;
  whatsapp_context_ptr whatsapp;
};

/// What a create answers: the payment (reply.status created) or why not.
struct create_result {
  /// reply.status is not_implemented when the provider asked for lacks its
  /// settings (PayPal client id and secret, Tranzila terminal).
  payment_reply reply;
  /// With send_whatsapp, once created: {"sent",...} as the message went.
  std::optional<boost::json::object> whatsapp;
};

using create_fn = std::function<void(create_result)>;

/// Checks the business (exists 404, payments enabled 403), the provider
/// (400, configured or not_implemented), then the input (400), the lead
/// (404, 400 without a phone for send_whatsapp) and the Idempotency-Key (an
/// earlier payment under it is replayed); then asks `manager` for the
/// payment's actor (request_payment) and, with send_whatsapp, sends the
/// link to the lead.
void create(caf::actor_system& sys, const payment_env_ptr& env,
            const payment_manager_actor& manager, link_channel wa,
            std::int64_t business, create_input in, create_fn done);

/// {"items":[...],"page","per_page","total"}, newest first.
void list(const store& db, scope s, payment_filter f, reply_fn done);

/// The payment with its "events", or 404 "No such payment".
void get(const store& db, scope s, std::int64_t id, reply_fn done);

} // namespace al::domain::payments
