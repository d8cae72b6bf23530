#include "core/vad.hpp"

#include "core/mulaw.hpp"

namespace al {

energy_vad::energy_vad()
  : energy_vad(options{}) {}

energy_vad::energy_vad(const options& opts)
  : opts_(opts) {
  if (opts_.start_frames < 1)
    opts_.start_frames = 1;
  if (opts_.hangover_frames < 1)
    opts_.hangover_frames = 1;
}

energy_vad::event energy_vad::feed(std::string_view frame) noexcept {
  if (frame.empty())
    return event::none;
  return feed_energy(mulaw::mean_abs(frame));
}

energy_vad::event energy_vad::feed_energy(std::uint32_t energy) noexcept {
  last_energy_ = energy;
  if (!speaking_) {
    run_ = energy >= opts_.start_threshold ? run_ + 1 : 0;
    if (run_ >= opts_.start_frames) {
      speaking_ = true;
      run_ = 0;
      return event::speech_start;
    }
    return event::none;
  }
  run_ = energy < opts_.stop_threshold ? run_ + 1 : 0;
  if (run_ >= opts_.hangover_frames) {
    speaking_ = false;
    run_ = 0;
    return event::speech_stop;
  }
  return event::none;
}

void energy_vad::reset() noexcept {
  speaking_ = false;
  run_ = 0;
  last_energy_ = 0;
}

} // namespace al
