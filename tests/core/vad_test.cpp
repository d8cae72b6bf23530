#include "core/vad.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/mulaw.hpp"

namespace al {
namespace {

constexpr double pi = 3.14159265358979323846;

/// Continuous-phase sine, cut into 160-byte mu-law frames.
class tone {
public:
  tone(double hz, double amplitude)
    : hz_(hz)
    , amp_(amplitude) {}
  std::string frame() {
    std::int16_t pcm[mulaw::frame_bytes];
    for (auto& s : pcm) {
      s = static_cast<std::int16_t>(
        std::lround(amp_ * std::sin(2 * pi * hz_ * n_ / 8000.0)));
      ++n_;
    }
    return mulaw::encode(pcm, mulaw::frame_bytes);
  }

private:
  double hz_;
  double amp_;
  long n_ = 0;
};

const std::string silence(mulaw::frame_bytes,
                          static_cast<char>(mulaw::silence));

using ev = energy_vad::event;

TEST(vad_test, energy_of_synthetic_frames) {
  EXPECT_EQ(mulaw::mean_abs(silence), 0u);
  tone loud(440, 3000);
  auto e = mulaw::mean_abs(loud.frame());
  // mean |A sin| = 2A/pi = 1910 for A = 3000 (mu-law error is a few %).
  EXPECT_NEAR(static_cast<double>(e), 1910.0, 60.0);
  tone hiss(1000, 100);
  EXPECT_LT(mulaw::mean_abs(hiss.frame()), 100u);
}

TEST(vad_test, defaults) {
  energy_vad vad;
  EXPECT_EQ(vad.opts().start_threshold, 400u);
  EXPECT_EQ(vad.opts().stop_threshold, 250u);
  EXPECT_EQ(vad.opts().start_frames, 2);
  EXPECT_EQ(vad.opts().hangover_frames, 25);
  EXPECT_FALSE(vad.speaking());
}

TEST(vad_test, silence_never_starts) {
  energy_vad vad;
  for (int i = 0; i < 500; ++i)
    ASSERT_EQ(vad.feed(silence), ev::none);
  EXPECT_FALSE(vad.speaking());
}

TEST(vad_test, line_noise_never_starts) {
  energy_vad vad;
  tone hiss(1000, 150); // mean_abs ~95, well below the start threshold
  for (int i = 0; i < 500; ++i)
    ASSERT_EQ(vad.feed(hiss.frame()), ev::none);
  EXPECT_FALSE(vad.speaking());
}

TEST(vad_test, onset_after_start_frames) {
  energy_vad vad;
  tone voice(300, 3000);
  EXPECT_EQ(vad.feed(voice.frame()), ev::none);
  EXPECT_FALSE(vad.speaking());
  EXPECT_EQ(vad.feed(voice.frame()), ev::speech_start); // 40 ms
  EXPECT_TRUE(vad.speaking());
  EXPECT_GT(vad.last_energy(), 1500u);
  for (int i = 0; i < 50; ++i)
    ASSERT_EQ(vad.feed(voice.frame()), ev::none);
}

TEST(vad_test, onset_with_custom_start_frames) {
  for (int start : {1, 3, 5}) {
    energy_vad::options o;
    o.start_frames = start;
    energy_vad vad(o);
    tone voice(300, 3000);
    for (int i = 1; i < start; ++i)
      ASSERT_EQ(vad.feed(voice.frame()), ev::none);
    EXPECT_EQ(vad.feed(voice.frame()), ev::speech_start) << start;
  }
}

TEST(vad_test, single_click_does_not_start) {
  energy_vad vad;
  tone voice(300, 3000);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(vad.feed(voice.frame()), ev::none);
    ASSERT_EQ(vad.feed(silence), ev::none);
  }
  EXPECT_FALSE(vad.speaking());
}

TEST(vad_test, hangover_timing) {
  energy_vad vad;
  tone voice(300, 3000);
  vad.feed(voice.frame());
  ASSERT_EQ(vad.feed(voice.frame()), ev::speech_start);
  for (int i = 1; i < 25; ++i) {
    ASSERT_EQ(vad.feed(silence), ev::none) << i;
    ASSERT_TRUE(vad.speaking());
  }
  EXPECT_EQ(vad.feed(silence), ev::speech_stop); // 25th = 500 ms
  EXPECT_FALSE(vad.speaking());
  EXPECT_EQ(vad.feed(silence), ev::none);
}

TEST(vad_test, short_pause_does_not_end_turn) {
  energy_vad vad;
  tone voice(300, 3000);
  vad.feed(voice.frame());
  ASSERT_EQ(vad.feed(voice.frame()), ev::speech_start);
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 20; ++i) // 400 ms pause
      ASSERT_EQ(vad.feed(silence), ev::none);
    ASSERT_EQ(vad.feed(voice.frame()), ev::none); // resets the hangover
  }
  EXPECT_TRUE(vad.speaking());
  for (int i = 1; i < 25; ++i)
    ASSERT_EQ(vad.feed(silence), ev::none);
  EXPECT_EQ(vad.feed(silence), ev::speech_stop);
}

TEST(vad_test, hysteresis_between_thresholds) {
  energy_vad vad;
  tone mid(300, 500); // mean_abs ~318: between stop (250) and start (400)
  auto e = mulaw::mean_abs(mid.frame());
  ASSERT_GT(e, 250u);
  ASSERT_LT(e, 400u);
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(vad.feed(mid.frame()), ev::none); // too quiet to start
  tone voice(300, 3000);
  vad.feed(voice.frame());
  ASSERT_EQ(vad.feed(voice.frame()), ev::speech_start);
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(vad.feed(mid.frame()), ev::none); // loud enough to continue
  EXPECT_TRUE(vad.speaking());
}

TEST(vad_test, feed_energy_and_reset) {
  energy_vad::options o;
  o.start_threshold = 1000;
  o.stop_threshold = 500;
  o.start_frames = 1;
  o.hangover_frames = 2;
  energy_vad vad(o);
  EXPECT_EQ(vad.feed_energy(999), ev::none);
  EXPECT_EQ(vad.feed_energy(1000), ev::speech_start);
  EXPECT_EQ(vad.feed_energy(499), ev::none);
  EXPECT_EQ(vad.feed_energy(500), ev::none); // resets the quiet run
  EXPECT_EQ(vad.feed_energy(0), ev::none);
  EXPECT_EQ(vad.feed_energy(0), ev::speech_stop);
  EXPECT_EQ(vad.feed_energy(5000), ev::speech_start);
  vad.reset();
  EXPECT_FALSE(vad.speaking());
  EXPECT_EQ(vad.last_energy(), 0u);
  EXPECT_EQ(vad.feed(""), ev::none); // empty frame ignored
}

TEST(vad_test, invalid_options_are_clamped) {
  energy_vad::options o;
  o.start_frames = 0;
  o.hangover_frames = -3;
  energy_vad vad(o);
  EXPECT_EQ(vad.opts().start_frames, 1);
  EXPECT_EQ(vad.opts().hangover_frames, 1);
  EXPECT_EQ(vad.feed_energy(5000), ev::speech_start);
  EXPECT_EQ(vad.feed_energy(0), ev::speech_stop);
}

} // namespace
} // namespace al
