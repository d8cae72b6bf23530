#pragma once

// Energy voice-activity detector over 20 ms mu-law frames, with an onset
// count (speech must last start_frames) and a hangover (silence must last
// hangover_frames) so short pauses between words do not end a turn.

#include <cstdint>
#include <string_view>

namespace al {

class energy_vad {
public:
  struct options {
    /// mean_abs at or above which a frame counts towards speech onset.
    std::uint32_t start_threshold = 400;
    /// While speaking, mean_abs below which a frame counts as silence
    /// (lower than start_threshold: hysteresis).
    std::uint32_t stop_threshold = 250;
    /// Consecutive loud frames that declare speech (2 = 40 ms).
    int start_frames = 2;
    /// Consecutive quiet frames that declare silence (25 = 500 ms).
    int hangover_frames = 25;
  };

  enum class event { none, speech_start, speech_stop };

  /// Defaults suited to telephone mu-law: line silence (0xFF) is 0, line
  /// noise is typically < 150, speech typically > 500.
  energy_vad();
  explicit energy_vad(const options& opts);

  /// Feeds one frame (normally 160 bytes; any non-empty size works) and
  /// returns the transition it caused, if any. An empty frame is ignored.
  event feed(std::string_view frame) noexcept;

  /// Same as feed, for an energy already computed with mulaw::mean_abs.
  event feed_energy(std::uint32_t energy) noexcept;

  /// True between speech_start and speech_stop.
  bool speaking() const noexcept {
    return speaking_;
  }

  /// mean_abs of the last fed frame.
  std::uint32_t last_energy() const noexcept {
    return last_energy_;
  }

  const options& opts() const noexcept {
    return opts_;
  }

  /// Back to silence, counters cleared (e.g. after the agent's own turn).
  void reset() noexcept;

private:
  options opts_;
  bool speaking_ = false;
  int run_ = 0; ///< loud frames (silent state) or quiet frames (speaking)
  std::uint32_t last_energy_ = 0;
};

} // namespace al
