#pragma once

// Hebrew speech synthesis for the `local` voice engine: espeak-ng (voice
// "he", 22050 Hz PCM16) -> libsoxr (8 kHz, HQ) -> G.711 mu-law, padded to
// whole 20 ms frames. CPU-bound (~tens of ms per sentence): run it at
// start-up or off the I/O threads, and cache the result.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace al {

struct tts_options {
  std::string voice = "he"; ///< espeak-ng voice name
  int rate = 160;           ///< words per minute (espeak: 80..450)
  int pitch = 50;           ///< base pitch 0..100 (50 = normal)
  int volume = 100;         ///< amplitude 0..200 (100 = normal)
  /// Text beyond this many code points is cut (at a space when possible).
  std::size_t max_chars = 2000;
  /// Drop the near-silent lead-in so audio starts at once.
  bool trim_leading_silence = true;
};

/// Synthesises `utf8_text` into 8 kHz mu-law whose length is a positive
/// multiple of 160 (the tail is padded with mu-law silence 0xFF). Returns
/// nullopt when the text is empty/blank, espeak-ng cannot start or lacks
/// the voice, or no audio came out. Thread-safe: calls are serialised by a
/// process-wide mutex (espeak-ng is not re-entrant); espeak-ng is
/// initialised on first use.
std::optional<std::string> synthesize_mulaw(std::string_view utf8_text,
                                            const tts_options& opts = {});

/// Appends mu-law silence to `mulaw` up to a multiple of 160 bytes.
void pad_to_frames(std::string& mulaw);

/// Views of consecutive 160-byte frames of `mulaw` (which must outlive
/// them); a shorter tail, if any, is the last view.
std::vector<std::string_view> split_frames(std::string_view mulaw);

/// Resamples mono PCM16 from `in_rate` to `out_rate` with libsoxr (HQ).
/// Returns an empty vector on error or empty input.
std::vector<short> resample_pcm16(const short* in, std::size_t n,
                                  double in_rate, double out_rate);

} // namespace al
