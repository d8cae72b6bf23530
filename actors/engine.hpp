#pragma once

// The seam between a call actor and a conversation engine.
//
// The call actor owns the socket (through its media_sink), the checkpoint,
// the database writes and the embedded `local` engine (the scripted
// dialogue in call.cpp). A conversation engine (today: `openai`, see
// openai_engine.hpp) is driven by the actor with the caller's side of the
// call and answers through an engine_host that the actor implements. Every
// call on both interfaces happens on the call actor's thread.
//
// The outbound WebSocket an engine needs (realtime_link) is injected as a
// realtime_connect_fn: transport/realtime_client.hpp implements it with
// Beast and OpenSSL, tests may fake it. actors/ never includes Beast.

#include "actors/media_sink.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace al {

/// A function tool the model asked for.
struct tool_call {
  std::string call_id;
  std::string name;
  std::string arguments; // JSON text, as the model wrote it
};

/// What an engine asks of its call. Implemented by the call actor.
class engine_host {
public:
  virtual ~engine_host() = default;

  /// Queues `audio` (whole 160-byte frames) after what is queued; the sink
  /// sends Twilio mark `mark` once it has been sent.
  virtual void play(audio_ptr audio, std::string mark) = 0;

  /// Drops the queued audio and sends Twilio `clear` (barge-in).
  virtual void clear() = 0;

  /// Runs a tool; the outcome comes back through
  /// conversation_engine::on_tool_result (a JSON text for the model).
  virtual void run_tool(tool_call call) = 0;

  /// One transcript line: role "caller" or "agent".
  virtual void transcript(const std::string& role, std::string text) = 0;

  /// Records a call event (call_events kind + detail).
  virtual void event(const std::string& kind, boost::json::object detail) = 0;

  /// Caller interrupted the agent (counted in /metrics).
  virtual void barge_in() = 0;

  /// Calls conversation_engine::on_timer(token) after `after`.
  virtual void schedule(std::chrono::milliseconds after, std::uint64_t token)
    = 0;

  /// The conversation ended by the engine's choice (the model's end_call),
  /// once its goodbye was played: `spoke` false when it said nothing, so
  /// the host says its own goodbye first. The host hangs up normally.
  virtual void finished(bool spoke) = 0;

  /// The engine cannot go on (`reason` is safe to log): the host continues
  /// the call on the local engine. Called at most once; the engine is inert
  /// afterwards.
  virtual void fallback(const std::string& reason) = 0;
};

/// A conversation engine, driven by its call actor.
class conversation_engine {
public:
  virtual ~conversation_engine() = default;

  /// A batch of the caller's mu-law audio (about 100 ms).
  virtual void on_caller_audio(const std::string& mulaw) = 0;

  /// The call's own VAD: the caller started / stopped speaking.
  virtual void on_speech(bool started) = 0;

  /// Twilio echoed `name`; false when the mark is not the engine's.
  virtual bool on_mark(const std::string& name) = 0;

  /// The caller pressed a key.
  virtual void on_dtmf(const std::string& digit) = 0;

  /// The host dropped every queued utterance itself (its own barge-in on
  /// the greeting): the engine's unplayed audio is gone too.
  virtual void on_cleared() = 0;

  /// The outcome of a tool the engine asked for.
  virtual void on_tool_result(const std::string& call_id, std::string output)
    = 0;

  /// A timer asked for with engine_host::schedule.
  virtual void on_timer(std::uint64_t token) = 0;

  /// The call ends (hangup or the host gave up on the engine): release the
  /// connection. Idempotent.
  virtual void stop() = 0;

  /// True until fallback or stop.
  virtual bool active() const = 0;
};

// -- the outbound WebSocket ---------------------------------------------------

/// One outbound WebSocket (text messages). Thread-safe; never blocks.
class realtime_link {
public:
  virtual ~realtime_link() = default;

  /// Queues a text message (dropped once the link is closed).
  virtual void send(std::string text) = 0;

  /// Closes (or stops connecting). No callback follows a close().
  virtual void close() = 0;
};

using realtime_link_ptr = std::shared_ptr<realtime_link>;

/// What a link reports, on some I/O thread, in order. After `on_closed`
/// (which also reports a failed connect) nothing more is reported.
struct realtime_callbacks {
  std::function<void()> on_open;
  std::function<void(std::string text)> on_message;
  std::function<void(std::string reason)> on_closed;
};

struct realtime_connect_request {
  std::string url; // ws:// or wss://, with path and query
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{10000}; // connect + handshake
};

/// Opens a link asynchronously; never throws, never blocks.
using realtime_connect_fn = std::function<realtime_link_ptr(
  realtime_connect_request, realtime_callbacks)>;

} // namespace al
