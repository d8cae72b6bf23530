// The WhatsApp conversation actor, its one-shot requesters and the inbound
// notifier (their typed interfaces: actors/whatsapp_protocol.hpp).
//
//   conversation (one per business + number):
//
//              send (rate ok)                 queue not empty, idle
//   (start) -> queue a job ------------------> start the job's chain ---+
//     | load last auto-reply      ^                                     |
//     v                           +----------- wa_done <----------------+
//   loaded: inbound events decide the after-hours reply (queued as a job)
//   a queued job still waiting at its deadline -> answer timeout (504)
//   idle_timeout without a message and nothing queued -> quit (normal)
//   the manager went down -> quit (user_shutdown)
//   (rate limit, deadlines, idle and the auto-reply gap: actor clock)
//
//   requester (one per API send):
//
//   ask the manager for the conversation -> monitor it -> send the job
//     accepted  : the chain owns it now; wait for its result
//     down, not accepted: the job was never started -> submit again
//     result    : answer, quit;  deadline: answer 504, quit
//
//   notifier (one per inbound message): ask the manager for the
//   conversation, hand it the event, end.
//
// The chain (insert row -> provider -> record outcome -> answer) captures
// only the shared context, so it completes even if the conversation dies.

#include "actors/whatsapp_conversation.hpp"

#include "actors/leads.hpp"
#include "actors/log.hpp"
#include "actors/manager.hpp"
#include "actors/metrics.hpp"
#include "actors/type_ids.hpp"
#include "actors/whatsapp_ai.hpp"
#include "actors/whatsapp_protocol.hpp"
#include "actors/whatsapp_store.hpp"
#include "actors/whatsapp_templates.hpp"
#include "core/phone.hpp"
#include "core/rate_limit.hpp"
#include "core/whatsapp_wire.hpp"
#include "core/working_hours.hpp"

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <deque>
#include <optional>
#include <vector>

