#pragma once

// Use cases of the payment providers' callbacks (SPEC §2 Payments): the
// PayPal buyer redirects (capture on return, cancel), the verified PayPal
// webhook and the Tranzila notify. Each moves a pending payment to its
// final status at most once (actors/payment_rows.hpp); transport has
// checked what it can without the database (query, headers, the Tranzila
// token) and renders what these answer.

#include "actors/domain.hpp"
#include "actors/payment.hpp"
#include "core/form.hpp"
#include "core/payment_kinds.hpp"
#include "core/payment_wire.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace al::domain::payments {

/// True for what can be a PayPal order id (1-64 letters, digits, '-', '_').
bool is_order_id(std::string_view s);

/// What a buyer page shows.
struct page_result {
  /// ok: the payment's `state`; not_found: no payment for the order;
  /// unavailable: try again later (the database); not_implemented: the
  /// business has no PayPal credentials, so the payment is not approved
  /// yet; bad_gateway: PayPal did not confirm the capture (logged).
  domain_status status;
  std::optional<payment_status> state; // nullopt: unknown
};

using page_fn = std::function<void(page_result)>;

/// The buyer came back from PayPal with `order`: a pending payment is
/// captured and settled from PayPal's answer; any other is shown as it is.
void capture_on_return(const payment_env_ptr& env, std::string order,
                       page_fn done);

/// The buyer cancelled `order` at PayPal: a pending payment is cancelled.
void cancel_by_buyer(const payment_env_ptr& env, std::string order,
                     page_fn done);

/// A PayPal webhook delivery that parsed, with its transmission headers and
/// `webhook_id` set. Finds the payment (by custom_id, else order id) and
/// its credentials, has PayPal verify the signature (400 when refused, 502
/// when PayPal cannot say), and only then acts: APPROVED captures,
/// CAPTURE.COMPLETED pays (failed when the amount differs),
/// CAPTURE.DENIED/DECLINED fails. 200 {"success":true,"result":...} says
/// what became of it.
void apply_paypal_webhook(const payment_env_ptr& env, std::string webhook_id,
                          std::string raw, paypal_webhook_headers headers,
                          paypal_event event, reply_fn done);

/// A Tranzila notify for payment `id` (its token already verified): judged
/// against the payment's amount and currency, paid or failed; 404 when `id`
/// is no Tranzila payment.
void apply_tranzila_notify(const payment_env_ptr& env, std::int64_t id,
                           form_params fields, reply_fn done);

} // namespace al::domain::payments
