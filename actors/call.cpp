// The call actor. Dialogue of the embedded engine:
//
//            attach                 turn end (speech or DTMF 1/2/3)
//  waiting ----------> greeting ---------------------------------> ask_callback
//     |                                                               |
//     | no stream within start_timeout           turn end (speech/DTMF)
//     v                                                               v
//  REST redirect to the recording fallback      done <---- mark ---- goodbye
//
// Barge-in: caller speech while an utterance plays -> sink.clear().
// Socket closed before `done`: the call is marked dropped, so the
// <Connect action> (any instance) answers with the recording fallback.
//
// The `openai` engine (business voice_engine 'openai' and a key set): the
// greeting above still plays at once from the cache while the Realtime
// session opens; from then on the engine leads the conversation (caller
// audio, speech edges, marks and DTMF go to it; it plays, clears, runs
// tools and ends the call through call_host). If it falls back, the
// scripted dialogue continues from where it stands (call_host::fallback).

#include "actors/call.hpp"

#include "actors/after_call.hpp"
#include "actors/audio_store.hpp"
#include "actors/call_protocol.hpp"
#include "actors/call_recorder.hpp"
#include "actors/call_rows.hpp"
#include "actors/call_tools.hpp"
#include "actors/leads.hpp"
#include "actors/log.hpp"
#include "actors/manager.hpp"
#include "actors/metrics.hpp"
#include "actors/openai_engine.hpp"
#include "actors/outbound_call.hpp"
#include "actors/type_ids.hpp"
#include "core/config.hpp"
#include "core/israel_time.hpp"
#include "core/json.hpp"
#include "core/phone.hpp"
#include "core/realtime_wire.hpp"
#include "core/wav.hpp"
#include "core/working_hours.hpp"

#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

namespace al {

namespace {

constexpr std::size_t max_turn_bytes = 8000 * 60; // one minute of audio

/// The start watchdog waits in steps of at most this long. A delayed message
/// holds a strong reference to its receiver until it is delivered, so one
/// timer for the whole start_timeout would keep every finished call actor in
/// memory until then (the soak saw ~1.6 KiB per call with a 10-minute
/// timeout); with steps, a finished call is released within one step.
constexpr std::chrono::milliseconds watchdog_step{1000};

struct call_state;
/// The call actor itself (its interface: call_actor, actors/call_protocol.hpp).
using call_self = call_actor::stateful_base<call_state>;

using ai_kind = call_ai_event::kind_t;

/// The call actor as seen by a conversation engine.
class call_host final : public engine_host {
public:
  call_self* self = nullptr;

