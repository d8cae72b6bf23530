// /webhook/whatsapp/* (Twilio and Meta Cloud API webhooks) and
// /api/whatsapp/send. Thin: check the signature, parse with core/
// (whatsapp_wire), one store job or one conversation-actor request, render.
#include "transport/handlers/handlers.hpp"

#include "actors/log.hpp"
#include "actors/metrics.hpp"
#include "actors/whatsapp_conversation.hpp"
#include "actors/whatsapp_store.hpp"
#include "core/json.hpp"
#include "core/phone.hpp"
#include "core/twilio_signature.hpp"
#include "core/whatsapp_wire.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/https_client.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <optional>
#include <variant>

namespace al {

namespace {

namespace json = boost::json;

http_response forbidden() {
  return error_response(http::status::forbidden, "Invalid signature");
}

/// The URL Twilio signed: the public base plus the target as received.
std::string signed_url(const services& svc, const request& req) {
  return svc.cfg.public_base_url + std::string{req.msg.target()};
}

/// The business's own auth token when it has one, else the global one.
bool twilio_signed(const services& svc, const request& req,
                   const form_params& form, const std::string& own_token) {
  const auto& token = own_token.empty() ? svc.cfg.twilio_auth_token : own_token;
  return !token.empty()
         && verify_twilio_signature(token, signed_url(svc, req), form,
                                    req.header("X-Twilio-Signature"));
}

/// An inbound message that was stored for the first time.
struct stored_message {
  wa_business business;
  std::string from; // E.164
  wa_stored_inbound ids;
};

/// Hands stored inbound messages to their conversations (auto-reply).
void notify_conversations(services& svc,
                          const std::vector<stored_message>& stored) {
  for (auto& s : stored) {
    svc.m.whatsapp("received");
    wa_inbound_event ev;
    ev.message_id = s.ids.message_id;
    ev.lead_id = s.ids.lead_id;
    ev.working_hours = s.business.working_hours;
    ev.after_hours_reply = s.business.after_hours_reply;
    whatsapp_notify_inbound(svc.sys, svc.whatsapp_manager, svc.whatsapp,
                            s.business.id, s.from, std::move(ev));
  }
}

// -- POST /webhook/whatsapp/incoming (Twilio)
// -----------------------------------

void twilio_incoming(services& svc, request_ptr req, responder res) {
  auto form = parse_form(req->body());
  if (!form)
    return res(
      error_response(http::status::bad_request, "Malformed form body"));
  if (req->header("X-Twilio-Signature").empty())
    return res(forbidden());
  struct result {
    bool forbidden = false;
    std::string bad;
    std::vector<stored_message> stored;
  };
  auto out = std::make_shared<result>();
  auto to = normalize_phone(form->value_or("To")).value_or("");
  svc.db.run(
    [&svc, req, form = std::move(*form), to, out](db_tx& tx) {
      auto business = find_wa_business(tx, to);
      if (!twilio_signed(svc, *req, form, business.twilio_auth_token)) {
        out->forbidden = true;
        return;
      }
      auto parsed = parse_twilio_inbound(form);
      if (auto* err = std::get_if<std::string>(&parsed)) {
        out->bad = *err;
        return;
      }
      auto& in = std::get<wa_inbound>(parsed);
      if (auto ids = store_wa_inbound(tx, business.id, in))
        out->stored.push_back({business, in.from, *ids});
    },
    [&svc, res, out](const db_error& err) {
      if (!err.empty())
        return res(db_error_response(err)); // Twilio retries later
      if (out->forbidden)
        return res(forbidden());
      if (!out->bad.empty())
        return res(error_response(http::status::bad_request, out->bad));
      res(empty_response(http::status::no_content));
      notify_conversations(svc, out->stored);
    });
}

// -- POST /webhook/whatsapp/status (Twilio)
// ---------------------------------------

void twilio_status(services& svc, request_ptr req, responder res) {
  auto form = parse_form(req->body());
  if (!form)
    return res(
      error_response(http::status::bad_request, "Malformed form body"));
  if (req->header("X-Twilio-Signature").empty())
    return res(forbidden());
  struct result {
    bool forbidden = false;
    std::string bad;
    bool known = true;
    std::string sid;
  };
  auto out = std::make_shared<result>();
  auto from = normalize_phone(form->value_or("From")).value_or("");
  svc.db.run(
    [&svc, req, form = std::move(*form), from, out](db_tx& tx) {
      // The message's business signs; for an unknown sid, our number's.
      // A sid that is not text (invalid UTF-8, NUL) is not looked up: it
      // would be a database error (a 500, found by tests/hostile).
      auto sid = form.value_or("MessageSid");
      bool text = sid.find('\0') == std::string::npos && valid_utf8(sid);
      auto owner = sid.empty() || !text ? std::nullopt
                                        : wa_message_business(tx, sid);
      auto business = owner ? load_wa_business(tx, *owner)
                            : find_wa_business(tx, from);
      if (!twilio_signed(svc, *req, form, business.twilio_auth_token)) {
        out->forbidden = true;
        return;
      }
      auto parsed = parse_twilio_status(form);
      if (auto* err = std::get_if<std::string>(&parsed)) {
        out->bad = *err;
        return;
      }
      auto& ev = std::get<wa_status_event>(parsed);
      out->sid = ev.sid;
      out->known = apply_wa_status(tx, ev).has_value();
    },
    [res, out](const db_error& err) {
      if (!err.empty())
        return res(db_error_response(err));
      if (out->forbidden)
        return res(forbidden());
      if (!out->bad.empty())
        return res(error_response(http::status::bad_request, out->bad));
      if (!out->known)
        log_safe(spdlog::level::warn,
                 "whatsapp status for unknown message {} ignored", out->sid);
      res(empty_response(http::status::no_content));
    });
}

// -- GET/POST /webhook/whatsapp/meta (Cloud API)
// ------------------------------------

void meta_verify(services& svc, request_ptr req, responder res) {
  auto query = parse_form(req->query);
  auto challenge = query ? meta_handshake(*query, svc.cfg.meta_verify_token)
                         : std::nullopt;
  if (!challenge)
    return res(error_response(http::status::forbidden, "Verification failed"));
  res(make_response(http::status::ok, *challenge, "text/plain"));
}

void meta_events(services& svc, request_ptr req, responder res) {
  if (!verify_meta_signature(svc.cfg.meta_app_secret, req->body(),
                             req->header("X-Hub-Signature-256")))
    return res(forbidden());
  auto parsed = parse_meta_webhook(req->body());
  if (auto* err = std::get_if<std::string>(&parsed))
    return res(error_response(http::status::bad_request, *err));
  auto hook
    = std::make_shared<meta_webhook>(std::move(std::get<meta_webhook>(parsed)));
  auto stored = std::make_shared<std::vector<stored_message>>();
  svc.db.run(
    [hook, stored](db_tx& tx) {
      for (auto& in : hook->messages) {
        auto business = find_wa_business(tx, in.to);
        if (auto ids = store_wa_inbound(tx, business.id, in))
          stored->push_back({business, in.from, *ids});
      }
      for (auto& ev : hook->statuses)
        if (!apply_wa_status(tx, ev))
          log_safe(spdlog::level::warn,
                   "whatsapp status for unknown message {} ignored", ev.sid);
    },
    [&svc, res, stored](const db_error& err) {
      if (!err.empty())
        return res(db_error_response(err)); // Meta retries later
      res(json_response(http::status::ok, R"({"success":true})"));
      notify_conversations(svc, *stored);
    });
}

// -- POST /api/whatsapp/send
// ---------------------------------------------------------

bool blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

http_response render(const wa_send_result& r) {
  json::object o;
  auto status = http::status::ok;
  switch (r.status) {
    case wa_send_status::sent:
      o = {{"success", true},
           {"provider", r.provider},
           {"sid", r.sid},
           {"message_id", r.message_id},
           {"status", "sent"}};
      if (!r.template_name.empty())
        o["template"] = r.template_name;
      return json_response(status, json::serialize(o));
    case wa_send_status::provider_failed:
      status = http::status::bad_gateway;
      break;
    case wa_send_status::not_configured:
      status = http::status::not_implemented;
      break;
    case wa_send_status::no_business:
      status = http::status::not_found;
      break;
    case wa_send_status::rate_limited:
      status = http::status::too_many_requests;
      break;
    case wa_send_status::outside_window:
    case wa_send_status::bad_template:
      status = http::status::unprocessable_entity;
      break;
    case wa_send_status::unavailable:
      status = http::status::service_unavailable;
      break;
    case wa_send_status::timeout:
      status = http::status::gateway_timeout;
      break;
  }
  o = {{"success", false}, {"error", r.error}};
  if (!r.provider.empty())
    o["provider"] = r.provider;
  if (r.message_id)
    o["message_id"] = r.message_id;
  if (!r.error_code.empty())
    o["error_code"] = r.error_code;
  return json_response(status, json::serialize(o));
}

void api_send(services& svc, request_ptr req, responder res, principal p) {
  auto missing = [&res] {
    res(error_response(http::status::bad_request, "Missing to/message"));
  };
  // Like the original API: a body that is not a JSON object has no to/message.
  json_doc doc;
  if (!doc.parse(req->body()))
    return missing();
  auto obj = doc.object();
  if (!obj)
    return missing();
  auto to = get_string(*obj, "to");
  std::optional<std::string_view> body;
  for (auto key : {"message", "text"})
    if (auto f = get_string(*obj, key); !body && f.ok() && !blank(f.value))
      body = f.value;
  // {"template":{"name":...,"variables":{...}}} instead of a text.
  std::optional<std::pair<std::string, wa_template_values>> tmpl;
  if (auto t = get_object(*obj, "template"); t.present()) {
    if (!t.ok())
      return res(error_response(http::status::bad_request,
                                "template must be an object"));
    auto parsed = parse_wa_template_send(t.value);
    if (auto* err = std::get_if<std::string>(&parsed))
      return res(error_response(http::status::bad_request, *err));
    tmpl = std::get<0>(std::move(parsed));
    if (!body)
      body = std::string_view{};
  }
  if (!to.ok() || blank(to.value) || !body)
    return missing();
  std::string provider;
  if (auto f = get_string(*obj, "provider"); f.present()) {
    if (!f.ok() || (f.value != "twilio" && f.value != "meta"))
      return res(error_response(http::status::bad_request,
                                "Unknown provider: "
                                  + (f.ok() ? std::string{f.value.substr(0, 40)}
                                            : std::string{"?"})
                                  + " (twilio or meta)"));
    provider = std::string{f.value};
  }
  std::optional<std::int64_t> business;
  if (auto f = get_int(*obj, "business_id"); f.present()) {
    if (!f.ok() || f.value <= 0)
      return res(error_response(http::status::bad_request,
                                "business_id must be a positive integer"));
    business = f.value;
  }
  auto e164 = normalize_phone(to.value);
  if (!e164)
    return res(error_response(http::status::bad_request,
                              "Invalid recipient number (expected "
                              "whatsapp:+972..., +972... or 05X...)"));
  if (body->size() > wa_max_body)
    return res(error_response(http::status::bad_request,
                              "message is too long (at most 4096 bytes)"));
  if (body->find('\0') != std::string_view::npos)
    return res(error_response(http::status::bad_request,
                              "message must not contain NUL characters"));
  wa_send_request r;
  r.business_id = effective_business(p, business);
  r.to = *e164;
  r.body = std::string{*body};
  r.provider = std::move(provider);
  if (tmpl) {
    r.template_name = std::move(tmpl->first);
    r.template_values = std::move(tmpl->second);
  }
  whatsapp_send(svc.sys, svc.whatsapp_manager, svc.whatsapp, std::move(r),
                [res](wa_send_result out) { res(render(out)); });
}

} // namespace

std::shared_ptr<const whatsapp_context> make_whatsapp_context(services& svc) {
  auto ctx = std::make_shared<whatsapp_context>();
  const auto& c = svc.cfg;
  ctx->db = svc.db;
  ctx->m = &svc.m;
  ctx->manager = svc.whatsapp_manager.address();
  if (auto* client = svc.http)
    ctx->http = [client](outbound_request r,
                         std::function<void(outbound_response)> done) {
      client->send(std::move(r), std::move(done));
    };
  auto& s = ctx->settings;
  s.default_provider = c.whatsapp_default_provider;
  s.twilio_api_base = c.twilio_api_base;
  s.twilio_account_sid = c.twilio_account_sid;
  s.twilio_auth_token = c.twilio_auth_token;
  s.twilio_from = c.twilio_whatsapp_from;
  s.meta_api_base = c.meta_api_base;
  s.meta_token = c.meta_wa_token;
  s.meta_phone_id = c.meta_wa_phone_id;
  s.status_callback_url = c.public_base_url + "/webhook/whatsapp/status";
  s.provider_timeout = c.whatsapp_provider_timeout;
  s.idle_timeout = c.whatsapp_idle_timeout;
  s.rate_per_minute = c.whatsapp_rate_per_min;
  return ctx;
}

void add_whatsapp_routes(router& r, services& svc) {
  add_whatsapp_template_routes(r, svc);
  r.add(http::verb::post, "/webhook/whatsapp/incoming",
        [&svc](request_ptr req, responder res) {
          twilio_incoming(svc, std::move(req), std::move(res));
        });
  r.add(http::verb::post, "/webhook/whatsapp/status",
        [&svc](request_ptr req, responder res) {
          twilio_status(svc, std::move(req), std::move(res));
        });
  r.add(http::verb::get, "/webhook/whatsapp/meta",
        [&svc](request_ptr req, responder res) {
          meta_verify(svc, std::move(req), std::move(res));
        });
  r.add(http::verb::post, "/webhook/whatsapp/meta",
        [&svc](request_ptr req, responder res) {
          meta_events(svc, std::move(req), std::move(res));
        });
  r.add(http::verb::post, "/api/whatsapp/send",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  api_send(svc, std::move(req), std::move(res), p);
                }));
}

} // namespace al
