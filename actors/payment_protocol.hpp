#pragma once

// The typed protocol of the payment actor (actors/payment.hpp):
// its typed_actor interface and the type-ID block al_payment of the message
// types it carries (actors/type_ids.hpp lists the ranges).
//
// A create request reaches the payment_manager as a value, payment_start:
// the validated request and the typed handle of the one-shot requester that
// waits for its payment_reply (request_payment in actors/payment.hpp holds
// the HTTP session's continuation there, never in a message).
//
// The actor talks only to itself: the completions of its store jobs and of
// its provider exchange run on other threads (a DB thread, an I/O thread)
// and come back to it as plain values, so no closure crosses into the
// actor. Nothing outside the actor sends it a message; the supervisor
// starts it (payment_child) and may stop it.
//
//   payment_loaded        the row written (or found) at start
//   payment_answer        the provider's answer to attempt N
//   payment_linked        the provider's link stored
//   payment_fail_saved    the failure stored
//   (timeout_atom, attempt)  attempt N took longer than provider_timeout

#include "actors/domain.hpp"
#include "actors/inspect_optional.hpp"
#include "actors/payment_rows.hpp"
#include "actors/supervisor.hpp"
#include "actors/type_ids.hpp"

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/omittable.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace al {

struct paypal_credentials {
  std::string client_id;
  std::string secret;
};

/// A validated create request, business settings resolved.
struct payment_request {
  payment_draft draft;
  std::string brand_name;
  paypal_credentials paypal;     // provider paypal
  std::string tranzila_terminal; // provider tranzila
};

/// The answer to a create request: created (with the link), conflict,
/// bad_gateway (the provider failed) or unavailable (the database), with
/// the message for the client.
struct payment_reply {
  domain_status status;
  std::int64_t payment_id = 0;                          // 0: none to show
  payment_provider provider = payment_provider::paypal; // when created
  std::optional<payment_status> state; // the payment's; nullopt: not shown
  std::string pay_url;
  bool replayed = false; // an earlier request's payment
};

/// Who waits for a create request's answer: exactly one payment_reply.
using payment_requester_actor = caf::typed_actor<caf::reacts_to<payment_reply>>;

/// The payment_manager's spawn request: create `req`, answer `reply_to`.
struct payment_start {
  payment_request req;
  payment_requester_actor reply_to;
};

/// The payment_manager: (spawn_atom, payment_start) starts the payment's
/// actor under payment_key(draft id) (spawn_payment_manager in
/// actors/payment.hpp builds it).
using payment_manager_actor = manager_actor<payment_start>;

/// The start job's outcome: `row` is the payment (inserted now or by an
/// earlier incarnation); `other` the payment that holds the request's
/// Idempotency-Key when `row` could not be written.
struct payment_loaded {
  std::string error; // the store job's; empty on success
  bool inserted = false;
  std::optional<payment_row> row;
  std::optional<payment_row> other;
};

/// The provider's answer to attempt `attempt` (an outbound_response).
struct payment_answer {
  std::uint64_t attempt = 0;
  std::int32_t status = 0; // 0: no HTTP response
  std::string body;
  std::string error; // transport failure, or "PayPal token: ..."
};

/// The link is stored: the row as it is now.
struct payment_linked {
  std::string error;
  std::optional<payment_row> row;
};

/// The provider failed for `reason` and the row was moved to failed
/// (`changed`: by this call); the row as it is now.
struct payment_fail_saved {
  std::string reason;
  std::string error;
  bool changed = false;
  std::optional<payment_row> row;
};

/// The payment actor's interface, checked by the compiler.
using payment_actor = caf::typed_actor<
  caf::reacts_to<payment_loaded>, caf::reacts_to<payment_answer>,
  caf::reacts_to<payment_linked>, caf::reacts_to<payment_fail_saved>,
  caf::reacts_to<timeout_atom, std::uint64_t>>;

// -- inspection ---------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payment_row& x) {
  return f(caf::meta::type_name("payment_row"), x.id, x.business_id,
           opt_field(x.lead_id), x.provider, x.amount_minor, x.currency,
           x.description, x.status, opt_field(x.provider_ref),
           opt_field(x.pay_url), opt_field(x.failure_reason),
           opt_field(x.idempotency_key), x.created_at, x.updated_at);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, paypal_credentials& x) {
  return f(caf::meta::type_name("paypal_credentials"), x.client_id,
           caf::meta::omittable(), x.secret);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payment_draft& x) {
  return f(caf::meta::type_name("payment_draft"), x.id, x.business_id,
           opt_field(x.lead_id), x.provider, x.amount_minor, x.currency,
           x.description, opt_field(x.idempotency_key));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payment_request& x) {
  return f(caf::meta::type_name("payment_request"), x.draft, x.brand_name,
           x.paypal, x.tranzila_terminal);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, domain_status& x) {
  return f(caf::meta::type_name("domain_status"), x.code, x.message);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payment_reply& x) {
  return f(caf::meta::type_name("payment_reply"), x.status, x.payment_id,
           x.provider, opt_field(x.state), x.pay_url, x.replayed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payment_start& x) {
  return f(caf::meta::type_name("payment_start"), x.req, x.reply_to);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payment_loaded& x) {
  return f(caf::meta::type_name("payment_loaded"), x.error, x.inserted,
           opt_field(x.row), opt_field(x.other));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payment_answer& x) {
  return f(caf::meta::type_name("payment_answer"), x.attempt, x.status, x.body,
           x.error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payment_linked& x) {
  return f(caf::meta::type_name("payment_linked"), x.error, opt_field(x.row));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payment_fail_saved& x) {
  return f(caf::meta::type_name("payment_fail_saved"), x.reason, x.error,
           x.changed, opt_field(x.row));
}

} // namespace al

CAF_BEGIN_TYPE_ID_BLOCK(al_payment, caf::first_custom_type_id + 200)

CAF_ADD_TYPE_ID(al_payment, (al::payment_row))
CAF_ADD_TYPE_ID(al_payment, (al::payment_loaded))
CAF_ADD_TYPE_ID(al_payment, (al::payment_answer))
CAF_ADD_TYPE_ID(al_payment, (al::payment_linked))
CAF_ADD_TYPE_ID(al_payment, (al::payment_fail_saved))
CAF_ADD_TYPE_ID(al_payment, (al::payment_reply))
CAF_ADD_TYPE_ID(al_payment, (al::payment_start))

CAF_END_TYPE_ID_BLOCK(al_payment)
