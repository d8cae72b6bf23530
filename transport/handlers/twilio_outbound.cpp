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
//
// Handlers parse and render; the use cases are in domain/followup.hpp.
#include "transport/handlers/handlers.hpp"

#include "actors/call.hpp"
#include "actors/log.hpp"
#include "actors/outbound_call.hpp"
#include "actors/type_ids.hpp"
#include "core/form.hpp"
#include "core/twilio_calls_wire.hpp"
#include "core/twiml.hpp"
#include "domain/followup.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
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

namespace followup = domain::followup;

/// A follow-up webhook's form, row and signature check.
struct signed_row {
  std::shared_ptr<const form_params> form;
  std::int64_t row = 0;
  followup::signed_by check;
};

/// Parses the form and ?cl (nullopt after answering 400/403); the check
/// verifies the signature with the account of the row's business, which
/// the use case loads.
std::optional<signed_row> signed_row_of(services& svc, const request_ptr& req,
                                        const responder& res) {
  auto form = parse_form(req->body());
  if (!form || !text_form(*form)) {
    res(error_response(http::status::bad_request, "Malformed form body"));
    return std::nullopt;
  }
  // Every URL we give Twilio names its row: one without a (valid) ?cl= is
  // not ours, whatever its signature (a replay to another target, too).
  auto row = row_of(*req);
  if (!row) {
    res(error_response(http::status::forbidden, "Invalid signature"));
    return std::nullopt;
  }
  auto f = std::make_shared<const form_params>(std::move(*form));
  return signed_row{f, *row, [&svc, req, f](const call_twilio_account& own) {
                      return twilio_signed(svc, *req, *f, own);
                    }};
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
                 say_hangup_twiml(t.voicemail_text, svc.cfg.say_voice), timeout)
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
void outbound_call(services& svc, request_ptr req, responder res) {
  auto s = signed_row_of(svc, req, res);
  if (!s)
    return;
  followup::answer(
    svc.db, *svc.voices, svc.calls, s->row, s->form->value_or("CallSid"),
    std::move(s->check),
    on_session(req, [&svc, res](followup::answer_result r) {
      if (!r.status.ok())
        return res(error_response(r.status));
      if (r.hang_up)
        return res(xml_response(hangup_twiml()));
      bool own_account = !r.own_token.empty();
      if (own_account)
        svc.tenant_tokens.put(r.call.business_id, std::move(r.own_token));
      if (!r.outcome.empty())
        count(svc.m.followup_outcomes, "outcome", r.outcome);
      auto sid = r.call.call_sid;
      auto business = r.call.business_id;
      auto cp = std::make_shared<call_checkpoint>();
      cp->info = std::move(r.call);
      cp->loaded = true;
      caf::anon_send(svc.call_manager, spawn_atom_v, std::move(cp));
      res(xml_response(call_stream_twiml(svc, sid, business, own_account)));
    }));
}

/// A signed request whose form lacks what its route needs: the signature
/// is checked first (an unsigned caller learns nothing of the form), then
/// the 400 with `error`.
void refuse_form(services& svc, request_ptr req, responder res,
                 std::string error) {
  auto s = signed_row_of(svc, req, res);
  if (!s)
    return;
  followup::verify(
    svc.db, s->row, std::move(s->check),
    on_session(req, [res, error = std::move(error)](followup::row_result r) {
      if (!r.status.ok())
        return res(error_response(r.status));
      res(error_response(http::status::bad_request, error));
    }));
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
  auto s = signed_row_of(svc, req, res);
  if (!s)
    return;
  bool uncertain_is_human = svc.cfg.amd_unknown_as != "machine";
  followup::amd(
    svc.db, s->row, event, uncertain_is_human, std::move(s->check),
    on_session(req, [&svc, res, event](followup::amd_result r) {
      if (!r.status.ok())
        return res(error_response(r.status));
      // Twilio gets its answer at once; the call update follows.
      res(empty_response(http::status::no_content));
      count(svc.m.amd_detections, "answered_by", to_string(event.by));
      if (!r.target)
        return;
      count(svc.m.followup_outcomes, "outcome", r.decision.outcome);
      if (r.decision.action != amd_action::none)
        answer_machine(svc, *r.target, event.call_sid, r.decision.action);
      if (r.decision.outcome == "voicemail")
        dial_finished(svc, r.target->campaign_id);
    }));
}

void outbound_status(services& svc, request_ptr req, responder res) {
  auto parsed = parse_form(req->body());
  if (!parsed)
    return res(
      error_response(http::status::bad_request, "Malformed form body"));
  auto ev = parse_call_status_event(*parsed);
  if (auto* e = std::get_if<std::string>(&ev))
    return refuse_form(svc, std::move(req), std::move(res), *e);
  auto s = signed_row_of(svc, req, res);
  if (!s)
    return;
  followup::progress(svc.db, s->row, std::get<call_status_event>(std::move(ev)),
                     std::move(s->check),
                     on_session(req, [&svc, res](followup::progress_result r) {
                       if (!r.status.ok())
                         return res(error_response(r.status));
                       res(empty_response(http::status::no_content));
                       if (!r.target)
                         return;
                       count(svc.m.followup_outcomes, "outcome",
                             r.decision.outcome);
                       if (r.decision.slot_freed)
                         dial_finished(svc, r.target->campaign_id);
                     }));
}

} // namespace

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
