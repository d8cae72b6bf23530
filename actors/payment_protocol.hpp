#pragma once

// The typed protocol of the payment actor (actors/payment.hpp):
// its typed_actor interface and the type-ID block al_payment of the message
// types it carries (actors/type_ids.hpp lists the ranges).
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

#include "actors/inspect_optional.hpp"
#include "actors/payment_rows.hpp"
#include "actors/type_ids.hpp"

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace al {

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

CAF_END_TYPE_ID_BLOCK(al_payment)
