#pragma once

// The embedded voice's audio, synthesised once per business and text with
// espeak-ng (Hebrew) into mu-law frames and kept in memory, so a call's first
// frame never waits for synthesis. Thread-safe.

#include "actors/media_sink.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace al {

/// Everything the scripted dialogue says, as ready audio.
struct voice_pack {
  std::string greeting_text;
  audio_ptr greeting;
  audio_ptr ask_callback;
  audio_ptr goodbye;
  audio_ptr didnt_hear;
};

using voice_pack_ptr = std::shared_ptr<const voice_pack>;

/// Default Hebrew texts.
namespace prompts {
extern const char* const default_greeting;
extern const char* const ask_callback;
extern const char* const goodbye;
extern const char* const didnt_hear;
extern const char* const fallback;  // <Say> before the recording fallback
extern const char* const voicemail; // <Say> when over capacity
} // namespace prompts

class voice_cache {
public:
  /// The pack for `business_id` whose greeting is `greeting_text` (empty:
  /// the default greeting); synthesised on a miss or when the text changed.
  voice_pack_ptr get(std::int64_t business_id, const std::string& greeting_text);

  /// Entries cached (for tests and metrics).
  std::size_t size() const;

private:
  audio_ptr synth(const std::string& text);

  mutable std::mutex mtx_;
  std::map<std::int64_t, voice_pack_ptr> packs_;
  audio_ptr ask_callback_, goodbye_, didnt_hear_; // shared by all businesses
};

} // namespace al
