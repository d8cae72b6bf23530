#pragma once

// The wire formats of the payment providers, as pure functions (no I/O):
// PayPal REST (OAuth2 token, Orders v2 create/capture, webhook events and
// verify-webhook-signature) and Tranzila (hosted payment page URL, notify
// callback verdict). PROTOCOLS.md §8, §9. Money is integer minor units all
// the way: amounts are parsed from literal text (core/money.hpp) and
// formatted back with format_amount, never through a double.

#include "core/form.hpp"
#include "core/json.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace al {

// -- request bodies -----------------------------------------------------------

/// The literal text of one top-level field of a JSON object body: for a
/// number its raw token (e.g. "99.90", possibly with trailing whitespace),
/// for a string its unescaped content. `state` is missing, null, wrong_type
/// (any other JSON type, or a body that is not a valid JSON object) or ok.
/// With duplicate keys the first one wins (as with the DOM getters).
struct raw_field {
  field_state state = field_state::missing;
  std::string text;
};
raw_field raw_number_or_string(std::string_view json_body,
                               std::string_view key);

// -- PayPal -------------------------------------------------------------------

/// "Basic base64(client_id:secret)" for the OAuth2 token request.
std::string paypal_basic_auth(std::string_view client_id,
                              std::string_view secret);

/// Body of the client-credentials token request (form encoded).
inline constexpr std::string_view paypal_token_body
  = "grant_type=client_credentials";

struct paypal_token {
  std::string access_token;
  std::int64_t expires_in = 0; // seconds
};

/// The token response; nullopt without a non-empty access_token. A missing
/// or non-positive expires_in becomes 0 (use once, do not cache).
std::optional<paypal_token> parse_paypal_token(std::string_view body);

struct paypal_order_input {
  std::int64_t payment_id = 0;
  std::int64_t amount_minor = 0;
  std::string currency;    // ISO 4217, upper case
  std::string description; // cut to 127 bytes on a UTF-8 boundary
  std::string brand_name;  // the business name; cut like description
  std::string return_url;
  std::string cancel_url;
};

/// Orders v2 create body: intent CAPTURE, one purchase unit whose
/// reference_id and custom_id are our payment id, amount formatted from
/// minor units, and payment_source.paypal.experience_context with the
/// return/cancel URLs (PAY_NOW, NO_SHIPPING, locale he-IL).
std::string paypal_order_body(const paypal_order_input& in);

struct paypal_order {
  std::string id;
  std::string status;
  std::string approve_url; // link rel "approve" or "payer-action"
};

/// The create-order response; nullopt without an id or a buyer link.
std::optional<paypal_order> parse_paypal_order(std::string_view body);

struct paypal_capture {
  std::string order_id;
  std::string status;         // order status, e.g. COMPLETED
  std::string capture_id;     // purchase_units[0].payments.captures[0]
  std::string capture_status; // COMPLETED, PENDING, DECLINED, ...
  std::string custom_id;
  std::optional<std::int64_t> amount_minor;
  std::string currency;
};

/// The capture response; nullopt when it is not an order object.
std::optional<paypal_capture> parse_paypal_capture(std::string_view body);

/// True when the capture settled the money (order and capture COMPLETED).
bool paypal_capture_completed(const paypal_capture& c);

/// True for PayPal's 422 "ORDER_ALREADY_CAPTURED" error body.
bool paypal_already_captured(std::string_view error_body);

/// A short, log- and API-safe summary of a PayPal error response:
/// "PayPal <status>: <name>: <message>" (at most ~200 bytes; no request
/// data, so no secrets).
std::string paypal_error_summary(int status, std::string_view body);

/// The PAYPAL-* transmission headers of a webhook delivery.
struct paypal_webhook_headers {
  std::string auth_algo;
  std::string cert_url;
  std::string transmission_id;
  std::string transmission_sig;
  std::string transmission_time;
  /// True when every header is present.
  bool complete() const;
};

/// Body of POST /v1/notifications/verify-webhook-signature. `raw_event` is
/// embedded byte for byte (PayPal checks the event exactly as it sent it);
/// the caller must have checked that it is one valid JSON object.
std::string paypal_verify_body(const paypal_webhook_headers& h,
                               std::string_view webhook_id,
                               std::string_view raw_event);

/// True only for `{"verification_status":"SUCCESS"}`.
bool paypal_verification_succeeded(std::string_view body);

/// What a webhook event says about a payment.
struct paypal_event {
  std::string id;         // the event id (idempotency)
  std::string event_type; // CHECKOUT.ORDER.APPROVED, PAYMENT.CAPTURE.*, ...
  std::string order_id;   // resource.id for orders, related order for captures
  std::string capture_id; // captures only
  std::string resource_status;
  std::string custom_id; // our payment id as text
  std::optional<std::int64_t> amount_minor;
  std::string currency;
};

/// Parses a webhook event; nullopt when it is not an object with an id, an
/// event_type and a resource object.
std::optional<paypal_event> parse_paypal_event(std::string_view raw);

/// Our payment id from a custom_id ("42" -> 42); nullopt otherwise.
std::optional<std::int64_t> payment_id_from_custom_id(std::string_view s);

// -- Tranzila -----------------------------------------------------------------

/// Tranzila's currency code: ILS 1, USD 2; nullopt for anything else (EUR
/// and GBP codes are unconfirmed, so they are refused).
std::optional<int> tranzila_currency_code(std::string_view currency);

struct tranzila_link_input {
  std::string base;     // TRANZILA_BASE, e.g. https://direct.tranzila.com
  std::string terminal; // percent-encoded into the path
  std::int64_t amount_minor = 0;
  std::string currency;
  std::string description;
  std::string notify_url; // absolute
  std::int64_t payment_id = 0;
};

/// {base}/{terminal}/iframenew.php?sum=..&currency=..&pdesc=..&
/// notify_url_address=..&orderId=..&lang=il (values percent-encoded);
/// nullopt for an unsupported currency or an empty terminal.
std::optional<std::string> tranzila_pay_url(const tranzila_link_input& in);

/// Path and query of the notify URL for `payment_id` (to be made absolute
/// with url_builder::http): "/webhook/payments/tranzila?payment=ID&token=T".
std::string tranzila_notify_target(std::string_view signing_key,
                                   std::int64_t payment_id);

/// True when `token` was issued for `payment_id` under `signing_key`.
bool verify_tranzila_token(std::string_view signing_key,
                           std::string_view payment_id, std::string_view token);

struct tranzila_verdict {
  bool paid = false;
  std::string code;      // the Response field ("" when missing)
  std::string reason;    // why not paid ("" when paid)
  std::string reference; // index / ConfirmationCode / Tempref, when given
};

/// Judges a notify POST for a payment of `expected_minor` in `currency`:
/// paid only when Response is exactly "000", `sum` parses (exactly, with
/// parse_amount_minor) to the expected amount, and a `currency` field, if
/// present, is the expected code.
tranzila_verdict judge_tranzila_notify(const form_params& form,
                                       std::int64_t expected_minor,
                                       std::string_view currency);

/// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
std::string utf8_prefix(std::string_view s, std::size_t max);

} // namespace al
