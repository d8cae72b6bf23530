// Twilio webhooks of follow-up calls (SPEC §7 "Follow-up calls"), each for
// one campaign_leads row named by ?cl=ID and signed with the account of the
// business that owns the row:
//   /webhook/outbound_call    the callee answered: the same Connect/Stream
//                             TwiML as an inbound call, on a call actor
//                             that knows the campaign and the lead;
//   /webhook/amd_status       the asynchronous AMD verdict: a machine gets
//                             the campaign's voicemail (a <Say> or a
//                             hang-up through the Calls API);
//   /webhook/outbound_status  the call's progress: the row's outcome.
#include "transport/handlers/handlers.hpp"

#include "actors/call.hpp"
#include "actors/call_rows.hpp"
#include "actors/dnc.hpp"
#include "actors/log.hpp"
#include "actors/outbound_call.hpp"
#include "actors/type_ids.hpp"
#include "actors/voice_cache.hpp"
#include "core/form.hpp"
#include "core/twilio_calls_wire.hpp"
#include "core/twiml.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/twilio_shared.hpp"
#include "transport/https_client.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <caf/send.hpp>

#include <spdlog/spdlog.h>

namespace al {

namespace {

/// ?cl=ID: the campaign_leads row, a positive decimal of at most 18 digits.
std::optional<std::int64_t> row_of(const request& req) {
  auto q = parse_form(req.query);
  if (!q)
    return std::nullopt;
  auto v = q->value_or("cl");
  if (v.empty() || v.size() > 18)
    return std::nullopt;
  std::int64_t id = 0;
  for (char c : v) {
    if (c < '0' || c > '9')
      return std::nullopt;
    id = id * 10 + (c - '0');
  }
  if (id <= 0)
    return std::nullopt;
  return id;
}

void count(prometheus::Family<prometheus::Counter>& f, const char* label,
           std::string_view value) {
  if (value.empty())
    return;
  try {
    f.Add({{label, std::string{value}}}).Increment();
  } catch (...) {
  }
}

/// What a signed follow-up webhook found.
struct found {
  bool forbidden = false;
  std::optional<outbound_target> target;
};

/// Parses the form and ?cl, loads the row, verifies the signature with its
/// business's account (the global one for an unknown row), then runs
/// `then(tx, form, target)` in the same transaction; `done` gets what was
/// found after the commit. Answers 400/403/503 itself.
void signed_outbound_webhook(
  services& svc, request_ptr req, responder res,
  std::function<void(db_tx&, const form_params&, const outbound_target&)>
    then,
  std::function<void(const form_params&, const found&)> done) {
  auto form = parse_form(req->body());
  if (!form || !text_form(*form))
    return res(
      error_response(http::status::bad_request, "Malformed form body"));
  // Every URL we give Twilio names its row: one without a (valid) ?cl= is
  // not ours, whatever its signature (a replay to another target, too).
  auto row = row_of(*req);
  if (!row)
    return res(
      error_response(http::status::forbidden, "Invalid signature"));
  auto f = std::make_shared<found>();
  svc.db.run(
    [&svc, req, form = *form, row, f, then](db_tx& tx) {
      auto t = load_outbound_target(tx, *row);
      if (!twilio_signed(svc, *req, form,
                         t ? t->twilio : call_twilio_account{})) {
        f->forbidden = true;
        return;
      }
      if (t)
        then(tx, form, *t);
      f->target = std::move(t);
    },
    [res, form = *form, f, done](const db_error& err) {
      if (!err.empty())
        return res(db_error_response(err));
      if (f->forbidden)
        return res(
          error_response(http::status::forbidden, "Invalid signature"));
      done(form, *f);
    });
}

/// The Calls API update of a live call that reached a voicemail box: the
/// campaign's message then a hang-up, or just the hang-up.
void answer_machine(services& svc, const outbound_target& t,
                    const std::string& call_sid, amd_action action) {
  auto acct = twilio_account_for(svc, t.twilio);
  if (acct.account_sid.empty() || acct.auth_token.empty()) {
    log_safe(spdlog::level::err,
             "follow-up call {}: no Twilio account to leave voicemail",
             call_sid);
    return;
  }
  twilio_credentials creds{acct.account_sid, acct.auth_token};
  auto timeout = std::chrono::seconds(10);
  auto req = action == amd_action::leave_message
               ? twilio_call_twiml_request(
                   svc.cfg.twilio_api_base, creds, call_sid,
                   say_hangup_twiml(t.voicemail_text, svc.cfg.say_voice),
                   timeout)
               : twilio_call_hangup_request(svc.cfg.twilio_api_base, creds,
                                            call_sid, timeout);
  svc.http->send(std::move(req), [call_sid](outbound_response r) {
    if (!r.ok())
      log_safe(spdlog::level::warn,
               "follow-up call {}: voicemail update failed: {} {}", call_sid,
               r.status, r.error);
  });
}

void dial_finished(services& svc, std::int64_t campaign) {
  auto env = svc.outbound;
  if (!env || !env->on_dial_finished)
    return;
  try {
    env->on_dial_finished(campaign);
  } catch (...) {
  }
}

/// The call actor of an answered follow-up call, with its opening line,
/// prompt and lead; then the same TwiML as an inbound call.
struct answer_plan {
  std::string outcome;      // "answered" when the row moved
  bool hang_up = false;     // opted out meanwhile, or not the current call
  bool own_account = false;
  bool record_calls = true;
  voice_pack_ptr base_voice;
};

void outbound_call(services& svc, request_ptr req, responder res) {
  auto plan = std::make_shared<answer_plan>();
  signed_outbound_webhook(
    svc, req, res,
    [&svc, plan](db_tx& tx, const form_params& form,
                 const outbound_target& t) {
      auto sid = form.value_or("CallSid");
      if (sid.empty() || sid.size() > 64) {
        plan->hang_up = true;
        return;
      }
      // The number may have opted out (WhatsApp, an agent) since the dial.
      if (t.outcome == "opted_out" || dnc_contains(tx, t.business_id, t.phone)) {
        plan->hang_up = true;
        return;
      }
      plan->outcome = mark_outbound_answered(tx, t, sid);
      auto b = find_business_by_id(tx, t.business_id);
      if (b) {
        plan->record_calls = b->record_calls;
        if (!b->twilio.account_sid.empty() && !b->twilio.auth_token.empty()) {
          plan->own_account = true;
          svc.tenant_tokens.put(b->id, b->twilio.auth_token);
        }
      }
      if (svc.calls && svc.calls->load_voice)
        plan->base_voice = svc.calls->load_voice(tx, t.business_id);
    },
    [&svc, res, plan](const form_params& form, const found& f) {
      if (!f.target || plan->hang_up)
        return res(xml_response(hangup_twiml()));
      auto& t = *f.target;
      auto sid = form.value_or("CallSid");
      if (!plan->outcome.empty())
        count(svc.m.followup_outcomes, "outcome", plan->outcome);
      // The business's pack with the opening line as its greeting (a copy:
      // the cached pack stays the inbound greeting).
      auto base = plan->base_voice ? plan->base_voice
                                   : svc.voices->get(t.business_id, "");
      auto pack = std::make_shared<voice_pack>(*base);
      pack->greeting_text = outbound_opening(t);
      pack->greeting = svc.voices->say(pack->greeting_text);
      pack->source = greeting_source::espeak;
      auto cp = std::make_shared<call_checkpoint>();
      cp->info = call_info{sid, t.business_id, t.phone, t.business_number,
                           pack};
      cp->info.record_calls = plan->record_calls;
      cp->info.campaign_lead_id = t.id;
      cp->info.lead_id = t.lead_id;
      cp->info.outbound_prompt = outbound_prompt(t);
      cp->info.outbound_facts = t.lead_facts;
      cp->loaded = true;
      caf::anon_send(svc.call_manager, spawn_atom_v,
                     make_call_spec(cp, svc.calls));
      res(xml_response(
        call_stream_twiml(svc, sid, t.business_id, plan->own_account)));
    });
}

/// A signed request whose form lacks what its route needs: the signature
/// is checked first (an unsigned caller learns nothing of the form), then
/// the 400 with `error`.
void refuse_form(services& svc, request_ptr req, responder res,
                 std::string error) {
  signed_outbound_webhook(
    svc, std::move(req), res,
    [](db_tx&, const form_params&, const outbound_target&) {},
    [res, error = std::move(error)](const form_params&, const found&) {
      res(error_response(http::status::bad_request, error));
    });
}

void amd_status(services& svc, request_ptr req, responder res) {
  auto parsed = parse_form(req->body());
  if (!parsed)
    return res(
      error_response(http::status::bad_request, "Malformed form body"));
  auto ev = parse_amd_event(*parsed);
  if (auto* e = std::get_if<std::string>(&ev))
    return refuse_form(svc, std::move(req), std::move(res), *e);
  auto event = std::get<amd_event>(ev);
  auto decision = std::make_shared<amd_decision>();
  bool uncertain_is_human = svc.cfg.amd_unknown_as != "machine";
  signed_outbound_webhook(
    svc, req, res,
    [event, decision, uncertain_is_human](db_tx& tx, const form_params&,
                                          const outbound_target& t) {
      *decision = apply_amd(tx, t, event, uncertain_is_human);
    },
    [&svc, res, event, decision](const form_params&, const found& f) {
      // Twilio gets its answer at once; the call update follows.
      res(empty_response(http::status::no_content));
      count(svc.m.amd_detections, "answered_by", to_string(event.by));
      if (!f.target)
        return;
      count(svc.m.followup_outcomes, "outcome", decision->outcome);
      if (decision->action != amd_action::none)
        answer_machine(svc, *f.target, event.call_sid, decision->action);
      if (decision->outcome == "voicemail")
        dial_finished(svc, f.target->campaign_id);
    });
}

void outbound_status(services& svc, request_ptr req, responder res) {
  auto parsed = parse_form(req->body());
  if (!parsed)
    return res(
      error_response(http::status::bad_request, "Malformed form body"));
  auto ev = parse_call_status_event(*parsed);
  if (auto* e = std::get_if<std::string>(&ev))
    return refuse_form(svc, std::move(req), std::move(res), *e);
  auto event = std::get<call_status_event>(ev);
  auto decision = std::make_shared<status_decision>();
  signed_outbound_webhook(
    svc, req, res,
    [event, decision](db_tx& tx, const form_params&,
                      const outbound_target& t) {
      *decision = apply_outbound_status(tx, t, event);
    },
    [&svc, res, decision](const form_params&, const found& f) {
      res(empty_response(http::status::no_content));
      if (!f.target)
        return;
      count(svc.m.followup_outcomes, "outcome", decision->outcome);
      if (decision->slot_freed)
        dial_finished(svc, f.target->campaign_id);
    });
}

} // namespace

std::shared_ptr<outbound_env> make_outbound_env(services& svc) {
  auto env = std::make_shared<outbound_env>();
  env->db = svc.db;
  env->http = [&svc](outbound_request req,
                     std::function<void(outbound_response)> done) {
    svc.http->send(std::move(req), std::move(done));
  };
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

void add_twilio_outbound_routes(router& r, services& svc) {
  r.add(http::verb::post, "/webhook/outbound_call",
        [&svc](request_ptr req, responder res) {
          outbound_call(svc, std::move(req), std::move(res));
        });
  r.add(http::verb::post, "/webhook/amd_status",
        [&svc](request_ptr req, responder res) {
          amd_status(svc, std::move(req), std::move(res));
        });
  r.add(http::verb::post, "/webhook/outbound_status",
        [&svc](request_ptr req, responder res) {
          outbound_status(svc, std::move(req), std::move(res));
        });
}

} // namespace al
