// Twilio voice webhooks: /webhook/incoming_call (+ _preview), stream_status,
// stream_ended (the <Connect action>), call_status, recording_status.
#include "transport/handlers/handlers.hpp"

#include "actors/audio_store.hpp"
#include "actors/call.hpp"
#include "actors/call_rows.hpp"
#include "actors/log.hpp"
#include "actors/type_ids.hpp"
#include "actors/voice_cache.hpp"
#include "actors/whatsapp_conversation.hpp"
#include "core/business_input.hpp"
#include "core/call_token.hpp"
#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/phone.hpp"
#include "core/twilio_signature.hpp"
#include "core/twiml.hpp"
#include "core/url_builder.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/twilio_shared.hpp"
#include "transport/https_client.hpp"
#include "transport/realtime_client.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"
#include "transport/speech_render.hpp"

#include <caf/send.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

namespace al {

namespace {

/// Twilio's account for a business: its own, else the global one.
struct twilio_account {
  std::string sid;
  std::string token;
};

twilio_account account_of(const services& svc, const call_twilio_account& own) {
  if (own.account_sid.empty() || own.auth_token.empty())
    return {svc.cfg.twilio_account_sid, svc.cfg.twilio_auth_token};
  return {own.account_sid, own.auth_token};
}

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
               : recording_fallback_twiml(*svc.urls, prompts::fallback, svc.cfg.say_voice);
}

struct incoming_result {
  bool forbidden = false;
  bool over_capacity = false;
  std::int64_t business = 1;
  bool own_account = false;
  voice_pack_ptr voice;
  bool record_calls = true;
  // The AI voice's rendering is wanted but not stored yet.
  std::string render_key, render_voice, render_text;
};

/// What the caller hears first: the business's greeting, or a default one
/// (the local engine's names the keys; the AI's just asks how to help),
/// with the transfer key announced when the local engine can transfer.
std::string greeting_text(const incoming_business& b, bool ai) {
  std::string text = b.greeting;
  if (text.empty()) {
    if (!ai) {
      text = prompts::default_greeting;
    } else {
      text = "שלום, הגעתם ל";
      text += b.name.empty() || b.name == "Default" ? "משרד התיווך" : b.name;
      text += ". במה אפשר לעזור?";
    }
  }
  if (!ai && b.has_transfer)
    text += prompts::press_zero;
  return text;
}

/// The business's voice pack as it should sound now (its uploaded
/// recording, else the AI voice's rendering when the AI answers, else
/// espeak-ng), loaded from the database only when the settings changed.
voice_pack_ptr business_voice(services& svc, db_tx& tx,
                              const incoming_business& b,
                              incoming_result& out) {
  bool ai = svc.cfg.wants_openai(b.voice_engine);
  greeting_spec spec;
  spec.text = greeting_text(b, ai);
  spec.rev = b.greeting_rev;
  std::string voice;
  if (ai && !svc.cfg.openai_tts_model.empty()) {
    voice = effective_voice(svc.cfg, b.voice);
    spec.speech_key = speech_key(svc.cfg, voice, spec.text);
  }
  if (auto pack = svc.voices->find(b.id, spec))
    return pack;
  auto uploaded = uploaded_greeting(tx, b.id);
  std::optional<std::string> rendered;
  if (!uploaded && !spec.speech_key.empty()) {
    rendered = rendered_speech(tx, spec.speech_key);
    if (!rendered) {
      out.render_key = spec.speech_key;
      out.render_voice = voice;
      out.render_text = spec.text;
    }
  }
  return svc.voices->put(b.id, spec, std::move(uploaded), std::move(rendered));
}

void incoming_call(services& svc, request_ptr req, responder res) {
  auto form = parse_form(req->body());
  if (!form || !text_form(*form))
    return res(
      error_response(http::status::bad_request, "Malformed form body"));
  auto call_sid = form->value_or("CallSid");
  if (call_sid.empty() || call_sid.size() > 64)
    return res(error_response(http::status::bad_request, "Missing CallSid"));
  auto to = normalize_phone(form->value_or("To"));
  auto from = form->value_or("From");
  auto out = std::make_shared<incoming_result>();
  auto live = svc.call_stats.live.load();
  auto spawn_and_answer = [&svc, res, call_sid, from,
                           to](std::int64_t business, voice_pack_ptr voice,
                               bool own_account, bool record_calls) {
    auto cp = std::make_shared<call_checkpoint>();
    cp->info = call_info{call_sid, business, from, to.value_or(""), voice};
    cp->info.record_calls = record_calls;
    cp->loaded = true;
    // The actor exists, with its greeting in memory, before Twilio connects.
    caf::anon_send(svc.call_manager, spawn_atom_v,
                   make_call_spec(cp, svc.calls));
    res(xml_response(stream_twiml(svc, call_sid, business, own_account)));
  };
  svc.db.run(
    [&svc, req, form = *form, call_sid, to, from, out, live](db_tx& tx) {
      auto b = find_incoming_business(tx, to.value_or(""));
      if (!b)
        throw std::runtime_error("default business missing");
      auto account = account_of(svc, b->twilio);
      if (!signature_ok(svc, *req, form, account.token)) {
        out->forbidden = true;
        return;
      }
      out->business = b->id;
      // The same rule as account_of(): its own account when it has both.
      if (!b->twilio.account_sid.empty() && !b->twilio.auth_token.empty()) {
        out->own_account = true;
        svc.tenant_tokens.put(b->id, b->twilio.auth_token);
      }
      auto cap = svc.cfg.max_live_calls;
      bool business_full = b->max_live_calls
                           && b->live_calls >= *b->max_live_calls;
      if (live >= cap || business_full) {
        out->over_capacity = true;
        return;
      }
      insert_ringing_call(tx, out->business, call_sid, from, to.value_or(""));
      out->voice = business_voice(svc, tx, *b, *out);
      out->record_calls = b->record_calls;
    },
    [&svc, req, res, form = *form, call_sid, from, to, out, live,
     spawn_and_answer](const db_error& err) {
      if (!err.empty()) {
        // No database: still answer with the greeting (default business),
        // and queue the call row for when it returns.
        if (!signature_ok(svc, *req, form, svc.cfg.twilio_auth_token))
          return res(
            error_response(http::status::forbidden, "Invalid signature"));
        log_safe(spdlog::level::warn,
                 "incoming_call {}: database unavailable ({}), answering"
                 " with the default business",
                 call_sid, err);
        svc.db.write("call_row", [call_sid, from, to](db_tx& tx) {
          insert_ringing_call_for_number(tx, call_sid, from, to.value_or(""));
        });
        return spawn_and_answer(1, svc.voices->get(1, ""), false, true);
      }
      if (out->forbidden)
        return res(
          error_response(http::status::forbidden, "Invalid signature"));
      if (out->over_capacity) {
        svc.m.calls_rejected.Increment();
        log_safe(spdlog::level::warn,
                 "incoming_call {}: over capacity ({} live), voicemail",
                 call_sid, live);
        return res(
          xml_response(voicemail_twiml(*svc.urls, prompts::voicemail, svc.cfg.say_voice)));
      }
      spawn_and_answer(out->business, out->voice, out->own_account,
                       out->record_calls);
      if (!out->render_key.empty())
        render_speech(svc, out->business, out->render_key, out->render_voice,
                      out->render_text);
    });
}

/// Looks up the call's Twilio account (or the global one for an unknown
/// call), verifies the signature, then runs `then(tx, known)` in the same
/// transaction. Answers 403 itself.
void signed_call_webhook(
  services& svc, request_ptr req, responder res,
  std::function<void(db_tx&, const form_params&, outcome&)> then) {
  auto form = parse_form(req->body());
  if (!form || !text_form(*form))
    return res(
      error_response(http::status::bad_request, "Malformed form body"));
  auto call_sid = form->value_or("CallSid");
  auto forbidden = std::make_shared<bool>(false);
  auto out = std::make_shared<outcome>();
  svc.db.run(
    [&svc, req, form = *form, call_sid, forbidden, out, then](db_tx& tx) {
      auto own = call_account(tx, call_sid);
      auto token = own ? account_of(svc, *own).token
                       : svc.cfg.twilio_auth_token;
      if (!signature_ok(svc, *req, form, token)) {
        *forbidden = true;
        return;
      }
      then(tx, form, *out);
    },
    [&svc, req, res, form = *form, forbidden, out](const db_error& err) {
      if (!err.empty()) {
        // Without the database only the global account can be checked.
        if (!signature_ok(svc, *req, form, svc.cfg.twilio_auth_token))
          return res(
            error_response(http::status::forbidden, "Invalid signature"));
        if (req->path == "/webhook/stream_ended")
          return res(xml_response(
            recording_fallback_twiml(*svc.urls, prompts::fallback, svc.cfg.say_voice)));
        return res(empty_response(http::status::no_content));
      }
      if (*forbidden)
        return res(
          error_response(http::status::forbidden, "Invalid signature"));
      if (out->status == http::status::no_content)
        return res(empty_response(http::status::no_content));
      res(xml_response(std::move(out->body)));
    });
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

/// The media type of a downloaded recording: the response's audio/* type
/// (parameters dropped), else audio/wav (what the .wav URL asks for).
std::string recording_type(const outbound_response& r) {
  for (auto& [name, value] : r.headers) {
    std::string lower;
    for (char c : name)
      lower.push_back(
        static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (lower != "content-type")
      continue;
    std::string t;
    for (char c : value.substr(0, value.find(';'))) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (c == ' ' || c == '\t')
        continue;
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '-'
          && c != '+' && c != '.')
        return "audio/wav";
      t.push_back(c);
    }
    if (t.rfind("audio/", 0) == 0 && t.size() > 6 && t.size() <= 64)
      return t;
  }
  return "audio/wav";
}

/// Downloads a finished recording into the database (call_audio kind
/// "recording"), in the background; any instance then serves it.
void fetch_recording(services& svc, std::string call_sid, std::string url,
                     twilio_account account, int duration_ms) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    return;
  outbound_request o;
  o.method = "GET";
  o.url = url
          + (url.size() > 4 && url.substr(url.size() - 4) == ".wav" ? ""
                                                                    : ".wav");
  o.timeout = std::chrono::seconds(30);
  o.headers.emplace_back(
    "Authorization",
    "Basic " + crypto::base64_encode(account.sid + ":" + account.token));
  svc.http->send(std::move(o), [&svc, call_sid,
                                 duration_ms](outbound_response r) {
    if (!r.ok()) {
      log_safe(spdlog::level::warn, "recording of {} not fetched: {} {}",
               call_sid, r.status, r.error);
      return;
    }
    auto type = recording_type(r);
    if (!save_audio(svc.db, call_sid, std::string{audio_kind_recording()}, 0,
                    std::move(type), std::move(r.body), duration_ms))
      log_safe(spdlog::level::warn,
               "recording of {} not stored (write queue full)", call_sid);
  });
}

