#include "domain/followup.hpp"

#include "actors/call_rows.hpp"
#include "actors/dnc.hpp"

#include <utility>

namespace al::domain::followup {

namespace {

/// Loads the row, checks the signature with its business's account (the
/// global one for an unknown row), then, for a known row, runs `then` in
/// the same transaction. `Result` has `status` and `target`.
template <class Result>
void signed_row_job(
  const store& db, std::int64_t row, signed_by check,
  std::function<void(db_tx&, const outbound_target&, Result&)> then,
  std::function<void(Result)> done) {
  auto out = std::make_shared<Result>();
  db.run(
    [row, check = std::move(check), then = std::move(then), out](db_tx& tx) {
      auto t = load_outbound_target(tx, row);
      if (!check(t ? t->twilio : call_twilio_account{})) {
        out->status = {domain_code::forbidden, "Invalid signature"};
        return;
      }
      if (t)
        then(tx, *t, *out);
      out->target = std::move(t);
    },
    [out, done = std::move(done)](const db_error& err) {
      if (!err.empty()) {
        Result failed;
        failed.status = from_db_error(err);
        return done(std::move(failed));
      }
      done(std::move(*out));
    });
}

/// answer()'s row and, until the call is put together, what the job found
/// of its business.
struct answering : answer_result {
  std::optional<outbound_target> target;
  bool record_calls = true;
  voice_pack_ptr base_voice;
};

} // namespace

void verify(const store& db, std::int64_t row, signed_by check,
            std::function<void(row_result)> done) {
  signed_row_job<row_result>(
    db, row, std::move(check),
    [](db_tx&, const outbound_target&, row_result&) {}, std::move(done));
}

void answer(const store& db, voice_cache& voices,
            std::shared_ptr<const call_env> env, std::int64_t row,
            std::string call_sid, signed_by check,
            std::function<void(answer_result)> done) {
  signed_row_job<answering>(
    db, row, std::move(check),
    [env = std::move(env), sid = std::move(call_sid)](
      db_tx& tx, const outbound_target& t, answering& plan) {
      if (sid.empty() || sid.size() > 64) {
        plan.hang_up = true;
        return;
      }
      // The number may have opted out (WhatsApp, an agent) since the dial.
      if (t.outcome == "opted_out"
          || dnc_contains(tx, t.business_id, t.phone)) {
        plan.hang_up = true;
        return;
      }
      plan.call.call_sid = sid;
      plan.outcome = mark_outbound_answered(tx, t, sid);
      if (auto b = find_business_by_id(tx, t.business_id)) {
        plan.record_calls = b->record_calls;
        if (calls::has_own_account(b->twilio))
          plan.own_token = std::move(b->twilio.auth_token);
      }
      if (env && env->load_voice)
        plan.base_voice = env->load_voice(tx, t.business_id);
    },
    [&voices, done = std::move(done)](answering plan) {
      if (!plan.status.ok() || !plan.target || plan.hang_up) {
        plan.hang_up = plan.hang_up || !plan.target;
        return done(std::move(static_cast<answer_result&>(plan)));
      }
      auto& t = *plan.target;
      auto base = plan.base_voice ? plan.base_voice
                                  : voices.get(t.business_id, "");
      auto pack = std::make_shared<voice_pack>(*base);
      pack->greeting_text = outbound_opening(t);
      pack->greeting = voices.say(pack->greeting_text);
      pack->source = greeting_source::espeak;
      auto& info = plan.call; // its call_sid set by the job
      info.business_id = t.business_id;
      info.from = t.phone;
      info.to = t.business_number;
      info.voice = std::move(pack);
      info.record_calls = plan.record_calls;
      info.campaign_lead_id = t.id;
      info.lead_id = t.lead_id;
      info.outbound_prompt = outbound_prompt(t);
      info.outbound_facts = t.lead_facts;
      done(std::move(static_cast<answer_result&>(plan)));
    });
}

void amd(const store& db, std::int64_t row, amd_event event,
         bool uncertain_is_human, signed_by check,
         std::function<void(amd_result)> done) {
  signed_row_job<amd_result>(
    db, row, std::move(check),
    [event = std::move(event),
     uncertain_is_human](db_tx& tx, const outbound_target& t, amd_result& out) {
      out.decision = apply_amd(tx, t, event, uncertain_is_human);
    },
    std::move(done));
}

void progress(const store& db, std::int64_t row, call_status_event event,
              signed_by check, std::function<void(progress_result)> done) {
  signed_row_job<progress_result>(
    db, row, std::move(check),
    [event = std::move(event)](db_tx& tx, const outbound_target& t,
                               progress_result& out) {
      out.decision = apply_outbound_status(tx, t, event);
    },
    std::move(done));
}

} // namespace al::domain::followup
