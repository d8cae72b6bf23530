#pragma once

// Decodes an Ogg/Opus byte string (one logical stream, channel mapping 0)
// back to 8 kHz PCM16 with libopus, for tests that check what a recording
// holds. Link libopus (pkg-config opus).

#include "tests/core/ogg_pages.hpp"

#include <opus/opus.h>
#include <opus/opus_multistream.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace al::test {

/// The packets of an Ogg stream (lacing undone), headers included.
inline std::vector<std::string> ogg_packets(const std::string& bytes) {
  std::vector<std::string> out;
  std::string current;
  std::size_t at = 0;
  while (at + 27 <= bytes.size() && bytes.compare(at, 4, "OggS") == 0) {
    std::size_t nseg = static_cast<unsigned char>(bytes[at + 26]);
    std::size_t body = at + 27 + nseg;
    for (std::size_t i = 0; i < nseg; ++i) {
      std::size_t len = static_cast<unsigned char>(bytes[at + 27 + i]);
      current.append(bytes, body, len);
      body += len;
      if (len < 255) {
        out.push_back(std::move(current));
        current.clear();
      }
    }
    at = body;
  }
  return out;
}

struct decoded_audio {
  int channels = 0;
  std::vector<std::int16_t> pcm; // interleaved, 8 kHz, pre-skip removed
  std::size_t samples() const {
    return channels ? pcm.size() / static_cast<std::size_t>(channels) : 0;
  }
};

/// Empty (channels 0) when the stream cannot be decoded.
/// (Mapping families 0 and 1.)
inline decoded_audio decode_ogg_opus(const std::string& bytes) {
  decoded_audio out;
  auto packets = ogg_packets(bytes);
  if (packets.size() < 2 || packets[0].compare(0, 8, "OpusHead") != 0)
    return out;
  int channels = static_cast<unsigned char>(packets[0][9]);
  int preskip = static_cast<unsigned char>(packets[0][10])
                | static_cast<unsigned char>(packets[0][11]) << 8;
  // Channel mapping 0 (one stream) or 1/255 (the header's own table).
  int streams = 1;
  int coupled = channels == 2 ? 1 : 0;
  unsigned char mapping[255] = {0, 1};
  auto& head = packets[0];
  if (head.size() > 18 && head[18] != 0) {
    if (head.size() < 21 + static_cast<std::size_t>(channels))
      return out;
    streams = static_cast<unsigned char>(head[19]);
    coupled = static_cast<unsigned char>(head[20]);
    for (int c = 0; c < channels; ++c)
      mapping[c]
        = static_cast<unsigned char>(head[21 + static_cast<std::size_t>(c)]);
  }
  int err = 0;
  OpusMSDecoder* dec = opus_multistream_decoder_create(8000, channels, streams,
                                                       coupled, mapping, &err);
  if (!dec || err != OPUS_OK)
    return out;
  std::vector<std::int16_t> frame(static_cast<std::size_t>(960 * channels));
  for (std::size_t i = 2; i < packets.size(); ++i) {
    int n = opus_multistream_decode(
      dec, reinterpret_cast<const unsigned char*>(packets[i].data()),
      static_cast<opus_int32>(packets[i].size()), frame.data(), 960, 0);
    if (n < 0) {
      opus_multistream_decoder_destroy(dec);
      return out;
    }
    out.pcm.insert(out.pcm.end(), frame.begin(), frame.begin() + n * channels);
  }
  opus_multistream_decoder_destroy(dec);
  out.channels = channels;
  auto skip = static_cast<std::size_t>(preskip / 6 * channels);
  out.pcm.erase(out.pcm.begin(),
                out.pcm.begin()
                  + static_cast<long>(std::min(skip, out.pcm.size())));
  return out;
}

/// Mean absolute amplitude of channel `ch` over samples [from, to).
inline double channel_level(const decoded_audio& a, int ch, std::size_t from,
                            std::size_t to) {
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t i = from; i < to && i < a.samples(); ++i, ++n)
    sum += std::abs(
      static_cast<int>(a.pcm[i * static_cast<std::size_t>(a.channels)
                             + static_cast<std::size_t>(ch)]));
  return n ? sum / static_cast<double>(n) : 0;
}

} // namespace al::test