/// The <Dial> for a transfer the call actor stored; nullopt when the stored
/// settings name no number.
std::optional<std::string> transfer_twiml(services& svc,
                                          const pending_transfer& t) {
  std::vector<std::string> numbers;
  int ring = 20;
  if (!parse_transfer(t.transfer_json, numbers, ring))
    return std::nullopt;
  // The person who answers sees the caller's number; a withheld or odd
  // From leaves callerId out (Twilio then uses the called number).
  auto caller = normalize_phone(t.from);
  return dial_twiml(*svc.urls, numbers, ring, caller.value_or(""));
}

} // namespace

bool twilio_signed(const services& svc, const request& req,
                   const form_params& form, const call_twilio_account& own) {
  return signature_ok(svc, req, form, account_of(svc, own).token);
}

call_twilio_account twilio_account_for(const services& svc,
                                       const call_twilio_account& own) {
  auto a = account_of(svc, own);
  return {a.sid, a.token};
}

std::string call_stream_twiml(services& svc, const std::string& call_sid,
                              std::int64_t business, bool own_account) {
  return stream_twiml(svc, call_sid, business, own_account);
}

void warm_greeting(services& svc, std::int64_t business) {
  auto out = std::make_shared<incoming_result>();
  svc.db.run(
    [&svc, business, out](db_tx& tx) {
      if (auto b = find_business_by_id(tx, business))
        business_voice(svc, tx, *b, *out);
    },
    [&svc, business, out](const db_error&) {
      if (!out->render_key.empty())
        render_speech(svc, business, out->render_key, out->render_voice,
                      out->render_text);
    });
}

