#include "app/compose.hpp"

#include "actors/call.hpp"
#include "actors/log.hpp"
#include "actors/outbound_call.hpp"
#include "actors/payment.hpp"
#include "actors/supervisor.hpp"
#include "actors/voice_cache.hpp"
#include "actors/webhook_delivery.hpp"
#include "actors/whatsapp_conversation.hpp"
#include "actors/whatsapp_media.hpp"
#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/twiml.hpp"
#include "core/url_builder.hpp"
#include "domain/calls.hpp"
#include "transport/handlers/common.hpp"
#include "transport/https_client.hpp"
#include "transport/realtime_client.hpp"
#include "transport/services.hpp"
#include "transport/speech_render.hpp"

#include <caf/actor_cast.hpp>

#include <spdlog/spdlog.h>

#include <functional>
#include <string>
#include <utility>

namespace al {

namespace calls = domain::calls;

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
  env->load_voice = calls::voice_loader(svc.cfg, svc.voices);
  if (svc.realtime)
    env->realtime_connect = svc.realtime->connector();
  env->http = http_of(svc);
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
    calls::account_of_call(svc.db, sid, [&svc, sid](calls::account_result f) {
      // An unknown call (or no database): the global account.
      auto account = calls::account_of(svc.cfg,
                                       f.own.value_or(call_twilio_account{}));
      if (account.account_sid.empty() || account.auth_token.empty()) {
        log_safe(spdlog::level::err,
                 "call {}: cannot redirect, no Twilio account configured", sid);
        return;
      }
      outbound_request o;
      o.method = "POST";
      o.url = svc.cfg.twilio_api_base + "/2010-04-01/Accounts/"
              + account.account_sid + "/Calls/" + sid + ".json";
      o.headers.emplace_back("Authorization",
                             "Basic "
                               + crypto::base64_encode(account.account_sid + ":"
                                                       + account.auth_token));
      o.headers.emplace_back("Content-Type",
                             "application/x-www-form-urlencoded");
      o.body = encode_form(
        {{"Twiml", recording_fallback_twiml(*svc.urls, prompts::fallback,
                                            svc.cfg.say_voice)}});
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

std::shared_ptr<outbound_env> make_outbound_env(services& svc) {
  auto env = std::make_shared<outbound_env>();
  env->db = svc.db;
  env->http = http_of(svc);
  env->m = &svc.m;
  env->twilio_api_base = svc.cfg.twilio_api_base;
  env->public_base_url = svc.cfg.public_base_url;
  env->account_sid = svc.cfg.twilio_account_sid;
  env->auth_token = svc.cfg.twilio_auth_token;
  env->ring_timeout_s = svc.cfg.outbound_ring_s;
  env->say_voice = svc.cfg.say_voice;
  env->amd_unknown_as = svc.cfg.amd_unknown_as;
  return env;
}

std::shared_ptr<const payment_env> make_payment_env(services& svc) {
  auto env = std::make_shared<payment_env>();
  env->db = svc.db;
  env->m = &svc.m;
  env->send
    = [send = http_of(svc)](outbound_request r,
                            std::function<void(outbound_response)> done) {
        if (!send) {
          outbound_response resp;
          resp.error = "no outbound HTTP client";
          return done(std::move(resp));
        }
        send(std::move(r), std::move(done));
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

void start_whatsapp(services& svc) {
  auto ctx = std::make_shared<whatsapp_context>();
  const auto& c = svc.cfg;
  ctx->db = svc.db;
  ctx->m = &svc.m;
  ctx->http = http_of(svc);
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
  // The AI (actors/whatsapp_ai.hpp): off without a key.
  s.openai_api_base = openai_api_base(c);
  if (!s.openai_api_base.empty())
    s.openai_api_key = c.openai_api_key;
  s.text_model = c.openai_text_model;
  s.ai_debounce = c.wa_ai_debounce;
  s.ai_timeout = c.wa_ai_timeout;
  // The lease outlasts every round and the send (whatsapp_ai.hpp).
  s.ai_lease = std::chrono::duration_cast<std::chrono::seconds>(
                 s.ai_timeout * (s.ai_max_rounds + 1) + s.queue_timeout
                 + s.provider_timeout)
               + std::chrono::seconds(10);
  // The manager builds conversations from ctx; ctx names its manager.
  svc.whatsapp_manager = spawn_whatsapp_manager(svc.sys, svc.whatsapp_stats,
                                                &svc.m, ctx);
  svc.whatsapp = std::move(ctx);
}

void start_wa_media_fetcher(services& svc) {
  const auto& c = svc.cfg;
  wa_media_options o;
  o.db = svc.jobs_db;
  o.m = &svc.m;
  o.http = http_of(svc);
  o.twilio_account_sid = c.twilio_account_sid;
  o.twilio_auth_token = c.twilio_auth_token;
  o.meta_api_base = c.meta_api_base;
  o.meta_token = c.meta_wa_token;
  // Voice notes go where the after-call transcription goes (app/app.cpp):
  // STT_API_BASE with STT_API_KEY, else OpenAI's base when a key is set.
  if (!c.stt_api_base.empty()) {
    o.stt_api_base = c.stt_api_base;
    o.stt_api_key = c.stt_api_key;
  } else {
    o.stt_api_key = c.stt_api_key.empty() ? c.openai_api_key : c.stt_api_key;
    o.stt_api_base = o.stt_api_key.empty() ? std::string{} : openai_api_base(c);
  }
  o.stt_model = c.stt_model;
  o.max_bytes = c.wa_media_max_bytes;
  o.poll = c.wa_media_poll;
  o.retry_base = c.wa_media_retry_base;
  supervise_blocking(svc.sys, svc.job_manager,
                     wa_media_fetcher_spec(std::move(o)));
}

void start_webhook_delivery(services& svc) {
  webhook_delivery_options o;
  o.db = svc.jobs_db;
  o.m = &svc.m;
  o.http = http_of(svc);
  o.poll = svc.cfg.webhook_poll;
  o.lease = svc.cfg.webhook_lease;
  o.retry_base = svc.cfg.webhook_retry_base;
  o.give_up = svc.cfg.webhook_give_up;
  child_spec spec;
  spec.key = "webhook_delivery";
  spec.spawn = [o](caf::actor_system& sys) {
    return caf::actor_cast<caf::actor>(spawn_webhook_delivery(sys, o));
  };
  supervise_blocking(svc.sys, svc.job_manager, std::move(spec));
}

} // namespace al
