// Pure helpers of the dashboard: the greeting preview's WAV bytes.
#include "core/mulaw.hpp"
#include "core/wav.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace al {
namespace {

std::uint32_t u32_at(const std::string& s, std::size_t i) {
  std::uint32_t v = 0;
  for (int k = 3; k >= 0; --k)
    v = (v << 8) | static_cast<unsigned char>(s[i + k]);
  return v;
}

std::uint16_t u16_at(const std::string& s, std::size_t i) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(s[i])
                                    | static_cast<unsigned char>(s[i + 1])
                                        << 8);
}

TEST(MulawToPcmWav, HeaderAndSamples) {
  std::string mulaw{static_cast<char>(0xFF), static_cast<char>(0x00),
                    static_cast<char>(0x80)};
  auto wav = mulaw_to_pcm_wav(mulaw);
  ASSERT_EQ(wav.size(), 44u + 6u);
  EXPECT_EQ(wav.substr(0, 4), "RIFF");
  EXPECT_EQ(u32_at(wav, 4), 36u + 6u);
  EXPECT_EQ(wav.substr(8, 8), "WAVEfmt ");
  EXPECT_EQ(u32_at(wav, 16), 16u);
  EXPECT_EQ(u16_at(wav, 20), 1u); // PCM
  EXPECT_EQ(u16_at(wav, 22), 1u); // mono
  EXPECT_EQ(u32_at(wav, 24), 8000u);
  EXPECT_EQ(u32_at(wav, 28), 16000u);
  EXPECT_EQ(u16_at(wav, 32), 2u);
  EXPECT_EQ(u16_at(wav, 34), 16u);
  EXPECT_EQ(wav.substr(36, 4), "data");
  EXPECT_EQ(u32_at(wav, 40), 6u);
  for (std::size_t i = 0; i < mulaw.size(); ++i)
    EXPECT_EQ(static_cast<std::int16_t>(u16_at(wav, 44 + 2 * i)),
              mulaw::decode(static_cast<std::uint8_t>(mulaw[i])));
}

TEST(MulawToPcmWav, EmptyIsAValidEmptyFile) {
  auto wav = mulaw_to_pcm_wav({});
  EXPECT_EQ(wav.size(), 44u);
  EXPECT_EQ(u32_at(wav, 40), 0u);
}

} // namespace
} // namespace al