std::shared_ptr<const call_env> make_call_env(services& svc) {
  auto env = std::make_shared<call_env>();
  env->db = svc.db;
  env->m = &svc.m;
  env->voices = svc.voices;
  env->recordings_dir = svc.cfg.recordings_dir;
  env->start_timeout = svc.cfg.start_timeout;
  env->openai_api_key = svc.cfg.openai_api_key;
  env->openai_realtime_url = svc.cfg.openai_realtime_url;
  env->openai_model = svc.cfg.openai_model;
  env->voice_engine = svc.cfg.voice_engine;
  env->openai_voice = svc.cfg.openai_voice;
  env->silence_reprompt = svc.cfg.silence_reprompt;
  env->holiday_closures = svc.cfg.holiday_closures;
  env->openai_summary_model = svc.cfg.openai_text_model;
  env->load_voice = [&svc](db_tx& tx, std::int64_t business) -> voice_pack_ptr {
    auto b = find_business_by_id(tx, business);
    if (!b)
      return nullptr;
    incoming_result ignored; // a rendering is asked for by incoming_call
    return business_voice(svc, tx, *b, ignored);
  };
  if (svc.realtime)
    env->realtime_connect = svc.realtime->connector();
  env->http = [&svc](outbound_request req,
                     std::function<void(outbound_response)> done) {
    svc.http->send(std::move(req), std::move(done));
  };
  // svc.whatsapp and its manager exist by the time a call runs a tool.
  env->send_whatsapp
    = [&svc](std::int64_t business, std::string to, wa_outgoing_text text,
             std::function<void(std::string, std::string)> done) {
        wa_send_request req;
        req.business_id = business;
        req.to = std::move(to);
        req.body = std::move(text.body);
        req.fallback_purpose = std::move(text.fallback_purpose);
        req.fallback_facts = std::move(text.fallback_facts);
        whatsapp_send(svc.sys, svc.whatsapp_manager, svc.whatsapp,
                      std::move(req), [done](wa_send_result r) {
                        if (r.status == wa_send_status::sent)
                          done("", std::to_string(r.message_id));
                        else
                          done(r.error.empty() ? "not sent" : r.error, "");
                      });
      };
  env->redirect_to_fallback = [&svc](const call_info& info) {
    auto sid = info.call_sid;
    auto account = std::make_shared<twilio_account>(
      twilio_account{svc.cfg.twilio_account_sid, svc.cfg.twilio_auth_token});
    svc.db.run(
      [&svc, sid, account](db_tx& tx) {
        if (auto own = call_account(tx, sid))
          *account = account_of(svc, *own);
      },
      [&svc, sid, account](const db_error&) {
        if (account->sid.empty() || account->token.empty()) {
          log_safe(spdlog::level::err,
                   "call {}: cannot redirect, no Twilio account configured",
                   sid);
          return;
        }
        outbound_request o;
        o.method = "POST";
        o.url = svc.cfg.twilio_api_base + "/2010-04-01/Accounts/" + account->sid
                + "/Calls/" + sid + ".json";
        o.headers.emplace_back(
          "Authorization",
          "Basic "
            + crypto::base64_encode(account->sid + ":" + account->token));
        o.headers.emplace_back("Content-Type",
                               "application/x-www-form-urlencoded");
        o.body = encode_form(
          {{"Twiml", recording_fallback_twiml(*svc.urls, prompts::fallback, svc.cfg.say_voice)}});
        svc.http->send(std::move(o), [sid](outbound_response r) {
          if (!r.ok())
            log_safe(spdlog::level::err,
                     "call {}: fallback redirect failed: {} {}", sid, r.status,
                     r.error);
          else
            log_safe(spdlog::level::info,
                     "call {}: redirected to the recording fallback", sid);
        });
      });
  };
  return env;
}

