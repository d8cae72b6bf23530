// The after-call job actor and the job's steps.
//
//            poke (a call hung up here) / poll tick
//   idle ------------------------------------------> claiming
//     ^                                                 |
//     |   job done/failed/retry later (idle_atom)       | claimed rows
//     +------------------ running (<= parallel jobs) <--+
//
// A job, once claimed (status running, lease_token set):
//   load (one transaction: call, events, segments' audio)
//   -> transcribe each caller turn not transcribed yet (one POST at a time;
//      each line is stored at once, so a retry resumes where it stopped)
//   -> summarize (chat completion, or scripted)
//   -> finish (one transaction, only while the lease is ours: transcript
//      lines, summary, lead note and fields, job done, webhook queued).
// A failure reschedules (backoff + jitter) or fails the job, in the same
// way guarded by the lease token.

#include "actors/after_call.hpp"

#include "actors/crm_queries.hpp"
#include "actors/job_protocols.hpp"
#include "actors/log.hpp"
#include "actors/metrics.hpp"
#include "actors/sql.hpp"
#include "actors/type_ids.hpp"
#include "actors/voice_cache.hpp"
#include "actors/webhook_outbox.hpp"
#include "core/after_call_wire.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/wav.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

namespace al {

namespace json = boost::json;

namespace {

using claimed_job = after_call_job;

/// Transcript lines the job writes are numbered from here (the call
/// actor's events count from 1, stream-status events from 100000, the
/// transfer's from 200000).
constexpr std::int64_t transcript_seq_base = 300000;
/// At most this many caller turns are transcribed per call.
constexpr std::size_t max_turns = 200;
/// A caller turn longer than this is not sent (the call actor keeps one
/// minute at most).
constexpr std::size_t max_turn_bytes = 4 * 1024 * 1024;

// -- SQL ---------------------------------------------------------------------

constexpr sql_statement insert_job{
  "INSERT INTO after_call_jobs (call_sid, business_id, ready)"
  " SELECT call_sid, business_id, stream_sid IS NULL FROM calls"
  " WHERE call_sid = $1 ON CONFLICT (call_sid) DO NOTHING"};

constexpr sql_statement ready_job{
  "INSERT INTO after_call_jobs (call_sid, business_id, ready)"
  " SELECT call_sid, business_id, TRUE FROM calls WHERE call_sid = $1"
  " ON CONFLICT (call_sid) DO UPDATE SET ready = TRUE, updated_at = now()"
  " WHERE NOT after_call_jobs.ready"};

// $1 lease ms, $2 token prefix, $3 settle ms, $4 how many
constexpr sql_statement claim_jobs{
  "UPDATE after_call_jobs j SET status = 'running',"
  " attempts = j.attempts + 1,"
  " lease_until = now() + $1::bigint * interval '1 millisecond',"
  " lease_token = $2 || ':' || j.call_sid, updated_at = now()"
  " WHERE j.call_sid IN (SELECT call_sid FROM after_call_jobs"
  "  WHERE (status = 'pending' AND next_at <= now() AND (ready"
  "   OR created_at <= now() - $3::bigint * interval '1 millisecond'))"
  "  OR (status = 'running' AND lease_until < now())"
  "  ORDER BY next_at LIMIT $4 FOR UPDATE SKIP LOCKED)"
  " RETURNING j.call_sid, j.business_id, j.attempts, j.lease_token"};

constexpr sql_statement select_call_context{
  "SELECT c.from_number, c.status, c.ended_normally, c.transfer IS NOT NULL,"
  " coalesce(b.greeting, ''),"
  " coalesce(b.transfer ? 'numbers'"
  "  AND jsonb_array_length(b.transfer->'numbers') > 0, FALSE)"
  " FROM calls c JOIN businesses b ON b.id = c.business_id"
  " WHERE c.call_sid = $1"};

constexpr sql_statement select_dialogue_events{
  "SELECT seq, kind, detail::text FROM call_events WHERE call_sid = $1"
  " AND kind IN ('utterance', 'caller_turn', 'dtmf', 'finished',"
  " 'transcript', 'transcript_gap') ORDER BY seq, id"};

constexpr sql_statement select_segment_paths{
  "SELECT seq, path FROM call_segments WHERE call_sid = $1 ORDER BY seq"};

constexpr sql_statement audio_tables{
  "SELECT to_regclass('call_audio') IS NOT NULL"
  " AND to_regclass('call_audio_chunks') IS NOT NULL,"
  " to_regclass('call_segments') IS NOT NULL"};

// Only prepared once the tables exist (schemas/0017_audio.sql).
constexpr sql_statement select_segment_audio{
  "SELECT a.seq, c.data FROM call_audio a"
  " JOIN call_audio_chunks c ON c.audio_id = a.id"
  " WHERE a.call_sid = $1 AND a.kind = 'segment' AND a.complete"
  " ORDER BY a.seq, c.chunk_no"};

constexpr sql_statement insert_transcript_event{
  "INSERT INTO call_events(business_id, call_sid, seq, kind, detail)"
  " SELECT business_id, call_sid, $2, $3, $4::jsonb FROM calls"
  " WHERE call_sid = $1 ON CONFLICT DO NOTHING"};

constexpr sql_statement still_ours{
  "SELECT 1 FROM after_call_jobs WHERE call_sid = $1 AND lease_token = $2"
  " AND status = 'running' FOR UPDATE"};

constexpr sql_statement finish_job{
  "UPDATE after_call_jobs SET status = $3, last_error = $4,"
  " next_at = now() + $5::bigint * interval '1 millisecond',"
  " lease_until = NULL, lease_token = NULL, updated_at = now()"
  " WHERE call_sid = $1 AND lease_token = $2 AND status = 'running'"
  " RETURNING business_id"};

// Once per call: a summary already there is kept (and adds no note).
constexpr sql_statement store_summary{
  "UPDATE calls SET summary = $2, summary_fields = $3::jsonb,"
  " updated_at = now() WHERE call_sid = $1 AND summary IS NULL"
  " RETURNING business_id, lead_id"};

constexpr sql_statement insert_summary_note{
  "INSERT INTO lead_notes (business_id, lead_id, body, author)"
  " VALUES ($1, $2, $3, 'ai')"};

// Only what is empty: an agent's entry always wins. The local dialogue's
// own placeholders in callback_at ("spoken", "dtmf:N") count as empty.
constexpr sql_statement merge_lead_fields{
  "UPDATE leads SET deal = coalesce(deal, $3::text),"
  " city = CASE WHEN coalesce(city, '') = '' THEN coalesce($4::text, city)"
  "        ELSE city END,"
  " rooms = coalesce(rooms, $5::numeric),"
  " budget_max = CASE WHEN budget_min IS NULL AND budget_max IS NULL"
  "        THEN $6::bigint ELSE budget_max END,"
  " callback_at = CASE WHEN callback_at IS NULL OR callback_at = ''"
  "        OR callback_at = 'spoken' OR callback_at LIKE 'dtmf:%'"
  "        THEN coalesce($7::text, callback_at) ELSE callback_at END,"
  " updated_at = now() WHERE business_id = $1 AND id = $2"};

// -- one job -----------------------------------------------------------------

/// A step of the local dialogue's transcript, at position `pos` (its
/// event's seq is transcript_seq_base + pos).
struct turn {
  std::string role;
  std::string text;    // known text (agent line, key press, stored STT)
  int segment = 0;     // a caller turn still to transcribe (0: none)
  bool stored = false; // a transcript/transcript_gap row exists already
  bool spoken = false; // caller speech (not a key press)
};

struct job_ctx {
  std::shared_ptr<const after_call_env> env;
  claimed_job job;
  std::function<void()> done; // back to the actor, once

