// The WhatsApp AI: the claim protocol's SQL (see the header), takeover and
// release, and the chain that answers one claimed burst:
//
//   completion --tool_calls--> run each tool --> completion ... (<= rounds)
//       | text                                     (last round: text only)
//       v
//   renew the lease --held--> whatsapp_send (sent_by ai) --> finish_wa_ai
//       | lost: send nothing                   | refused: needs_agent
//
// Any failure on the way ends in finish_wa_ai(needs_agent = true): the
// inbound messages are already stored, an agent sees the flag.

#include "actors/whatsapp_ai.hpp"

#include "actors/call_tools.hpp"
#include "actors/leads.hpp"
#include "actors/listings.hpp"
#include "actors/log.hpp"
#include "actors/metrics.hpp"
#include "actors/sql.hpp"
#include "core/crypto.hpp"
#include "core/israel_time.hpp"
#include "core/phone.hpp"
#include "core/whatsapp_wire.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <memory>

namespace al {

namespace {

namespace json = boost::json;

// -- SQL, next to its use
// ------------------------------------------------------

// The conversation row (locked), the business switch and the newest inbound
// message (through the messages_conversation_seq index, backwards).
constexpr sql_statement select_claim_state{
  "SELECT b.whatsapp_ai, coalesce(c.ai_paused_until > now(), false),"
  " c.ai_answered_seq, coalesce(c.ai_claim_until > now(), false),"
  " coalesce(m.seq, 0),"
  " coalesce(m.created_at > now() - interval '1 hour', false)"
  " FROM wa_conversations c JOIN businesses b ON b.id = c.business_id"
  " LEFT JOIN LATERAL (SELECT conversation_seq AS seq, created_at"
  "   FROM messages WHERE business_id = c.business_id"
  "   AND (CASE WHEN direction = 'in' THEN from_address ELSE to_address END)"
  "     = c.peer AND direction = 'in'"
  "   ORDER BY conversation_seq DESC LIMIT 1) m ON true"
  " WHERE c.business_id = $1 AND c.peer = $2 FOR UPDATE OF c"};

constexpr sql_statement update_answered{
  "UPDATE wa_conversations SET ai_answered_seq = greatest(ai_answered_seq,"
  " $3) WHERE business_id = $1 AND peer = $2"};

constexpr sql_statement update_claim{
  "UPDATE wa_conversations SET ai_claim_seq = $3, ai_claim_token = $4,"
  " ai_claim_until = now() + make_interval(secs => $5)"
  " WHERE business_id = $1 AND peer = $2"};

constexpr sql_statement update_renew{
  "UPDATE wa_conversations"
  " SET ai_claim_until = now() + make_interval(secs => $4)"
  " WHERE business_id = $1 AND peer = $2 AND ai_claim_token = $3"
  " AND ai_claim_until > now() RETURNING 1"};

constexpr sql_statement update_finish{
  "UPDATE wa_conversations SET ai_answered_seq = greatest(ai_answered_seq,"
  " $4), ai_claim_seq = NULL, ai_claim_token = NULL, ai_claim_until = NULL,"
  " needs_agent = needs_agent OR $5"
  " WHERE business_id = $1 AND peer = $2 AND ai_claim_token = $3"};

constexpr sql_statement update_skip{
  "UPDATE wa_conversations SET ai_answered_seq = greatest(ai_answered_seq,"
  " last_seq) WHERE business_id = $1 AND peer = $2"};

constexpr sql_statement update_handoff{
  "UPDATE wa_conversations SET needs_agent = true,"
  " ai_paused_until = now() + interval '12 hours', ai_paused_by = 'ai'"
  " WHERE business_id = $1 AND peer = $2"};

// The last messages up to the claimed one, newest first (reversed later).
// Failed sends never reached the customer: left out.
constexpr sql_statement select_history{
  "SELECT direction, body, cardinality(media_urls) FROM messages"
  " WHERE business_id = $1"
  " AND (CASE WHEN direction = 'in' THEN from_address ELSE to_address END)"
  "   = $2 AND conversation_seq <= $3 AND status <> 'failed'"
  " ORDER BY conversation_seq DESC LIMIT $4"};

// Dashboards read messages by updated_at: touching the newest inbound
// message shows the conversation again; the 'conversation' notification is
// for views that read the conversation rows (the inbox).
constexpr sql_statement touch_last_inbound{
  "UPDATE messages SET updated_at = now() WHERE business_id = $1 AND id ="
  " (SELECT id FROM messages WHERE business_id = $1"
  "  AND (CASE WHEN direction = 'in' THEN from_address ELSE to_address END)"
  "    = $2 AND direction = 'in' ORDER BY conversation_seq DESC LIMIT 1)"};

constexpr sql_statement notify_conversation{
  "SELECT pg_notify('al_events', $1::text || ':conversation')"};

constexpr sql_statement update_sent_by{
  "UPDATE messages SET sent_by = $3 WHERE id = $1 AND business_id = $2"};

constexpr sql_statement update_agent_pause{
  "UPDATE wa_conversations SET ai_paused_until = now() + interval '12 hours',"
  " ai_paused_by = $3, needs_agent = false"
  " WHERE business_id = $1 AND peer = $2"};

constexpr sql_statement select_lead_phone{
  "SELECT coalesce(phone, '') FROM leads WHERE business_id = $1 AND id = $2"};

// A takeover before the lead ever wrote creates the conversation row, so
// the AI stays quiet on the first message too.
constexpr sql_statement upsert_takeover{
  "INSERT INTO wa_conversations AS w (business_id, peer, ai_paused_until,"
  " ai_paused_by) VALUES ($1, $2, now() + interval '12 hours', $3)"
  " ON CONFLICT (business_id, peer) DO UPDATE"
  " SET ai_paused_until = EXCLUDED.ai_paused_until,"
  " ai_paused_by = EXCLUDED.ai_paused_by RETURNING iso_utc(w.ai_paused_until)"};

constexpr sql_statement update_release{
  "UPDATE wa_conversations SET ai_paused_until = NULL, ai_paused_by = NULL,"
  " needs_agent = false WHERE business_id = $1 AND peer = $2"};

void notify_agent(db_tx& tx, std::int64_t business, const std::string& peer) {
  exec(tx, touch_last_inbound, business, peer);
  exec(tx, notify_conversation, business);
}

/// The conversation address of lead `lead`, or nullopt (no lead, no phone).
std::optional<std::string> lead_peer(db_tx& tx, std::int64_t business,
                                     std::int64_t lead) {
  auto r = exec(tx, select_lead_phone, business, lead);
  if (r.empty())
    return std::nullopt;
  auto e164 = normalize_phone(r[0][0].c_str());
  if (!e164)
    return std::nullopt;
  return whatsapp_address(*e164);
}

// -- the chain
// ------------------------------------------------------------------

struct ai_chain {
  caf::actor_system* sys = nullptr;
  whatsapp_manager_actor manager;
  whatsapp_context_ptr ctx;
  std::int64_t business = 0;
  std::string e164;
  wa_ai_claim claim;
  std::vector<wa_chat_message> messages;
  int round = 0;
  std::function<void()> done;
};

using chain_ptr = std::shared_ptr<ai_chain>;

void ask(chain_ptr c);

/// Ends the claim (needs_agent on failure), then `done`.
void finish(chain_ptr c, bool failed, const std::string& why) {
  auto& ctx = *c->ctx;
  if (failed) {
    log_safe(spdlog::level::warn,
             "whatsapp ai: business {} conversation {}: no reply ({});"
             " flagged for an agent",
             c->business, wa_masked_number(c->e164), why);
    if (ctx.m)
      ctx.m->whatsapp("ai_failed");
  } else if (ctx.m) {
    ctx.m->whatsapp("ai_replied");
  }
  auto job = [business = c->business, e164 = c->e164, token = c->claim.token,
              seq = c->claim.seq, failed](db_tx& tx) {
    finish_wa_ai(tx, business, e164, token, seq, failed);
  };
  c->ctx->db.run(job, [c, job](const db_error& err) {
    // Unwritten, the lease still expires and the burst is looked at again.
    if (!err.empty() && !c->ctx->db.write("whatsapp_ai_finish", job))
      log_safe(spdlog::level::err, "whatsapp ai: finish lost: queue full");
    auto done = std::move(c->done);
    c->done = nullptr;
    if (done)
      done();
  });
}

/// The model's final text: renew the lease, then send it.
void deliver(chain_ptr c, std::string text) {
  auto renewed = std::make_shared<bool>(false);
  auto lease = c->ctx->settings.ai_lease;
  c->ctx->db.run(
    [c, renewed, lease](db_tx& tx) {
      *renewed = renew_wa_ai_claim(tx, c->business, c->e164, c->claim.token,
                                   lease);
    },
    [c, renewed, text = std::move(text)](const db_error& err) mutable {
      if (!err.empty())
        return finish(c, true, "database unavailable before the send");
      if (!*renewed) {
        // Overran the lease: another claim may be answering; stay silent.
        log_safe(spdlog::level::warn,
                 "whatsapp ai: business {}: lease lost, reply dropped",
                 c->business);
        auto done = std::move(c->done);
        c->done = nullptr;
        if (done)
          done();
        return;
      }
      wa_send_request req;
      req.business_id = c->business;
      req.to = c->e164;
      req.body = std::move(text);
      req.sent_by = "ai";
      whatsapp_send(*c->sys, c->manager, c->ctx, std::move(req),
                    [c](wa_send_result r) {
                      if (r.status == wa_send_status::sent)
                        return finish(c, false, {});
                      finish(c, true, "send failed: " + r.error);
                    });
    });
}

/// handoff {reason}: flag, pause, notify; tell the office's transfer
/// numbers (best effort).
void handoff(chain_ptr c, const wa_tool_call& call,
             std::function<void(std::string)> answer) {
  std::string reason;
  if (auto err = wa_handoff_reason(call.arguments, reason); !err.empty())
    return answer(ai_tool_error(err));
  c->ctx->db.run(
    [c](db_tx& tx) { handoff_wa_ai(tx, c->business, c->e164); },
    [c, reason, answer](const db_error& err) {
      if (!err.empty())
        return answer(ai_tool_error("the request could not be saved now"));
      answer(R"({"ok":true})");
      std::string line = "ליד מבקש נציג: " + c->claim.lead_label;
      if (!reason.empty())
        line += " — " + reason;
      for (auto& number : c->claim.transfer_numbers) {
        wa_send_request req;
        req.business_id = c->business;
        req.to = number;
        req.body = line;
        req.sent_by = "system";
        whatsapp_send(*c->sys, c->manager, c->ctx, std::move(req),
                      [masked = wa_masked_number(number)](wa_send_result r) {
                        if (r.status != wa_send_status::sent)
                          log_safe(spdlog::level::info,
                                   "whatsapp ai: handoff note to {} not"
                                   " sent: {}",
                                   masked, r.error);
                      });
      }
    });
}

/// Runs one tool and answers with the JSON for the model.
void run_tool(chain_ptr c, const wa_tool_call& call,
              std::function<void(std::string)> answer) {
  auto business = c->business;
  auto lead = c->claim.lead_id;
  auto out = std::make_shared<std::string>();
  auto db_step = [c, out, answer](std::function<void(db_tx&)> job,
                                  const char* unavailable) {
    c->ctx->db.run(std::move(job),
                   [out, answer, unavailable](const db_error& err) {
                     answer(err.empty() ? *out : ai_tool_error(unavailable));
                   });
  };
  if (call.name == "save_lead") {
    ai_lead_patch patch;
    if (auto err = parse_ai_lead_patch(call.arguments, patch); !err.empty())
      return answer(ai_tool_error(err));
    return db_step(
      [business, lead, patch, out](db_tx& tx) {
        *out = save_ai_lead(tx, business, lead, patch);
      },
      "the lead could not be saved now");
  }
  if (call.name == "search_listings") {
    auto q = parse_ai_listing_query(call.arguments);
    if (!q)
      return answer(ai_tool_error("arguments must be a JSON object"));
    return db_step(
      [business, lead, q = *q, out](db_tx& tx) {
        *out = search_listings_for_ai(tx, business, q, lead, {});
      },
      "the listings cannot be searched now");
  }
  if (call.name == "book_appointment") {
    appointment_args args;
    std::time_t when = 0;
    if (auto err = parse_ai_booking(call.arguments, args, when); !err.empty())
      return answer(ai_tool_error(err));
    return db_step(
      [business, lead, args, when, out](db_tx& tx) {
        *out = book_ai_appointment(
                 tx, business, [lead](db_tx&) { return lead; }, args, when)
                 .output;
      },
      "the appointment could not be saved now");
  }
  if (call.name == "handoff")
    return handoff(c, call, std::move(answer));
  answer(ai_tool_error("unknown tool " + call.name));
}

/// Runs the calls of the last assistant turn one by one, then asks again.
void run_tools(chain_ptr c, std::vector<wa_tool_call> calls, std::size_t i) {
  if (i == calls.size())
    return ask(c);
  auto call = calls[i];
  run_tool(c, call,
           [c, calls = std::move(calls), i, id = call.id](std::string out) {
             wa_chat_message m;
             m.role = "tool";
             m.tool_call_id = id;
             m.content = std::move(out);
             c->messages.push_back(std::move(m));
             run_tools(c, std::move(calls), i + 1);
           });
}

/// One completion.
void ask(chain_ptr c) {
  const auto& s = c->ctx->settings;
  if (!c->ctx->http)
    return finish(c, true, "no HTTP client");
  bool last = ++c->round >= std::max(1, s.ai_max_rounds);
  outbound_request req;
  req.method = "POST";
  req.url = s.openai_api_base + "/chat/completions";
  req.headers.emplace_back("Authorization", "Bearer " + s.openai_api_key);
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = wa_chat_request(s.text_model, c->messages, !last);
  req.timeout = s.ai_timeout;
  c->ctx->http(std::move(req), [c, last](outbound_response r) {
    if (!r.ok())
      return finish(c, true,
                    redact(wa_chat_failure(r.status, r.body, r.error),
                           c->ctx->settings.openai_api_key));
    auto parsed = parse_wa_chat_reply(r.body);
    if (auto* err = std::get_if<std::string>(&parsed))
      return finish(c, true, *err);
    auto& reply = std::get<wa_chat_reply>(parsed);
    if (!reply.tool_calls.empty() && !last) {
      wa_chat_message m;
      m.role = "assistant";
      m.content = reply.content;
      m.tool_calls = reply.tool_calls;
      c->messages.push_back(std::move(m));
      return run_tools(c, std::move(reply.tool_calls), 0);
    }
    if (reply.content.empty())
      return finish(c, true, "no text after the last round");
    deliver(c, std::move(reply.content));
  });
}

} // namespace

// -- the claim protocol
// ---------------------------------------------------------

wa_ai_claim claim_wa_ai(db_tx& tx, std::int64_t business,
                        const std::string& e164, const std::string& token,
                        std::chrono::seconds lease) {
  wa_ai_claim out;
  auto peer = whatsapp_address(e164);
  auto r = exec(tx, select_claim_state, business, peer);
  if (r.empty())
    return out; // no conversation yet
  auto row = r[0];
  bool enabled = row[0].as<bool>();
  bool paused = row[1].as<bool>();
  auto answered = row[2].as<std::int64_t>();
  bool held = row[3].as<bool>();
  auto newest = row[4].as<std::int64_t>();
  bool fresh = row[5].as<bool>();
  if (newest <= answered)
    return out;
  if (held) {
    out.what = wa_ai_claim::outcome::busy;
    return out;
  }
  if (!enabled || paused || !fresh) {
    exec(tx, update_answered, business, peer, newest);
    out.what = wa_ai_claim::outcome::not_for_ai;
    return out;
  }
  exec(tx, update_claim, business, peer, newest, token,
       static_cast<std::int64_t>(lease.count()));
  out.what = wa_ai_claim::outcome::claimed;
  out.seq = newest;
  out.token = token;
  out.lead_id = upsert_lead_by_phone(tx, business, e164, "whatsapp", "");
  auto setup = load_ai_setup(tx, business, e164);
  out.lead_label
    = setup.lead_name.empty() ? e164 : setup.lead_name + " (" + e164 + ")";
  out.transfer_numbers = setup.transfer_numbers;
  out.brief.business_name = setup.business_name;
  out.brief.prompt = setup.prompt;
  out.brief.lead_facts = setup.lead_facts;
  out.brief.office_context = office_context_he(setup.working_hours,
                                               std::time(nullptr));
  auto h = exec(tx, select_history, business, peer, newest,
                static_cast<std::int64_t>(wa_ai_history));
  for (auto it = h.rbegin(); it != h.rend(); ++it) {
    wa_chat_message m;
    m.role = std::string_view{(*it)[0].c_str()} == "in" ? "user" : "assistant";
    m.content = (*it)[1].c_str();
    if (m.content.empty() && (*it)[2].as<std::int64_t>() > 0)
      m.content = "[קובץ מצורף]";
    if (!m.content.empty())
      out.history.push_back(std::move(m));
  }
  return out;
}

bool renew_wa_ai_claim(db_tx& tx, std::int64_t business,
                       const std::string& e164, const std::string& token,
                       std::chrono::seconds lease) {
  return !exec(tx, update_renew, business, whatsapp_address(e164), token,
               static_cast<std::int64_t>(lease.count()))
            .empty();
}

void finish_wa_ai(db_tx& tx, std::int64_t business, const std::string& e164,
                  const std::string& token, std::int64_t seq,
                  bool needs_agent) {
  auto peer = whatsapp_address(e164);
  exec(tx, update_finish, business, peer, token, seq, needs_agent);
  if (needs_agent)
    notify_agent(tx, business, peer);
}

void skip_wa_ai(db_tx& tx, std::int64_t business, const std::string& e164) {
  exec(tx, update_skip, business, whatsapp_address(e164));
}

void handoff_wa_ai(db_tx& tx, std::int64_t business, const std::string& e164) {
  auto peer = whatsapp_address(e164);
  exec(tx, update_handoff, business, peer);
  notify_agent(tx, business, peer);
}

void mark_wa_sent_by(db_tx& tx, std::int64_t business, std::int64_t message_id,
                     const std::string& peer, const std::string& sent_by,
                     const std::string& agent) {
  exec(tx, update_sent_by, message_id, business, sent_by);
  if (sent_by == "agent")
    exec(tx, update_agent_pause, business, peer,
         agent.empty() ? std::string{"agent"} : agent);
}

std::optional<std::string> takeover_wa_ai(db_tx& tx, std::int64_t business,
                                          std::int64_t lead,
                                          const std::string& by) {
  auto peer = lead_peer(tx, business, lead);
  if (!peer)
    return std::nullopt;
  return std::string{
    exec(tx, upsert_takeover, business, *peer, by)[0][0].c_str()};
}

bool release_wa_ai(db_tx& tx, std::int64_t business, std::int64_t lead) {
  auto peer = lead_peer(tx, business, lead);
  if (!peer)
    return false;
  exec(tx, update_release, business, *peer);
  return true;
}

void run_wa_ai(caf::actor_system& sys, whatsapp_manager_actor manager,
               whatsapp_context_ptr ctx, std::int64_t business,
               std::string e164, wa_ai_claim claim,
               std::function<void()> done) {
  auto c = std::make_shared<ai_chain>();
  c->sys = &sys;
  c->manager = std::move(manager);
  c->ctx = std::move(ctx);
  c->business = business;
  c->e164 = std::move(e164);
  c->done = std::move(done);
  wa_chat_message system;
  system.role = "system";
  system.content = wa_ai_system_prompt(claim.brief);
  c->messages.push_back(std::move(system));
  for (auto& m : claim.history)
    c->messages.push_back(std::move(m));
  claim.history.clear();
  c->claim = std::move(claim);
  ask(c);
}

std::string new_wa_ai_token() {
  return crypto::random_token(16);
}

} // namespace al