  void play(audio_ptr audio, std::string mark) override;
  void clear() override;
  void run_tool(tool_call call) override;
  void transcript(const std::string& role, std::string text) override;
  void event(const std::string& kind, boost::json::object detail) override;
  void barge_in() override;
  void schedule(std::chrono::milliseconds after, std::uint64_t token) override;
  void finished(bool spoke) override;
  void fallback(const std::string& reason) override;
};

struct call_state {
  call_checkpoint_ptr cp;
  std::shared_ptr<const call_env> env;
  std::vector<std::function<void()>> waiting_for_load;
  call_host host;                    // before `ai`: outlives it
  std::unique_ptr<openai_engine> ai; // set while the openai engine leads
  bool setup_requested = false;
};

bool ai_active(call_self* self) {
  return self->state.ai && self->state.ai->active();
}

/// Queues an ordered event row (idempotent by (call_sid, kind, seq)).
void record_event(call_self* self, const std::string& kind,
                  boost::json::object detail = {}) {
  auto& cp = *self->state.cp;
  auto seq = ++cp.event_seq;
  auto sid = cp.info.call_sid;
  auto text = boost::json::serialize(detail);
  self->state.env->db.write("call_event", [sid, seq, kind, text](db_tx& tx) {
    insert_call_event(tx, sid, seq, kind, text);
  });
}

/// Plays `audio` as the next utterance; `queued_mark`: the socket already
/// plays it under that mark (the greeting it started at `start`).
void say(call_self* self, const audio_ptr& audio, const char* what,
         const std::string& queued_mark = {}) {
  auto& cp = *self->state.cp;
  if (!cp.sink || !audio)
    return;
  auto n = ++cp.utterances;
  auto mark = queued_mark.empty() ? "u" + std::to_string(n) : queued_mark;
  cp.playing = true;
  cp.playing_mark = mark;
  if (cp.speech_ended_at != std::chrono::steady_clock::time_point{}) {
    auto& env = *self->state.env;
    if (env.m)
      env.m->turn_reply.Observe(
        std::chrono::duration<double>(self->clock().now() - cp.speech_ended_at)
          .count());
    cp.speech_ended_at = {};
  }
  if (queued_mark.empty())
    cp.sink->play(audio, mark);
  if (cp.recorder)
    cp.recorder->agent_audio(audio);
  record_event(self, "utterance", {{"mark", mark}, {"what", what}});
}

/// The greeting, then (record_calls) the recording notice. The two are one
/// turn of the dialogue: the turn's mark follows the notice (the greeting's
/// own Twilio mark is "greeting"), so barge-in, the caller's answer and the
/// silence timer treat them as one utterance, and the greeting stays the
/// first audio of the call. `queued_mark`: the socket already plays the
/// greeting (never for a recorded call: see transport/early_greetings.hpp).
void greet(call_self* self, const std::string& queued_mark) {
  auto& cp = *self->state.cp;
  auto& voice = *cp.info.voice;
  if (!queued_mark.empty())
    return say(self, voice.greeting, "greeting", queued_mark);
  if (!cp.info.record_calls || !voice.recording_notice || !voice.greeting
      || !cp.sink)
    return say(self, voice.greeting, "greeting");
  cp.sink->play(voice.greeting, "greeting");
  if (cp.recorder)
    cp.recorder->agent_audio(voice.greeting);
  record_event(self, "utterance", {{"mark", "greeting"}, {"what", "greeting"}});
  say(self, voice.recording_notice, "recording_notice");
  cp.notice_playing = true;
}

/// A barge-in cut the greeting or the recording notice: the caller may not
/// have heard that the call is recorded, so nothing of it is kept (the
/// recorder is dropped before its first chunk: a chunk holds minutes).
void drop_unannounced_recording(call_self* self) {
  auto& cp = *self->state.cp;
  if (!cp.notice_playing)
    return;
  cp.notice_playing = false;
  if (!cp.recorder)
    return;
  cp.recorder.reset();
  record_event(self, "recording_dropped", {{"reason", "notice interrupted"}});
}

/// record_calls: the whole two-sided call from here to the hang-up
/// (actors/call_recorder.hpp). Every caller frame must reach the actor now,
/// not only those around speech (the VAD on the I/O thread is unchanged).
void start_recording(call_self* self) {
  auto& cp = *self->state.cp;
  auto& env = *self->state.env;
  if (cp.recorder || !cp.sink)
    return;
  recording_chunk_sink sink;
  if (env.recording_sink)
    sink = [f = env.recording_sink, sid = cp.info.call_sid](
             int n, std::string bytes, bool last, int ms) {
      f(sid, n, std::move(bytes), last, ms);
    };
  else
    sink = store_recording_sink(env.db, cp.info.call_sid);
  call_recorder_options o;
  o.title = "call " + cp.info.call_sid;
  try {
    cp.recorder = std::make_shared<call_recorder>(std::move(sink), o);
  } catch (const std::exception& e) {
    log_call(cp.info.call_sid, cp.info.business_id, spdlog::level::warn,
             "call {}: not recorded: {}", cp.info.call_sid, e.what());
    return;
  }
  if (auto err = cp.recorder->error(); !err.empty())
    log_call(cp.info.call_sid, cp.info.business_id, spdlog::level::warn,
             "call {}: not recorded: {}", cp.info.call_sid, err);
  cp.sink->want_all_audio(true);
}

/// The recording ends with the stream: its last chunk is queued (before
/// the call's after-call work is released).
void stop_recording(call_checkpoint& cp) {
  if (!cp.recorder)
    return;
  cp.recorder->finish();
  if (auto err = cp.recorder->error(); !err.empty())
    log_call(cp.info.call_sid, cp.info.business_id, spdlog::level::warn,
             "call {}: recording incomplete: {}", cp.info.call_sid, err);
  cp.recorder.reset();
}

/// Saves the caller's turn as a mu-law WAV segment in the database (the
/// store's write queue: off the media path, any instance serves it).
void save_turn(call_self* self) {
  auto& cp = *self->state.cp;
  auto& env = *self->state.env;
  if (cp.turn_audio.empty())
    return;
  auto seq = ++cp.segments;
  auto ms = static_cast<int>(cp.turn_audio.size() / 8);
  if (!save_audio(env.db, cp.info.call_sid, std::string{audio_kind_segment()},
                  seq, "audio/wav", mulaw_wav(cp.turn_audio), ms))
    log_call(cp.info.call_sid, cp.info.business_id, spdlog::level::warn,
             "call {}: segment {} not queued (write queue full)",
             cp.info.call_sid, seq);
  cp.turn_audio.clear();
}

/// Moves the dialogue after a caller turn.
void on_turn(call_self* self, const std::string& digit) {
  auto& cp = *self->state.cp;
  auto before = cp.step;
  cp.step = next_step(cp.step, digit, cp.deal, cp.callback);
  if (cp.step == before)
    return;
  auto& voice = *cp.info.voice;
  if (cp.step == call_step::ask_callback)
    say(self, voice.ask_callback, "ask_callback");
  else if (cp.step == call_step::goodbye)
    say(self, voice.goodbye, "goodbye");
}

/// The goodbye was heard: store the outcome, then end the stream.
void finish(call_self* self, std::string reason) {
  auto& cp = *self->state.cp;
  cp.step = call_step::done;
  auto sid = cp.info.call_sid;
  auto deal = cp.deal;
  auto callback = cp.callback;
  auto sink = cp.sink;
  record_event(self, "finished", {{"deal", deal}, {"callback", callback}});
  self->state.env->db.run(
    [sid, deal, callback, reason](db_tx& tx) {
      mark_call_completed(tx, sid, reason, deal, callback);
    },
    [sink, sid](const db_error& err) {
      if (!err.empty())
        log_safe(spdlog::level::warn, "call {}: end not stored: {}", sid, err);
      if (sink)
        sink->close();
    });
}

/// The stream ended before the dialogue did (or the caller hung up).
void ended_early(call_self* self, const std::string& reason) {
  auto& cp = *self->state.cp;
  auto sid = cp.info.call_sid;
  bool caller_hung_up = reason == "stop";
  record_event(self, caller_hung_up ? "stream_stop" : "stream_dropped",
               {{"reason", reason}});
  auto deal = cp.deal;
  self->state.env->db.write("call_end", [sid, reason, caller_hung_up,
                                         deal](db_tx& tx) {
    mark_call_ended_early(tx, sid, caller_hung_up ? "completed" : "dropped",
                          reason, deal);
  });
}

// -- transfer to a person ----------------------------------------------------

/// The transfer line was heard: store where to dial, then end the stream;
/// the <Connect action> (any instance) answers with the <Dial>.
void complete_transfer(call_self* self) {
  auto& cp = *self->state.cp;
  cp.step = call_step::done;
  auto sid = cp.info.call_sid;
  auto sink = cp.sink;
  std::string json = "{\"numbers\":[";
  if (cp.setup)
    for (std::size_t i = 0; i < cp.setup->transfer_numbers.size(); ++i)
      json += (i ? ",\"" : "\"") + cp.setup->transfer_numbers[i] + "\"";
  json += "],\"ring_timeout_s\":"
          + std::to_string(cp.setup ? cp.setup->ring_timeout_s : 20) + "}";
  self->state.env->db.run(
    [sid, json](db_tx& tx) { mark_call_transfer(tx, sid, json); },
    [sink, sid](const db_error& err) {
      if (!err.empty())
        log_safe(spdlog::level::warn, "call {}: transfer not stored: {}", sid,
                 err);
      if (sink)
        sink->close();
    });
}

/// Tells the agents who will ring, on WhatsApp, who is calling and why.
void notify_agents(call_self* self, const std::string& reason) {
  auto& cp = *self->state.cp;
  auto& env = *self->state.env;
  if (!env.send_whatsapp || !cp.setup)
    return;
  auto caller = normalize_phone(cp.info.from).value_or(cp.info.from);
  std::string text = "📞 שיחה מועברת אליך עכשיו מ-" + caller;
  if (!cp.setup->lead_name.empty())
    text += " (" + cp.setup->lead_name + ")";
  if (!reason.empty())
    text += ". הצורך: " + reason;
  if (!cp.setup->lead_facts.empty())
    text += ". ידוע: " + cp.setup->lead_facts;
  for (auto& number : cp.setup->transfer_numbers)
    env.send_whatsapp(cp.info.business_id, number, text,
                      [sid = cp.info.call_sid, number](std::string error,
                                                       std::string) {
                        if (!error.empty())
                          log_safe(spdlog::level::info,
                                   "call {}: agent {} not told on WhatsApp: {}",
                                   sid, number, error);
                      });
}

/// DTMF 0 or the AI's transfer_call. Returns the tool's answer for the AI.
std::string request_transfer(call_self* self, const std::string& reason) {
  auto& cp = *self->state.cp;
  auto& env = *self->state.env;
  if (cp.transferring)
    return R"({"ok":true,"note":"already transferring"})";
  if (!cp.setup || cp.setup->transfer_numbers.empty()) {
    record_event(self, "transfer_unavailable", {{"reason", "not configured"}});
    return R"({"ok":false,"error":"no transfer to a person is configured: offer a callback instead"})";
  }
  auto now = std::time(nullptr);
  if (!within_working_hours(cp.setup->working_hours, now)
      || (env.holiday_closures && is_closure(israel_at(now).date))) {
    auto opens = next_opening_he(cp.setup->working_hours, now);
    record_event(self, "transfer_refused",
                 {{"reason", "closed"}, {"opens", opens}});
    if (!ai_active(self) && env.voices) {
      auto line = "המשרד סגור כרגע, ולכן אין נציג זמין. "
                  + (opens.empty() ? std::string{} : "נפתח " + opens + ". ")
                  + "אפשר להשאיר פרטים ונחזור אליכם.";
      say(self, env.voices->say(line), "office_closed");
    }
    return boost::json::serialize(boost::json::object{
      {"ok", false},
      {"error", "the office is closed now: no one can take the call"},
      {"opens", opens}});
  }
  cp.transferring = true;
  boost::json::array numbers;
  for (auto& n : cp.setup->transfer_numbers)
    numbers.emplace_back(n);
  record_event(self, "transfer", {{"reason", reason}, {"numbers", numbers}});
  notify_agents(self, reason);
  if (!ai_active(self)) {
    if (cp.playing && cp.sink) {
      cp.sink->clear();
      cp.playing = false;
      if (cp.recorder)
        cp.recorder->clear_agent();
    }
    say(self, cp.info.voice->transferring, "transferring");
  }
  return R"({"ok":true,"note":"say one short sentence that you are transferring the caller to a person now; the call is transferred right after it"})";
}

// -- a follow-up call's opt-out -----------------------------------------------

/// DTMF 9 in a follow-up call: the number goes on the do-not-contact list
/// (a queued write: it must land even if the database blinks), a short
/// confirmation, then the call ends.
void opt_out(call_self* self) {
  auto& st = self->state;
  auto& cp = *st.cp;
  record_event(self, "opt_out", {{"digit", "9"}});
  auto business = cp.info.business_id;
  auto row = cp.info.campaign_lead_id;
  auto phone = normalize_phone(cp.info.from).value_or("");
  st.env->db.write("dnc_dtmf", [business, row, phone](db_tx& tx) {
    opt_out_by_dtmf(tx, business, row, phone);
  });
  if (st.ai) {
    st.ai->stop(); // the confirmation is ours, not the model's
    cp.ai_link.reset();
    if (cp.sink)
      cp.sink->want_all_audio(cp.recorder != nullptr);
  }
  if (cp.playing && cp.sink) {
    cp.sink->clear();
    cp.playing = false;
    if (cp.recorder)
      cp.recorder->clear_agent();
    drop_unannounced_recording(self); // the notice may have been cut
  }
  cp.end_reason = "opted out";
  cp.step = call_step::goodbye; // finish() follows the line's mark
  if (st.env->voices && cp.sink)
    say(self, st.env->voices->say("בסדר, לא נתקשר אליך שוב. תודה ולהתראות."),
        "opted_out");
  else
    finish(self, cp.end_reason);
}

// -- silence
// -------------------------------------------------------------------

/// The agent finished talking: start counting the caller's silence.
void arm_silence(call_self* self) {
  auto& cp = *self->state.cp;
  auto& env = *self->state.env;
  if (env.silence_reprompt.count() <= 0 || cp.in_speech || cp.transferring
      || (cp.step != call_step::greeting && cp.step != call_step::ask_callback))
    return;
  auto token = ++cp.silence_token;
  self->delayed_send(self, env.silence_reprompt, silence_atom_v, token);
}

/// The caller spoke or pressed a key: no silence to count.
void caller_active(call_self* self) {
  auto& cp = *self->state.cp;
  ++cp.silence_token;
  cp.reprompts = 0;
}

void on_silence(call_self* self, std::uint64_t token) {
  auto& st = self->state;
  auto& cp = *st.cp;
  if (token != cp.silence_token || cp.in_speech || cp.transferring
      || (cp.step != call_step::greeting && cp.step != call_step::ask_callback))
    return;
  bool ai = ai_active(self);
  if ((ai && !st.ai->idle()) || (!ai && st.ai && st.ai->active())
      || (!ai && cp.playing))
    return arm_silence(self); // still talking or connecting: count again
  if (cp.reprompts == 0) {
    cp.reprompts = 1;
    record_event(self, "silence_reprompt");
    if (ai)
      st.ai->nudge("(הערת מערכת: המתקשר שותק כבר כמה שניות. שאל/י במשפט"
                   " קצר אם הוא עדיין על הקו ובמה אפשר לעזור.)");
    else
      say(self, cp.info.voice->still_there, "still_there");
    return;
  }
  record_event(self, "silence_goodbye");
  cp.end_reason = "silence";
  if (ai) {
    st.ai->nudge("(הערת מערכת: המתקשר עדיין שותק. היפרד/י בנימוס במשפט"
                 " קצר; השיחה תסתיים אחריו.)");
    st.ai->end_after_reply();
    return;
  }
  cp.step = call_step::goodbye;
  say(self, cp.info.voice->silent_goodbye, "silent_goodbye");
}

// -- the openai engine -------------------------------------------------------

/// After a fallback: the scripted dialogue goes on from its step, so the
/// caller is never left in silence.
void continue_locally(call_self* self) {
  auto& cp = *self->state.cp;
  if (cp.step != call_step::greeting && cp.step != call_step::ask_callback)
    return;
  if (cp.playing || cp.in_speech)
    return; // the mark or the end of the turn moves the dialogue
  on_turn(self, "");
}

void call_host::play(audio_ptr audio, std::string mark) {
  auto& cp = *self->state.cp;
  if (!cp.sink)
    return;
  if (cp.speech_ended_at != std::chrono::steady_clock::time_point{}) {
    if (auto* m = self->state.env->m)
      m->turn_reply.Observe(
        std::chrono::duration<double>(self->clock().now() - cp.speech_ended_at)
          .count());
    cp.speech_ended_at = {};
  }
  if (cp.recorder)
    cp.recorder->agent_audio(audio);
  cp.sink->play(std::move(audio), std::move(mark));
}

void call_host::clear() {
  auto& cp = *self->state.cp;
  if (cp.sink)
    cp.sink->clear();
  cp.playing = false;
  if (cp.recorder)
    cp.recorder->clear_agent();
  drop_unannounced_recording(self);
}

void call_host::run_tool(tool_call call) {
  auto me = caf::actor_cast<call_actor>(self);
  if (call.name == "transfer_call") {
    // The call's own business: it decides, then the engine says the line.
    caf::anon_send(me, transfer_atom_v, call.call_id, call.arguments);
    return;
  }
  auto id = call.call_id;
  run_call_tool(*self->state.env, self->state.cp->info, std::move(call),
                [me, id](std::string output) {
                  caf::anon_send(me, ai_event_atom_v,
                                 call_ai_event{ai_kind::tool_result, id,
                                               std::move(output)});
                });
}

void call_host::transcript(const std::string& role, std::string text) {
  record_event(self, "transcript", {{"role", role}, {"text", text}});
  auto& lines = self->state.cp->transcript;
  if (lines.size() < 1000)
    lines.push_back(transcript_line{role, std::move(text)});
}

void call_host::event(const std::string& kind, boost::json::object detail) {
  record_event(self, kind, std::move(detail));
}

void call_host::barge_in() {
  if (auto* m = self->state.env->m)
    m->barge_ins.Increment();
}

void call_host::schedule(std::chrono::milliseconds after, std::uint64_t token) {
  self->delayed_send(self, after, ai_timer_atom_v, token);
}

void call_host::finished(bool spoke) {
  auto& cp = *self->state.cp;
  cp.ai_link.reset();
  if (cp.step == call_step::goodbye || cp.step == call_step::done)
    return;
  if (cp.transferring)
    return complete_transfer(self);
  if (spoke)
    return finish(self, cp.end_reason == "silence" ? "silence" : "ai end_call");
  cp.step = call_step::goodbye; // finish() follows the goodbye's mark
  say(self, cp.info.voice->goodbye, "goodbye");
}

void call_host::fallback(const std::string& reason) {
  auto& st = self->state;
  auto& cp = *st.cp;
  cp.ai_link.reset();
  if (cp.sink)
    cp.sink->want_all_audio(cp.recorder != nullptr); // still recording?
  if (st.env->m)
    st.env->m->engine_fallbacks.Increment();
  log_call(cp.info.call_sid, cp.info.business_id, spdlog::level::warn,
           "call {}: openai engine unavailable ({}), the local engine goes on",
           cp.info.call_sid, reason);
  record_event(self, "engine_fallback",
               {{"from", "openai"}, {"to", "local"}, {"reason", reason}});
  continue_locally(self);
}

/// Reads the business's call settings (engine, hours, transfer) and what is
/// known of the caller; an AI business then gets start_ai.
void request_setup(call_self* self) {
  auto& env = *self->state.env;
  if (self->state.setup_requested)
    return;
  self->state.setup_requested = true;
  auto& info = self->state.cp->info;
  auto setup = std::make_shared<ai_setup>();
  auto me = caf::actor_cast<call_actor>(self);
  auto business = info.business_id;
  auto from = info.from;
  env.db.run(
    [setup, business, from, to = info.to](db_tx& tx) {
      *setup = load_ai_setup(tx, business, from, to);
    },
    [me, setup, sid = info.call_sid](const db_error& err) {
      if (!err.empty())
        log_safe(spdlog::level::warn,
                 "call {}: engine settings unavailable ({}), local engine", sid,
                 err);
      else
        caf::anon_send(me, ai_event_atom_v, ai_setup_ptr{setup});
    });
}

/// Opens the Realtime session while the greeting plays.
void start_ai(call_self* self, const ai_setup& setup) {
  auto& st = self->state;
  auto& cp = *st.cp;
  auto& env = *st.env;
  if (st.ai || !cp.sink || cp.step != call_step::greeting)
    return; // already started, hung up, or the dialogue moved on (DTMF)
  openai_engine_options o;
  o.url = env.openai_realtime_url;
  o.model = env.openai_model;
  o.api_key = env.openai_api_key;
  o.ga = env.openai_ga;
  bool outbound = cp.info.campaign_lead_id != 0;
  o.instructions = realtime_instructions(
    setup.business_name, outbound ? cp.info.outbound_prompt : setup.prompt,
    cp.info.voice ? cp.info.voice->greeting_text : std::string{},
    outbound && !cp.info.outbound_facts.empty() ? cp.info.outbound_facts
                                                : setup.lead_facts);
  // The date and the office's hours, so "מחר בעשר" is a real moment.
  o.instructions += "\n\n";
  o.instructions += office_context_he(setup.working_hours, std::time(nullptr));
  o.instructions
    += "\n\nמועדים: book_appointment בזמן ישראל. אם התשובה"
       " ok:false, הסבר/י בקצרה והצע/י את המועדים שב-alternatives.";
  if (!setup.transfer_numbers.empty())
    o.instructions += "\nאם המתקשר מבקש לדבר עם אדם (נציג, סוכן, מתווך),"
                      " קרא/י ל-transfer_call עם הסיבה.";
  o.voice = setup.voice.empty() ? env.openai_voice : setup.voice;
  if (!setup.listing.empty())
    o.instructions += "\n\nהמתקשר חייג למספר של מודעה: הוא מתעניין כנראה"
                      " בנכס הזה (ענה/י עליו רק מהפרטים האלה): "
                      + setup.listing;
  o.log_name = cp.info.call_sid;
  o.open_timeout = env.ai_open_timeout;
  o.reply_timeout = env.ai_reply_timeout;
  st.ai = std::make_unique<openai_engine>(st.host, std::move(o));
  // The link reports to whichever actor is alive (none after a restart).
  auto post = [addr = self->address()](ai_kind kind, std::string text) {
    if (auto a = caf::actor_cast<call_actor>(addr))
      caf::anon_send(a, ai_event_atom_v,
                     call_ai_event{kind, std::move(text), std::string{}});
  };
  realtime_callbacks cb;
  cb.on_open = [post] { post(ai_kind::link_open, {}); };
  cb.on_message = [post](std::string text) {
    post(ai_kind::link_message, std::move(text));
  };
  cb.on_closed = [post](std::string reason) {
    post(ai_kind::link_closed, std::move(reason));
  };
  realtime_link_ptr link;
  try {
    link = env.realtime_connect(st.ai->connect_request(), std::move(cb));
  } catch (...) {
  }
  cp.ai_link = link;
  log_call(cp.info.call_sid, cp.info.business_id, spdlog::level::info,
           "call {}: openai engine connecting to {}", cp.info.call_sid,
           env.openai_realtime_url);
  record_event(self, "engine_start",
               {{"engine", "openai"}, {"model", env.openai_model}});
  auto sid = cp.info.call_sid;
  env.db.write("call_engine",
               [sid](db_tx& tx) { set_call_engine(tx, sid, "openai"); });
  cp.sink->want_all_audio(true); // the model listens all the time
  st.ai->start(std::move(link));
}

/// The stream started: bind the socket, create the lead, greet (or carry
/// on from the greeting the socket started under `greeting_mark`).
void on_attached(call_self* self, const std::string& greeting_mark) {
  auto& cp = *self->state.cp;
  auto& env = *self->state.env;
  if (env.m)
    env.m->active_calls.Increment();
  record_event(self, "stream_start", {{"stream_sid", cp.stream_sid}});
  auto sid = cp.info.call_sid;
  auto stream_sid = cp.stream_sid;
  auto from = normalize_phone(cp.info.from);
  auto known_lead = cp.info.lead_id; // a follow-up call's lead
  env.db.write("call_start", [sid, stream_sid, from, known_lead](db_tx& tx) {
    auto business = mark_call_streaming(tx, sid, stream_sid);
    if (!business || (!from && !known_lead))
      return;
    auto lead = known_lead
                  ? known_lead
                  : upsert_lead_by_phone(tx, *business, *from, "call", "");
    set_call_lead(tx, sid, lead);
  });
  cp.step = call_step::greeting;
  // Recorded only when the caller will hear the notice (greet() plays it
  // whenever record_calls is on and the notice was rendered).
  if (cp.info.record_calls && cp.info.voice && cp.info.voice->recording_notice
      && cp.info.voice->greeting)
    start_recording(self); // before the greeting: it starts the timeline
  greet(self, greeting_mark);
  // An AI business takes over after the greeting; without a key the
  // settings are read only when needed (DTMF 0).
  if (!env.openai_api_key.empty() && env.realtime_connect)
    request_setup(self);
}

void when_loaded(call_self* self, std::function<void()> fn) {
  if (self->state.cp->loaded)
    fn();
  else
    self->state.waiting_for_load.push_back(std::move(fn));
}

void load_info(call_self* self) {
  auto sid = self->state.cp->info.call_sid;
  auto env = self->state.env;
  auto info = std::make_shared<call_info>(self->state.cp->info);
  auto greeting = std::make_shared<std::string>();
  auto me = caf::actor_cast<call_actor>(self);
  env->db.run(
    [sid, info, greeting, env](db_tx& tx) {
      auto row = load_call_row(tx, sid);
      if (!row)
        return;
      info->business_id = row->business_id;
      info->from = row->from;
      info->to = row->to;
      info->record_calls = row->record_calls;
      *greeting = row->greeting;
      // The business's own greeting (uploaded or rendered), as the instance
      // that answered the webhook would play it.
      if (env->load_voice)
        info->voice = env->load_voice(tx, row->business_id);
    },
    [me, info, greeting, env](const db_error& err) {
      // An unknown call (or no database) still gets the default voice, so
      // the caller is never left in silence.
      if (!err.empty() || info->business_id == 0) {
        info->business_id = info->business_id == 0 ? 1 : info->business_id;
        // Whether the business records is unknown: do not record.
        info->record_calls = false;
      }
      if (!info->voice)
        info->voice = env->voices->get(info->business_id, *greeting);
      caf::anon_send(me, result_atom_v, std::move(*info));
    });
}

/// The actor clock (caf::actor_clock): the steady clock in production, the
/// test coordinator's simulated clock in actor tests. Every "now" of the
/// call actor's timers comes from it, so that it agrees with delayed_send.
using watchdog_clock = caf::actor_clock::clock_type;

/// Sends the next watchdog step: (timeout_atom, deadline) after at most
/// `watchdog_step`.
void arm_watchdog(call_self* self, watchdog_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
    deadline - self->clock().now());
  auto step = std::clamp(left, std::chrono::milliseconds{1}, watchdog_step);
  std::int64_t deadline_ns
    = std::chrono::duration_cast<std::chrono::nanoseconds>(
        deadline.time_since_epoch())
        .count();
  self->delayed_send(self, step, timeout_atom_v, deadline_ns);
}

call_actor::behavior_type call_behavior(call_self* self, call_checkpoint_ptr cp,
                                        std::shared_ptr<const call_env> env) {
  self->state.cp = cp;
  self->state.env = env;
  self->state.host.self = self;
  if (!cp->loaded)
    load_info(self);
  if (cp->attached && cp->sink) {
    cp->sink->bind(caf::actor_cast<call_actor>(self)); // restarted mid-call
    if (cp->ai_link) {
      // The engine died with the old actor: the local engine goes on.
      cp->ai_link->close();
      self->state.host.fallback("call actor restarted");
    }
  } else if (!cp->attached) {
    arm_watchdog(self, self->clock().now() + env->start_timeout);
  }
  return {
    [=](result_atom, call_info& info) {
      auto& st = self->state;
      st.cp->info = std::move(info);
      st.cp->loaded = true;
      auto pending = std::move(st.waiting_for_load);
      for (auto& fn : pending)
        fn();
    },
    [=](attach_atom, std::string& stream_sid, media_sink_ptr& sink,
        std::string& greeting_mark) {
      auto& cp = *self->state.cp;
      cp.sink = sink;
      cp.stream_sid = stream_sid;
      sink->bind(caf::actor_cast<call_actor>(self));
      if (cp.attached)
        return; // a duplicate start
      cp.attached = true;
      when_loaded(self, [self, mark = std::move(greeting_mark)] {
        on_attached(self, mark);
      });
    },
    [=](audio_atom, std::string& batch) {
      auto& cp = *self->state.cp;
      if (cp.recorder)
        cp.recorder->caller_audio(batch);
      if (cp.in_speech && cp.turn_audio.size() + batch.size() <= max_turn_bytes)
        cp.turn_audio += batch;
      if (ai_active(self))
        self->state.ai->on_caller_audio(batch);
    },
    [=](speech_atom, bool started) {
      auto& cp = *self->state.cp;
      if (started) {
        cp.in_speech = true;
        caller_active(self);
        cp.turn_audio.clear();
        if (cp.playing && cp.sink && cp.step != call_step::goodbye
            && !cp.transferring) {
          cp.sink->clear();
          cp.playing = false;
          if (cp.recorder)
            cp.recorder->clear_agent();
          drop_unannounced_recording(self);
          if (self->state.env->m)
            self->state.env->m->barge_ins.Increment();
          record_event(self, "barge_in", {{"mark", cp.playing_mark}});
          if (ai_active(self))
            self->state.ai->on_cleared();
        }
        if (ai_active(self))
          self->state.ai->on_speech(true);
        return;
      }
      if (!cp.in_speech)
        return;
      cp.in_speech = false;
      cp.speech_ended_at = self->clock().now();
      save_turn(self);
      record_event(self, "caller_turn", {{"segment", cp.segments}});
      if (ai_active(self))
        self->state.ai->on_speech(false); // the model answers
      else if (!cp.playing && !cp.transferring)
        on_turn(self, "");
      if (!cp.playing)
        arm_silence(self); // the turn asked for nothing to be said
    },
    [=](mark_atom, std::string& name) {
      auto& cp = *self->state.cp;
      if (self->state.ai && self->state.ai->on_mark(name)) {
        if (ai_active(self) && self->state.ai->idle())
          arm_silence(self); // the model's reply was heard
        return;              // a part of the model's audio
      }
      if (!cp.playing || name != cp.playing_mark)
        return; // a stale mark (echoed after clear) or a flood
      cp.playing = false;
      cp.notice_playing = false; // the notice (if any) was heard
      if (cp.transferring && !ai_active(self))
        return complete_transfer(self);
      if (cp.step == call_step::goodbye)
        return finish(self, cp.end_reason);
      arm_silence(self);
    },
    [=](dtmf_atom, std::string& digit) {
      auto& cp = *self->state.cp;
      record_event(self, "dtmf", {{"digit", digit}});
      if (cp.step == call_step::goodbye || cp.step == call_step::done
          || cp.transferring)
        return;
      caller_active(self);
      if (digit == "9" && cp.info.campaign_lead_id != 0)
        return opt_out(self);
      if (digit == "0") {
        // A person, please: once the settings are known.
        if (!cp.setup) {
          cp.transfer_wanted = true;
          request_setup(self);
          // Should the settings never come (the database is away), the
          // caller is not left in silence: the count starts again.
          arm_silence(self);
          return;
        }
        if (ai_active(self) && !self->state.ai->live()) {
          // Still connecting: the script takes the call from here.
          self->state.ai->stop();
          cp.ai_link.reset();
          if (cp.sink)
            cp.sink->want_all_audio(cp.recorder != nullptr);
        }
        if (!ai_active(self)) {
          request_transfer(self, "הקיש 0"); // or records why not
          if (cp.transferring || !cp.setup->transfer_numbers.empty())
            return;
        } else {
          // The AI says it, in its voice: the line before the <Dial>, or
          // why no one can take the call now.
          auto& ai = *self->state.ai;
          if (cp.sink)
            cp.sink->clear();
          cp.playing = false;
          if (cp.recorder)
            cp.recorder->clear_agent();
          ai.on_cleared();
          auto answer = request_transfer(self, "הקיש 0");
          if (cp.transferring) {
            ai.nudge("(הערת מערכת: המתקשר הקיש 0 כדי לדבר עם נציג. אמור/י"
                     " במשפט קצר אחד שאת/ה מעביר/ה אותו עכשיו.)");
            ai.end_after_reply();
          } else {
            ai.nudge("(הערת מערכת: המתקשר הקיש 0 כדי לדבר עם נציג, אבל"
                     " ההעברה אינה אפשרית: "
                     + answer + ". הסבר/י לו בקצרה והצע/י שנחזור אליו.)");
          }
          return;
        }
      }
      if (cp.playing && cp.sink) {
        cp.sink->clear();
        cp.playing = false;
        if (cp.recorder)
          cp.recorder->clear_agent();
        if (ai_active(self))
          self->state.ai->on_cleared();
      }
      if (ai_active(self))
        self->state.ai->on_dtmf(digit);
      else
        on_turn(self, digit);
      // A key that asked for nothing to be said (in the greeting, one that
      // is not a deal answer) stopped the count above: count again, as
      // after a spoken turn, or a silent caller would never be reprompted.
      if (!cp.playing)
        arm_silence(self);
    },
    [=](hangup_atom, std::string& reason) {
      auto& cp = *self->state.cp;
      if (cp.attached && self->state.env->m)
        self->state.env->m->active_calls.Decrement();
      if (cp.in_speech)
        save_turn(self);
      stop_recording(cp); // stop, hang-up, normal end, socket lost
      if (cp.step != call_step::done)
        ended_early(self, reason);
      if (self->state.ai)
        self->state.ai->stop();
      cp.ai_link.reset();
      cp.sink.reset();
      // Last of this call's writes: its after-call job may start now.
      after_call_ready(self->state.env->db, cp.info.call_sid,
                       self->state.env->after_call);
      self->quit();
    },
    [=](ai_event_atom, ai_setup_ptr& setup) {
      if (!setup)
        return;
      auto& cp = *self->state.cp;
      auto& env = *self->state.env;
      cp.setup = setup;
      if (cp.transfer_wanted) {
        cp.transfer_wanted = false;
        request_transfer(self, "הקיש 0"); // or records why not
        if (cp.transferring)
          return;
      }
      if (env.realtime_connect
          && engine_wants_openai(!env.openai_api_key.empty(), env.voice_engine,
                                 setup->engine))
        start_ai(self, *setup);
    },
    [=](transfer_atom, std::string& call_id, std::string& arguments) {
      auto& cp = *self->state.cp;
      std::string reason;
      {
        json_doc doc;
        if (auto o = doc.parse(arguments) ? doc.object() : std::nullopt) {
          std::string_view r;
          if ((*o)["reason"].get(r) == simdjson::SUCCESS)
            reason = std::string{r.substr(0, 200)};
        }
      }
      auto output = request_transfer(self, reason);
      if (cp.transferring)
        cp.transfer_call_id = call_id;
      caf::anon_send(caf::actor_cast<call_actor>(self), ai_event_atom_v,
                     call_ai_event{ai_kind::tool_result, call_id,
                                   std::move(output)});
    },
    [=](silence_atom, std::uint64_t token) { on_silence(self, token); },
    [=](ai_event_atom, call_ai_event& ev) {
      auto* ai = self->state.ai.get();
      if (!ai)
        return;
      switch (ev.kind) {
        case ai_kind::link_open:
          return ai->on_link_open();
        case ai_kind::link_message:
          return ai->on_link_message(ev.text);
        case ai_kind::link_closed:
          return ai->on_link_closed(ev.text);
        case ai_kind::tool_result:
          ai->on_tool_result(ev.text, std::move(ev.extra));
          if (self->state.cp->transferring
              && ev.text == self->state.cp->transfer_call_id)
            ai->end_after_reply(); // the line, then the <Dial>
          return;
      }
    },
    [=](ai_timer_atom, std::uint64_t token) {
      if (self->state.ai)
        self->state.ai->on_timer(token);
    },
    [=](timeout_atom, std::int64_t deadline_ns) {
      auto& cp = *self->state.cp;
      if (cp.attached)
        return;
      watchdog_clock::time_point deadline{
        std::chrono::nanoseconds{deadline_ns}};
      if (self->clock().now() < deadline) {
        arm_watchdog(self, deadline);
        return;
      }
      log_call(cp.info.call_sid, cp.info.business_id, spdlog::level::warn,
               "call {}: no media stream within {} ms, redirecting to the"
               " recording fallback",
               cp.info.call_sid, self->state.env->start_timeout.count());
      record_event(self, "watchdog", {{"reason", "no stream start"}});
      auto sid = cp.info.call_sid;
      self->state.env->db.write("call_watchdog", [sid](db_tx& tx) {
        mark_call_unfinished(tx, sid, "redirected", "no stream start");
      });
      if (self->state.env->redirect_to_fallback)
        self->state.env->redirect_to_fallback(cp.info);
      self->quit();
    },
  };
}

} // namespace

