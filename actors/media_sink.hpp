#pragma once

// How a call actor reaches its live media socket without knowing Beast: the
// transport implements this interface; every method is thread-safe and only
// posts to the socket's io thread. The actor keeps the sink in its
// checkpoint, so a restarted actor re-binds the same socket.

#include "actors/call_protocol.hpp"

#include <memory>
#include <string>

namespace al {

using audio_ptr = std::shared_ptr<const std::string>; // mu-law, 160-byte frames

class media_sink {
public:
  virtual ~media_sink() = default;

  /// Routes the socket's events (speech, audio, marks, DTMF, hangup) to
  /// `call` from now on (after a restart too).
  virtual void bind(call_actor call) = 0;

  /// Queues an utterance: paced 20 ms frames, then a Twilio mark `mark`.
  virtual void play(audio_ptr audio, std::string mark) = 0;

  /// Barge-in: drops queued audio at once and sends Twilio `clear`.
  virtual void clear() = 0;

  /// Ends the stream (Twilio then requests the <Connect action>).
  virtual void close() = 0;

  /// By default only caller audio around speech reaches the actor (the
  /// embedded engine keeps caller turns only; silence stays on the I/O
  /// thread). An engine that listens all the time (OpenAI) turns this on.
  virtual void want_all_audio(bool on) = 0;
};

// media_sink_ptr, the message type, is declared in actors/call_protocol.hpp.

} // namespace al
