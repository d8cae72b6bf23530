#pragma once

// The `openai` conversation engine: one OpenAI Realtime session per call,
// mu-law 8 kHz both ways (no transcoding), server VAD, function tools.
//
//   connecting --open--> live --(end_call, goodbye played)--> stopped
//       |                 |
//       | 1.5 s           | closed / error event / no audio 1.5 s after
//       v                 v   the caller's turn
//     failed  <-----------+   => engine_host::fallback (the local engine)
//
// Caller audio goes to the model as it comes (buffered while connecting);
// the model's audio deltas are cut into whole 20 ms frames and queued as
// parts of at most 100 ms, each followed by a Twilio mark ("a<N>"), so the
// played position of the current assistant item is known from the echoed
// marks. Barge-in (the server's speech_started while parts are unplayed):
// Twilio `clear`, `response.cancel`, and `conversation.item.truncate` at
// the played position (clamped to the audio received).
//
// Not thread-safe: the call actor drives it (its link's callbacks reach
// the actor as messages, which calls on_link_*).

#include "actors/engine.hpp"
#include "core/realtime_wire.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>

namespace al {

struct openai_engine_options {
  std::string url;   // OPENAI_REALTIME_URL (ws:// or wss://)
  std::string model; // OPENAI_MODEL
  std::string api_key;
  bool ga = false; // GA session shape and no OpenAI-Beta header
  std::string instructions;
  std::string voice;    // the session's voice ("" = the API's default)
  std::string log_name; // the call SID, for logs
  std::chrono::milliseconds open_timeout{1500};
  std::chrono::milliseconds reply_timeout{1500};
  /// A turn of the call's own VAD with less caller audio than this (its
  /// 500 ms hangover included: a cough) does not make a reply due unless
  /// the server heard it too.
  std::chrono::milliseconds min_turn{700};
  /// Longest wait for the goodbye after end_call.
  std::chrono::milliseconds end_guard{15000};
  std::size_t part_bytes = 800;         // 100 ms per marked part
  std::size_t max_buffered = 8000 * 10; // caller audio while connecting
};

class openai_engine final : public conversation_engine {
public:
  openai_engine(engine_host& host, openai_engine_options opts);
  ~openai_engine() override; // closes the link

  /// The URL and headers (Authorization, OpenAI-Beta) to connect with.
  realtime_connect_request connect_request() const;

  /// Starts with `link` (being opened); a null link fails at once.
  void start(realtime_link_ptr link);

  // -- the link's callbacks, delivered by the call actor ----------------------
  void on_link_open();
  void on_link_message(const std::string& text);
  void on_link_closed(const std::string& reason);

  // -- conversation_engine ----------------------------------------------------
  void on_caller_audio(const std::string& mulaw) override;
  void on_speech(bool started) override;
  bool on_mark(const std::string& name) override;
  void on_dtmf(const std::string& digit) override;
  void on_cleared() override;
  void on_tool_result(const std::string& call_id, std::string output) override;
  void on_timer(std::uint64_t token) override;
  void stop() override;
  bool active() const override {
    return phase_ == phase::connecting || phase_ == phase::live;
  }

  /// Model audio queued and not yet echoed by Twilio.
  bool speaking() const noexcept {
    return !parts_.empty();
  }

  /// The session is open (not connecting, failed or stopped).
  bool live() const noexcept {
    return phase_ == phase::live;
  }

  /// Live, and waiting for the caller: no response running, nothing left
  /// to play, no tool running, not ending (the silence timer may run).
  bool idle() const noexcept {
    return phase_ == phase::live && !response_active_ && parts_.empty()
           && frames_.empty() && tools_running_ == 0 && !ending_
           && !pending_create_ && !awaiting_response_;
  }

  /// Tells the model something happened (a system note as a user turn)
  /// and asks for a reply.
  void nudge(const std::string& note);

  /// Ends the session once the reply now being asked for has been heard
  /// (as end_call does): the host's finished() follows.
  void end_after_reply();

private:
  enum class phase { idle, connecting, live, failed, stopped };

  struct part {
    std::string mark;
    std::string item_id;
    std::size_t bytes = 0; // model audio in it (without padding)
  };

  void send(std::string text);
  void fail(const std::string& reason);
  void handle(const realtime_event& ev);
  void on_audio(const realtime_event& ev);
  void flush_audio();
  void emit(std::size_t n, bool pad);
  void interrupt(const char* why, bool clear_sink);
  void on_function(const std::string& call_id, const std::string& name,
                   const std::string& arguments);
  void request_response();
  void maybe_finish();
  std::uint64_t arm(std::chrono::milliseconds after);
  void arm_reply();

  engine_host& host_;
  openai_engine_options opts_;
  realtime_link_ptr link_;
  realtime_parser parser_;
  realtime_event ev_;
  phase phase_ = phase::idle;
  std::string buffered_; // caller audio while connecting
  std::string buffered_dtmf_;

  // timers (0 = not armed)
  std::uint64_t next_token_ = 0;
  std::uint64_t open_timer_ = 0;
  std::uint64_t reply_timer_ = 0;
  std::uint64_t end_timer_ = 0;

  // turns
  bool in_turn_ = false;
  std::size_t turn_bytes_ = 0; // caller audio since the turn started
  bool server_heard_turn_ = false;
  bool server_speech_ = false;

  // responses and audio
  bool response_active_ = false;
  std::string response_id_;
  bool response_audio_ = false;
  bool prev_response_audio_ = false;
  std::string item_id_;         // assistant item of the audio playing
  std::size_t item_sent_ = 0;   // its bytes received (queued)
  std::size_t item_played_ = 0; // its bytes whose marks came back
  std::string frames_;          // audio not yet a whole frame
  std::deque<part> parts_;
  std::uint64_t part_seq_ = 0;
  std::set<std::string> dropped_items_;
  std::set<std::string> dropped_responses_;
  std::uint64_t event_seq_ = 0;

  // tools
  std::map<std::string, std::string> call_names_;   // call_id -> name
  std::map<std::string, std::string> unnamed_args_; // waiting for a name
  std::set<std::string> handled_calls_;
  int tools_running_ = 0;
  bool pending_create_ = false;
  bool ending_ = false;
  bool awaiting_response_ = false; // response.create sent, not created yet
  bool end_after_reply_ = false;   // end_after_reply(): wait for that reply
};

} // namespace al
