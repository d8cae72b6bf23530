// Twilio voice webhooks: /webhook/incoming_call (+ _preview), stream_status,
// stream_ended (the <Connect action>), transfer_status (the <Dial action>),
// call_status, recording_status. Handlers parse the form and render TwiML;
// the use cases (the lookups, the signature's account, the rows) are in
// domain/calls.hpp.
#include "transport/handlers/handlers.hpp"

#include "actors/call.hpp"
#include "actors/log.hpp"
#include "actors/type_ids.hpp"
#include "actors/voice_cache.hpp"
#include "actors/whatsapp_conversation.hpp"
#include "core/call_token.hpp"
#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/phone.hpp"
#include "core/twilio_signature.hpp"
#include "core/twiml.hpp"
#include "core/url_builder.hpp"
#include "domain/calls.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/handlers/twilio_shared.hpp"
#include "transport/https_client.hpp"
#include "transport/realtime_client.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"
#include "transport/speech_render.hpp"

#include <caf/send.hpp>

#include <spdlog/spdlog.h>

namespace al {

namespace {

namespace calls = domain::calls;

/// The URL Twilio signed: the public base plus the target as received.
std::string signed_url(const services& svc, const request& req) {
  return svc.cfg.public_base_url + std::string{req.msg.target()};
}

bool signature_ok(const services& svc, const request& req,
                  const form_params& form, const std::string& token) {
  auto header = req.header("X-Twilio-Signature");
  return !token.empty()
         && verify_twilio_signature(token, signed_url(svc, req), form, header);
}

std::string stream_twiml(services& svc, const std::string& call_sid,
                         std::int64_t business, bool own_account = false) {
  // A business on its own Twilio account gets its own stream path, so the
  // upgrade's signature is checked with its token (media_session.cpp).
  auto twiml = connect_stream_twiml(
    *svc.urls,
    {{"call_token", issue_call_token(svc.cfg.signing_key(), call_sid)},
     {"business_id", std::to_string(business)}},
    own_account ? "/ws/twilio-media/" + std::to_string(business)
                : std::string{"/ws/twilio-media"});
  return twiml ? *twiml
               : recording_fallback_twiml(*svc.urls, prompts::fallback,
                                          svc.cfg.say_voice);
}

/// A check of the request's signature with the account a use case found
/// (the form is shared, not copied).
calls::signed_by signature_check(const services& svc, const request_ptr& req,
                                 std::shared_ptr<const form_params> form) {
  return [&svc, req, form = std::move(form)](const call_twilio_account& own) {
    return twilio_signed(svc, *req, *form, own);
  };
}

/// Spawns the call's actor, with its greeting in memory, and answers with
/// the <Connect><Stream>.
void spawn_and_answer(services& svc, const responder& res,
                      calls::incoming_call& call, std::int64_t business,
                      voice_pack_ptr voice, bool own_account,
                      bool record_calls) {
  auto cp = std::make_shared<call_checkpoint>();
  cp->info = call_info{call.call_sid, business, std::move(call.from),
                       std::move(call.to), std::move(voice)};
  cp->info.record_calls = record_calls;
  cp->loaded = true;
  // The socket starts the greeting at `start` (transport/early_greetings);
  // a recorded call's actor starts its recorder first, so it greets itself.
  if (!record_calls && cp->info.voice && cp->info.voice->greeting)
    svc.greetings.put(cp->info.call_sid, cp->info.voice);
  // The actor exists, with its greeting in memory, before Twilio connects.
  caf::anon_send(svc.call_manager, spawn_atom_v, std::move(cp));
  res(xml_response(stream_twiml(svc, call.call_sid, business, own_account)));
}

/// Without the database only the global account can be checked: true (and
/// 403 answered) when the request is not signed by it.
bool refused_without_database(const services& svc, const request& req,
                              const form_params& form, const responder& res) {
  if (twilio_signed(svc, req, form, call_twilio_account{}))
    return false;
  res(error_response(http::status::forbidden, "Invalid signature"));
  return true;
}

/// incoming_call's answer, on the session's thread.
void answer_incoming(services& svc, const request& req, const responder& res,
                     const form_params& form, calls::incoming_result r) {
  auto& call = r.call;
  if (r.status.code == domain_code::forbidden)
    return res(error_response(r.status));
  if (!r.status.ok()) {
    // No database: still answer with the greeting (default business),
    // and queue the call row for when it returns.
    if (refused_without_database(svc, req, form, res))
      return;
    log_safe(spdlog::level::warn,
             "incoming_call {}: database unavailable ({}), answering"
             " with the default business",
             call.call_sid, r.failure);
    calls::queue_ringing(svc.db, call.call_sid, call.from, call.to);
    return spawn_and_answer(svc, res, call, default_business_id,
                            svc.voices->get(default_business_id, ""), false,
                            true);
  }
  bool own_account = !r.own_token.empty();
  if (own_account)
    svc.tenant_tokens.put(r.business, std::move(r.own_token));
  if (r.over_capacity) {
    svc.m.calls_rejected.Increment();
    log_safe(spdlog::level::warn,
             "incoming_call {}: over capacity ({} live), voicemail",
             call.call_sid, call.live);
    return res(xml_response(
      voicemail_twiml(*svc.urls, prompts::voicemail, svc.cfg.say_voice)));
  }
  spawn_and_answer(svc, res, call, r.business, std::move(r.voice), own_account,
                   r.record_calls);
  if (!r.render.key.empty())
    render_speech(svc, r.business, std::move(r.render.key),
                  std::move(r.render.voice), std::move(r.render.text));
}

void incoming_call(services& svc, request_ptr req, responder res) {
  auto form = parse_form(req->body());
  if (!form || !text_form(*form))
    return res(
      error_response(http::status::bad_request, "Malformed form body"));
  calls::incoming_call call;
  call.call_sid = form->value_or("CallSid");
  if (call.call_sid.empty() || call.call_sid.size() > 64)
    return res(error_response(http::status::bad_request, "Missing CallSid"));
  call.to = normalize_phone(form->value_or("To")).value_or("");
  call.from = form->value_or("From");
  call.live = svc.call_stats.live.load();
  auto signed_form = std::make_shared<const form_params>(std::move(*form));
  auto check = signature_check(svc, req, signed_form);
  calls::incoming(
    svc.db, svc.cfg, *svc.voices, std::move(call), std::move(check),
    // The result is moved, not copied, to the session's thread.
    on_session(req, [&svc, req, res, signed_form](calls::incoming_result r) {
      answer_incoming(svc, *req, res, *signed_form, std::move(r));
    }));
}

/// A call webhook's answer, on the session's thread.
void answer_call_webhook(services& svc, const request& req,
                         const responder& res, const form_params& form,
                         const calls::webhook_result& r) {
  if (r.status.code == domain_code::forbidden)
    return res(error_response(r.status));
  if (!r.status.ok()) {
    if (refused_without_database(svc, req, form, res))
      return;
    if (req.path == "/webhook/stream_ended")
      return res(xml_response(recording_fallback_twiml(
        *svc.urls, prompts::fallback, svc.cfg.say_voice)));
    return res(empty_response(http::status::no_content));
  }
  switch (r.answer) {
    case calls::call_answer::none:
      return res(empty_response(http::status::no_content));
    case calls::call_answer::hangup:
      return res(xml_response(hangup_twiml()));
    case calls::call_answer::fallback:
      return res(xml_response(recording_fallback_twiml(
        *svc.urls, prompts::fallback, svc.cfg.say_voice)));
    case calls::call_answer::transfer_missed:
      return res(xml_response(recording_fallback_twiml(
        *svc.urls, prompts::transfer_missed, svc.cfg.say_voice)));
    case calls::call_answer::dial:
      return res(xml_response(dial_twiml(
        *svc.urls, r.dial.numbers, r.dial.ring_timeout_s, r.dial.caller_id)));
  }
}

/// A call webhook's use case: the form, the signature check for the
/// account the use case finds, and where its result goes.
using call_use_case = std::function<void(const form_params&, calls::signed_by,
                                         calls::webhook_done)>;

/// Parses the form (400 when malformed), runs `use_case` and answers with
/// its result: 403 for a bad signature, TwiML or 204.
void signed_call_webhook(services& svc, request_ptr req, responder res,
                         const call_use_case& use_case) {
  auto form = parse_form(req->body());
  if (!form || !text_form(*form))
    return res(
      error_response(http::status::bad_request, "Malformed form body"));
  auto f = std::make_shared<const form_params>(std::move(*form));
  use_case(*f, signature_check(svc, req, f),
           on_session(req, [&svc, req, res, f](calls::webhook_result r) {
             answer_call_webhook(svc, *req, res, *f, r);
           }));
}

/// RecordingDuration (whole seconds) in milliseconds; 0 when absent or odd.
int recording_duration_ms(const form_params& form) {
  auto text = form.value_or("RecordingDuration");
  if (text.empty() || text.size() > 6)
    return 0;
  int s = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return 0;
    s = s * 10 + (c - '0');
  }
  return s * 1000;
}

} // namespace

