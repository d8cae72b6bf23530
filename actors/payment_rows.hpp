#pragma once

// Payment rows in the database: the pending insert, the one-way state
// machine with its event log, and the reads behind /api/crm/payments.
//
//   pending --paid------> paid
//      |----failed------> failed
//      `----cancelled---> cancelled        (never backwards)
//
// Every transition writes one payment_events row keyed by the provider's
// event (UNIQUE (payment_id, event_key)), in the same transaction as the
// status change, so the same webhook twice changes nothing. Queries filter
// by business_id; the only lookups without one are the provider callbacks'
// (by our id bound to an HMAC token, or by PayPal's globally unique order
// id), which then carry on with the business they found.

#include "actors/store.hpp"
#include "core/payment_kinds.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace al {

struct payment_row {
  std::int64_t id = 0;
  std::int64_t business_id = 0;
  std::optional<std::int64_t> lead_id;
  payment_provider provider = payment_provider::paypal;
  std::int64_t amount_minor = 0;
  std::string currency;
  std::string description;
  payment_status status = payment_status::pending;
  std::optional<std::string> provider_ref;
  std::optional<std::string> pay_url;
  std::optional<std::string> failure_reason;
  std::optional<std::string> idempotency_key;
  std::string created_at;
  std::string updated_at;
};

/// What a new payment is; `id` is pre-allocated (next_payment_id).
struct payment_draft {
  std::int64_t id = 0;
  std::int64_t business_id = 0;
  std::optional<std::int64_t> lead_id;
  payment_provider provider = payment_provider::paypal;
  std::int64_t amount_minor = 0;
  std::string currency;
  std::string description;
  std::optional<std::string> idempotency_key;
};

/// A fresh id from the payments sequence.
std::int64_t next_payment_id(db_tx& tx);

/// Inserts the pending row and its "created" event unless a row with this
/// id or (business, idempotency key) exists. True when this call inserted.
bool insert_pending(db_tx& tx, const payment_draft& d);

/// Payment `id` of `business_id`.
std::optional<payment_row> load_payment(db_tx& tx, std::int64_t business_id,
                                        std::int64_t id,
                                        bool for_update = false);

/// The payment created with `key` for `business_id`.
std::optional<payment_row>
load_payment_by_key(db_tx& tx, std::int64_t business_id, std::string_view key);

/// Provider callbacks only: payment `id` in whichever business holds it.
std::optional<payment_row> find_payment(db_tx& tx, std::int64_t id);

/// Provider callbacks only: the payment whose provider_ref is `ref`.
std::optional<payment_row>
find_payment_by_ref(db_tx& tx, payment_provider provider, std::string_view ref);

/// Records the provider reference and pay URL of a pending payment that has
/// none yet. False when the row is gone, no longer pending, or has a link.
bool store_link(db_tx& tx, std::int64_t business_id, std::int64_t id,
                const std::optional<std::string>& provider_ref,
                const std::string& pay_url);

enum class transition_result {
  changed,     // pending -> to, event written
  duplicate,   // this event_key was already applied
  not_pending, // the payment is already final: nothing changes
  missing,     // no such payment in this business
};

/// Moves payment `id` from pending to `to` (paid, failed, cancelled) and
/// records the event; `reason` fills failure_reason for failed; `detail` is
/// a JSON object text stored with the event.
transition_result transition_payment(db_tx& tx, std::int64_t business_id,
                                     std::int64_t id, payment_status to,
                                     std::string_view event_key,
                                     std::string_view reason = {},
                                     std::string_view detail = "{}");

/// The same with `to` by its database name ("paid"); throws
/// std::invalid_argument for a name that is no status.
inline transition_result
transition_payment(db_tx& tx, std::int64_t business_id, std::int64_t id,
                   std::string_view to, std::string_view event_key,
                   std::string_view reason = {},
                   std::string_view detail = "{}") {
  auto status = parse_payment_status(to);
  if (!status)
    throw std::invalid_argument("no such payment status");
  return transition_payment(tx, business_id, id, *status, event_key, reason,
                            detail);
}

/// The API view of a payment (amount as "99.90" and in minor units).
boost::json::object payment_json(const payment_row& p);

/// The payment's events, oldest first.
boost::json::array payment_events_json(db_tx& tx, std::int64_t business_id,
                                       std::int64_t id);

struct payment_filter {
  std::optional<payment_status> status;
  std::optional<std::int64_t> lead_id;
  std::int64_t page = 1;
  std::int64_t per_page = 50;
};

/// `{"items":[...],"page":P,"per_page":N,"total":T}`, newest first.
boost::json::object list_payments(db_tx& tx, std::int64_t business_id,
                                  const payment_filter& f);

/// The phone of lead `lead_id` of `business_id` ("" when it has none);
/// nullopt when the business has no such lead.
std::optional<std::string> lead_phone(db_tx& tx, std::int64_t business_id,
                                      std::int64_t lead_id);

/// A business's own payment settings (secrets included: for the payment
/// code only, never for a response or a log); "" for what is not set.
struct business_payments_row {
  std::string name;
  bool enabled = false;
  std::optional<payment_provider> default_provider;
  std::string paypal_client_id;
  std::string paypal_secret;
  std::string tranzila_terminal;
};

/// nullopt when the business does not exist.
std::optional<business_payments_row> load_business_payments(db_tx& tx,
                                                            std::int64_t id);

} // namespace al
