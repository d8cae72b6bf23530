#pragma once

// The embedded voice's audio, synthesised once per business and text with
// espeak-ng (Hebrew) into mu-law frames and kept in memory, so a call's first
// frame never waits for synthesis. Thread-safe.

#include "actors/media_sink.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace al {

/// Where a business's greeting audio came from, best first.
enum class greeting_source { uploaded, rendered, espeak };

/// Everything the scripted dialogue says, as ready audio.
struct voice_pack {
  std::string greeting_text;
  greeting_source source = greeting_source::espeak;
  audio_ptr greeting;
  audio_ptr ask_callback;
  audio_ptr goodbye;
  audio_ptr didnt_hear;
  audio_ptr still_there;      // silence: the one reprompt
  audio_ptr silent_goodbye;   // silence again: goodbye
  audio_ptr transferring;     // before the <Dial>
  audio_ptr recording_notice; // after the greeting, with record_calls
};

/// What a business's greeting should be now: its text, the revision of its
/// settings, and the key of the AI voice's rendering ("" = espeak-ng).
struct greeting_spec {
  std::string text;
  std::int64_t rev = 0;
  std::string speech_key;
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
extern const char* const still_there;
extern const char* const silent_goodbye;
extern const char* const transferring;
extern const char* const recording_notice; // right after the greeting
extern const char* const press_zero;
extern const char* const transfer_missed; // <Say> when nobody answered //
                                          // appended to the greeting (transfer)
} // namespace prompts

class voice_cache {
public:
  /// The pack for `business_id` whose greeting is `greeting_text` (empty:
  /// the default greeting); synthesised on a miss or when the text changed.
  voice_pack_ptr get(std::int64_t business_id,
                     const std::string& greeting_text);

  /// The pack for `business_id` if it matches `spec` (text, revision and
  /// rendering key); nullptr when the caller must load the stored audio and
  /// put() it. A pack still on espeak-ng while a rendering is wanted is
  /// re-checked every few seconds (another instance may have rendered it).
  voice_pack_ptr find(std::int64_t business_id, const greeting_spec& spec);

  /// Builds and keeps the pack for `spec`: `uploaded` audio if given, else
  /// `rendered`, else espeak-ng of spec.text (all 8 kHz mu-law).
  voice_pack_ptr put(std::int64_t business_id, const greeting_spec& spec,
                     std::optional<std::string> uploaded,
                     std::optional<std::string> rendered);

  /// Drops the business's pack: the next call loads the stored audio (a
  /// rendering just landed).
  void forget(std::int64_t business_id);

  /// Speech of a short runtime text (e.g. when the office opens), espeak-ng.
  audio_ptr say(const std::string& text);

  /// Entries cached (for tests and metrics).
  std::size_t size() const;

private:
  audio_ptr synth(const std::string& text);
  void fill_prompts(voice_pack& pack); // with mtx_ held

  struct entry {
    voice_pack_ptr pack;
    greeting_spec spec;
    std::chrono::steady_clock::time_point checked;
  };

  mutable std::mutex mtx_;
  std::map<std::int64_t, entry> packs_;
  audio_ptr ask_callback_, goodbye_, didnt_hear_; // shared by all businesses
  audio_ptr still_there_, silent_goodbye_, transferring_;
  audio_ptr recording_notice_;
};

} // namespace al
