// Payments: /api/crm/payments* (create, list, get), the PayPal buyer
// redirects (/payments/paypal/return|cancel) and the provider callbacks
// (/webhook/payments/paypal, /webhook/payments/tranzila). SPEC §2 Payments.
//
// Handlers are thin: parse and check in the exact order of the spec, then
// hand a create to a supervised payment actor (actors/payment.hpp) or run
// one store job; the wire formats are pure functions in core/payment_wire.
#include "transport/handlers/handlers.hpp"

#include "actors/log.hpp"
#include "actors/payment.hpp"
#include "actors/payment_rows.hpp"
#include "actors/type_ids.hpp"
#include "actors/whatsapp_conversation.hpp"
#include "core/call_token.hpp"
#include "core/form.hpp"
#include "core/input.hpp"
#include "core/json.hpp"
#include "core/money.hpp"
#include "core/payment_wire.hpp"
#include "core/url_builder.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/https_client.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <caf/send.hpp>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>

namespace al {

namespace {

namespace json = boost::json;
using clock = std::chrono::steady_clock;

// -- business settings --------------------------------------------------------

/// A business's payment settings with the global defaults applied.
struct pay_settings {
  bool found = false;
  std::string name;
  bool enabled = false;
  std::optional<std::string> default_provider;
  std::optional<paypal_credentials> paypal; // business's, else global
  std::string tranzila_terminal;            // business's, else global
};

pay_settings load_settings(db_tx& tx, const config& cfg,
                           std::int64_t business_id) {
  pay_settings s;
  auto row = load_business_payments(tx, business_id);
  if (!row)
    return s;
  s.found = true;
  s.name = row->name;
  s.enabled = row->enabled;
  s.default_provider = row->default_provider;
  if (!row->paypal_client_id.empty() && !row->paypal_secret.empty())
    s.paypal = paypal_credentials{row->paypal_client_id, row->paypal_secret};
  else if (!cfg.paypal_client_id.empty() && !cfg.paypal_secret.empty())
    s.paypal = paypal_credentials{cfg.paypal_client_id, cfg.paypal_secret};
  s.tranzila_terminal = row->tranzila_terminal;
  if (s.tranzila_terminal.empty())
    s.tranzila_terminal = cfg.tranzila_terminal;
  return s;
}

/// The global PayPal credentials, when configured.
std::optional<paypal_credentials> global_paypal(const config& cfg) {
  if (cfg.paypal_client_id.empty() || cfg.paypal_secret.empty())
    return std::nullopt;
  return paypal_credentials{cfg.paypal_client_id, cfg.paypal_secret};
}

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
struct create_input {
  std::optional<std::string> provider; // lower case; nullopt = not given
  bool provider_wrong_type = false;
  std::string amount_error; // non-empty: 400
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

create_input read_create(const request& req, simdjson::dom::object obj) {
  create_input in;
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

/// What the pre-flight store job decided.
struct create_plan {
  outcome answer;        // when status != ok: answer this
  bool replayed = false; // the answer is an earlier request's payment
  bool go = false;       // else spawn the actor with `req`
  payment_request req;
  std::string whatsapp_to; // E.164: send the link there once created
};

http_response reply_response(const payment_reply& r,
                             std::optional<json::object> whatsapp = {}) {
  http_response res;
  if (r.status == 201) {
    json::object o{{"success", true},
                   {"payment_id", r.payment_id},
                   {"provider", r.provider},
                   {"status", r.payment_status},
                   {"pay_url", r.pay_url}};
    if (whatsapp)
      o["whatsapp"] = std::move(*whatsapp);
    res = json_response(http::status::created, json::serialize(o));
  } else {
    json::object o{{"success", false}, {"error", r.error}};
    if (r.payment_id)
      o["payment_id"] = r.payment_id;
    if (!r.payment_status.empty())
      o["status"] = r.payment_status;
    res = json_response(static_cast<http::status>(r.status),
                        json::serialize(o));
  }
  if (r.replayed)
    res.set("Idempotent-Replayed", "true");
  return res;
}

/// The ordered checks that need the business; fills `plan`.
void plan_create(db_tx& tx, const config& cfg, std::int64_t business_id,
                 const create_input& in, create_plan& plan) {
  auto fail = [&plan](http::status s, std::string_view msg) {
    plan.answer.status = s;
    plan.answer.body = json_error(msg);
  };
  auto s = load_settings(tx, cfg, business_id);
  if (!s.found)
    return fail(http::status::not_found, "No such business");
  if (!s.enabled)
    return fail(http::status::forbidden,
                "Payments are not enabled for this business");
  if (in.provider_wrong_type)
    return fail(http::status::bad_request, "provider must be a string");
  auto provider = in.provider ? *in.provider
                              : s.default_provider.value_or("paypal");
  if (provider == "paypal" && !s.paypal)
    return fail(http::status::not_implemented,
                "PayPal is not configured (client id and secret)");
  if (provider == "tranzila" && s.tranzila_terminal.empty())
    return fail(http::status::not_implemented,
                "Tranzila is not configured (terminal)");
  if (provider != "paypal" && provider != "tranzila")
    return fail(http::status::bad_request,
                "Unknown payment provider (paypal, tranzila)");
  for (auto* err : {&in.amount_error, &in.currency_error, &in.description_error,
                    &in.lead_error, &in.key_error, &in.send_whatsapp_error})
    if (!err->empty())
      return fail(http::status::bad_request, *err);
  if (provider == "tranzila" && !tranzila_currency_code(in.currency))
    return fail(http::status::bad_request, "Tranzila takes ILS or USD only");
  if (in.lead_id) {
    auto phone = lead_phone(tx, business_id, *in.lead_id);
    if (!phone)
      return fail(http::status::not_found, "No such lead");
    if (in.send_whatsapp && phone->empty())
      return fail(http::status::bad_request,
                  "send_whatsapp: the lead has no phone number");
    if (in.send_whatsapp)
      plan.whatsapp_to = *phone;
  }

  auto& d = plan.req.draft;
  d.business_id = business_id;
  d.lead_id = in.lead_id;
  d.provider = provider;
  d.amount_minor = in.amount_minor;
  d.currency = in.currency;
  d.description = in.description;
  d.idempotency_key = in.idempotency_key;
  if (in.idempotency_key) {
    if (auto old = load_payment_by_key(tx, business_id, *in.idempotency_key)) {
      auto r = replay_reply(*old, d);
      plan.answer.status = static_cast<http::status>(r.status);
      auto res = reply_response(r);
      plan.answer.body = res.body();
      plan.replayed = r.replayed;
      return;
    }
  }
  d.id = next_payment_id(tx);
  plan.req.brand_name = s.name;
  if (provider == "paypal")
    plan.req.paypal = *s.paypal;
  else
    plan.req.tranzila_terminal = s.tranzila_terminal;
  plan.go = true;
}

/// The WhatsApp text carrying a pay link.
std::string link_message(const payment_reply& r, const payment_draft& d) {
  std::string text = "קישור לתשלום";
  if (!d.description.empty())
    text += " – " + utf8_prefix(d.description, 200);
  text += ": " + format_amount(d.amount_minor) + " " + d.currency + "\n"
          + r.pay_url;
  return text;
}

/// Sends the new link to the lead through its WhatsApp conversation actor,
/// then answers 201 with what became of the message (a WhatsApp failure
/// does not undo the payment).
void send_link_by_whatsapp(services& svc, const payment_reply& r,
                           const std::string& to, responder res,
                           const payment_draft& d) {
  auto reply = [res, r](json::object wa) { res(reply_response(r, wa)); };
  if (!svc.whatsapp || !svc.whatsapp_manager)
    return reply(
      json::object{{"sent", false}, {"error", "WhatsApp is not available"}});
  wa_send_request req;
  req.business_id = d.business_id;
  req.to = to;
  req.body = link_message(r, d);
  // Outside the 24-hour window: the payment_link template with {{name}}
  // (the lead's), {{amount}}, {{url}}, {{description}}, or numbered
  // {{1}}..{{4}} in that order.
  req.fallback_purpose = "payment_link";
  req.fallback_facts = {
    {"name", ""},
    {"amount", format_amount(d.amount_minor) + " " + d.currency},
    {"url", r.pay_url},
    {"description", utf8_prefix(d.description, 200)}};
  whatsapp_send(svc.sys, svc.whatsapp_manager, svc.whatsapp, std::move(req),
                [reply, id = r.payment_id, masked = wa_masked_number(to)](
                  wa_send_result w) {
                  json::object o{{"sent", w.status == wa_send_status::sent}};
                  if (w.message_id)
                    o["message_id"] = w.message_id;
                  if (!w.sid.empty())
                    o["sid"] = w.sid;
                  if (!w.template_name.empty())
                    o["template"] = w.template_name;
                  if (w.status == wa_send_status::outside_window) {
                    o["reason"] = "outside_window";
                    o["error"] = "Outside the 24-hour window and no"
                                 " payment_link template fits: the link was"
                                 " not sent";
                    log_safe(spdlog::level::info,
                             "payment {}: link not sent to {}: outside the"
                             " 24-hour window, no payment_link template",
                             id, masked);
                  } else if (w.status != wa_send_status::sent) {
                    o["error"] = w.error.empty() ? "not sent" : w.error;
                  }
                  reply(std::move(o));
                });
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
    return res(
      error_response(http::status::not_implemented, "Payments are disabled"));
  auto bid = get_int(obj, "business_id");
  if (p.is_admin() && bid.present() && (!bid.ok() || bid.value <= 0))
    return res(error_response(http::status::bad_request,
                              "business_id must be a positive integer"));
  auto business = effective_business(
    p, bid.ok() ? std::optional<std::int64_t>{bid.value} : std::nullopt);
  auto in = std::make_shared<create_input>(read_create(*req, obj));
  auto plan = std::make_shared<create_plan>();
  const config& cfg = svc.cfg;
  // 3.-6. in the store job (business, provider, configuration, input).
  svc.db.run([&cfg, business, in,
              plan](db_tx& tx) { plan_create(tx, cfg, business, *in, *plan); },
             [&svc, env, res, plan](const db_error& err) {
               if (!err.empty())
                 return res(db_error_response(err));
               if (!plan->go) {
                 auto r = json_response(plan->answer.status,
                                        std::move(plan->answer.body));
                 if (plan->replayed)
                   r.set("Idempotent-Replayed", "true");
                 return res(std::move(r));
               }
               auto draft = plan->req.draft;
               auto job = std::make_shared<payment_job>(
                 std::move(plan->req), [&svc, res, to = plan->whatsapp_to,
                                        draft](const payment_reply& r) {
                   if (r.status != 201 || r.replayed || to.empty())
                     return res(reply_response(r));
                   send_link_by_whatsapp(svc, r, to, res, draft);
                 });
               caf::anon_send(svc.payment_manager, spawn_atom_v,
                              payment_child(env, job));
             });
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
    if (*s != "pending" && *s != "paid" && *s != "failed" && *s != "cancelled")
      return res(
        error_response(http::status::bad_request,
                       "status must be pending, paid, failed or cancelled"));
    f.status = std::string{*s};
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
  run_and_answer(svc, res,
                 [f, business = p.business_id](db_tx& tx, outcome& out) {
                   out.body = json::serialize(list_payments(tx, business, f));
                 });
}

void get_payment_route(services& svc, request_ptr req, responder res,
                       principal p) {
  auto id = path_id(*req);
  if (!id)
    return res(error_response(http::status::not_found, "No such payment"));
  run_and_answer(svc, res,
                 [id = *id, business = p.business_id](db_tx& tx, outcome& out) {
                   auto row = load_payment(tx, business, id);
                   if (!row) {
                     out.status = http::status::not_found;
                     out.body = json_error("No such payment");
                     return;
                   }
                   auto o = payment_json(*row);
                   o["events"] = payment_events_json(tx, business, id);
                   out.body = json::serialize(o);
                 });
}

// -- PayPal capture (return page and CHECKOUT.ORDER.APPROVED) -----------------

/// What became of a payment after a capture attempt.
struct settle_result {
  std::string status; // the payment's status afterwards ("" unknown)
  std::string error;  // provider/DB trouble: nothing changed
};

using settle_fn = std::function<void(settle_result)>;

/// Applies a final status to `row` and reports the status afterwards.
void apply_transition(const payment_env_ptr& env, const payment_row& row,
                      std::string to, std::string event_key, std::string reason,
                      std::string detail, settle_fn done) {
  auto after = std::make_shared<std::string>();
  auto changed = std::make_shared<bool>(false);
  auto business = row.business_id;
  auto id = row.id;
  env->db.run(
    [=](db_tx& tx) {
      *changed = transition_payment(tx, business, id, to, event_key, reason,
                                    detail)
                 == transition_result::changed;
      if (auto r = load_payment(tx, business, id))
        *after = r->status;
    },
    [env, to, after, changed, done](const db_error& err) {
      if (!err.empty())
        return done(settle_result{"", "database: " + err});
      if (*changed && env->m)
        env->m->payment(to);
      done(settle_result{*after, ""});
    });
}

bool safe_order_id(std::string_view s) {
  if (s.empty() || s.size() > 64)
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      return false;
  return true;
}

/// Applies what a capture (or order) response says about `row`.
void apply_capture(const payment_env_ptr& env, const payment_row& row,
                   const paypal_capture& c, settle_fn done) {
  auto detail
    = json::serialize(json::object{{"order_id", c.order_id},
                                   {"capture_id", c.capture_id},
                                   {"capture_status", c.capture_status}});
  auto key = "paypal:capture:"
             + (c.capture_id.empty() ? c.order_id : c.capture_id);
  if (paypal_capture_completed(c)) {
    if (c.amount_minor
        && (*c.amount_minor != row.amount_minor || c.currency != row.currency))
      return apply_transition(env, row, "failed", key,
                              "captured amount differs: "
                                + format_amount(*c.amount_minor) + " "
                                + utf8_prefix(c.currency, 8),
                              detail, std::move(done));
    return apply_transition(env, row, "paid", key, "", detail, std::move(done));
  }
  if (c.capture_status == "DECLINED" || c.capture_status == "FAILED")
    return apply_transition(env, row, "failed", key,
                            "PayPal capture " + c.capture_status, detail,
                            std::move(done));
  done(settle_result{row.status, ""}); // e.g. PENDING: a webhook follows
}

/// Captures the PayPal order of `row` (idempotent: PayPal-Request-Id) and
/// settles the payment from the answer.
void capture_order(const payment_env_ptr& env, const payment_row& row,
                   const paypal_credentials& creds, settle_fn done) {
  if (!row.provider_ref || !safe_order_id(*row.provider_ref))
    return done(settle_result{row.status, "no PayPal order"});
  auto order = *row.provider_ref;
  auto base = env->paypal_api_base;
  auto request_id = issue_token(env->signing_key, "paypal-capture",
                                std::to_string(row.id));
  auto deadline = clock::now() + env->provider_timeout;
  paypal_call(
    env, creds,
    [base, order, request_id](const std::string& token) {
      outbound_request r;
      r.method = "POST";
      r.url = base + "/v2/checkout/orders/" + order + "/capture";
      r.headers = {{"Authorization", "Bearer " + token},
                   {"Content-Type", "application/json"},
                   {"Accept", "application/json"},
                   {"PayPal-Request-Id", request_id},
                   {"Prefer", "return=representation"}};
      r.body = "{}";
      return r;
    },
    deadline,
    [env, row, creds, base, order, deadline, done](outbound_response resp) {
      if (!resp.error.empty())
        return done(settle_result{row.status, "PayPal: " + resp.error});
      if (resp.status == 422 && paypal_already_captured(resp.body)) {
        // Captured before (another instance, a retry): read the order.
        return paypal_call(
          env, creds,
          [base, order](const std::string& token) {
            outbound_request r;
            r.method = "GET";
            r.url = base + "/v2/checkout/orders/" + order;
            r.headers = {{"Authorization", "Bearer " + token},
                         {"Accept", "application/json"}};
            return r;
          },
          deadline,
          [env, row, done](outbound_response got) {
            auto c = got.ok() ? parse_paypal_capture(got.body) : std::nullopt;
            if (!c)
              return done(settle_result{
                row.status, got.error.empty()
                              ? paypal_error_summary(got.status, got.body)
                              : "PayPal: " + got.error});
            apply_capture(env, row, *c, done);
          });
      }
      if (!resp.ok())
        return done(settle_result{row.status, paypal_error_summary(resp.status,
                                                                   resp.body)});
      auto c = parse_paypal_capture(resp.body);
      if (!c)
        return done(settle_result{row.status, "malformed PayPal capture"});
      apply_capture(env, row, *c, done);
    });
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

http_response status_page(const std::string& status) {
  if (status == "paid")
    return page(http::status::ok, "התשלום התקבל",
                "תודה! התשלום הושלם בהצלחה. אפשר לסגור את החלון.");
  if (status == "cancelled")
    return page(http::status::ok, "התשלום בוטל",
                "התשלום בוטל ולא חויבת. אפשר לבקש קישור חדש.");
  if (status == "failed")
    return page(http::status::ok, "התשלום לא הושלם",
                "לא הצלחנו להשלים את התשלום. אפשר לבקש קישור חדש.");
  return page(http::status::ok, "התשלום בטיפול",
              "התשלום עדיין בטיפול. נעדכן כשיאושר.");
}

/// The order id from ?token=..., or an answer was given.
std::optional<std::string> order_token(const request& req,
                                       const responder& res) {
  auto q = parse_form(req.query);
  auto token = q ? q->get("token") : std::nullopt;
  if (!token || !safe_order_id(*token)) {
    res(
      page(http::status::bad_request, "קישור לא תקין", "הקישור חסר או פגום."));
    return std::nullopt;
  }
  return std::string{*token};
}

/// Loads the PayPal payment of `order` with its credentials, then `next`.
void with_paypal_payment(
  services& svc, const std::string& order, responder res,
  std::function<void(payment_row, std::optional<paypal_credentials>)> next) {
  auto row = std::make_shared<std::optional<payment_row>>();
  auto creds = std::make_shared<std::optional<paypal_credentials>>();
  const config& cfg = svc.cfg;
  svc.db.run(
    [&cfg, order, row, creds](db_tx& tx) {
      *row = find_payment_by_ref(tx, "paypal", order);
      if (*row)
        *creds = load_settings(tx, cfg, (*row)->business_id).paypal;
    },
    [res, row, creds, next](const db_error& err) {
      if (!err.empty())
        return res(page(http::status::service_unavailable, "שגיאה זמנית",
                        "נסו שוב בעוד רגע."));
      if (!*row)
        return res(page(http::status::not_found, "התשלום לא נמצא",
                        "לא מצאנו תשלום עבור הקישור הזה."));
      next(**row, *creds);
    });
}

void paypal_return(services& svc, const payment_env_ptr& env, request_ptr req,
                   responder res) {
  auto order = order_token(*req, res);
  if (!order)
    return;
  with_paypal_payment(
    svc, *order, res,
    [env, res](payment_row row, std::optional<paypal_credentials> creds) {
      if (row.status != "pending")
        return res(status_page(row.status));
      if (!creds)
        return res(page(http::status::service_unavailable, "שגיאה זמנית",
                        "התשלום לא אושר עדיין. נסו שוב בעוד רגע."));
      capture_order(env, row, *creds, [res, id = row.id](settle_result r) {
        if (!r.error.empty()) {
          log_safe(spdlog::level::warn, "payment {}: capture failed: {}", id,
                   r.error);
          return res(page(http::status::bad_gateway, "שגיאה זמנית",
                          "לא הצלחנו לאשר את התשלום מול PayPal. רעננו את"
                          " הדף בעוד רגע."));
        }
        res(status_page(r.status));
      });
    });
}

void paypal_cancel(services& svc, const payment_env_ptr& env, request_ptr req,
                   responder res) {
  auto order = order_token(*req, res);
  if (!order)
    return;
  with_paypal_payment(
    svc, *order, res,
    [env, res, order = *order](payment_row row,
                               std::optional<paypal_credentials>) {
      if (row.status != "pending")
        return res(status_page(row.status));
      apply_transition(env, row, "cancelled", "paypal:cancel:" + order, "",
                       R"({"by":"buyer"})", [res](settle_result r) {
                         if (!r.error.empty())
                           return res(page(http::status::service_unavailable,
                                           "שגיאה זמנית", "נסו שוב בעוד רגע."));
                         res(status_page(r.status));
                       });
    });
}

// -- PayPal webhook -----------------------------------------------------------

http_response webhook_ok(std::string_view note) {
  return json_response(
    http::status::ok,
    json::serialize(json::object{{"success", true}, {"result", note}}));
}

/// Acts on a verified event for `row` (may be nullopt: not ours).
void act_on_event(const payment_env_ptr& env, const paypal_event& e,
                  const std::optional<payment_row>& row,
                  const std::optional<paypal_credentials>& creds,
                  responder res) {
  if (!row)
    return res(webhook_ok("ignored: unknown payment"));
  if (row->provider != "paypal"
      || (!e.order_id.empty() && row->provider_ref
          && *row->provider_ref != e.order_id))
    return res(webhook_ok("ignored: order does not match"));
  if (row->status != "pending")
    return res(webhook_ok("unchanged: " + row->status));
  auto answer = [res](settle_result r) {
    if (!r.error.empty())
      return res(error_response(http::status::bad_gateway, r.error));
    res(webhook_ok(r.status));
  };
  auto detail = json::serialize(json::object{{"event_id", e.id},
                                             {"event_type", e.event_type},
                                             {"order_id", e.order_id},
                                             {"capture_id", e.capture_id}});
  if (e.event_type == "CHECKOUT.ORDER.APPROVED") {
    if (!creds)
      return res(
        error_response(http::status::bad_gateway, "PayPal is not configured"));
    return capture_order(env, *row, *creds, answer);
  }
  if (e.event_type == "PAYMENT.CAPTURE.COMPLETED") {
    if (e.amount_minor
        && (*e.amount_minor != row->amount_minor
            || e.currency != row->currency))
      return apply_transition(env, *row, "failed", "paypal:event:" + e.id,
                              "captured amount differs: "
                                + format_amount(*e.amount_minor) + " "
                                + utf8_prefix(e.currency, 8),
                              detail, answer);
    return apply_transition(env, *row, "paid", "paypal:event:" + e.id, "",
                            detail, answer);
  }
  if (e.event_type == "PAYMENT.CAPTURE.DENIED"
      || e.event_type == "PAYMENT.CAPTURE.DECLINED")
    return apply_transition(env, *row, "failed", "paypal:event:" + e.id,
                            "PayPal " + e.event_type, detail, answer);
  res(webhook_ok("ignored: " + utf8_prefix(e.event_type, 64)));
}

void paypal_webhook(services& svc, const payment_env_ptr& env, request_ptr req,
                    responder res) {
  auto raw = std::make_shared<std::string>(req->body());
  auto event = parse_paypal_event(*raw);
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
  // Whose payment (so whose credentials verify it)? Nothing is changed
  // before the signature is verified.
  auto ev = std::make_shared<paypal_event>(std::move(*event));
  auto row = std::make_shared<std::optional<payment_row>>();
  auto creds = std::make_shared<std::optional<paypal_credentials>>();
  const config& cfg = svc.cfg;
  svc.db.run(
    [&cfg, ev, row, creds](db_tx& tx) {
      if (auto id = payment_id_from_custom_id(ev->custom_id))
        *row = find_payment(tx, *id);
      if (!*row && !ev->order_id.empty())
        *row = find_payment_by_ref(tx, "paypal", ev->order_id);
      *creds = *row ? load_settings(tx, cfg, (*row)->business_id).paypal
                    : global_paypal(cfg);
    },
    [env, res, raw, ev, row, creds, h,
     webhook_id = svc.cfg.paypal_webhook_id](const db_error& err) {
      if (!err.empty())
        return res(db_error_response(err));
      if (!*creds)
        return res(error_response(http::status::bad_request,
                                  "cannot verify: PayPal is not configured"));
      auto body = paypal_verify_body(h, webhook_id, *raw);
      auto base = env->paypal_api_base;
      paypal_call(
        env, **creds,
        [body, base](const std::string& token) {
          outbound_request r;
          r.method = "POST";
          r.url = base + "/v1/notifications/verify-webhook-signature";
          r.headers = {{"Authorization", "Bearer " + token},
                       {"Content-Type", "application/json"},
                       {"Accept", "application/json"}};
          r.body = body;
          return r;
        },
        clock::now() + env->provider_timeout,
        [env, res, ev, row, creds](outbound_response resp) {
          if (!resp.error.empty() || resp.status >= 500)
            // PayPal retries non-2xx deliveries: let it come back later.
            return res(error_response(
              http::status::bad_gateway,
              "cannot verify now: "
                + (resp.error.empty()
                     ? paypal_error_summary(resp.status, resp.body)
                     : resp.error)));
          if (!resp.ok() || !paypal_verification_succeeded(resp.body)) {
            log_safe(spdlog::level::warn,
                     "PayPal webhook {} failed verification",
                     utf8_prefix(ev->id, 64));
            return res(error_response(http::status::bad_request,
                                      "webhook signature not verified"));
          }
          act_on_event(env, *ev, *row, *creds, res);
        });
    });
}

// -- Tranzila notify ----------------------------------------------------------

void tranzila_notify(services& svc, const payment_env_ptr& env, request_ptr req,
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
  auto fields = std::make_shared<form_params>(std::move(*form));
  auto out = std::make_shared<outcome>();
  auto changed = std::make_shared<std::string>();
  svc.db.run(
    [id = *id, fields, out, changed](db_tx& tx) {
      // The token binds this id; the business comes from the row.
      auto row = find_payment(tx, id);
      if (!row || row->provider != "tranzila") {
        out->status = http::status::not_found;
        out->body = json_error("No such Tranzila payment");
        return;
      }
      if (row->status != "pending") {
        out->body = json::serialize(json::object{
          {"success", true}, {"result", "unchanged: " + row->status}});
        return;
      }
      auto v = judge_tranzila_notify(*fields, row->amount_minor, row->currency);
      json::object detail{{"response", v.code}, {"reference", v.reference}};
      if (!v.paid)
        detail["reason"] = v.reason;
      auto to = v.paid ? "paid" : "failed";
      auto key = "tranzila:" + v.code + ":"
                 + (v.reference.empty() ? std::string{"-"} : v.reference);
      auto r = transition_payment(tx, row->business_id, id, to, key, v.reason,
                                  json::serialize(detail));
      if (r == transition_result::changed)
        *changed = to;
      out->body = json::serialize(
        json::object{{"success", true},
                     {"result", r == transition_result::changed
                                  ? std::string{to}
                                  : std::string{"unchanged"}}});
    },
    [env, res, out, changed](const db_error& err) {
      if (!err.empty())
        return res(db_error_response(err));
      if (!changed->empty() && env->m)
        env->m->payment(*changed);
      res(json_response(out->status, std::move(out->body)));
    });
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
        [&svc, env](request_ptr req, responder res) {
          paypal_return(svc, env, std::move(req), std::move(res));
        });
  r.add(http::verb::get, "/payments/paypal/cancel",
        [&svc, env](request_ptr req, responder res) {
          paypal_cancel(svc, env, std::move(req), std::move(res));
        });
  r.add(http::verb::post, "/webhook/payments/paypal",
        [&svc, env](request_ptr req, responder res) {
          paypal_webhook(svc, env, std::move(req), std::move(res));
        });
  r.add(http::verb::post, "/webhook/payments/tranzila",
        [&svc, env](request_ptr req, responder res) {
          tranzila_notify(svc, env, std::move(req), std::move(res));
        });
}

} // namespace al