  // loaded
  bool found = false;
  std::vector<transcript_line> engine_lines; // the AI engine's own
  std::vector<turn> turns;
  std::map<int, std::string> audio; // segment -> bytes (WAV)
  std::string audio_source;         // "database" | "files" | ""
  scripted_outcome script;
  std::size_t next_turn = 0; // the STT walk

  // the outcome
  std::optional<call_summary> summary;
  std::string source; // ai | script
};

using job_ptr = std::shared_ptr<job_ctx>;

std::string agent_text(std::string_view what, const std::string& greeting,
                       bool transfer) {
  if (what == "greeting")
    return (greeting.empty() ? std::string{prompts::default_greeting}
                             : greeting)
           + (transfer ? prompts::press_zero : "");
  if (what == "recording_notice")
    return prompts::recording_notice;
  if (what == "ask_callback")
    return prompts::ask_callback;
  if (what == "goodbye")
    return prompts::goodbye;
  if (what == "didnt_hear")
    return prompts::didnt_hear;
  if (what == "still_there")
    return prompts::still_there;
  if (what == "silent_goodbye")
    return prompts::silent_goodbye;
  if (what == "transferring")
    return prompts::transferring;
  if (what == "office_closed")
    return "המשרד סגור כרגע, ולכן אין נציג זמין. אפשר להשאיר פרטים ונחזור"
           " אליכם.";
  return {};
}

std::string field_text(simdjson::dom::object o, const char* key) {
  std::string_view v;
  if (o[key].get(v) == simdjson::SUCCESS)
    return std::string{v};
  return {};
}

std::int64_t field_int(simdjson::dom::object o, const char* key) {
  std::int64_t v = 0;
  if (o[key].get(v) == simdjson::SUCCESS)
    return v;
  return 0;
}

/// The call's events as transcript steps (local engine) or the engine's
/// lines; fills `script` from the dialogue's answers.
void read_events(db_tx& tx, job_ctx& c, const std::string& greeting,
                 bool transfer, std::set<int>& referenced) {
  std::map<std::int64_t, std::pair<std::string, std::string>> stored;
  bool asked_callback = false; // DTMF before it answers the deal question
  for (auto row : exec(tx, select_dialogue_events, c.job.call_sid)) {
    auto seq = row[0].as<std::int64_t>();
    std::string kind = row[1].c_str();
    json_doc doc;
    auto o = doc.parse(row[2].c_str()) ? doc.object() : std::nullopt;
    if (!o)
      continue;
    if (kind == "transcript" || kind == "transcript_gap") {
      if (seq >= transcript_seq_base) {
        stored[seq - transcript_seq_base]
          = {field_text(*o, "role"),
             kind == "transcript" ? field_text(*o, "text") : std::string{}};
      } else if (kind == "transcript") {
        auto text = field_text(*o, "text");
        if (!text.empty())
          c.engine_lines.push_back({field_text(*o, "role"), std::move(text)});
      }
      continue;
    }
    if (kind == "finished") {
      c.script.deal = field_text(*o, "deal");
      c.script.callback = field_text(*o, "callback");
      continue;
    }
    if (kind == "utterance") {
      auto what = field_text(*o, "what");
      if (what == "ask_callback")
        asked_callback = true;
      auto text = agent_text(what, greeting, transfer);
      if (!text.empty())
        c.turns.push_back({"agent", std::move(text)});
      continue;
    }
    if (kind == "dtmf") {
      auto digit = field_text(*o, "digit").substr(0, 4);
      if (digit.empty())
        continue;
      if (c.script.deal.empty() && !asked_callback) {
        if (digit == "1")
          c.script.deal = "buy";
        else if (digit == "2")
          c.script.deal = "rent";
        else if (digit == "3")
          c.script.deal = "sell";
      }
      c.turns.push_back({"caller", "(הקשה: " + digit + ")"});
      continue;
    }
    if (kind == "caller_turn") {
      auto seg = static_cast<int>(field_int(*o, "segment"));
      if (seg > 0 && referenced.insert(seg).second) {
        turn t{"caller", {}, seg};
        t.spoken = true;
        c.turns.push_back(std::move(t));
      }
    }
  }
  // Positions already written by an earlier attempt.
  for (std::size_t i = 0; i < c.turns.size(); ++i) {
    auto s = stored.find(static_cast<std::int64_t>(i));
    if (s == stored.end())
      continue;
    c.turns[i].stored = true;
    if (c.turns[i].segment > 0)
      c.turns[i].text = s->second.second;
  }
}

/// Loads what the job needs, in one transaction.
void load(db_tx& tx, job_ctx& c) {
  auto& sid = c.job.call_sid;
  auto call = exec(tx, select_call_context, sid);
  if (call.empty())
    return;
  c.found = true;
  c.script.status = call[0][1].c_str();
  c.script.ended_normally = call[0][2].as<bool>();
  c.script.transferred = call[0][3].as<bool>();
  std::string greeting = call[0][4].c_str();
  bool transfer = call[0][5].as<bool>();
  std::set<int> referenced;
  read_events(tx, c, greeting, transfer, referenced);
  if (!c.engine_lines.empty())
    return; // the engine's transcript stands
  // The caller's turns: in PostgreSQL (schemas/0017_audio.sql), or files
  // under RECORDINGS_DIR named by call_segments (older versions).
  auto have = exec(tx, audio_tables)[0];
  std::map<int, std::string> stored_audio;
  if (have[0].as<bool>())
    for (auto row : exec(tx, select_segment_audio, sid)) {
      pqxx::binarystring bytes{row[1]};
      auto& a = stored_audio[row[0].as<int>()];
      if (a.size() + bytes.size() <= max_turn_bytes)
        a.append(bytes.str());
    }
  std::map<int, std::string> paths;
  if (have[1].as<bool>())
    for (auto row : exec(tx, select_segment_paths, sid))
      paths[row[0].as<int>()] = row[1].c_str();
  // Turns saved without a turn event (the caller hung up speaking) last.
  std::set<int> all;
  for (auto& [seq, bytes] : stored_audio)
    all.insert(seq);
  for (auto& [seq, path] : paths)
    all.insert(seq);
  for (auto seq : all)
    if (referenced.insert(seq).second) {
      turn t{"caller", {}, seq};
      t.spoken = true;
      c.turns.push_back(std::move(t));
    }
  for (auto& t : c.turns)
    if (t.spoken)
      c.script.caller_spoke = true;
  if (c.env->opts.stt_api_base.empty())
    return;
  std::set<int> wanted;
  for (auto& t : c.turns)
    if (t.segment > 0 && !t.stored && wanted.size() < max_turns)
      wanted.insert(t.segment);
  namespace fs = std::filesystem;
  for (auto seq : wanted) {
    if (auto a = stored_audio.find(seq);
        a != stored_audio.end() && !a->second.empty()) {
      c.audio[seq] = std::move(a->second);
      c.audio_source = "database";
      continue;
    }
    auto p = paths.find(seq);
    if (p == paths.end() || p->second.find("..") != std::string::npos)
      continue;
    std::ifstream in{fs::path(c.env->opts.recordings_dir) / p->second,
                     std::ios::binary};
    if (!in)
      continue;
    std::string bytes{std::istreambuf_iterator<char>(in), {}};
    if (!bytes.empty() && bytes.size() <= max_turn_bytes) {
      c.audio[seq] = std::move(bytes);
      if (c.audio_source.empty())
        c.audio_source = "files";
    }
  }
}

/// What the lines of the transcript are now.
std::vector<transcript_line> lines_of(const job_ctx& c) {
  if (!c.engine_lines.empty())
    return c.engine_lines;
  std::vector<transcript_line> out;
  for (auto& t : c.turns)
    if (!t.text.empty())
      out.push_back({t.role, t.text});
  return out;
}

bool caller_said_something(const job_ctx& c) {
  if (!c.engine_lines.empty())
    return std::any_of(c.engine_lines.begin(), c.engine_lines.end(),
                       [](auto& l) { return l.role == "caller"; });
  return std::any_of(c.turns.begin(), c.turns.end(),
                     [](auto& t) { return t.spoken && !t.text.empty(); });
}

/// A provider's answer that no retry can fix.
bool permanent(const outbound_response& r) {
  return r.error.empty() && r.status >= 400 && r.status < 500 && r.status != 408
         && r.status != 409 && r.status != 425 && r.status != 429;
}

/// A failure's text for last_error and the logs: never a body or header
/// (they may echo the key).
std::string failure_text(std::string_view what, const outbound_response& r) {
  if (!r.error.empty())
    return std::string{what} + ": " + r.error.substr(0, 120);
  return std::string{what} + ": HTTP " + std::to_string(r.status);
}

std::chrono::milliseconds backoff(const after_call_options& o, int attempts) {
  auto base = std::max<std::int64_t>(1, o.retry_base.count());
  auto shift = std::min(attempts - 1, 16);
  auto delay = std::min<std::int64_t>(base << std::max(0, shift),
                                      std::int64_t{6} * 3600 * 1000);
  // Jitter: somewhere in [delay/2, delay].
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::int64_t> half{0, delay / 2};
  return std::chrono::milliseconds{delay - half(rng)};
}

void count(const job_ctx& c, const char* result) {
  if (c.env->m)
    c.env->m->after_call_jobs.Add({{"result", result}}).Increment();
}

/// data of call.completed, from what GET /api/crm/calls/{sid} shows.
json::object webhook_data(db_tx& tx, std::int64_t business,
                          const std::string& sid) {
  json::object data{{"call_sid", sid}};
  auto r = get_call(tx, business, sid);
  auto* o = r.body.if_object();
  if (!o)
    return data;
  for (auto key :
       {"from", "to", "status", "started_at", "ended_at", "duration_s",
        "lead_id", "summary", "summary_fields", "recording_url"})
    data[key] = o->contains(key) ? o->at(key) : json::value(nullptr);
  json::array transcript;
  if (auto* t = o->if_contains("transcript"))
    if (auto* a = t->if_array())
      for (auto& line : *a)
        if (auto* l = line.if_object())
          transcript.push_back(json::object{
            {"role", l->contains("role") ? l->at("role") : json::value("")},
            {"text", l->contains("text") ? l->at("text") : json::value("")}});
  data["transcript"] = std::move(transcript);
  return data;
}

/// The local dialogue's lines that are known text, at their positions.
void write_known_lines(db_tx& tx, const job_ctx& c) {
  if (!c.engine_lines.empty())
    return;
  for (std::size_t i = 0; i < c.turns.size(); ++i) {
    auto& t = c.turns[i];
    if (t.stored || t.segment > 0 || t.text.empty())
      continue;
    exec(tx, insert_transcript_event, c.job.call_sid,
         transcript_seq_base + static_cast<std::int64_t>(i),
         std::string{"transcript"},
         json::serialize(json::object{{"role", t.role}, {"text", t.text}}));
  }
}

struct lease_lost : std::runtime_error {
  lease_lost()
    : std::runtime_error("after-call lease lost") {}
};

void end_job(job_ptr c, std::string status, std::string error,
             std::chrono::milliseconds delay);

/// Done: everything in one transaction, only while the lease is ours.
void finish(job_ptr c) {
  auto s = *c->summary;
  auto source = c->source;
  c->env->db.run(
    [c, s, source](db_tx& tx) {
      auto& sid = c->job.call_sid;
      if (exec(tx, still_ours, sid, c->job.token).empty())
        throw lease_lost{};
      write_known_lines(tx, *c);
      auto fields = json::serialize(summary_fields_json(s, source));
      auto row = exec(tx, store_summary, sid, s.summary, fields);
      if (!row.empty() && !row[0][1].is_null()) {
        auto business = row[0][0].as<std::int64_t>();
        auto lead = row[0][1].as<std::int64_t>();
        if (source == "ai") {
          exec(tx, insert_summary_note, business, lead,
               "סיכום שיחה: " + s.summary);
          std::optional<std::string> rooms;
          if (s.rooms) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.1f", *s.rooms);
            rooms = buf;
          }
          exec(tx, merge_lead_fields, business, lead, s.deal, s.city, rooms,
               s.budget, s.callback_time);
        }
      }
      exec(tx, finish_job, sid, c->job.token, std::string{"done"},
           std::optional<std::string>{}, std::int64_t{0});
      enqueue_webhook(tx, c->job.business, "call.completed",
                      webhook_data(tx, c->job.business, sid));
    },
    [c](const db_error& err) {
      if (err.empty()) {
        count(*c, "done");
        log_call(c->job.call_sid, c->job.business, spdlog::level::info,
                 "call {}: after-call done ({} summary, audio from {})",
                 c->job.call_sid, c->source,
                 c->audio_source.empty() ? "nowhere" : c->audio_source);
        return c->done();
      }
      // The lease was lost (another instance took over), or the database:
      // the lease runs out and the job is claimed again.
      log_safe(spdlog::level::warn, "call {}: after-call not finished: {}",
               c->job.call_sid, err);
      c->done();
    });
}

/// Retry later (status pending) or give up (failed: the transcript lines
/// known so far, and the webhook without a summary).
void fail(job_ptr c, std::string error, bool no_retry) {
  error = error.substr(0, 300);
  if (no_retry || c->job.attempts >= c->env->opts.max_attempts)
    return end_job(c, "failed", std::move(error), {});
  end_job(c, "pending", std::move(error),
          backoff(c->env->opts, c->job.attempts));
}

void end_job(job_ptr c, std::string status, std::string error,
             std::chrono::milliseconds delay) {
  c->env->db.run(
    [c, status, error, delay](db_tx& tx) {
      auto& sid = c->job.call_sid;
      if (exec(tx, still_ours, sid, c->job.token).empty())
        throw lease_lost{};
      if (status == "failed")
        write_known_lines(tx, *c);
      exec(tx, finish_job, sid, c->job.token, status, error,
           static_cast<std::int64_t>(delay.count()));
      if (status == "failed")
        enqueue_webhook(tx, c->job.business, "call.completed",
                        webhook_data(tx, c->job.business, sid));
    },
    [c, status, error](const db_error& err) {
      if (err.empty()) {
        count(*c, status == "failed" ? "failed" : "retried");
        log_call(c->job.call_sid, c->job.business, spdlog::level::warn,
                 "call {}: after-call attempt {} failed ({}): {}",
                 c->job.call_sid, c->job.attempts,
                 status == "failed" ? "giving up" : "retrying", error);
      }
      c->done();
    });
}

void summarize(job_ptr c);

/// Transcribes the next caller turn not transcribed yet, then the next.
void transcribe_next(job_ptr c) {
  auto& turns = c->turns;
  while (c->next_turn < turns.size()
         && (turns[c->next_turn].segment == 0 || turns[c->next_turn].stored
             || !c->audio.count(turns[c->next_turn].segment)))
    ++c->next_turn;
  if (c->next_turn >= turns.size())
    return summarize(c);
  auto pos = c->next_turn;
  auto seg = turns[pos].segment;
  auto& opts = c->env->opts;
  if (!c->env->http)
    return fail(c, "stt: no HTTP client", false);
  // Whisper and its clones take PCM WAV; the turn is mu-law (WAV or raw).
  std::string error;
  auto mulaw = decode_audio_as_mulaw(c->audio[seg], 120, error);
  auto wav = mulaw ? mulaw_to_pcm_wav(*mulaw) : c->audio[seg];
  auto body = transcription_request(wav, "turn-" + std::to_string(seg) + ".wav",
                                    opts.stt_model, "he",
                                    "al-" + crypto::random_token(18));
  if (!body)
    return fail(c, "stt: the upload could not be built", true);
  outbound_request req;
  req.method = "POST";
  req.url = opts.stt_api_base + "/audio/transcriptions";
  req.headers.emplace_back("Content-Type", body->content_type);
  if (!opts.stt_api_key.empty())
    req.headers.emplace_back("Authorization", "Bearer " + opts.stt_api_key);
  req.body = std::move(body->body);
  req.timeout = opts.http_timeout;
  c->env->http(std::move(req), [c, pos](outbound_response r) {
    if (!r.ok())
      return fail(c, failure_text("stt", r), permanent(r));
    auto text = transcription_text(r.body);
    if (!text)
      return fail(c, "stt: the answer has no text", false);
    auto& t = c->turns[pos];
    t.text = *text;
    auto detail
      = text->empty()
          ? json::serialize(json::object{{"segment", t.segment}})
          : json::serialize(json::object{{"role", "caller"}, {"text", *text}});
    auto kind = text->empty() ? "transcript_gap" : "transcript";
    c->env->db.run(
      [c, pos, detail, kind](db_tx& tx) {
        exec(tx, insert_transcript_event, c->job.call_sid,
             transcript_seq_base + static_cast<std::int64_t>(pos),
             std::string{kind}, detail);
      },
      [c, pos](const db_error& err) {
        if (!err.empty())
          return fail(c, "database: " + err, false);
        c->turns[pos].stored = true;
        ++c->next_turn;
        transcribe_next(c);
      });
  });
}

void summarize(job_ptr c) {
  auto& opts = c->env->opts;
  if (opts.openai_api_key.empty() || opts.openai_api_base.empty()
      || !caller_said_something(*c)) {
    c->summary = scripted_summary(c->script);
    c->source = "script";
    return finish(c);
  }
  if (!c->env->http)
    return fail(c, "summary: no HTTP client", false);
  outbound_request req;
  req.method = "POST";
  req.url = opts.openai_api_base + "/chat/completions";
  req.headers.emplace_back("Authorization", "Bearer " + opts.openai_api_key);
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = summary_schema_request(opts.text_model, lines_of(*c));
  req.timeout = opts.http_timeout;
  c->env->http(std::move(req), [c](outbound_response r) {
    if (!r.ok())
      return fail(c, failure_text("summary", r), permanent(r));
    auto parsed = parse_summary_response(r.body);
    if (auto* err = std::get_if<std::string>(&parsed))
      return fail(c, "summary: " + *err, false);
    c->summary = std::get<call_summary>(std::move(parsed));
    c->source = "ai";
    finish(c);
  });
}

void start_job(std::shared_ptr<const after_call_env> env, claimed_job job,
               std::function<void()> done) {
  auto c = std::make_shared<job_ctx>();
  c->env = std::move(env);
  c->job = std::move(job);
  c->done = std::move(done);
  c->env->db.run([c](db_tx& tx) { load(tx, *c); },
                 [c](const db_error& err) {
                   if (!err.empty())
                     return fail(c, "database: " + err, false);
                   if (!c->found)
                     return fail(c, "the call is gone", true);
                   transcribe_next(c);
                 });
}

// -- the job actor
// -------------------------------------------------------------

struct after_call_state {
  std::shared_ptr<const after_call_env> env;
  std::string instance = crypto::random_token(12);
  int running = 0;
  bool claiming = false;
  bool again = false; // rung while claiming
};

using after_call_self = after_call_actor::stateful_pointer<after_call_state>;

void claim(after_call_self self) {
  auto& st = self->state;
  if (st.claiming) {
    st.again = true;
    return;
  }
  auto room = st.env->opts.parallel - st.running;
  if (room <= 0)
    return;
  st.claiming = true;
  st.again = false;
  auto out = std::make_shared<std::vector<claimed_job>>();
  auto& o = st.env->opts;
  auto lease = static_cast<std::int64_t>(o.lease.count());
  auto settle = static_cast<std::int64_t>(o.settle.count());
  auto token = st.instance + ":" + crypto::random_token(9);
  auto me = caf::actor_cast<after_call_actor>(self);
  st.env->db.run(
    [out, lease, settle, token, room](db_tx& tx) {
      for (auto row : exec(tx, claim_jobs, lease, token, settle,
                           static_cast<std::int64_t>(room)))
        out->push_back({row[0].c_str(), row[1].as<std::int64_t>(),
                        row[2].as<int>(), row[3].c_str()});
    },
    [me, out](const db_error& err) {
      if (!err.empty())
        out->clear(); // the next tick tries again
      caf::anon_send(me, result_atom_v, after_call_claimed{std::move(*out)});
    });
}

after_call_actor::behavior_type
after_call_behavior(after_call_self self,
                    std::shared_ptr<const after_call_env> env) {
  self->state.env = env;
  if (env->bell)
    env->bell->attach(self->address());
  // The first look right away: jobs left by a restart are due.
  caf::anon_send(caf::actor_cast<after_call_actor>(self), create_atom_v);
  self->delayed_send(self, env->opts.poll_interval, timeout_atom_v,
                     std::int64_t{0});
  return {
    [=](create_atom) { claim(self); },
    [=](timeout_atom, std::int64_t) {
      claim(self);
      self->delayed_send(self, self->state.env->opts.poll_interval,
                         timeout_atom_v, std::int64_t{0});
    },
    [=](result_atom, after_call_claimed& claimed) {
      auto& st = self->state;
      st.claiming = false;
      auto me = caf::actor_cast<after_call_actor>(self);
      auto& jobs = claimed.jobs;
      for (auto& j : jobs) {
        ++st.running;
        start_job(st.env, j, [me] { caf::anon_send(me, idle_atom_v); });
      }
      // A full batch may mean more are due; a ring while claiming too.
      if (st.again || (!jobs.empty() && st.running < st.env->opts.parallel))
        claim(self);
    },
    [=](idle_atom) {
      auto& st = self->state;
      st.running = std::max(0, st.running - 1);
      claim(self);
    },
  };
}

} // namespace