void add_twilio_voice_routes(router& r, services& svc) {
  r.add(http::verb::post, "/webhook/incoming_call",
        [&svc](request_ptr req, responder res) {
          incoming_call(svc, std::move(req), std::move(res));
        });

  r.add(http::verb::get, "/webhook/incoming_call_preview",
        [&svc](request_ptr, responder res) {
          res(xml_response(stream_twiml(svc, "CA_PREVIEW", 1)));
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
          boost::json::object detail{
            {"stream_sid", form->value_or("StreamSid")},
            {"event", form->value_or("StreamEvent", form->value_or("Status"))},
            {"error", form->value_or("StreamError")},
            {"timestamp", form->value_or("Timestamp")}};
          auto sid = form->value_or("CallSid");
          auto text = boost::json::serialize(detail);
          svc.db.write("stream_status", [sid, text](db_tx& tx) {
            insert_stream_status_event(tx, sid, text);
          });
        });

  r.add(http::verb::post, "/webhook/stream_ended",
        [&svc](request_ptr req, responder res) {
          signed_call_webhook(
            svc, req, res,
            [&svc](db_tx& tx, const form_params& form, outcome& out) {
              auto sid = form.value_or("CallSid");
              if (auto t = call_pending_transfer(tx, sid);
                  t && !form.contains("RecordingUrl")) {
                if (auto dial = transfer_twiml(svc, *t)) {
                  out.body = std::move(*dial);
                  insert_call_event(tx, sid, 200000, "transfer_dial",
                                    R"({"dialing":true})");
                  return;
                }
              }
              bool normal = call_ended_normally(tx, sid);
              // After the fallback's <Record>, Twilio posts here again with
              // the recording: end the call instead of recording again.
              if (normal || form.contains("RecordingUrl")) {
                out.body = hangup_twiml();
                return;
              }
              mark_call_fallback(tx, sid);
              out.body = recording_fallback_twiml(*svc.urls, prompts::fallback, svc.cfg.say_voice);
            });
        });

  // The <Dial action> of a transfer: answered -> hang up when it ends;
  // nobody answered -> the recording fallback (whose <Record> posts the
  // recording back here: then hang up).
  r.add(http::verb::post, "/webhook/transfer_status",
        [&svc](request_ptr req, responder res) {
          signed_call_webhook(
            svc, req, res,
            [&svc](db_tx& tx, const form_params& form, outcome& out) {
              auto sid = form.value_or("CallSid");
              if (form.contains("RecordingUrl")) {
                out.body = hangup_twiml();
                return;
              }
              auto status = form.value_or("DialCallStatus", "failed");
              if (status.size() > 32)
                status = "failed";
              set_call_transfer_status(tx, sid, status);
              boost::json::object detail{
                {"status", status},
                {"duration", form.value_or("DialCallDuration")}};
              insert_call_event(tx, sid, 200001, "transfer_status",
                                boost::json::serialize(detail));
              if (status == "completed" || status == "answered") {
                out.body = hangup_twiml();
                return;
              }
              out.body = recording_fallback_twiml(
                *svc.urls, prompts::transfer_missed, svc.cfg.say_voice);
            });
        });

  r.add(http::verb::post, "/webhook/call_status",
        [&svc](request_ptr req, responder res) {
          signed_call_webhook(
            svc, req, res,
            [](db_tx& tx, const form_params& form, outcome& out) {
              out.status = http::status::no_content;
              auto status = form.value_or("CallStatus");
              if (status.empty() || status.size() > 32)
                return;
              apply_call_status(tx, form.value_or("CallSid"), status);
            });
        });

  r.add(http::verb::post, "/webhook/recording_status",
        [&svc](request_ptr req, responder res) {
          auto fetch = std::make_shared<std::optional<twilio_account>>();
          auto form = parse_form(req->body());
          signed_call_webhook(
            svc, req, responder{[res, fetch, &svc, form](http_response r) {
              if (*fetch && form)
                fetch_recording(svc, form->value_or("CallSid"),
                                form->value_or("RecordingUrl"), **fetch,
                                recording_duration_ms(*form));
              res(std::move(r));
            }},
            [&svc, fetch](db_tx& tx, const form_params& form, outcome& out) {
              out.status = http::status::no_content;
              auto url = form.value_or("RecordingUrl");
              auto sid = form.value_or("CallSid");
              auto own = set_call_recording_url(tx, sid, url);
              if (own && !url.empty()
                  && form.value_or("RecordingStatus", "completed")
                       == "completed")
                *fetch = account_of(svc, *own);
            });
        });
}

} // namespace al