namespace al {

std::string to_string(wa_send_status s) {
  switch (s) {
    case wa_send_status::sent:
      return "sent";
    case wa_send_status::provider_failed:
      return "provider_failed";
    case wa_send_status::not_configured:
      return "not_configured";
    case wa_send_status::no_business:
      return "no_business";
    case wa_send_status::rate_limited:
      return "rate_limited";
    case wa_send_status::outside_window:
      return "outside_window";
    case wa_send_status::bad_template:
      return "bad_template";
    case wa_send_status::unavailable:
      return "unavailable";
    case wa_send_status::timeout:
      return "timeout";
    case wa_send_status::opted_out:
      return "opted_out";
  }
  return "?";
}

namespace {

/// Resubmissions after the conversation died before starting the job.
constexpr int max_submits = 20;
constexpr auto resubmit_delay = std::chrono::milliseconds(20);
/// How long the manager may take to hand out a conversation.
constexpr auto manager_timeout = std::chrono::seconds(5);

wa_send_result failed_result(wa_send_status st, std::string error) {
  wa_send_result r;
  r.status = st;
  r.error = std::move(error);
  return r;
}

// -- the send chain
// -------------------------------------------------------------

/// What the first (database) step of a send decided.
struct prepared_send {
  std::optional<wa_send_result> early; // answer without calling out
  std::string provider;
  std::int64_t business = 0;
  std::int64_t message_id = 0;
  std::string template_name; // "" = free-form
  outbound_request http;
};

/// Picks the provider and credentials, makes the recipient a lead, writes
/// the row (queued) and builds the provider request. Runs in a DB job.
void prepare_send(db_tx& tx, const whatsapp_context& ctx,
                  const wa_send_request& req, prepared_send& p) {
  const auto& s = ctx.settings;
  auto sender = load_wa_sender(tx, req.business_id);
  if (!sender) {
    p.early = failed_result(wa_send_status::no_business, "No such business");
    return;
  }
  p.business = sender->business_id;
  p.provider = !req.provider.empty()       ? req.provider
               : !sender->provider.empty() ? sender->provider
                                           : s.default_provider;
  auto to = whatsapp_address(req.to);
  std::string from;
  twilio_credentials creds;
  if (p.provider == "twilio") {
    creds = {sender->account_sid, sender->auth_token};
    if (creds.account_sid.empty() || creds.auth_token.empty())
      creds = {s.twilio_account_sid, s.twilio_auth_token};
    if (creds.account_sid.empty() || creds.auth_token.empty()) {
      p.early = failed_result(wa_send_status::not_configured,
                              "WhatsApp provider twilio is not configured");
      p.early->provider = p.provider;
      return;
    }
    auto own = normalize_phone(sender->from);
    from = own ? whatsapp_address(*own) : s.twilio_from;
  } else if (p.provider == "meta") {
    if (s.meta_token.empty() || s.meta_phone_id.empty()) {
      p.early = failed_result(wa_send_status::not_configured,
                              "WhatsApp provider meta is not configured");
      p.early->provider = p.provider;
      return;
    }
    auto own = normalize_phone(sender->from);
    from = own ? whatsapp_address(*own) : "meta:" + s.meta_phone_id;
  } else {
    p.early = failed_result(wa_send_status::not_configured,
                            "Unknown WhatsApp provider: " + p.provider);
    return;
  }
  // The 24-hour window (schemas/0021): a template goes out whenever; a
  // free-form text only to a number that wrote within the window, else the
  // caller's fallback template, else nothing (and no provider call).
  std::optional<wa_template> tmpl;
  wa_template_values values;
  if (!req.template_name.empty()) {
    tmpl = find_wa_template(tx, p.business, req.template_name);
    if (!tmpl) {
      p.early = failed_result(wa_send_status::bad_template,
                              "Unknown template: " + req.template_name);
      return;
    }
    auto args = wa_template_arguments(*tmpl, req.template_values);
    if (auto* err = std::get_if<std::string>(&args)) {
      p.early = failed_result(wa_send_status::bad_template, *err);
      return;
    }
    values = std::get<wa_template_values>(std::move(args));
    if (p.provider == "twilio" && tmpl->twilio_content_sid.empty()) {
      p.early = failed_result(wa_send_status::bad_template,
                              "Template " + tmpl->name
                                + " has no twilio_content_sid");
      return;
    }
  } else if (!req.auto_reply && !wa_window_open(tx, p.business, to)) {
    auto facts = req.fallback_facts;
    for (auto& [key, value] : facts)
      if (key == "name" && value.empty()) { // the lead's, when it has one
        value = wa_lead_name(tx, p.business, req.to);
        if (value.empty())
          value = "לקוח/ה";
      }
    if (!req.fallback_purpose.empty())
      for (auto& t : wa_templates_for(tx, p.business, req.fallback_purpose)) {
        if (p.provider == "twilio" && t.twilio_content_sid.empty())
          continue;
        if (auto v = wa_fill_template(t, facts)) {
          tmpl = t;
          values = std::move(*v);
          break;
        }
      }
    if (!tmpl) {
      p.early = failed_result(wa_send_status::outside_window,
                              std::string{wa_outside_window_error});
      return;
    }
  }
  // The do-not-contact list (actors/dnc.hpp): no follow-up to a number
  // that opted out, whatever the window.
  if (wa_follow_up_refused(tx, p.business, req.to, req.fallback_purpose,
                           tmpl ? tmpl->purpose : std::string{})) {
    p.early = failed_result(wa_send_status::opted_out, "The number opted out");
    return;
  }
  std::string body = req.body;
  if (tmpl) {
    body = render_wa_template(tmpl->body, values);
    p.template_name = tmpl->name;
  }
  if (p.provider == "twilio")
    p.http = tmpl
               ? twilio_template_request(s.twilio_api_base, creds, from, to,
                                         tmpl->twilio_content_sid, values,
                                         s.status_callback_url,
                                         s.provider_timeout)
               : twilio_send_request(s.twilio_api_base, creds, from, to, body,
                                     s.status_callback_url, s.provider_timeout);
  else
    p.http
      = tmpl ? meta_template_request(s.meta_api_base, s.meta_phone_id,
                                     s.meta_token, req.to, tmpl->meta_name,
                                     tmpl->language, values, s.provider_timeout)
             : meta_send_request(s.meta_api_base, s.meta_phone_id, s.meta_token,
                                 req.to, req.body, s.provider_timeout);
  // A picture or a document (media_url): the text is its caption.
  if (!tmpl && !req.media_url.empty())
    p.http = p.provider == "twilio"
               ? twilio_send_request(s.twilio_api_base, creds, from, to, body,
                                     s.status_callback_url, s.provider_timeout,
                                     req.media_url)
               : meta_media_send_request(s.meta_api_base, s.meta_phone_id,
                                         s.meta_token, req.to, req.media_url,
                                         body, s.provider_timeout);
  // The message row first, then the lead: the same lock order as an
  // inbound message (conversation row, then lead row), so two instances
  // writing one conversation wait for each other instead of deadlocking.
  p.message_id = insert_wa_outbound(tx, p.business, std::nullopt, p.provider,
                                    from, to, body, req.auto_reply);
  if (tmpl)
    set_wa_message_template(tx, p.business, p.message_id, tmpl->name);
  if (!tmpl && !req.media_url.empty())
    set_wa_message_media_url(tx, p.business, p.message_id, req.media_url);
  // Who wrote it; an agent's message also pauses the AI (whatsapp_ai.hpp).
  mark_wa_sent_by(tx, p.business, p.message_id, to, req.sent_by, req.agent);
  auto lead = upsert_lead_by_phone(tx, p.business, req.to, "whatsapp", "");
  set_wa_message_lead(tx, p.business, p.message_id, lead);
}

/// Records the provider's answer, then calls `done` (also when the
/// database is away: the update is then queued and retried).
void record_outcome(whatsapp_context_ptr ctx, std::shared_ptr<prepared_send> p,
                    wa_send_outcome out,
                    std::function<void(wa_send_result)> done) {
  wa_send_result r;
  r.provider = p->provider;
  r.message_id = p->message_id;
  r.sid = out.sid;
  r.error = out.error;
  r.error_code = out.error_code;
  r.template_name = p->template_name;
  r.status = out.ok ? wa_send_status::sent : wa_send_status::provider_failed;
  if (ctx->m)
    ctx->m->whatsapp(out.ok ? "sent" : "failed");
  if (!out.ok)
    log_safe(spdlog::level::warn, "whatsapp send {} via {} failed: {}",
             p->message_id, p->provider, out.error);
  auto job = [business = p->business, id = p->message_id, out](db_tx& tx) {
    finish_wa_outbound(tx, business, id, out);
  };
  ctx->db.run(job, [ctx, job, done, r](const db_error& err) mutable {
    if (!err.empty() && !ctx->db.write("whatsapp_outcome", job))
      log_safe(spdlog::level::err,
               "whatsapp message {} outcome lost: write queue full",
               r.message_id);
    done(std::move(r));
  });
}

/// The whole send; `done` runs exactly once, on a DB or outbound I/O thread.
void run_send(whatsapp_context_ptr ctx, wa_send_request req,
              std::function<void(wa_send_result)> done) {
  auto p = std::make_shared<prepared_send>();
  ctx->db.run([ctx, req, p](db_tx& tx) { prepare_send(tx, *ctx, req, *p); },
              [ctx, p, done](const db_error& err) {
                if (!err.empty())
                  return done(failed_result(wa_send_status::unavailable,
                                            err == "database unavailable"
                                              ? "Database unavailable"
                                              : "Database error"));
                if (p->early)
                  return done(*p->early);
                if (!ctx->http) {
                  wa_send_outcome none;
                  none.error = "no HTTP client";
                  return record_outcome(ctx, p, std::move(none), done);
                }
                ctx->http(std::move(p->http),
                          [ctx, p, done](outbound_response res) {
                            auto out = p->provider == "meta"
                                         ? parse_meta_send_response(res)
                                         : parse_twilio_send_response(res);
                            record_outcome(ctx, p, std::move(out), done);
                          });
              });
}

// -- the conversation actor
// -------------------------------------------------------

struct conversation_state {
  whatsapp_context_ptr ctx;
  std::int64_t business = 0;
  std::string number; // E.164
  std::deque<wa_send_job> queue;
  bool busy = false;   // a chain is running
  bool loaded = false; // last_auto_reply read back
  std::int64_t last_auto_reply = 0;
  std::vector<wa_inbound_event> early_inbound;
  std::optional<token_bucket> bucket;
  // The AI: inbound events waiting for the debounce and the claim, the
  // newest debounce (older ticks are stale), a claim or chain under way.
  std::vector<wa_inbound_event> ai_waiting;
  std::uint64_t ai_gen = 0;
  bool ai_running = false;
  // The wall clock at start and the actor clock then (see wall_now).
  std::chrono::system_clock::time_point wall_start;
  caf::actor_clock::time_point clock_start;
};

using conversation_actor
  = wa_conversation_actor::stateful_base<conversation_state>;

/// The wall clock as the actor clock moves it on from the start: in
/// production the same time, in a test the simulated one (the gap between
/// automatic replies and the working hours are then deterministic).
std::chrono::system_clock::time_point wall_now(conversation_actor* self) {
  auto& st = self->state;
  return st.wall_start
         + std::chrono::duration_cast<std::chrono::system_clock::duration>(
           self->clock().now() - st.clock_start);
}

void reply(conversation_actor* self, const wa_send_job& job, wa_send_result r) {
  if (job.reply_to)
    self->send(job.reply_to, result_atom_v, std::move(r));
}

/// A job for an automatic reply (after hours, opt-out confirmation).
wa_send_job auto_job(conversation_actor* self, std::string body) {
  auto& st = self->state;
  wa_send_job job;
  job.req.business_id = st.business;
  job.req.to = st.number;
  job.req.body = std::move(body);
  job.req.sent_by = "auto";
  job.deadline = self->clock().now() + st.ctx->settings.queue_timeout;
  return job;
}

wa_send_result waited_too_long() {
  return failed_result(wa_send_status::timeout,
                       "WhatsApp send waited too long for its turn");
}

/// Starts the next job when none is running.
void pump(conversation_actor* self) {
  auto& st = self->state;
  while (!st.busy && !st.queue.empty()) {
    auto job = std::move(st.queue.front());
    st.queue.pop_front();
    if (self->clock().now() > job.deadline) {
      reply(self, job, waited_too_long());
      continue;
    }
    if (job.reply_to)
      self->send(job.reply_to, wa_accept_atom_v);
    st.busy = true;
    auto me = caf::actor_cast<wa_conversation_actor>(self);
    run_send(st.ctx, std::move(job.req),
             [me, reply_to = job.reply_to](wa_send_result r) {
               if (reply_to)
                 caf::anon_send(reply_to, result_atom_v, std::move(r));
               caf::anon_send(me, wa_done_atom_v);
             });
  }
}

/// Queues `job` and starts it when it is its turn. A job that has to wait
/// is answered `timeout` once its deadline passed, even while the send
/// before it is still running.
void enqueue(conversation_actor* self, wa_send_job job) {
  auto& st = self->state;
  auto deadline = job.deadline;
  st.queue.push_back(std::move(job));
  pump(self);
  if (!st.queue.empty()) {
    auto wait = std::max(deadline - self->clock().now(),
                         caf::actor_clock::duration_type::zero());
    self->delayed_send(self, wait, timeout_atom_v);
  }
}

/// Answers `timeout` to the waiting jobs whose deadline passed.
void expire(conversation_actor* self) {
  auto& st = self->state;
  auto now = self->clock().now();
  std::deque<wa_send_job> keep;
  for (auto& job : st.queue)
    if (now >= job.deadline)
      reply(self, job, waited_too_long());
    else
      keep.push_back(std::move(job));
  st.queue = std::move(keep);
}

void decide_reply_now(conversation_actor* self, const wa_inbound_event& ev);

/// Decides the reply to an inbound message, then counts it as handled
/// (al_whatsapp_messages_total{result="inbound_handled"}): the observable
/// event a test waits for before it checks that no reply went out.
void decide_reply(conversation_actor* self, const wa_inbound_event& ev) {
  decide_reply_now(self, ev);
  if (self->state.ctx->m)
    self->state.ctx->m->whatsapp("inbound_handled");
}

/// The after-hours acknowledgement: outside working hours, at most once
/// per auto_reply_gap per conversation.
void decide_reply_now(conversation_actor* self, const wa_inbound_event& ev) {
  auto& st = self->state;
  auto now = wall_now(self);
  auto now_s
    = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch())
        .count();
  if (within_working_hours(ev.working_hours,
                           std::chrono::system_clock::to_time_t(now)))
    return;
  if (st.last_auto_reply != 0
      && now_s - st.last_auto_reply < st.ctx->settings.auto_reply_gap.count())
    return;
  st.last_auto_reply = now_s;
  auto job = auto_job(self, ev.after_hours_reply.empty()
                              ? std::string{default_after_hours_reply}
                              : ev.after_hours_reply);
  job.req.auto_reply = true;
  if (st.ctx->m)
    st.ctx->m->whatsapp("auto_reply_queued");
  enqueue(self, std::move(job));
}

// -- the AI (actors/whatsapp_ai.hpp)
// ---------------------------------------------------

bool ai_on(const conversation_state& st) {
  return !st.ctx->settings.openai_api_key.empty();
}

/// Counts an inbound message as handled without an after-hours decision
/// (see decide_reply).
void count_handled(conversation_actor* self) {
  if (self->state.ctx->m)
    self->state.ctx->m->whatsapp("inbound_handled");
}

/// (Re)starts the debounce: the claim runs once no message came for
/// ai_debounce.
void arm_ai(conversation_actor* self) {
  auto& st = self->state;
  self->delayed_send(self, st.ctx->settings.ai_debounce, ai_timer_atom_v,
                     ++st.ai_gen);
}

/// Claims the unanswered burst (one claim or chain at a time; the chain's
/// end claims again).
void claim_ai(conversation_actor* self) {
  auto& st = self->state;
  if (st.ai_running)
    return;
  st.ai_running = true;
  auto out = std::make_shared<wa_ai_claimed>();
  out->events = std::move(st.ai_waiting);
  st.ai_waiting.clear();
  auto me = caf::actor_cast<wa_conversation_actor>(self);
  st.ctx->db.run(
    [out, business = st.business, number = st.number, token = new_wa_ai_token(),
     lease = st.ctx->settings.ai_lease](db_tx& tx) {
      out->claim = claim_wa_ai(tx, business, number, token, lease);
    },
    [me, out](const db_error& err) {
      out->ok = err.empty();
      if (!out->ok)
        out->claim = wa_ai_claim{};
      caf::anon_send(me, std::move(*out));
    });
}

void on_claimed(conversation_actor* self, wa_ai_claimed& c) {
  auto& st = self->state;
  using outcome = wa_ai_claim::outcome;
  auto what = c.ok ? c.claim.what : outcome::not_for_ai;
  if (st.ctx->m && c.ok) // ai_claim_{none,busy,not_for_ai,claimed}
    st.ctx->m->whatsapp(what == outcome::none      ? "ai_claim_none"
                        : what == outcome::busy    ? "ai_claim_busy"
                        : what == outcome::claimed ? "ai_claim_claimed"
                                                   : "ai_claim_not_for_ai");
  if (!c.ok)
    log_safe(spdlog::level::warn,
             "whatsapp ai: business {}: claim failed (database); after-hours"
             " reply only",
             st.business);
  if (what == outcome::claimed) {
    for (std::size_t i = 0; i < c.events.size(); ++i)
      count_handled(self);
    auto me = caf::actor_cast<wa_conversation_actor>(self);
    run_wa_ai(self->system(),
              caf::actor_cast<whatsapp_manager_actor>(st.ctx->manager), st.ctx,
              st.business, st.number, std::move(c.claim),
              [me] { caf::anon_send(me, wa_ai_done_atom_v); });
    return; // ai_running until ai_done
  }
  st.ai_running = false;
  if (what == outcome::not_for_ai) {
    // Off, paused by an agent, or the database failed: as without the AI.
    for (auto& ev : c.events)
      decide_reply(self, ev);
  } else {
    for (std::size_t i = 0; i < c.events.size(); ++i)
      count_handled(self);
  }
  if (what == outcome::busy) // look again once that lease has ended
    self->delayed_send(self, st.ctx->settings.ai_lease, ai_timer_atom_v,
                       st.ai_gen);
  else if (!st.ai_waiting.empty())
    arm_ai(self);
}

/// The opt-out word (SPEC §7): one confirmation when the number was not on
/// the list yet; no AI and no after-hours reply to it, nor to the burst it
/// ends.
void opted_out(conversation_actor* self, const wa_inbound_event& ev) {
  auto& st = self->state;
  if (ai_on(st)) {
    ++st.ai_gen; // a pending debounce no longer answers
    for (std::size_t i = 0; i < st.ai_waiting.size(); ++i)
      count_handled(self);
    st.ai_waiting.clear();
    st.ctx->db.write("whatsapp_ai_skip",
                     [business = st.business, number = st.number](db_tx& tx) {
                       skip_wa_ai(tx, business, number);
                     });
  }
  if (ev.opted_out == wa_inbound_event::opt_out::newly)
    enqueue(self,
            auto_job(self, "הוסרת מרשימת הפניות שלנו. לא נפנה אליך יותר."));
  count_handled(self);
}

void on_inbound(conversation_actor* self, wa_inbound_event ev) {
  auto& st = self->state;
  if (ev.opted_out != wa_inbound_event::opt_out::none)
    return opted_out(self, ev);
  if (!ai_on(st))
    return decide_reply(self, ev);
  st.ai_waiting.push_back(std::move(ev));
  arm_ai(self);
}

wa_conversation_actor::behavior_type
conversation(conversation_actor* self, whatsapp_context_ptr ctx,
             caf::actor_addr manager, std::int64_t business,
             std::string number) {
  auto& st = self->state;
  st.ctx = ctx;
  st.business = business;
  st.number = number;
  st.wall_start = std::chrono::system_clock::now();
  st.clock_start = self->clock().now();
  auto per_min = std::max(1, ctx->settings.rate_per_minute);
  st.bucket.emplace(per_min, std::chrono::minutes(1));
  // Ends with its manager (a shutdown), never outlives it.
  if (auto mgr = caf::actor_cast<whatsapp_manager_actor>(manager))
    self->monitor(mgr);
  self->set_down_handler([self, manager](caf::down_msg& dm) {
    if (dm.source == manager)
      self->quit(caf::exit_reason::user_shutdown);
  });
  // Revive from the database: when did this number last get an auto-reply?
  auto me = caf::actor_cast<wa_conversation_actor>(self);
  auto last = std::make_shared<std::int64_t>(0);
  auto started = std::chrono::duration_cast<std::chrono::seconds>(
                   st.wall_start.time_since_epoch())
                   .count();
  ctx->db.run([last, business, to = whatsapp_address(number)](
                db_tx& tx) { *last = last_wa_auto_reply(tx, business, to); },
              [me, last, started](const db_error& err) {
                // Unreadable: assume one was just sent (no duplicate
                // acknowledgement).
                caf::anon_send(me, wa_loaded_atom_v,
                               err.empty() ? *last : started);
              });
  return {
    [self](send_atom, wa_send_job& job) {
      auto& st = self->state;
      if (!st.bucket->try_take(self->clock().now())) {
        auto r = failed_result(wa_send_status::rate_limited,
                               "Too many messages to this number; retry later");
        return reply(self, job, std::move(r));
      }
      enqueue(self, std::move(job));
    },
    [self](wa_done_atom) {
      self->state.busy = false;
      pump(self);
    },
    [self](timeout_atom) { expire(self); },
    [self](inbound_atom, wa_inbound_event& ev) {
      auto& st = self->state;
      if (!st.loaded)
        return st.early_inbound.push_back(std::move(ev));
      on_inbound(self, std::move(ev));
    },
    [self](ai_timer_atom, std::uint64_t gen) {
      if (gen == self->state.ai_gen)
        claim_ai(self);
    },
    [self](wa_ai_claimed& c) { on_claimed(self, c); },
    [self](wa_ai_done_atom) {
      // Whatever arrived meanwhile (here or on another instance).
      self->state.ai_running = false;
      claim_ai(self);
    },
    [self](wa_loaded_atom, std::int64_t last_auto_reply) {
      auto& st = self->state;
      st.loaded = true;
      st.last_auto_reply = std::max(st.last_auto_reply, last_auto_reply);
      auto early = std::move(st.early_inbound);
      st.early_inbound.clear();
      for (auto& ev : early)
        on_inbound(self, std::move(ev));
      // (Re)started: a burst a dead incarnation or instance left unanswered
      // is claimed after the usual quiet time.
      if (early.empty() && ai_on(st))
        arm_ai(self);
    },
    caf::after(ctx->settings.idle_timeout) >>
      [self] {
        auto& st = self->state;
        if (!st.busy && st.queue.empty())
          self->quit();
      },
  };
}

// -- the requester
// ------------------------------------------------------------------

struct requester_state {
  whatsapp_context_ptr ctx;
  whatsapp_manager_actor manager;
  wa_send_request req;
  std::function<void(wa_send_result)> done;
  caf::actor_clock::time_point deadline; // the job must start by then
  wa_conversation_actor conv;
  bool accepted = false;
  int submits = 0;
};

using requester_actor = wa_requester_actor::stateful_base<requester_state>;

void finish(requester_actor* self, wa_send_result r) {
  auto& st = self->state;
  if (st.done) {
    auto done = std::move(st.done);
    st.done = nullptr;
    try {
      done(std::move(r));
    } catch (...) {
    }
  }
  self->quit();
}

void submit(requester_actor* self) {
  auto& st = self->state;
  if (++st.submits > max_submits)
    return finish(self, failed_result(wa_send_status::unavailable,
                                      "WhatsApp conversation unavailable"));
  self
    ->request(st.manager, manager_timeout, spawn_atom_v,
              wa_conversation_ref{st.req.business_id, st.req.to})
    .then(
      [self](caf::actor& child) {
        auto& st = self->state;
        auto conv = caf::actor_cast<wa_conversation_actor>(child);
        if (!conv)
          return finish(self, failed_result(wa_send_status::unavailable,
                                            "WhatsApp conversation"
                                            " unavailable"));
        st.conv = conv;
        self->monitor(conv);
        wa_send_job job{st.req, caf::actor_cast<wa_requester_actor>(self),
                        st.deadline};
        self->send(conv, send_atom_v, std::move(job));
      },
      [self](caf::error&) {
        finish(self, failed_result(wa_send_status::unavailable,
                                   "WhatsApp manager unavailable"));
      });
}

wa_requester_actor::behavior_type
requester(requester_actor* self, whatsapp_context_ptr ctx,
          whatsapp_manager_actor manager, wa_send_request req,
          std::function<void(wa_send_result)> done) {
  auto& st = self->state;
  st.ctx = ctx;
  st.manager = std::move(manager);
  st.req = std::move(req);
  st.done = std::move(done);
  const auto& s = ctx->settings;
  st.deadline = self->clock().now() + s.queue_timeout;
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (!st.conv || dm.source != st.conv.address() || st.accepted)
      return; // accepted: the chain answers even without the actor
    st.conv = wa_conversation_actor{};
    self->delayed_send(self, resubmit_delay, wa_submit_atom_v);
  });
  submit(self);
  // Past this, something is badly stuck: answer rather than hang.
  self->delayed_send(
    self, s.queue_timeout + s.provider_timeout + std::chrono::seconds(10),
    timeout_atom_v);
  return {
    [self](wa_accept_atom) { self->state.accepted = true; },
    [self](result_atom, wa_send_result& r) { finish(self, std::move(r)); },
    [self](wa_submit_atom) { submit(self); },
    [self](timeout_atom) {
      finish(self,
             failed_result(wa_send_status::timeout, "WhatsApp send timed out"));
    },
  };
}

