#pragma once

// The whole two-sided recording of a call (business setting record_calls),
// compressed to Ogg/Opus as the call goes and handed out in fixed-size
// chunks, so memory stays small and a long call never sits whole in RAM.
//
// Two channels on one timeline:
//   left  = the caller: every inbound media frame, in arrival order; the
//           timeline advances one sample per caller byte (160 per 20 ms);
//   right = the agent: the audio the call plays, from the timeline position
//           where its playback starts (after what is still queued), consumed
//           as the timeline advances; clear_agent() (barge-in) drops what
//           was not played yet; silence when nothing plays.
// Agent audio is held as the shared utterance buffers, never copied whole.
//
// The Ogg bytes go to a chunk sink in chunks of exactly audio_chunk_bytes
// (256 KiB), numbered 0, 1, ...; finish() hands over the rest as the last
// chunk (last = true, with the duration). The recording stops at a cap
// (2 h by default) and is finished then.
//
// Not thread-safe: one owner (the call actor; it lives in the call's
// checkpoint, so a restarted actor goes on with the same recording).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace al {

class store;

// The same alias as actors/media_sink.hpp (kept out of this header: it
// pulls in CAF): mu-law audio shared between the player and the recorder.
using audio_ptr = std::shared_ptr<const std::string>;

/// Receives the recording's chunks in order. `bytes` is exactly
/// audio_chunk_bytes long unless `last`; `duration_ms` is the timeline's
/// length when `last` (0 otherwise).
using recording_chunk_sink = std::function<void(int chunk_no, std::string bytes,
                                                bool last, int duration_ms)>;

struct call_recorder_options {
  std::chrono::seconds max_duration{2 * 60 * 60};
  int bitrate = 16000; // both channels
  int complexity = 3;  // ~0.55 % of a core per recorded call (bench/microbench)
  std::size_t chunk_bytes = 256 * 1024; // audio_store's audio_chunk_bytes
  std::string title;                    // Ogg TITLE tag (e.g. the call sid)
};

class call_recorder {
public:
  explicit call_recorder(recording_chunk_sink sink,
                         call_recorder_options opts = {});
  ~call_recorder(); // does not call the sink: finish() first
  call_recorder(const call_recorder&) = delete;
  call_recorder& operator=(const call_recorder&) = delete;

  /// Caller audio (mu-law, any length): advances the timeline and encodes
  /// it with the agent audio due at the same positions.
  void caller_audio(std::string_view mulaw);

  /// An utterance starts playing after what is queued.
  void agent_audio(audio_ptr mulaw);

  /// Barge-in: the agent audio not played yet is dropped.
  void clear_agent();

  /// Ends the recording: the last chunk goes to the sink. Idempotent.
  void finish();

  bool finished() const noexcept;
  /// Timeline length in samples (8 kHz).
  std::uint64_t samples() const noexcept;
  /// Agent audio queued and not played yet, in bytes.
  std::size_t agent_queued() const noexcept;
  /// Ogg bytes encoded and not yet handed out as a chunk.
  std::size_t pending_bytes() const noexcept;
  /// Chunks handed to the sink so far.
  int chunks() const noexcept;
  /// Why the recording failed ("" when it did not).
  std::string error() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The default sink: append_audio_chunk(db, call_sid, "call", 0,
/// "audio/ogg", ...) through the store's write queue (actors/audio_store).
recording_chunk_sink store_recording_sink(const store& db,
                                          std::string call_sid);

} // namespace al
