#pragma once

// One actor per phone call (per Twilio media stream), supervised by the
// call_manager. It owns the dialogue of the embedded `local` engine: what to
// say next, marks, barge-in, DTMF, the start watchdog, and it writes the
// call's events, segments and lead. Its state lives in a checkpoint that the
// manager keeps, so a restarted actor continues the same call on the same
// socket. Its typed interface is call_actor (actors/call_protocol.hpp).

#include "actors/call_protocol.hpp"
#include "actors/engine.hpp"
#include "actors/media_sink.hpp"
#include "actors/store.hpp"
#include "actors/supervisor.hpp"
#include "actors/voice_cache.hpp"
#include "core/outbound.hpp"
#include "core/realtime_wire.hpp"
#include "core/whatsapp_wire.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace al {

struct metrics;
struct ai_setup;
class call_recorder;
class after_call_bell;

// call_info, who the call is for, is a message of the call actor's
// protocol: actors/call_protocol.hpp.

/// What a call actor needs from the outside world.
struct call_env {
  store db;
  metrics* m = nullptr;
  voice_cache* voices = nullptr;
  std::string recordings_dir;
  std::chrono::milliseconds start_timeout{8000};
  /// The voice pack of a business as its calls should sound now (uploaded
  /// greeting, AI rendering, espeak-ng), inside a store job; empty: the
  /// espeak-ng pack of the greeting text.
  std::function<voice_pack_ptr(db_tx&, std::int64_t business)> load_voice;
  /// Redirects a live call to the recording fallback through Twilio's REST
  /// API (the watchdog). Asynchronous; failures are logged by the callee.
  std::function<void(const call_info&)> redirect_to_fallback;

  // -- the `openai` engine: businesses with voice_engine 'openai' ----------
  /// OPENAI_API_KEY; empty: every call uses the local engine.
  std::string openai_api_key;
  std::string openai_realtime_url; // OPENAI_REALTIME_URL
  std::string openai_model;        // OPENAI_MODEL
  bool openai_ga = false;          // GA session shape (default: beta)
  /// Opens the Realtime WebSocket (transport/realtime_client.hpp); empty:
  /// the local engine only.
  realtime_connect_fn realtime_connect;
  /// VOICE_ENGINE and OPENAI_VOICE (a business's own settings win).
  std::string voice_engine = "auto";
  std::string openai_voice;
  /// Caller silent this long after the agent finished: one reprompt, then
  /// goodbye (SILENCE_REPROMPT_S); zero: never.
  std::chrono::milliseconds silence_reprompt{6000};
  /// Israeli holidays close the office for transfers (HOLIDAY_CLOSURES).
  bool holiday_closures = true;
  std::chrono::milliseconds ai_open_timeout{1500};
  std::chrono::milliseconds ai_reply_timeout{1500};
  /// Sends a WhatsApp text from `business` to `to` (E.164) and calls `done`
  /// once, from any thread, with "" and the message id, or an error text.
  /// Outside the 24-hour window the text's fallback template goes instead;
  /// none fits: the error is wa_outside_window_error and nothing is sent.
  /// Empty: WhatsApp is not available to calls.
  std::function<void(
    std::int64_t business, std::string to, wa_outgoing_text text,
    std::function<void(std::string error, std::string id)> done)>
    send_whatsapp;
  /// Outbound HTTP, for the call summary (a chat completion at
  /// openai_rest_url(openai_realtime_url, "/chat/completions")); empty: no
  /// summaries.
  http_send_fn http;
  std::string openai_summary_model = "gpt-4o-mini";
  /// Rings this instance's after-call job actor (actors/after_call.hpp)
  /// once the hang-up's writes landed; empty: the job waits for its poll.
  std::shared_ptr<after_call_bell> after_call;
  /// Where the whole-call recording's chunks go (actors/call_recorder.hpp,
  /// recording_chunk_sink); empty: append_audio_chunk into the database.
  std::function<void(const std::string& call_sid, int chunk_no,
                     std::string bytes, bool last, int duration_ms)>
    recording_sink;
};

/// The dialogue steps of the local engine.
enum class call_step {
  waiting,      // TwiML served, no stream yet
  greeting,     // greeting (with the deal question) playing / answered
  ask_callback, // asked when to call back
  goodbye,      // saying goodbye
  done,         // finished normally; socket closed by us
};

/// State that survives a restart of the call actor.
struct call_checkpoint {
  call_info info;
  bool loaded = false; // info complete (voice pack present)
  media_sink_ptr sink;
  std::string stream_sid;
  bool attached = false;
  call_step step = call_step::waiting;
  std::string deal;     // buy | rent | sell | "" (spoken answer)
  std::string callback; // what the caller said/pressed
  int utterances = 0;
  int event_seq = 0;
  int segments = 0;
  bool playing = false;
  std::string playing_mark;
  /// The greeting and the recording notice are playing: a barge-in now
  /// drops the recording (a caller is never recorded without having heard
  /// the notice).
  bool notice_playing = false;
  bool in_speech = false;
  std::string turn_audio; // caller audio of the current turn
  std::int64_t lead_id = 0;
  std::chrono::steady_clock::time_point speech_ended_at{};
  /// The openai engine's connection while it leads the call (closed by a
  /// restarted actor, which goes on with the local engine).
  realtime_link_ptr ai_link;
  /// The conversation's transcript lines (for the summary at the end).
  std::vector<transcript_line> transcript;
  /// The business's call settings (engine, hours, transfer), once loaded.
  std::shared_ptr<const ai_setup> setup;
  // Silence: the current timer's token and the reprompts said since the
  // caller last spoke.
  std::uint64_t silence_token = 0;
  int reprompts = 0;
  // Transfer to a person: asked for by DTMF 0 before the settings loaded;
  // under way (the line is being said, then the stream ends for <Dial>).
  bool transfer_wanted = false;
  bool transferring = false;
  std::string transfer_call_id; // the AI's transfer_call, if it asked
  std::string end_reason = "dialogue complete";
  /// The whole-call recording (record_calls), from the stream's start to
  /// its end. Kept here so that a restarted actor goes on recording on the
  /// same timeline; finished by the hang-up or by on_give_up.
  std::shared_ptr<call_recorder> recorder;
};

/// The manager key of a call.
inline std::string call_key(const std::string& call_sid) {
  return "call:" + call_sid;
}

/// How the call_manager (re)builds the call actor for `cp`. The spec's spawn
/// returns the call_actor (actors/call_protocol.hpp) as a caf::actor, as the
/// manager keeps every child; actor_cast it back to call_actor.
child_spec make_call_spec(call_checkpoint_ptr cp,
                          std::shared_ptr<const call_env> env);

/// Spawns the call_manager: each (spawn_atom, checkpoint) request becomes
/// make_call_spec(checkpoint, env).
call_manager_actor spawn_call_manager(caf::actor_system& sys,
                                      supervision_stats& stats, metrics* m,
                                      std::shared_ptr<const call_env> env,
                                      supervisor_options opts = {});

/// The call's dialogue as a pure function, for tests: the step after a
/// caller turn (speech or a DTMF digit) in `step`; fills `deal`/`callback`.
call_step next_step(call_step step, const std::string& dtmf_digit,
                    std::string& deal, std::string& callback);

} // namespace al