// -- the notifier
// -------------------------------------------------------------------

/// Given the event, asks the manager for the conversation, hands it the
/// event, and ends.
wa_notifier_actor::behavior_type notifier(wa_notifier_actor::pointer self,
                                          whatsapp_manager_actor manager,
                                          wa_conversation_ref ref) {
  return {
    [self, manager, ref](inbound_atom, wa_inbound_event& ev) {
      self->request(manager, manager_timeout, spawn_atom_v, ref)
        .then(
          [self, ev](caf::actor& child) {
            if (auto conv = caf::actor_cast<wa_conversation_actor>(child))
              self->send(conv, inbound_atom_v, ev);
            self->quit();
          },
          [self](caf::error&) {
            log_safe(spdlog::level::warn,
                     "whatsapp: no conversation for an inbound message");
            self->quit();
          });
    },
  };
}

} // namespace

std::string whatsapp_conversation_key(std::int64_t business,
                                      std::string_view e164) {
  return "wa:" + std::to_string(business) + ":" + std::string{e164};
}

child_spec whatsapp_conversation_spec(whatsapp_context_ptr ctx,
                                      std::int64_t business, std::string e164) {
  child_spec spec;
  spec.key = whatsapp_conversation_key(business, e164);
  spec.spawn = [ctx, business, e164](caf::actor_system& sys) {
    return caf::actor_cast<caf::actor>(
      sys.spawn(conversation, ctx, ctx->manager, business, e164));
  };
  return spec;
}

