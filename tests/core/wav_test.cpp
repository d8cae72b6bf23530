#include "core/wav.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include <sndfile.h>
#include <unistd.h>

#include "core/mulaw.hpp"

namespace al {
namespace {

namespace fs = std::filesystem;

constexpr double pi = 3.14159265358979323846;

class wav_test : public ::testing::Test {
protected:
  void SetUp() override {
    dir_
      = fs::temp_directory_path()
        / ("al_wav_test_" + std::to_string(::getpid()) + "_"
           + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    fs::remove_all(dir_);
  }
  std::string path(const std::string& name) const {
    return (dir_ / name).string();
  }

  /// Writes interleaved 16-bit PCM WAV with `channels` channels.
  static bool write_pcm(const std::string& p, int rate, int channels,
                        const std::vector<short>& interleaved) {
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = channels;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE* f = sf_open(p.c_str(), SFM_WRITE, &info);
    if (!f)
      return false;
    auto frames = static_cast<sf_count_t>(interleaved.size() / channels);
    bool ok = sf_writef_short(f, interleaved.data(), frames) == frames;
    return sf_close(f) == 0 && ok;
  }

  static short sine(double hz, double amp, int rate, std::size_t i) {
    return static_cast<short>(
      std::lround(amp * std::sin(2 * pi * hz * i / rate)));
  }

  fs::path dir_;
};

TEST_F(wav_test, mulaw_round_trip_is_byte_exact) {
  std::string audio;
  for (int rep = 0; rep < 25; ++rep)
    for (int b = 0; b < 256; ++b)
      audio.push_back(static_cast<char>(b));
  auto p = path("seg.wav");
  ASSERT_TRUE(write_mulaw_wav(p, audio));
  EXPECT_FALSE(fs::exists(p + ".tmp"));
  // 44-byte canonical header at most a few dozen bytes more.
  auto size = fs::file_size(p);
  EXPECT_GE(size, audio.size() + 44);
  EXPECT_LE(size, audio.size() + 128);

  SF_INFO info{};
  SNDFILE* f = sf_open(p.c_str(), SFM_READ, &info);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(info.samplerate, 8000);
  EXPECT_EQ(info.channels, 1);
  EXPECT_EQ(info.format, SF_FORMAT_WAV | SF_FORMAT_ULAW);
  EXPECT_EQ(info.frames, static_cast<sf_count_t>(audio.size()));
  // libsndfile decodes each byte as standard G.711 mu-law.
  std::vector<short> pcm(audio.size());
  ASSERT_EQ(sf_read_short(f, pcm.data(), static_cast<sf_count_t>(pcm.size())),
            static_cast<sf_count_t>(pcm.size()));
  sf_close(f);
  for (std::size_t i = 0; i < 256; ++i)
    ASSERT_EQ(pcm[i], mulaw::decode(static_cast<std::uint8_t>(audio[i])))
      << "byte " << i;

  auto back = read_wav_as_mulaw(p);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, audio);
}

TEST_F(wav_test, empty_segment) {
  auto p = path("empty.wav");
  ASSERT_TRUE(write_mulaw_wav(p, ""));
  auto back = read_wav_as_mulaw(p);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->empty());
}

TEST_F(wav_test, overwrite_existing_file) {
  auto p = path("seg.wav");
  ASSERT_TRUE(write_mulaw_wav(p, std::string(1600, '\x11')));
  ASSERT_TRUE(write_mulaw_wav(p, std::string(320, '\x22')));
  auto back = read_wav_as_mulaw(p);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, std::string(320, '\x22'));
}

TEST_F(wav_test, write_fails_cleanly) {
  auto p = path("no/such/dir/seg.wav");
  EXPECT_FALSE(write_mulaw_wav(p, "abc"));
  EXPECT_FALSE(fs::exists(p + ".tmp"));
}

TEST_F(wav_test, read_missing_or_garbage) {
  EXPECT_FALSE(read_wav_as_mulaw(path("missing.wav")).has_value());
  auto p = path("garbage.wav");
  std::ofstream(p) << "RIFF this is not really a wave file at all";
  EXPECT_FALSE(read_wav_as_mulaw(p).has_value());
}

TEST_F(wav_test, pcm16_8k_mono_is_encoded_exactly) {
  std::vector<short> pcm(8000);
  for (std::size_t i = 0; i < pcm.size(); ++i)
    pcm[i] = sine(440, 10000, 8000, i);
  auto p = path("pcm8k.wav");
  ASSERT_TRUE(write_pcm(p, 8000, 1, pcm));
  auto back = read_wav_as_mulaw(p);
  ASSERT_TRUE(back.has_value());
  ASSERT_EQ(back->size(), pcm.size());
  // short -> float -> short is exact in libsndfile, so the bytes match.
  EXPECT_EQ(*back, mulaw::encode(pcm.data(), pcm.size()));
}

TEST_F(wav_test, stereo_44k_is_mixed_and_resampled) {
  const int rate = 44100;
  const std::size_t frames = rate * 3 / 2; // 1.5 s
  std::vector<short> same(frames * 2), opposite(frames * 2);
  for (std::size_t i = 0; i < frames; ++i) {
    auto s = sine(440, 8000, rate, i);
    same[2 * i] = same[2 * i + 1] = s;
    opposite[2 * i] = s;
    opposite[2 * i + 1] = static_cast<short>(-s);
  }
  auto p1 = path("same.wav");
  auto p2 = path("opposite.wav");
  ASSERT_TRUE(write_pcm(p1, rate, 2, same));
  ASSERT_TRUE(write_pcm(p2, rate, 2, opposite));

  auto a = read_wav_as_mulaw(p1);
  ASSERT_TRUE(a.has_value());
  EXPECT_NEAR(static_cast<double>(a->size()), 12000.0, 2.0);
  // Tone kept: mean |8000 sin| = 5093 (excluding the filter's edges).
  auto mid = std::string_view(*a).substr(800, 8000);
  EXPECT_NEAR(static_cast<double>(mulaw::mean_abs(mid)), 5093.0, 250.0);
  std::vector<std::int16_t> pcm;
  mulaw::decode(mid, pcm);
  int crossings = 0;
  for (std::size_t i = 1; i < pcm.size(); ++i)
    crossings += (pcm[i - 1] < 0) != (pcm[i] < 0);
  EXPECT_NEAR(crossings, 880, 6); // 440 Hz over 1 s

  // Left and right cancel out in the mono mix.
  auto b = read_wav_as_mulaw(p2);
  ASSERT_TRUE(b.has_value());
  EXPECT_NEAR(static_cast<double>(b->size()), 12000.0, 2.0);
  EXPECT_LT(mulaw::mean_abs(*b), 5u);
}

TEST_F(wav_test, too_long_is_refused) {
  std::vector<short> pcm(16000, 1000); // 1 s at 16 kHz
  auto p = path("long.wav");
  ASSERT_TRUE(write_pcm(p, 16000, 1, pcm));
  EXPECT_FALSE(read_wav_as_mulaw(p, 0.5).has_value());
  auto ok = read_wav_as_mulaw(p, 2.0);
  ASSERT_TRUE(ok.has_value());
  EXPECT_NEAR(static_cast<double>(ok->size()), 8000.0, 2.0);
}

} // namespace
} // namespace al