call_step next_step(call_step step, const std::string& digit, std::string& deal,
                    std::string& callback) {
  switch (step) {
    case call_step::greeting:
      if (digit == "1")
        deal = "buy";
      else if (digit == "2")
        deal = "rent";
      else if (digit == "3")
        deal = "sell";
      else if (!digit.empty())
        return step; // another key: still waiting for the deal type
      return call_step::ask_callback;
    case call_step::ask_callback:
      callback = digit.empty() ? "spoken" : "dtmf:" + digit;
      return call_step::goodbye;
    default:
      return step;
  }
}

child_spec make_call_spec(call_checkpoint_ptr cp,
                          std::shared_ptr<const call_env> env) {
  child_spec spec;
  spec.key = call_key(cp->info.call_sid);
  spec.spawn = [cp, env](caf::actor_system& sys) {
    // The manager keeps its children dynamically typed.
    return caf::actor_cast<caf::actor>(sys.spawn(call_behavior, cp, env));
  };
  spec.on_give_up = [cp, env] {
    // Crash-looping: end the stream; the <Connect action> then plays the
    // recording fallback (the call is not marked as ended normally).
    if (cp->attached && env->m)
      env->m->active_calls.Decrement();
    // What was recorded is kept (the dead actor no longer touches it).
    stop_recording(*cp);
    auto sid = cp->info.call_sid;
    env->db.write("call_give_up", [sid](db_tx& tx) {
      mark_call_unfinished(tx, sid, "failed", "call actor crash loop");
    });
    if (cp->sink)
      cp->sink->close();
  };
  return spec;
}

call_manager_actor spawn_call_manager(caf::actor_system& sys,
                                      supervision_stats& stats, metrics* m,
                                      std::shared_ptr<const call_env> env,
                                      supervisor_options opts) {
  return spawn_manager<call_checkpoint_ptr>(
    sys, stats, m,
    [env](call_checkpoint_ptr& cp) { return make_call_spec(cp, env); }, opts);
}

} // namespace al
