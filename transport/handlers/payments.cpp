// Payments: /api/crm/payments* (create, list, get), the PayPal buyer
// redirects (/payments/paypal/return|cancel) and the provider callbacks
// (/webhook/payments/paypal, /webhook/payments/tranzila). SPEC §2 Payments.
//
// Handlers parse and check what needs no database in the exact order of
// the spec, call a use case (domain/payments.hpp for the API,
// domain/payment_callbacks.hpp for the buyer pages and callbacks) and
// render its answer; the wire formats are pure functions in
// core/payment_wire.
#include "transport/handlers/handlers.hpp"

#include "actors/log.hpp"
#include "core/form.hpp"
#include "core/input.hpp"
#include "core/json.hpp"
#include "core/money.hpp"
#include "core/payment_wire.hpp"
#include "core/url_builder.hpp"
#include "domain/payment_callbacks.hpp"
#include "domain/payments.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/https_client.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>

namespace al {

namespace {

namespace json = boost::json;
namespace pay = domain::payments;

// -- create -------------------------------------------------------------------

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

/// The body of a create request, read before any check is applied, so the
/// checks can run in the order of the spec.
pay::create_input read_create(const request& req, simdjson::dom::object obj) {
  pay::create_input in;
  auto prov = get_string(obj, "provider");
  if (prov.state == field_state::wrong_type)
    in.provider_wrong_type = true;
  else if (prov.ok() && !prov.value.empty())
    in.provider = lower(prov.value.substr(0, 64));

  // Money from its literal text: never through a double.
  auto raw = raw_number_or_string(req.body(), "amount");
  if (raw.state == field_state::missing || raw.state == field_state::null)
    in.amount_error = "amount is required";
  else if (raw.state == field_state::wrong_type)
    in.amount_error = "amount must be a number or a numeric string";
  else if (auto minor = parse_amount_minor(raw.text))
    in.amount_minor = *minor;
  else
    in.amount_error = "amount must be a positive decimal with at most 2"
                      " decimals, at most "
                      + format_amount(max_amount_minor);

  auto cur = get_string(obj, "currency");
  if (cur.state == field_state::wrong_type)
    in.currency_error = "currency must be a string";
  else if (cur.ok()) {
    auto c = normalize_currency(cur.value);
    if (c)
      in.currency = *c;
    else
      in.currency_error = "unknown currency (ILS, USD, EUR, GBP)";
  }

  std::optional<std::string> desc;
  if (read_opt_string(obj, "description", desc, in.description_error, 500)
      && desc)
    in.description = *desc;

  auto lead = get_int(obj, "lead_id");
  if (lead.state == field_state::wrong_type || (lead.ok() && lead.value <= 0))
    in.lead_error = "lead_id must be a positive integer";
  else if (lead.ok())
    in.lead_id = lead.value;

  auto key = req.header("Idempotency-Key");
  if (!key.empty()) {
    bool ok = key.size() <= 255;
    for (unsigned char c : key)
      ok = ok && c > 0x20 && c < 0x7f;
    if (ok)
      in.idempotency_key = std::string{key};
    else
      in.key_error = "Idempotency-Key must be 1-255 printable ASCII"
                     " characters";
  }

  auto wa = get_bool(obj, "send_whatsapp");
  if (wa.state == field_state::wrong_type)
    in.send_whatsapp_error = "send_whatsapp must be a boolean";
  else if (wa.ok() && wa.value && !in.lead_id && in.lead_error.empty())
    in.send_whatsapp_error = "send_whatsapp needs a lead_id";
  else
    in.send_whatsapp = wa.ok() && wa.value;
  return in;
}

/// The answer to a create: 201 with the link (and what became of the
/// WhatsApp message), else the error with the payment's id and status when
/// there is one; 501 when the provider is not configured.
http_response create_response(const pay::create_result& c) {
  const auto& r = c.reply;
  http_response res;
  if (r.status.code == domain_code::created) {
    json::object o{{"success", true},
                   {"payment_id", r.payment_id},
                   {"provider", to_string(r.provider)},
                   {"status", r.state ? to_string(*r.state) : ""},
                   {"pay_url", r.pay_url}};
    if (c.whatsapp)
      o["whatsapp"] = *c.whatsapp;
    res = json_response(to_status(r.status.code), json::serialize(o));
  } else {
    json::object o{{"success", false}, {"error", r.status.message}};
    if (r.payment_id)
      o["payment_id"] = r.payment_id;
    if (r.state)
      o["status"] = to_string(*r.state);
    res = json_response(to_status(r.status.code), json::serialize(o));
  }
  if (r.replayed)
    res.set("Idempotent-Replayed", "true");
  return res;
}

void create_payment(services& svc, const payment_env_ptr& env, request_ptr req,
                    responder res, principal p) {
  json_doc doc;
  simdjson::dom::object obj;
  if (!parse_body(*req, doc, obj, res))
    return;
  // 1. Stripe is gone, whatever else the request says.
  auto prov = get_string(obj, "provider");
  if (prov.ok() && lower(prov.value) == "stripe")
    return res(
      error_response(http::status::gone, "Stripe is no longer supported"));
  // 2. The global switch.
  if (!svc.cfg.payments_enabled)
    return res(error_response(
      domain_status{domain_code::not_implemented, "Payments are disabled"}));
  auto bid = get_int(obj, "business_id");
  if (p.is_admin() && bid.present() && (!bid.ok() || bid.value <= 0))
    return res(error_response(http::status::bad_request,
                              "business_id must be a positive integer"));
  auto business = effective_business(
    p, bid.ok() ? std::optional<std::int64_t>{bid.value} : std::nullopt);
  // 3.-6. in the use case (business, provider, configuration, input).
  pay::create(
    env, svc.payment_manager,
    pay::link_channel{&svc.sys, svc.whatsapp_manager, svc.whatsapp}, business,
    read_create(*req, obj),
    on_session(req, [res](pay::create_result r) { res(create_response(r)); }));
}

// -- list / get ---------------------------------------------------------------

void list_payments_route(services& svc, request_ptr req, responder res,
                         principal p) {
  auto q = parse_form(req->query);
  if (!q)
    return res(
      error_response(http::status::bad_request, "malformed query string"));
  payment_filter f;
  if (auto s = q->get("status"); s && !s->empty()) {
    auto status = parse_payment_status(*s);
    if (!status)
      return res(
        error_response(http::status::bad_request,
                       "status must be pending, paid, failed or cancelled"));
    f.status = *status;
  }
  if (auto s = q->get("lead_id"); s && !s->empty()) {
    auto n = parse_decimal(*s, 1, 999'999'999'999'999'999);
    if (!n)
      return res(error_response(http::status::bad_request,
                                "lead_id must be a positive integer"));
    f.lead_id = *n;
  }
  if (auto s = q->get("page"); s && !s->empty()) {
    auto n = parse_decimal(*s, 1, 1'000'000);
    if (!n)
      return res(error_response(http::status::bad_request,
                                "page must be an integer from 1"));
    f.page = *n;
  }
  if (auto s = q->get("per_page"); s && !s->empty()) {
    auto n = parse_decimal(*s, 1, 200);
    if (!n)
      return res(error_response(http::status::bad_request,
                                "per_page must be an integer from 1 to 200"));
    f.per_page = *n;
  }
  // The principal's own business, not checked to exist (an admin naming
  // an unknown one sees an empty list).
  pay::list(svc.db, scope{p.business_id, false}, f, render(req, res));
}

void get_payment_route(services& svc, request_ptr req, responder res,
                       principal p) {
  auto id = path_id(*req);
  if (!id)
    return res(error_response(http::status::not_found, "No such payment"));
  pay::get(svc.db, scope{p.business_id, false}, *id, render(req, res));
}

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

void paypal_return(const payment_env_ptr& env, request_ptr req, responder res) {
  auto order = order_token(*req, res);
  if (!order)
    return;
  pay::capture_on_return(
    env, std::move(*order),
    on_session(req, [res](pay::page_result r) { res(buyer_page(r)); }));
}

void paypal_cancel(const payment_env_ptr& env, request_ptr req, responder res) {
  auto order = order_token(*req, res);
  if (!order)
    return;
  pay::cancel_by_buyer(
    env, std::move(*order),
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

payment_env_ptr make_payment_env(services& svc) {
  auto env = std::make_shared<payment_env>();
  env->db = svc.db;
  env->m = &svc.m;
  auto* http = svc.http;
  env->send = [http](outbound_request r,
                     std::function<void(outbound_response)> done) {
    if (!http) {
      outbound_response resp;
      resp.error = "no outbound HTTP client";
      return done(std::move(resp));
    }
    http->send(std::move(r), std::move(done));
  };
  env->signing_key = svc.cfg.signing_key();
  env->paypal_api_base = svc.cfg.paypal_api_base;
  while (!env->paypal_api_base.empty() && env->paypal_api_base.back() == '/')
    env->paypal_api_base.pop_back();
  env->tranzila_base = svc.cfg.tranzila_base;
  if (!svc.cfg.paypal_client_id.empty() && !svc.cfg.paypal_secret.empty())
    env->paypal = paypal_credentials{svc.cfg.paypal_client_id,
                                     svc.cfg.paypal_secret};
  env->tranzila_terminal = svc.cfg.tranzila_terminal;
  auto* urls = svc.urls;
  auto fallback = svc.cfg.public_base_url;
  env->absolute = [urls, fallback](std::string_view path) {
    return urls ? urls->http(path) : fallback + std::string{path};
  };
  env->provider_timeout = svc.cfg.payment_timeout;
  return env;
}

} // namespace

void add_payment_routes(router& r, services& svc) {
  auto env = make_payment_env(svc);
  r.add(http::verb::post, "/api/crm/payments/create",
        require(svc, access::write,
                [&svc, env](request_ptr req, responder res, principal p) {
                  create_payment(svc, env, std::move(req), std::move(res), p);
                }));
  r.add(http::verb::get, "/api/crm/payments",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  list_payments_route(svc, std::move(req), std::move(res), p);
                }));
  r.add(http::verb::get, "/api/crm/payments/{id}",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  get_payment_route(svc, std::move(req), std::move(res), p);
                }));
  r.add(http::verb::get, "/payments/paypal/return",
        [env](request_ptr req, responder res) {
          paypal_return(env, std::move(req), std::move(res));
        });
  r.add(http::verb::get, "/payments/paypal/cancel",
        [env](request_ptr req, responder res) {
          paypal_cancel(env, std::move(req), std::move(res));
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
