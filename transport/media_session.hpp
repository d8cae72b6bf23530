#pragma once

// The Twilio Media Streams protocol on one WebSocket (the handler of a
// websocket_session). On its io thread it parses every frame (simdjson),
// verifies the call token of `start`, computes each inbound frame's VAD
// energy, sends the call actor speech start/stop at once and caller audio in
// ~100 ms batches, and plays the actor's utterances as paced 20 ms frames
// (one shared timer per io thread, see media_pacer) followed by a mark.

#include "actors/call_protocol.hpp"
#include "actors/media_sink.hpp"
#include "core/media_out.hpp"
#include "core/vad.hpp"
#include "transport/websocket_session.hpp"

#include <caf/message.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace al {

struct services;
struct call_env;
struct media_frame;

class media_session : public websocket_handler {
public:
  explicit media_session(services& svc);

  void on_open(websocket_session& ws) override;
  void on_message(websocket_session& ws, std::string_view data,
                  bool is_text) override;
  void on_close(websocket_session& ws, std::string_view reason) override;

  // -- called on the io thread by the sink and the pacer ----------------------

  void bind(call_actor call);
  void play(websocket_session& ws, audio_ptr audio, std::string mark);
  void clear(websocket_session& ws);
  void close(websocket_session& ws);
  /// Forward every audio batch, not only those around speech.
  void want_all_audio(bool on) noexcept {
    all_audio_ = on;
  }

  /// One pacer tick; returns false when nothing is left to play.
  bool tick(websocket_session& ws, std::chrono::steady_clock::time_point now);

  /// Frames of audio queued (for tests).
  std::size_t queued_frames() const noexcept;

  /// Inbound frames per batch sent to the call actor (5 = 100 ms).
  static constexpr int batch_frames = 5;
  /// Frames sent at once when an utterance starts, so Twilio never starves.
  static constexpr int lead_frames = 3;

private:
  struct utterance {
    audio_ptr audio;
    std::size_t offset = 0;
    std::string mark;
  };

  void on_start(websocket_session& ws, const media_frame& f);
  void on_media(const media_frame& f);
  /// Sends the call actor (xs...), or keeps it until the actor binds; only
  /// a message of call_actor's interface compiles.
  template <class... Ts>
  void to_call(Ts&&... xs);
  bool send_frame(websocket_session& ws,
                  std::chrono::steady_clock::time_point now);
  void flush_metrics();

  services& svc_;
  // The frame parser and the parsed frame are the I/O thread's, shared by
  // its sessions (media_session.cpp: io_parse): a frame is handled before
  // the next is read, and one warm parser beats a cold one per call.
  energy_vad vad_;
  std::string call_sid_;
  std::string stream_sid_;
  media_json_writer media_json_; ///< outbound frames of stream_sid_
  call_actor call_;
  /// Events before the actor bound, each built by make_call_message.
  std::vector<caf::message> pending_;
  std::string batch_;
  int batch_count_ = 0;
  bool all_audio_ = false;
  bool started_ = false;
  bool stop_seen_ = false;
  bool closed_ = false;
  std::deque<utterance> queue_;
  bool pacing_ = false;
  std::chrono::steady_clock::time_point run_start_{};
  std::uint64_t run_frames_ = 0;
  std::chrono::steady_clock::time_point last_frame_at_{};
  std::chrono::steady_clock::time_point start_at_{};
  std::chrono::steady_clock::time_point opened_at_{};
  bool first_audio_sent_ = false;
  std::uint64_t frames_in_ = 0;
  std::uint64_t frames_out_ = 0;
  std::uint64_t bad_frames_ = 0;
  /// Frames not yet added to the shared metrics (flushed every
  /// metrics_every frames and when the socket closes).
  static constexpr std::uint32_t metrics_every = 50;
  std::uint32_t unflushed_in_ = 0;
  std::uint32_t unflushed_out_ = 0;
  std::weak_ptr<websocket_session> self_;
};

/// Installs `/ws/twilio-media` and `/ws/twilio-media/`.
class dispatcher;
void add_media_websocket(dispatcher& d, services& svc);

} // namespace al
