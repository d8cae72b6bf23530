#include "core/tts.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "core/mulaw.hpp"

namespace al {
namespace {

const std::string greeting = "שלום, הגעתם למשרד";

double seconds(const std::string& mulaw) {
  return static_cast<double>(mulaw.size()) / 8000.0;
}

TEST(tts_test, hebrew_greeting) {
  auto t0 = std::chrono::steady_clock::now();
  auto audio = synthesize_mulaw(greeting);
  auto ms = std::chrono::duration<double, std::milli>(
              std::chrono::steady_clock::now() - t0)
              .count();
  ASSERT_TRUE(audio.has_value());
  RecordProperty("synth_ms", static_cast<int>(ms));
  std::printf("[ info ] greeting: %.2f s of audio in %.1f ms (first call)\n",
              seconds(*audio), ms);
  EXPECT_GT(audio->size(), 4000u);     // > 0.5 s
  EXPECT_LT(audio->size(), 8000u * 5); // a short phrase, < 5 s
  EXPECT_EQ(audio->size() % mulaw::frame_bytes, 0u);
  EXPECT_GT(mulaw::mean_abs(*audio), 300u); // speech, not silence
  // Leading silence trimmed: speech within the first 40 ms.
  EXPECT_GT(mulaw::mean_abs(std::string_view(*audio).substr(0, 320)), 50u);

  t0 = std::chrono::steady_clock::now();
  auto again = synthesize_mulaw(greeting);
  ms = std::chrono::duration<double, std::milli>(
         std::chrono::steady_clock::now() - t0)
         .count();
  std::printf("[ info ] greeting again: %.1f ms\n", ms);
  ASSERT_TRUE(again.has_value());
  // espeak-ng's noise source makes samples differ slightly between calls;
  // length and energy do not.
  EXPECT_EQ(again->size(), audio->size());
  EXPECT_NEAR(static_cast<double>(mulaw::mean_abs(*again)),
              static_cast<double>(mulaw::mean_abs(*audio)), 30.0);
}

TEST(tts_test, empty_or_blank_text) {
  EXPECT_FALSE(synthesize_mulaw("").has_value());
  EXPECT_FALSE(synthesize_mulaw("  \n\t ").has_value());
}

TEST(tts_test, unknown_voice) {
  tts_options o;
  o.voice = "no-such-voice-xx";
  EXPECT_FALSE(synthesize_mulaw(greeting, o).has_value());
}

TEST(tts_test, rate_changes_duration) {
  tts_options slow;
  slow.rate = 120;
  tts_options fast;
  fast.rate = 300;
  auto a = synthesize_mulaw(greeting, slow);
  auto b = synthesize_mulaw(greeting, fast);
  ASSERT_TRUE(a && b);
  EXPECT_GT(a->size(), b->size() * 3 / 2);
}

TEST(tts_test, pitch_changes_audio) {
  tts_options low;
  low.pitch = 20;
  tts_options high;
  high.pitch = 80;
  auto a = synthesize_mulaw(greeting, low);
  auto b = synthesize_mulaw(greeting, high);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(*a != *b);
}

TEST(tts_test, long_text_is_capped) {
  std::string sentence = "אנחנו נחזור אליכם בהקדם האפשרי. ";
  std::string long_text;
  while (long_text.size() < 20000)
    long_text += sentence;
  tts_options o;
  o.max_chars = 100;
  auto t0 = std::chrono::steady_clock::now();
  auto capped = synthesize_mulaw(long_text, o);
  auto ms = std::chrono::duration<double, std::milli>(
              std::chrono::steady_clock::now() - t0)
              .count();
  ASSERT_TRUE(capped.has_value());
  std::printf("[ info ] 100-char cap of %zu bytes: %.2f s audio, %.1f ms\n",
              long_text.size(), seconds(*capped), ms);
  EXPECT_LT(seconds(*capped), 15.0);
  EXPECT_GT(seconds(*capped), 2.0);
  // Cut at the last space before 100 code points: identical to synthesising
  // that prefix directly.
  std::size_t chars = 0, i = 0;
  for (; i < long_text.size(); ++i)
    if ((static_cast<unsigned char>(long_text[i]) & 0xC0) != 0x80
        && chars++ == 100)
      break;
  auto prefix = long_text.substr(0, long_text.rfind(' ', i));
  auto direct = synthesize_mulaw(prefix, o);
  ASSERT_TRUE(direct.has_value());
  EXPECT_EQ(direct->size(), capped->size());
}

TEST(tts_test, default_cap_bounds_huge_input) {
  std::string huge(200000, 'a'); // one 200 KB "word", no spaces
  tts_options o;
  o.max_chars = 300;
  auto audio = synthesize_mulaw(huge, o);
  // espeak spells such a "word"; the output stays bounded.
  ASSERT_TRUE(audio.has_value());
  EXPECT_LT(seconds(*audio), 120.0);
}

TEST(tts_test, concurrent_calls_are_serialised) {
  auto expected = synthesize_mulaw(greeting);
  ASSERT_TRUE(expected.has_value());
  std::optional<std::string> r1, r2;
  std::thread t1([&] { r1 = synthesize_mulaw(greeting); });
  std::thread t2([&] { r2 = synthesize_mulaw(greeting); });
  t1.join();
  t2.join();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->size(), expected->size());
  EXPECT_EQ(r2->size(), expected->size());
  EXPECT_GT(mulaw::mean_abs(*r1), 300u);
  EXPECT_GT(mulaw::mean_abs(*r2), 300u);
}

TEST(tts_test, frame_helpers) {
  std::string a(400, '\x10');
  auto frames = split_frames(a);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].size(), 160u);
  EXPECT_EQ(frames[1].size(), 160u);
  EXPECT_EQ(frames[2].size(), 80u);
  EXPECT_EQ(frames[1].data(), a.data() + 160);
  EXPECT_TRUE(split_frames("").empty());

  pad_to_frames(a);
  ASSERT_EQ(a.size(), 480u);
  EXPECT_EQ(a[399], '\x10');
  EXPECT_EQ(static_cast<unsigned char>(a[400]), mulaw::silence);
  EXPECT_EQ(static_cast<unsigned char>(a[479]), mulaw::silence);
  pad_to_frames(a);
  EXPECT_EQ(a.size(), 480u);
  std::string empty;
  pad_to_frames(empty);
  EXPECT_TRUE(empty.empty());
}

TEST(tts_test, resample_keeps_duration_and_tone) {
  // 1 s of 440 Hz at 22050 Hz -> 8000 samples of 440 Hz.
  std::vector<short> in(22050);
  for (std::size_t i = 0; i < in.size(); ++i)
    in[i] = static_cast<short>(
      std::lround(8000 * std::sin(2 * 3.14159265358979 * 440 * i / 22050.0)));
  auto out = resample_pcm16(in.data(), in.size(), 22050, 8000);
  ASSERT_NEAR(static_cast<double>(out.size()), 8000.0, 2.0);
  int crossings = 0;
  for (std::size_t i = 1; i < out.size(); ++i)
    crossings += (out[i - 1] < 0) != (out[i] < 0);
  EXPECT_NEAR(crossings, 880, 4);
  EXPECT_TRUE(resample_pcm16(nullptr, 0, 22050, 8000).empty());
}

} // namespace
} // namespace al
