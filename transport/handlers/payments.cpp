// Payments API: /api/crm/payments* (create, list, get). SPEC §2 Payments.
// The buyer redirects and the providers' callbacks are in
// payment_callbacks.cpp.
//
// Handlers parse and check what needs no database in the exact order of
// the spec, call a use case (domain/payments.hpp) and render its answer;
// the wire formats are pure functions in core/payment_wire.
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
    svc.sys, env, svc.payment_manager,
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

} // namespace

void add_payment_routes(router& r, services& svc) {
  auto env = svc.payments;
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
}

} // namespace al
