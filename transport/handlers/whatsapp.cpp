// /webhook/whatsapp/* (Twilio and Meta Cloud API webhooks),
// /api/whatsapp/send and the media of inbound messages. Thin: check the
// signature, parse with core/ (whatsapp_wire), call the use case
// (domain/whatsapp.hpp, domain/whatsapp_inbox.hpp), render.
#include "transport/handlers/handlers.hpp"

#include "actors/supervisor.hpp"
#include "actors/whatsapp_conversation.hpp"
#include "actors/whatsapp_media.hpp"
#include "core/input.hpp"
#include "core/json.hpp"
#include "core/phone.hpp"
#include "core/twilio_signature.hpp"
#include "core/whatsapp_wire.hpp"
#include "domain/whatsapp.hpp"
#include "domain/whatsapp_inbox.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/https_client.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"
#include "transport/speech_render.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <limits>
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

/// Where the use cases hand messages and sends on.
domain::whatsapp::conversations conversations_of(services& svc) {
  return {&svc.sys, svc.whatsapp_manager, svc.whatsapp, &svc.m};
}

/// Checks a Twilio webhook's signature against its business's token (or
/// the global one); run by the use case once it found the business.
domain::whatsapp::twilio_check twilio_check_of(const services& svc,
                                               request_ptr req) {
  return [&svc, req = std::move(req)](const form_params& form,
                                      const std::string& own_token) {
    return twilio_signed(svc, *req, form, own_token);
  };
}

/// 204 when it went well, else the failure (the provider retries a 5xx).
auto answer_webhook(const request_ptr& req, const responder& res) {
  return on_session(req, [res](domain_status s) {
    if (!s.ok())
      return res(error_response(s));
    res(empty_response(http::status::no_content));
  });
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
  domain::whatsapp::incoming(svc.db, conversations_of(svc), std::move(*form),
                             twilio_check_of(svc, req),
                             answer_webhook(req, res));
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
  domain::whatsapp::update_status(svc.db, std::move(*form),
                                  twilio_check_of(svc, req),
                                  answer_webhook(req, res));
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
  domain::whatsapp::apply_webhook(
    svc.db, conversations_of(svc), std::move(std::get<meta_webhook>(parsed)),
    on_session(req, [res](domain_status s) {
      if (!s.ok())
        return res(error_response(s)); // Meta retries later
      res(json_response(http::status::ok, R"({"success":true})"));
    }));
}

// -- POST /api/whatsapp/send
// ---------------------------------------------------------

bool blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

/// The send's answer: 200 with the message, else the failure (its status
/// from domain::whatsapp::status_of) with what the provider said.
http_response render(const wa_send_result& r) {
  auto status = domain::whatsapp::status_of(r);
  json::object o;
  if (status.ok()) {
    o = {{"success", true},
         {"provider", r.provider},
         {"sid", r.sid},
         {"message_id", r.message_id},
         {"status", "sent"}};
    if (!r.template_name.empty())
      o["template"] = r.template_name;
    return json_response(to_status(status.code), json::serialize(o));
  }
  if (r.provider.empty() && !r.message_id && r.error_code.empty())
    return error_response(status);
  o = {{"success", false}, {"error", status.message}};
  if (!r.provider.empty())
    o["provider"] = r.provider;
  if (r.message_id)
    o["message_id"] = r.message_id;
  if (!r.error_code.empty())
    o["error_code"] = r.error_code;
  return json_response(to_status(status.code), json::serialize(o));
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
  // {"media_url":"https://..."}: a listing photo or a PDF; the text, if
  // any, is its caption.
  std::string media_url;
  if (auto f = get_string(*obj, "media_url"); f.present()) {
    if (!f.ok())
      return res(error_response(http::status::bad_request,
                                "media_url must be a string"));
    if (auto err = wa_media_url_error(f.value); !err.empty())
      return res(error_response(http::status::bad_request, err));
    if (tmpl)
      return res(error_response(http::status::bad_request,
                                "media_url cannot go with a template"));
    media_url = std::string{f.value};
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
  r.media_url = std::move(media_url);
  // A person wrote it: the conversation's AI pauses for 12 h.
  r.sent_by = "agent";
  r.agent = p.actor();
  if (tmpl) {
    r.template_name = std::move(tmpl->first);
    r.template_values = std::move(tmpl->second);
  }
  domain::whatsapp::send(
    conversations_of(svc), std::move(r),
    on_session(req, [res](wa_send_result out) { res(render(out)); }));
}

// -- GET /api/crm/messages/{id}/media/{idx}
// ------------------------------------------

/// One stored attachment, from PostgreSQL (any instance serves it). Only
/// allow-listed types are ever stored; nosniff keeps the browser to that
/// type, and what is neither a picture nor a sound is a download.
http_response media_response(wa_media_blob b, int idx) {
  auto res = make_response(http::status::ok, std::move(b.bytes),
                           b.content_type);
  res.set("X-Content-Type-Options", "nosniff");
  res.set(http::field::cache_control, "private, max-age=3600");
  if (!wa_media_inline(b.content_type))
    res.set(http::field::content_disposition,
            wa_media_disposition(b.filename, idx));
  return res;
}

void serve_media(services& svc, request_ptr req, responder res, principal p) {
  auto id = parse_decimal(req->path_params.at(0), 1,
                          std::numeric_limits<std::int64_t>::max());
  auto idx = parse_decimal(req->path_params.at(1), 0,
                           static_cast<std::int64_t>(wa_max_media_items));
  if (!id || !idx)
    return res(error_response(http::status::not_found, "No such media"));
  domain::whatsapp_inbox::media(
    svc.db, scope_of(p, p.business_id), *id, static_cast<int>(*idx),
    on_session(req, [res, idx = static_cast<int>(*idx)](
                      domain::whatsapp_inbox::media_result r) {
      if (!r.status.ok())
        return res(error_response(r.status));
      res(media_response(std::move(r.blob), idx));
    }));
}

} // namespace

void add_whatsapp_routes(router& r, services& svc) {
  add_whatsapp_template_routes(r, svc);
  add_whatsapp_takeover_routes(r, svc);
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
  r.add(http::verb::get, "/api/crm/messages/{id}/media/{idx}",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  serve_media(svc, std::move(req), std::move(res), p);
                }));
  r.add(http::verb::post, "/api/whatsapp/send",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  api_send(svc, std::move(req), std::move(res), p);
                }));
}

} // namespace al