void after_call_bell::attach(caf::actor_addr a) {
  std::lock_guard<std::mutex> g{mtx_};
  addr_ = std::move(a);
}

void after_call_bell::ring() const {
  after_call_actor a;
  {
    std::lock_guard<std::mutex> g{mtx_};
    a = caf::actor_cast<after_call_actor>(addr_);
  }
  if (a)
    caf::anon_send(a, create_atom_v);
}

void queue_after_call(db_tx& tx, const std::string& call_sid) {
  exec(tx, insert_job, call_sid);
}

void after_call_ready(const store& db, const std::string& call_sid,
                      std::shared_ptr<after_call_bell> bell) {
  db.write("after_call_ready",
           [call_sid](db_tx& tx) { exec(tx, ready_job, call_sid); });
  if (!bell)
    return;
  // Writes land in order, each committed before the next: the job is
  // visible by the time this one rings.
  db.write("after_call_ring", [bell](db_tx&) { bell->ring(); });
}

child_spec make_after_call_spec(std::shared_ptr<const after_call_env> env) {
  child_spec spec;
  spec.key = "after_call";
  spec.spawn = [env](caf::actor_system& sys) {
    return caf::actor_cast<caf::actor>(sys.spawn(after_call_behavior, env));
  };
  return spec;
}

} // namespace al
