#include "domain/calls.hpp"

#include "actors/audio_store.hpp"
#include "actors/log.hpp"
#include "actors/sql.hpp"
#include "core/business_input.hpp"
#include "core/config.hpp"
#include "core/crypto.hpp"
#include "core/phone.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <cctype>
#include <memory>
#include <stdexcept>
#include <utility>

namespace al::domain::calls {

namespace {

constexpr sql_statement insert_rendered{
  "INSERT INTO rendered_speech(key, voice, text, audio)"
  " VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING"};

domain_status invalid_signature() {
  return {domain_code::forbidden, "Invalid signature"};
}

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
/// A rendering that is wanted but not stored goes to `render`.
voice_pack_ptr business_voice(const config& cfg, voice_cache& voices, db_tx& tx,
                              const incoming_business& b,
                              wanted_speech& render) {
  bool ai = cfg.wants_openai(b.voice_engine);
  greeting_spec spec;
  spec.text = greeting_text(b, ai);
  spec.rev = b.greeting_rev;
  std::string voice;
  if (ai && !cfg.openai_tts_model.empty()) {
    voice = effective_voice(cfg, b.voice);
    spec.speech_key = speech_key(cfg, voice, spec.text);
  }
  if (auto pack = voices.find(b.id, spec))
    return pack;
  auto uploaded = uploaded_greeting(tx, b.id);
  std::optional<std::string> rendered;
  if (!uploaded && !spec.speech_key.empty()) {
    rendered = rendered_speech(tx, spec.speech_key);
    if (!rendered) {
      render.key = spec.speech_key;
      render.voice = voice;
      render.text = spec.text;
    }
  }
  return voices.put(b.id, spec, std::move(uploaded), std::move(rendered));
}

/// Looks up the call's Twilio account (the global one for an unknown
/// call), checks the signature with it, then runs `then` in the same
/// transaction.
void signed_call_job(
  const store& db, std::string call_sid, signed_by check,
  std::function<void(db_tx&, const std::string& call_sid, webhook_result&)>
    then,
  webhook_done done) {
  auto out = std::make_shared<webhook_result>();
  db.run(
    [call_sid = std::move(call_sid), check = std::move(check),
     then = std::move(then), out](db_tx& tx) {
      auto own = al::call_account(tx, call_sid);
      if (!check(own.value_or(call_twilio_account{}))) {
        out->status = invalid_signature();
        return;
      }
      then(tx, call_sid, *out);
    },
    [out, done = std::move(done)](const db_error& err) {
      if (!err.empty())
        return done(webhook_result{from_db_error(err), {}, {}, {}});
      done(std::move(*out));
    });
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

void lookup_account(
  const store& db,
  std::function<std::optional<call_twilio_account>(db_tx&)> find,
  std::function<void(account_result)> done) {
  auto out = std::make_shared<account_result>();
  db.run([find = std::move(find), out](db_tx& tx) { out->own = find(tx); },
         [out, done = std::move(done)](const db_error& err) {
           if (!err.empty())
             out->status = from_db_error(err);
           done(std::move(*out));
         });
}

} // namespace

bool has_own_account(const call_twilio_account& own) {
  return !own.account_sid.empty() && !own.auth_token.empty();
}

call_twilio_account account_of(const config& cfg,
                               const call_twilio_account& own) {
  if (!has_own_account(own))
    return {cfg.twilio_account_sid, cfg.twilio_auth_token};
  return own;
}

std::string effective_voice(const config& cfg,
                            std::string_view business_voice) {
  return business_voice.empty() ? cfg.openai_voice
                                : std::string{business_voice};
}

std::string speech_key(const config& cfg, std::string_view voice,
                       std::string_view text) {
  std::string material = cfg.openai_tts_model;
  material += '\n';
  material += voice;
  material += '\n';
  material += text;
  return crypto::to_hex(crypto::sha256(material));
}

void incoming(const store& db, const config& cfg, voice_cache& voices,
              incoming_call call, signed_by check,
              std::function<void(incoming_result)> done) {
  auto out = std::make_shared<incoming_result>();
  out->call = std::move(call);
  db.run(
    [&cfg, &voices, check = std::move(check), out](db_tx& tx) {
      const auto& call = out->call;
      auto b = find_incoming_business(tx, call.to);
      if (!b)
        throw std::runtime_error("default business missing");
      if (!check(b->twilio)) {
        out->status = invalid_signature();
        return;
      }
      out->business = b->id;
      if (has_own_account(b->twilio))
        out->own_token = std::move(b->twilio.auth_token);
      bool business_full = b->max_live_calls
                           && b->live_calls >= *b->max_live_calls;
      if (call.live >= cfg.max_live_calls || business_full) {
        out->over_capacity = true;
        return;
      }
      insert_ringing_call(tx, out->business, call.call_sid, call.from, call.to);
      out->voice = business_voice(cfg, voices, tx, *b, out->render);
      out->record_calls = b->record_calls;
    },
    [out, done = std::move(done)](const db_error& err) {
      if (!err.empty()) {
        out->status = from_db_error(err);
        out->failure = err;
      }
      done(std::move(*out));
    });
}

void queue_ringing(const store& db, std::string call_sid, std::string from,
                   std::string to) {
  db.write("call_row", [call_sid = std::move(call_sid), from = std::move(from),
                        to = std::move(to)](db_tx& tx) {
    insert_ringing_call_for_number(tx, call_sid, from, to);
  });
}

std::function<voice_pack_ptr(db_tx&, std::int64_t)>
voice_loader(const config& cfg, voice_cache* voices) {
  return [&cfg, voices](db_tx& tx, std::int64_t business) -> voice_pack_ptr {
    auto b = find_business_by_id(tx, business);
    if (!b)
      return nullptr;
    wanted_speech ignored; // a rendering is asked for by incoming and warm
    return business_voice(cfg, *voices, tx, *b, ignored);
  };
}

void warm(const store& db, const config& cfg, voice_cache& voices,
          std::int64_t business, std::function<void(wanted_speech)> done) {
  auto out = std::make_shared<wanted_speech>();
  db.run(
    [&cfg, &voices, business, out](db_tx& tx) {
      if (auto b = find_business_by_id(tx, business))
        business_voice(cfg, voices, tx, *b, *out);
    },
    [out, done = std::move(done)](const db_error&) { done(std::move(*out)); });
}

void stream_ended(const store& db, std::string call_sid, bool has_recording,
                  signed_by check, webhook_done done) {
  signed_call_job(
    db, std::move(call_sid), std::move(check),
    [has_recording](db_tx& tx, const std::string& sid, webhook_result& out) {
      if (auto t = call_pending_transfer(tx, sid); t && !has_recording) {
        dial_plan dial;
        if (parse_transfer(t->transfer_json, dial.numbers,
                           dial.ring_timeout_s)) {
          // The person who answers sees the caller's number; a withheld
          // or odd From leaves callerId out (Twilio then uses the called
          // number).
          dial.caller_id = normalize_phone(t->from).value_or("");
          out.answer = call_answer::dial;
          out.dial = std::move(dial);
          insert_call_event(tx, sid, 200000, "transfer_dial",
                            R"({"dialing":true})");
          return;
        }
      }
      bool normal = call_ended_normally(tx, sid);
      // After the fallback's <Record>, Twilio posts here again with the
      // recording: end the call instead of recording again.
      if (normal || has_recording) {
        out.answer = call_answer::hangup;
        return;
      }
      mark_call_fallback(tx, sid);
      out.answer = call_answer::fallback;
    },
    std::move(done));
}

void transfer_status(const store& db, std::string call_sid, bool has_recording,
                     std::string dial_status, std::string dial_duration,
                     signed_by check, webhook_done done) {
  signed_call_job(
    db, std::move(call_sid), std::move(check),
    [has_recording, status = std::move(dial_status),
     duration = std::move(dial_duration)](db_tx& tx, const std::string& sid,
                                          webhook_result& out) {
      if (has_recording) {
        out.answer = call_answer::hangup;
        return;
      }
      auto s = status.size() > 32 ? std::string{"failed"} : status;
      set_call_transfer_status(tx, sid, s);
      boost::json::object detail{{"status", s}, {"duration", duration}};
      insert_call_event(tx, sid, 200001, "transfer_status",
                        boost::json::serialize(detail));
      out.answer = s == "completed" || s == "answered"
                     ? call_answer::hangup
                     : call_answer::transfer_missed;
    },
    std::move(done));
}

void call_status(const store& db, std::string call_sid, std::string status,
                 signed_by check, webhook_done done) {
  signed_call_job(
    db, std::move(call_sid), std::move(check),
    [status = std::move(status)](db_tx& tx, const std::string& sid,
                                 webhook_result&) {
      if (status.empty() || status.size() > 32)
        return;
      apply_call_status(tx, sid, status);
    },
    std::move(done));
}

void recording_status(const store& db, std::string call_sid, std::string url,
                      bool completed, signed_by check, webhook_done done) {
  signed_call_job(
    db, std::move(call_sid), std::move(check),
    [url = std::move(url), completed](db_tx& tx, const std::string& sid,
                                      webhook_result& out) {
      auto own = set_call_recording_url(tx, sid, url);
      if (own && !url.empty() && completed)
        out.fetch = std::move(own);
    },
    std::move(done));
}

void fetch_recording(const store& db, const http_send_fn& http,
                     std::string call_sid, std::string url,
                     call_twilio_account account, int duration_ms) {
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
    "Basic "
      + crypto::base64_encode(account.account_sid + ":" + account.auth_token));
  http(std::move(o),
       [db, call_sid = std::move(call_sid), duration_ms](outbound_response r) {
         if (!r.ok()) {
           log_safe(spdlog::level::warn, "recording of {} not fetched: {} {}",
                    call_sid, r.status, r.error);
           return;
         }
         auto type = recording_type(r);
         if (!save_audio(db, call_sid, std::string{audio_kind_recording()}, 0,
                         std::move(type), std::move(r.body), duration_ms))
           log_safe(spdlog::level::warn,
                    "recording of {} not stored (write queue full)", call_sid);
       });
}

void record_stream_status(const store& db, const stream_event& ev) {
  boost::json::object detail{{"stream_sid", ev.stream_sid},
                             {"event", ev.event},
                             {"error", ev.error},
                             {"timestamp", ev.timestamp}};
  db.write("stream_status",
           [sid = ev.call_sid, text = boost::json::serialize(detail)](
             db_tx& tx) { insert_stream_status_event(tx, sid, text); });
}

void account_of_business(const store& db, std::int64_t business,
                         std::function<void(account_result)> done) {
  lookup_account(
    db, [business](db_tx& tx) { return al::business_account(tx, business); },
    std::move(done));
}

void account_of_call(const store& db, std::string call_sid,
                     std::function<void(account_result)> done) {
  lookup_account(
    db,
    [call_sid = std::move(call_sid)](db_tx& tx) {
      return al::call_account(tx, call_sid);
    },
    std::move(done));
}

void store_rendering(const store& db, std::string key, std::string voice,
                     std::string text, std::string audio,
                     std::function<void(write_result)> done) {
  // Shared, not copied, by the job (a store job must be copyable).
  auto bytes = std::make_shared<const std::string>(std::move(audio));
  db.run(
    [key = std::move(key), voice = std::move(voice), text = std::move(text),
     bytes](db_tx& tx) {
      exec(tx, insert_rendered, key, voice, text,
           pqxx::binarystring{bytes->data(), bytes->size()});
    },
    [done = std::move(done)](const db_error& err) {
      if (!err.empty())
        return done(write_result{from_db_error(err), err});
      done(write_result{});
    });
}

} // namespace al::domain::calls
