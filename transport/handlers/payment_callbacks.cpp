// Payments seen from outside the CRM: the PayPal buyer redirects
// (/payments/paypal/return|cancel) and the providers' callbacks
// (/webhook/payments/paypal, /webhook/payments/tranzila). SPEC §2 Payments.
// The API (/api/crm/payments*) is in payments.cpp.
//
// Handlers check what needs no database (the order token, the webhook's
// transmission headers, the Tranzila HMAC token), call a use case
// (domain/payment_callbacks.hpp) and render its answer: a Hebrew page for
// the buyer, JSON for the providers.

#include "transport/handlers/handlers.hpp"

#include "actors/log.hpp"
#include "core/form.hpp"
#include "core/input.hpp"
#include "core/payment_wire.hpp"
#include "domain/payment_callbacks.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <spdlog/spdlog.h>

#include <optional>
#include <string>

namespace al {

namespace {

namespace pay = domain::payments;

// -- buyer pages --------------------------------------------------------------

http_response page(http::status status, std::string_view title,
                   std::string_view text) {
  std::string html = "<!doctype html><html lang=\"he\" dir=\"rtl\"><head>"
                     "<meta charset=\"utf-8\"><meta name=\"viewport\" "
                     "content=\"width=device-width,initial-scale=1\"><title>";
  html.append(title);
  html += "</title><style>body{font-family:system-ui,sans-serif;"
          "max-width:32em;margin:4em auto;padding:0 1em;text-align:center}"
          "</style></head><body><h1>";
  html.append(title);
  html += "</h1><p>";
  html.append(text);
  html += "</p></body></html>";
  return make_response(status, std::move(html), "text/html; charset=utf-8");
}

/// The page for a payment's status (pending or unknown: still in progress).
http_response status_page(std::optional<payment_status> status) {
  if (status == payment_status::paid)
    return page(http::status::ok, "התשלום התקבל",
                "תודה! התשלום הושלם בהצלחה. אפשר לסגור את החלון.");
  if (status == payment_status::cancelled)
    return page(http::status::ok, "התשלום בוטל",
                "התשלום בוטל ולא חויבת. אפשר לבקש קישור חדש.");
  if (status == payment_status::failed)
    return page(http::status::ok, "התשלום לא הושלם",
                "לא הצלחנו להשלים את התשלום. אפשר לבקש קישור חדש.");
  return page(http::status::ok, "התשלום בטיפול",
              "התשלום עדיין בטיפול. נעדכן כשיאושר.");
}

/// The page for a buyer redirect's outcome, with the outcome's status
/// (to_status). A buyer cannot fix a missing PayPal configuration: for them
/// it is a temporary error like any other (503), the payment not approved
/// yet.
http_response buyer_page(const pay::page_result& r) {
  const auto code = r.status.code;
  if (r.status.ok())
    return status_page(r.state);
  if (code == domain_code::not_found)
    return page(to_status(code), "התשלום לא נמצא",
                "לא מצאנו תשלום עבור הקישור הזה.");
  if (code == domain_code::bad_gateway)
    return page(to_status(code), "שגיאה זמנית",
                "לא הצלחנו לאשר את התשלום מול PayPal. רעננו את"
                " הדף בעוד רגע.");
  if (code == domain_code::not_implemented)
    return page(to_status(domain_code::unavailable), "שגיאה זמנית",
                "התשלום לא אושר עדיין. נסו שוב בעוד רגע.");
  return page(to_status(code), "שגיאה זמנית", "נסו שוב בעוד רגע.");
}

/// The order id from ?token=..., or an answer was given.
std::optional<std::string> order_token(const request& req,
                                       const responder& res) {
  auto q = parse_form(req.query);
  auto token = q ? q->get("token") : std::nullopt;
  if (!token || !pay::is_order_id(*token)) {
    res(
      page(http::status::bad_request, "קישור לא תקין", "הקישור חסר או פגום."));
    return std::nullopt;
  }
  return std::string{*token};
}

/// A PayPal buyer redirect (return or cancel): the order from ?token=,
/// the use case, its page.
using buyer_use_case = void (*)(const payment_env_ptr&, std::string,
                                pay::page_fn);

void buyer_redirect(buyer_use_case use_case, const payment_env_ptr& env,
                    request_ptr req, responder res) {
  auto order = order_token(*req, res);
  if (!order)
    return;
  use_case(env, std::move(*order),
           on_session(req, [res](pay::page_result r) { res(buyer_page(r)); }));
}

// -- PayPal webhook -----------------------------------------------------------

void paypal_webhook(services& svc, const payment_env_ptr& env, request_ptr req,
                    responder res) {
  auto event = parse_paypal_event(req->body());
  if (!event)
    return res(
      error_response(http::status::bad_request, "not a PayPal webhook event"));
  paypal_webhook_headers h;
  h.auth_algo = std::string{req->header("PAYPAL-AUTH-ALGO")};
  h.cert_url = std::string{req->header("PAYPAL-CERT-URL")};
  h.transmission_id = std::string{req->header("PAYPAL-TRANSMISSION-ID")};
  h.transmission_sig = std::string{req->header("PAYPAL-TRANSMISSION-SIG")};
  h.transmission_time = std::string{req->header("PAYPAL-TRANSMISSION-TIME")};
  if (!h.complete())
    return res(error_response(http::status::bad_request,
                              "missing PayPal transmission headers"));
  if (svc.cfg.paypal_webhook_id.empty()) {
    log_safe(spdlog::level::warn,
             "PayPal webhook {} refused: PAYPAL_WEBHOOK_ID is not set",
             utf8_prefix(event->id, 64));
    return res(error_response(http::status::bad_request,
                              "webhook verification is not configured"));
  }
  pay::apply_paypal_webhook(env, svc.cfg.paypal_webhook_id, req->body(),
                            std::move(h), std::move(*event), render(req, res));
}

// -- Tranzila notify ----------------------------------------------------------

void tranzila_notify(const payment_env_ptr& env, request_ptr req,
                     responder res) {
  auto q = parse_form(req->query);
  auto id_text = q ? q->value_or("payment") : std::string{};
  auto token = q ? q->value_or("token") : std::string{};
  auto id = parse_decimal(id_text, 1, 999'999'999'999'999'999);
  if (!id || !verify_tranzila_token(env->signing_key, id_text, token))
    return res(error_response(http::status::forbidden, "bad payment token"));
  // The body is form encoded whatever the Content-Type says.
  auto form = parse_form(req->body());
  if (!form)
    return res(
      error_response(http::status::bad_request, "malformed notify body"));
  pay::apply_tranzila_notify(env, *id, std::move(*form), render(req, res));
}

} // namespace

void add_payment_callback_routes(router& r, services& svc) {
  auto env = svc.payments;
  r.add(http::verb::get, "/payments/paypal/return",
        [env](request_ptr req, responder res) {
          buyer_redirect(pay::capture_on_return, env, std::move(req),
                         std::move(res));
        });
  r.add(http::verb::get, "/payments/paypal/cancel",
        [env](request_ptr req, responder res) {
          buyer_redirect(pay::cancel_by_buyer, env, std::move(req),
                         std::move(res));
        });
  r.add(http::verb::post, "/webhook/payments/paypal",
        [&svc, env](request_ptr req, responder res) {
          paypal_webhook(svc, env, std::move(req), std::move(res));
        });
  r.add(http::verb::post, "/webhook/payments/tranzila",
        [env](request_ptr req, responder res) {
          tranzila_notify(env, std::move(req), std::move(res));
        });
}

} // namespace al