bool twilio_signed(const services& svc, const request& req,
                   const form_params& form, const call_twilio_account& own) {
  return signature_ok(svc, req, form,
                      calls::account_of(svc.cfg, own).auth_token);
}

call_twilio_account twilio_account_for(const services& svc,
                                       const call_twilio_account& own) {
  return calls::account_of(svc.cfg, own);
}

std::string call_stream_twiml(services& svc, const std::string& call_sid,
                              std::int64_t business, bool own_account) {
  return stream_twiml(svc, call_sid, business, own_account);
}

void warm_greeting(services& svc, std::int64_t business) {
  calls::warm(svc.db, svc.cfg, *svc.voices, business,
              [&svc, business](calls::wanted_speech w) {
                if (!w.key.empty())
                  render_speech(svc, business, std::move(w.key),
                                std::move(w.voice), std::move(w.text));
              });
}

void add_twilio_voice_routes(router& r, services& svc) {
  r.add(http::verb::post, "/webhook/incoming_call",
        [&svc](request_ptr req, responder res) {
          incoming_call(svc, std::move(req), std::move(res));
        });

  r.add(http::verb::get, "/webhook/incoming_call_preview",
        [&svc](request_ptr, responder res) {
          res(
            xml_response(stream_twiml(svc, "CA_PREVIEW", default_business_id)));
        });

  r.add(http::verb::post, "/webhook/stream_status",
        [&svc](request_ptr req, responder res) {
          // Twilio must get its 204 at once; the event is recorded later.
          res(empty_response(http::status::no_content));
          auto form = parse_form(req->body());
          if (!form || !form->contains("CallSid") || !text_form(*form)) {
            log_safe(spdlog::level::warn,
                     "stream_status: malformed body ignored ({} bytes)",
                     req->body().size());
            return;
          }
          calls::record_stream_status(
            svc.db,
            {form->value_or("CallSid"), form->value_or("StreamSid"),
             form->value_or("StreamEvent", form->value_or("Status")),
             form->value_or("StreamError"), form->value_or("Timestamp")});
        });

  r.add(http::verb::post, "/webhook/stream_ended",
        [&svc](request_ptr req, responder res) {
          signed_call_webhook(
            svc, req, res,
            [&svc](const form_params& form, calls::signed_by check,
                   calls::webhook_done done) {
              calls::stream_ended(svc.db, form.value_or("CallSid"),
                                  form.contains("RecordingUrl"),
                                  std::move(check), std::move(done));
            });
        });

  // The <Dial action> of a transfer: answered -> hang up when it ends;
  // nobody answered -> the recording fallback (whose <Record> posts the
  // recording back here: then hang up).
  r.add(http::verb::post, "/webhook/transfer_status",
        [&svc](request_ptr req, responder res) {
          signed_call_webhook(
            svc, req, res,
            [&svc](const form_params& form, calls::signed_by check,
                   calls::webhook_done done) {
              calls::transfer_status(svc.db, form.value_or("CallSid"),
                                     form.contains("RecordingUrl"),
                                     form.value_or("DialCallStatus", "failed"),
                                     form.value_or("DialCallDuration"),
                                     std::move(check), std::move(done));
            });
        });

  r.add(http::verb::post, "/webhook/call_status",
        [&svc](request_ptr req, responder res) {
          signed_call_webhook(
            svc, req, res,
            [&svc](const form_params& form, calls::signed_by check,
                   calls::webhook_done done) {
              calls::call_status(svc.db, form.value_or("CallSid"),
                                 form.value_or("CallStatus"), std::move(check),
                                 std::move(done));
            });
        });

  r.add(http::verb::post, "/webhook/recording_status",
        [&svc](request_ptr req, responder res) {
          signed_call_webhook(
            svc, req, res,
            [&svc](const form_params& form, calls::signed_by check,
                   calls::webhook_done done) {
              auto sid = form.value_or("CallSid");
              auto url = form.value_or("RecordingUrl");
              bool completed = form.value_or("RecordingStatus", "completed")
                               == "completed";
              // The download starts before Twilio gets its 204.
              auto fetch = [&svc, sid, url,
                            duration_ms = recording_duration_ms(form),
                            done = std::move(done)](calls::webhook_result r) {
                if (r.fetch)
                  calls::fetch_recording(svc.db, http_of(svc), sid, url,
                                         calls::account_of(svc.cfg, *r.fetch),
                                         duration_ms);
                done(std::move(r));
              };
              calls::recording_status(svc.db, sid, url, completed,
                                      std::move(check), std::move(fetch));
            });
        });
}

} // namespace al
