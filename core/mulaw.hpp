#pragma once

// G.711 mu-law <-> linear PCM16, the audio format of Twilio Media Streams
// (8 kHz, mono, 160 bytes per 20 ms frame).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace al::mulaw {

/// Bytes (= samples) in one 20 ms frame at 8 kHz.
constexpr std::size_t frame_bytes = 160;

/// The mu-law byte that decodes to silence.
constexpr std::uint8_t silence = 0xFF;

std::uint8_t encode(std::int16_t sample) noexcept;

std::int16_t decode(std::uint8_t byte) noexcept;

/// Encodes a PCM16 buffer into mu-law bytes.
std::string encode(const std::int16_t* samples, std::size_t n);

/// Decodes mu-law bytes into PCM16 samples appended to `out`.
void decode(std::string_view bytes, std::vector<std::int16_t>& out);

/// Mean absolute amplitude of decoded samples (0..32767): the energy measure
/// used by the VAD. Uses a 256-entry table, no allocation.
std::uint32_t mean_abs(std::string_view bytes) noexcept;

} // namespace al::mulaw
