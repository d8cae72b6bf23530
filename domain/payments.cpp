#include "domain/payments.hpp"

#include "actors/log.hpp"
#include "actors/type_ids.hpp"
#include "core/money.hpp"
#include "core/payment_wire.hpp"
#include "core/whatsapp_wire.hpp"

#include <caf/send.hpp>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <memory>

namespace al::domain::payments {

namespace json = boost::json;

settings load_settings(db_tx& tx, const payment_env& env,
                       std::int64_t business_id) {
  settings s;
  auto row = load_business_payments(tx, business_id);
  if (!row)
    return s;
  s.found = true;
  s.name = row->name;
  s.enabled = row->enabled;
  s.default_provider = row->default_provider;
  if (!row->paypal_client_id.empty() && !row->paypal_secret.empty())
    s.paypal = paypal_credentials{row->paypal_client_id, row->paypal_secret};
  else
    s.paypal = env.paypal;
  s.tranzila_terminal = row->tranzila_terminal;
  if (s.tranzila_terminal.empty())
    s.tranzila_terminal = env.tranzila_terminal;
  return s;
}

namespace {

// -- create -------------------------------------------------------------------

/// What the pre-flight store job decided.
struct create_plan {
  create_result answer; // when !go: answer this
  bool go = false;      // else spawn the actor with `req`
  payment_request req;
  std::string whatsapp_to; // E.164: send the link there once created
};

/// The ordered checks that need the business; fills `plan`.
void plan_create(db_tx& tx, const payment_env& env, std::int64_t business_id,
                 const create_input& in, create_plan& plan) {
  auto fail = [&plan](domain_code c, std::string msg) {
    plan.answer.reply.status = {c, std::move(msg)};
  };
  auto not_configured = [&fail](std::string msg) {
    fail(domain_code::not_implemented, std::move(msg));
  };
  auto s = load_settings(tx, env, business_id);
  if (!s.found)
    return fail(domain_code::not_found, "No such business");
  if (!s.enabled)
    return fail(domain_code::forbidden,
                "Payments are not enabled for this business");
  if (in.provider_wrong_type)
    return fail(domain_code::bad_request, "provider must be a string");
  auto provider = in.provider
                    ? parse_payment_provider(*in.provider)
                    : s.default_provider.value_or(payment_provider::paypal);
  if (provider == payment_provider::paypal && !s.paypal)
    return not_configured("PayPal is not configured (client id and secret)");
  if (provider == payment_provider::tranzila && s.tranzila_terminal.empty())
    return not_configured("Tranzila is not configured (terminal)");
  if (!provider)
    return fail(domain_code::bad_request,
                "Unknown payment provider (paypal, tranzila)");
  for (auto* err : {&in.amount_error, &in.currency_error, &in.description_error,
                    &in.lead_error, &in.key_error, &in.send_whatsapp_error})
    if (!err->empty())
      return fail(domain_code::bad_request, *err);
  if (provider == payment_provider::tranzila
      && !tranzila_currency_code(in.currency))
    return fail(domain_code::bad_request, "Tranzila takes ILS or USD only");
  if (in.lead_id) {
    auto phone = lead_phone(tx, business_id, *in.lead_id);
    if (!phone)
      return fail(domain_code::not_found, "No such lead");
    if (in.send_whatsapp && phone->empty())
      return fail(domain_code::bad_request,
                  "send_whatsapp: the lead has no phone number");
    if (in.send_whatsapp)
      plan.whatsapp_to = *phone;
  }

  auto& d = plan.req.draft;
  d.business_id = business_id;
  d.lead_id = in.lead_id;
  d.provider = *provider;
  d.amount_minor = in.amount_minor;
  d.currency = in.currency;
  d.description = in.description;
  d.idempotency_key = in.idempotency_key;
  if (in.idempotency_key) {
    if (auto old = load_payment_by_key(tx, business_id, *in.idempotency_key)) {
      plan.answer.reply = replay_reply(*old, d);
      return;
    }
  }
  d.id = next_payment_id(tx);
  plan.req.brand_name = s.name;
  if (*provider == payment_provider::paypal)
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
/// then answers with what became of the message (a WhatsApp failure does
/// not undo the payment).
void send_link_by_whatsapp(const link_channel& wa, const payment_reply& r,
                           const std::string& to, const payment_draft& d,
                           create_fn done) {
  auto reply = [done, r](json::object o) {
    done(create_result{r, std::move(o)});
  };
  if (!wa.sys || !wa.whatsapp || !wa.manager)
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
  req.fallback_facts
    = {{"name", ""},
       {"amount", format_amount(d.amount_minor) + " " + d.currency},
       {"url", r.pay_url},
       {"description", utf8_prefix(d.description, 200)}};
  whatsapp_send(*wa.sys, wa.manager, wa.whatsapp, std::move(req),
                [reply, id = r.payment_id,
                 masked = wa_masked_number(to)](wa_send_result w) {
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

} // namespace

void create(caf::actor_system& sys, const payment_env_ptr& env,
            const payment_manager_actor& manager, link_channel wa,
            std::int64_t business, create_input in, create_fn done) {
  auto input = std::make_shared<create_input>(std::move(in));
  auto plan = std::make_shared<create_plan>();
  env->db.run([env, business, input, plan](
                db_tx& tx) { plan_create(tx, *env, business, *input, *plan); },
              [&sys, manager, wa = std::move(wa), plan,
               done = std::move(done)](const db_error& err) {
                if (!err.empty()) {
                  create_result failed;
                  failed.reply.status = from_db_error(err);
                  return done(std::move(failed));
                }
                if (!plan->go)
                  return done(std::move(plan->answer));
                auto draft = plan->req.draft;
                request_payment(sys, manager, std::move(plan->req),
                                [wa, to = plan->whatsapp_to, draft,
                                 done](const payment_reply& r) {
                                  if (r.status.code != domain_code::created
                                      || r.replayed || to.empty())
                                    return done(create_result{r, std::nullopt});
                                  send_link_by_whatsapp(wa, r, to, draft, done);
                                });
              });
}

void list(const store& db, scope s, payment_filter f, reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, f](db_tx& tx) {
      return domain_reply{domain_code::ok, list_payments(tx, b, f)};
    },
    std::move(done));
}

void get(const store& db, scope s, std::int64_t id, reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, id](db_tx& tx) {
      auto row = load_payment(tx, b, id);
      if (!row)
        return domain_fail(domain_code::not_found, "No such payment");
      auto o = payment_json(*row);
      o["events"] = payment_events_json(tx, b, id);
      return domain_reply{domain_code::ok, std::move(o)};
    },
    std::move(done));
}

} // namespace al::domain::payments