whatsapp_manager_actor
spawn_whatsapp_manager(caf::actor_system& sys, supervision_stats& stats,
                       metrics* m, std::shared_ptr<whatsapp_context> ctx,
                       supervisor_options opts) {
  auto manager = spawn_manager<wa_conversation_ref>(
    sys, stats, m,
    [ctx](wa_conversation_ref& r) {
      return whatsapp_conversation_spec(ctx, r.business_id, r.e164);
    },
    opts);
  // Before anyone can ask it for a conversation (the recipe reads it then).
  ctx->manager = manager.address();
  return manager;
}

void whatsapp_send(caf::actor_system& sys,
                   const whatsapp_manager_actor& manager,
                   whatsapp_context_ptr ctx, wa_send_request req,
                   std::function<void(wa_send_result)> done) {
  if (!manager || !ctx) {
    if (done)
      done(
        failed_result(wa_send_status::unavailable, "WhatsApp is not running"));
    return;
  }
  sys.spawn(requester, std::move(ctx), manager, std::move(req),
            std::move(done));
}

void whatsapp_notify_inbound(caf::actor_system& sys,
                             const whatsapp_manager_actor& manager,
                             whatsapp_context_ptr ctx, std::int64_t business,
                             std::string e164, wa_inbound_event ev) {
  if (!manager || !ctx)
    return;
  auto n = sys.spawn(notifier, manager,
                     wa_conversation_ref{business, std::move(e164)});
  caf::anon_send(n, inbound_atom_v, std::move(ev));
}

} // namespace al
