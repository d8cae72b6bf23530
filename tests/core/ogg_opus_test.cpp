// core/ogg_opus: the stream is a valid Ogg/Opus file (RFC 7845: OpusHead
// with the channel count and 8 kHz input rate, OpusTags on its own page,
// audio granules in 48 kHz units, EOS on the last page, the last granule =
// pre-skip + the input's duration), decodes back with libopus, keeps two
// channels apart, is small enough for speech and holds little memory.
#include "core/ogg_opus.hpp"

#include "core/mulaw.hpp"
#include "tests/core/ogg_opus_decode.hpp"
#include "tests/core/ogg_pages.hpp"

#include <gtest/gtest.h>
// libopus comes with al_core (linked privately; its headers are under opus/).
#include <opus/opus_multistream.h>

#include <cmath>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

using namespace al;
using al::test::channel_level;
using al::test::decode_ogg_opus;
using al::test::ogg_packets;
using al::test::ogg_page;
using al::test::ogg_pages;

namespace {

/// `seconds` of a speech-like mu-law signal: a voiced buzz (150-250 Hz
/// fundamental with harmonics, formant-like weights) in syllables of
/// ~200 ms separated by short pauses, with a little noise.
std::string speechlike(double seconds, unsigned seed = 1) {
  auto n = static_cast<std::size_t>(seconds * 8000);
  std::vector<std::int16_t> pcm(n);
  std::uint32_t rng = seed * 2654435761u + 1;
  double phase = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double t = static_cast<double>(i) / 8000;
    double syllable = std::fmod(t, 0.28);
    double env = syllable < 0.2 ? std::sin(M_PI * syllable / 0.2) : 0.0;
    double f0 = 180 + 40 * std::sin(2 * M_PI * 0.7 * t);
    phase += 2 * M_PI * f0 / 8000;
    double v = 0;
    for (int h = 1; h <= 12; ++h) {
      double f = f0 * h;
      double w = std::exp(-std::pow((f - 700) / 300, 2))
                 + 0.6 * std::exp(-std::pow((f - 1800) / 400, 2)) + 0.1;
      v += w * std::sin(h * phase) / h;
    }
    rng = rng * 1664525u + 1013904223u;
    double noise = (static_cast<double>(rng >> 16) / 65536.0 - 0.5) * 0.02;
    pcm[i] = static_cast<std::int16_t>(
      std::clamp((env * v * 0.5 + noise) * 12000, -32000.0, 32000.0));
  }
  return mulaw::encode(pcm.data(), pcm.size());
}

struct collected {
  std::string bytes;
  ogg_opus_encoder::page_fn sink() {
    return [this](std::string_view b) { bytes.append(b); };
  }
};

std::uint16_t le16(const std::string& s, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(s[at])
                                    | static_cast<unsigned char>(s[at + 1])
                                        << 8);
}

std::uint32_t le32(const std::string& s, std::size_t at) {
  return le16(s, at) | static_cast<std::uint32_t>(le16(s, at + 2)) << 16;
}

/// `n` samples of a tone, mu-law.
std::string tone(std::size_t n, double hz, int amplitude) {
  std::vector<std::int16_t> pcm(n);
  for (std::size_t i = 0; i < n; ++i)
    pcm[i] = static_cast<std::int16_t>(
      amplitude * std::sin(2 * M_PI * hz * static_cast<double>(i) / 8000));
  return mulaw::encode(pcm.data(), pcm.size());
}

/// The RFC 7845 layout every stream must have: OpusHead alone on a BOS
/// page, OpusTags alone on the next, audio starting on a fresh page,
/// consecutive sequence numbers, audio granules that only grow (whole
/// 20 ms packets, 960 each at 48 kHz, except the trimmed last page) and
/// EOS on the last page only. Returns the pre-skip.
int check_layout(const std::string& bytes, int channels) {
  auto pages = ogg_pages(bytes);
  EXPECT_GE(pages.size(), 3u);
  if (pages.size() < 3)
    return -1;
  std::size_t total = 0;
  for (std::size_t i = 0; i < pages.size(); ++i) {
    auto& p = pages[i];
    total += p.size;
    EXPECT_TRUE(p.crc_ok) << "page " << i;
    EXPECT_EQ(p.serial, pages[0].serial) << "page " << i;
    EXPECT_EQ(p.seq, i);
    EXPECT_EQ(p.bos(), i == 0) << "page " << i;
    EXPECT_EQ(p.eos(), i + 1 == pages.size()) << "page " << i;
    EXPECT_EQ(p.flags & 0x01, 0) << "page " << i << " continues a packet";
  }
  EXPECT_EQ(total, bytes.size()) << "not all whole pages";
  auto& head = pages[0].body;
  EXPECT_EQ(head.substr(0, 8), "OpusHead");
  EXPECT_EQ(head[8], 1); // version
  EXPECT_EQ(static_cast<int>(head[9]), channels);
  EXPECT_EQ(le32(head, 12), 8000u);
  EXPECT_EQ(le16(head, 16), 0); // output gain
  if (channels == 1) {
    EXPECT_EQ(head.size(), 19u);
    EXPECT_EQ(head[18], 0); // mapping family 0
  }
  auto packets = ogg_packets(bytes);
  EXPECT_GE(packets.size(), 3u);
  if (packets.size() >= 2) {
    EXPECT_EQ(packets[0], head); // alone on its page
    EXPECT_EQ(pages[1].body, packets[1]);
    EXPECT_EQ(packets[1].substr(0, 8), "OpusTags");
  }
  EXPECT_EQ(pages[0].granule, 0);
  EXPECT_EQ(pages[1].granule, 0);
  std::int64_t prev = 0;
  for (std::size_t i = 2; i < pages.size(); ++i) {
    EXPECT_GT(pages[i].granule, prev) << "page " << i;
    if (i + 1 < pages.size()) {
      EXPECT_EQ(pages[i].granule % 960, 0) << "page " << i;
    }
    prev = pages[i].granule;
  }
  // Every audio packet is one 20 ms frame (160 samples at 8 kHz); the
  // stream decodes at least to the last granule (end trimming only).
  for (std::size_t i = 2; i < packets.size(); ++i) {
    EXPECT_FALSE(packets[i].empty()) << "packet " << i;
    if (!packets[i].empty()) {
      EXPECT_EQ(opus_packet_get_nb_samples(
                  reinterpret_cast<const unsigned char*>(packets[i].data()),
                  static_cast<opus_int32>(packets[i].size()), 8000),
                160)
        << "packet " << i;
    }
  }
  EXPECT_LE(pages.back().granule,
            static_cast<std::int64_t>(packets.size() - 2) * 960);
  return le16(head, 10);
}

} // namespace

TEST(ogg_opus, mono_stream_has_head_eos_and_exact_duration) {
  collected out;
  ogg_opus_encoder enc{out.sink()};
  ASSERT_TRUE(enc.ok()) << enc.error();
  auto audio = speechlike(3.0);
  // Fed frame by frame, as a call does.
  for (std::size_t i = 0; i < audio.size(); i += 160)
    ASSERT_TRUE(enc.write_mulaw(std::string_view{audio}.substr(i, 160)));
  ASSERT_TRUE(enc.finish()) << enc.error();
  EXPECT_TRUE(enc.finish()); // idempotent
  EXPECT_EQ(enc.samples(), audio.size());
  EXPECT_EQ(enc.bytes_out(), out.bytes.size());

  ASSERT_GE(out.bytes.size(), 4u);
  EXPECT_EQ(out.bytes.substr(0, 4), "OggS");
  auto pages = ogg_pages(out.bytes);
  ASSERT_GE(pages.size(), 3u);
  EXPECT_TRUE(pages.front().bos());
  auto& head = pages[0].body;
  ASSERT_GE(head.size(), 19u);
  EXPECT_EQ(head.substr(0, 8), "OpusHead");
  EXPECT_EQ(static_cast<int>(head[9]), 1); // channels
  EXPECT_EQ(le32(head, 12), 8000u);        // input sample rate
  auto preskip = le16(head, 10);
  EXPECT_EQ(pages[1].body.substr(0, 8), "OpusTags");
  EXPECT_NE(pages[1].body.find("AgentLocator"), std::string::npos);

  EXPECT_TRUE(pages.back().eos());
  for (std::size_t i = 0; i + 1 < pages.size(); ++i)
    EXPECT_FALSE(pages[i].eos()) << "page " << i;
  // 48 kHz units: 6 per input sample, after the pre-skip.
  auto last = pages.back().granule;
  EXPECT_EQ(last - preskip, static_cast<std::int64_t>(audio.size()) * 6);
  // Every page is whole (the parser consumed everything).
  std::size_t total = 0;
  for (auto& p : pages) {
    total += p.size;
    EXPECT_TRUE(p.crc_ok) << "page " << p.seq;
    EXPECT_EQ(p.serial, pages[0].serial);
  }
  EXPECT_EQ(total, out.bytes.size());
  EXPECT_EQ(check_layout(out.bytes, 1), preskip);
  // The pre-skip is the encoder's look-ahead at 8 kHz, in 48 kHz units.
  EXPECT_GT(preskip, 0);
  EXPECT_EQ(preskip % 6, 0);

  // It decodes back to the input's length, and to speech, not silence.
  auto decoded = decode_ogg_opus(out.bytes);
  ASSERT_EQ(decoded.channels, 1);
  EXPECT_GE(decoded.samples(), audio.size());
  EXPECT_LT(decoded.samples(), audio.size() + 160);
  EXPECT_GT(channel_level(decoded, 0, 0, audio.size()), 300);
}

TEST(ogg_opus, stereo_stream_and_tags) {
  collected out;
  ogg_opus_options o;
  o.channels = 2;
  o.tags = {{"TITLE", "call CA123"}, {"BAD=TAG", "ignored"}};
  ogg_opus_encoder enc{out.sink(), o};
  ASSERT_TRUE(enc.ok()) << enc.error();
  auto left = speechlike(2.0, 1);
  auto right = speechlike(2.0, 2);
  ASSERT_TRUE(enc.write_mulaw(left, right));
  ASSERT_TRUE(enc.finish());
  auto pages = ogg_pages(out.bytes);
  ASSERT_GE(pages.size(), 3u);
  EXPECT_EQ(static_cast<int>(pages[0].body[9]), 2);
  EXPECT_EQ(le32(pages[0].body, 12), 8000u);
  // Two uncoupled mono streams (family 1, streams 2, coupled 0, L R).
  ASSERT_GE(pages[0].body.size(), 23u);
  EXPECT_EQ(static_cast<int>(pages[0].body[18]), 1);
  EXPECT_EQ(static_cast<int>(pages[0].body[19]), 2);
  EXPECT_EQ(static_cast<int>(pages[0].body[20]), 0);
  EXPECT_EQ(static_cast<int>(pages[0].body[21]), 0);
  EXPECT_EQ(static_cast<int>(pages[0].body[22]), 1);
  EXPECT_NE(pages[1].body.find("TITLE=call CA123"), std::string::npos);
  EXPECT_EQ(pages[1].body.find("BAD=TAG"), std::string::npos);
  EXPECT_TRUE(pages.back().eos());
  EXPECT_EQ(pages.back().granule - le16(pages[0].body, 10), 2 * 8000 * 6);
  check_layout(out.bytes, 2);
  auto decoded = decode_ogg_opus(out.bytes);
  ASSERT_EQ(decoded.channels, 2);
  EXPECT_GE(decoded.samples(), 16000u);
  EXPECT_GT(channel_level(decoded, 0, 0, 16000), 300);
  EXPECT_GT(channel_level(decoded, 1, 0, 16000), 300);
}

TEST(ogg_opus, two_channels_stay_apart) {
  // A loud caller and a silent agent, then the other way round: with two
  // uncoupled streams nothing of one side leaks into the other.
  collected out;
  ogg_opus_options o;
  o.channels = 2;
  ogg_opus_encoder enc{out.sink(), o};
  auto loud = tone(8000, 440, 12000);
  std::string quiet(8000, static_cast<char>(mulaw::silence));
  ASSERT_TRUE(enc.write_mulaw(loud, quiet));
  ASSERT_TRUE(enc.write_mulaw(quiet, loud));
  ASSERT_TRUE(enc.finish());
  check_layout(out.bytes, 2);
  auto a = decode_ogg_opus(out.bytes);
  ASSERT_EQ(a.channels, 2);
  ASSERT_GE(a.samples(), 16000u);
  // (Skip 40 ms around the switch: the codec's own smoothing.)
  EXPECT_GT(channel_level(a, 0, 400, 7800), 3000);
  EXPECT_LT(channel_level(a, 1, 400, 7800), 50);
  EXPECT_LT(channel_level(a, 0, 8400, 15800), 50);
  EXPECT_GT(channel_level(a, 1, 8400, 15800), 3000);
}

TEST(ogg_opus, sixty_seconds_of_speech_is_at_most_a_quarter_of_mulaw) {
  for (int channels : {1, 2}) {
    collected out;
    ogg_opus_options o;
    o.channels = channels;
    ogg_opus_encoder enc{out.sink(), o};
    auto a = speechlike(60.0, 3);
    auto b = speechlike(60.0, 4);
    for (std::size_t i = 0; i < a.size(); i += 800) {
      auto l = std::string_view{a}.substr(i, 800);
      auto r = std::string_view{b}.substr(i, 800);
      ASSERT_TRUE(channels == 1 ? enc.write_mulaw(l) : enc.write_mulaw(l, r));
    }
    ASSERT_TRUE(enc.finish()) << enc.error();
    // mu-law is 8000 bytes per second per channel.
    EXPECT_LE(out.bytes.size(), a.size() * channels / 4)
      << channels << " channel(s): " << out.bytes.size() << " bytes";
    EXPECT_GT(out.bytes.size(), 1000u); // not silence
  }
}

TEST(ogg_opus, errors_are_values) {
  collected out;
  ogg_opus_options o;
  o.channels = 3;
  ogg_opus_encoder bad{out.sink(), o};
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(bad.error().empty());
  EXPECT_FALSE(bad.write_mulaw("\xff\xff"));
  EXPECT_FALSE(bad.finish());
  EXPECT_TRUE(out.bytes.empty());

  o.channels = 2;
  ogg_opus_encoder uneven{out.sink(), o};
  EXPECT_FALSE(uneven.write_mulaw("\xff\xff", "\xff"));
  EXPECT_FALSE(uneven.ok());

  // A throwing page sink fails the encoder instead of unwinding through C.
  ogg_opus_encoder throwing{
    [](std::string_view) { throw std::runtime_error{"x"}; }};
  auto audio = speechlike(1.0);
  bool wrote = throwing.write_mulaw(audio);
  bool finished = throwing.finish();
  EXPECT_FALSE(wrote && finished);
  EXPECT_FALSE(throwing.ok());
}

TEST(ogg_opus, empty_input_still_ends_the_stream) {
  // Finishing with no audio is a valid stream of 20 ms of silence (the
  // libopusenc version aborted the process here).
  for (int channels : {1, 2}) {
    collected out;
    ogg_opus_options o;
    o.channels = channels;
    ogg_opus_encoder enc{out.sink(), o};
    EXPECT_TRUE(out.bytes.empty()); // nothing before the first write
    ASSERT_TRUE(enc.finish()) << enc.error();
    EXPECT_TRUE(enc.finish());
    EXPECT_EQ(enc.samples(), 0u);
    EXPECT_FALSE(enc.write_mulaw("\xff", channels == 2 ? "\xff" : ""));
    auto pages = ogg_pages(out.bytes);
    ASSERT_GE(pages.size(), 3u);
    EXPECT_TRUE(pages.back().eos());
    EXPECT_EQ(pages.back().granule - le16(pages[0].body, 10), 160 * 6);
    check_layout(out.bytes, channels);
    auto decoded = decode_ogg_opus(out.bytes);
    ASSERT_EQ(decoded.channels, channels);
    EXPECT_GE(decoded.samples(), 160u);
    for (int c = 0; c < channels; ++c)
      EXPECT_LT(channel_level(decoded, c, 0, 160), 10);
  }
  EXPECT_EQ(encode_ogg_opus_mulaw("").substr(0, 4), "OggS");
  // Empty writes are no audio either.
  collected out;
  ogg_opus_encoder enc{out.sink()};
  EXPECT_TRUE(enc.write_mulaw(""));
  ASSERT_TRUE(enc.finish());
  check_layout(out.bytes, 1);
}

TEST(ogg_opus, an_encoder_holds_tens_of_kib_not_a_mib) {
  // libopusenc held ~1.1 MiB per encoder (a fixed 48 kHz buffer); the
  // libopus state is what the library says it is (get_size), plus small
  // libogg buffers and a page of scratch.
  for (int channels : {1, 2}) {
    collected out;
    ogg_opus_options o;
    o.channels = channels;
    ogg_opus_encoder enc{out.sink(), o};
    ASSERT_TRUE(enc.ok());
    auto codec = static_cast<std::size_t>(
      opus_multistream_encoder_get_size(channels, 0));
    EXPECT_GT(codec, 0u);
    auto a = speechlike(10.0, 5);
    for (std::size_t i = 0; i < a.size(); i += 160) {
      auto f = std::string_view{a}.substr(i, 160);
      ASSERT_TRUE(channels == 1 ? enc.write_mulaw(f) : enc.write_mulaw(f, f));
    }
    auto held = enc.memory_bytes();
    EXPECT_GE(held, codec);
    EXPECT_LE(held, codec + 16 * 1024) << channels << " channel(s)";
    EXPECT_LE(held, static_cast<std::size_t>(channels) * 56 * 1024);
    std::cout << "[          ] " << channels << " channel(s): " << held
              << " bytes (libopus " << codec << ")\n";
    ASSERT_TRUE(enc.finish());
    EXPECT_EQ(enc.memory_bytes(), 0u); // freed at finish
  }
}

TEST(ogg_opus, odd_lengths_keep_the_exact_duration) {
  for (std::size_t n : {1u, 80u, 159u, 160u, 161u, 4321u}) {
    auto bytes = encode_ogg_opus_mulaw(speechlike(1.0).substr(0, n));
    auto pages = ogg_pages(bytes);
    ASSERT_GE(pages.size(), 3u) << n;
    EXPECT_TRUE(pages.back().eos()) << n;
    EXPECT_EQ(pages.back().granule - le16(pages[0].body, 10),
              static_cast<std::int64_t>(n) * 6)
      << n;
    check_layout(bytes, 1);
  }
}

TEST(ogg_opus, chunking_does_not_change_the_packets) {
  // PCM in odd-sized pieces codes exactly like mu-law in one piece; pages
  // of a long stream hold at most about a second each.
  auto audio = speechlike(5.0, 6);
  std::vector<std::int16_t> pcm;
  mulaw::decode(audio, pcm);
  std::vector<std::int16_t> stereo;
  for (auto v : pcm) {
    stereo.push_back(v);
    stereo.push_back(static_cast<std::int16_t>(-v));
  }
  auto mirrored = mulaw::encode(pcm.data(), pcm.size());
  std::vector<std::int16_t> neg;
  for (auto v : pcm)
    neg.push_back(static_cast<std::int16_t>(-v));
  auto neg_mulaw = mulaw::encode(neg.data(), neg.size());

  ogg_opus_options o;
  o.channels = 2;
  collected whole, pieces;
  ogg_opus_encoder a{whole.sink(), o}, b{pieces.sink(), o};
  ASSERT_TRUE(a.write_mulaw(mirrored, neg_mulaw));
  ASSERT_TRUE(a.finish());
  std::size_t at = 0, step = 1;
  while (at < pcm.size()) {
    auto n = std::min(step, pcm.size() - at);
    ASSERT_TRUE(b.write_pcm(stereo.data() + 2 * at, n));
    at += n;
    step = step * 7 % 331 + 1;
  }
  ASSERT_TRUE(b.finish());
  EXPECT_EQ(b.samples(), pcm.size());
  auto pa = ogg_packets(whole.bytes);
  auto pb = ogg_packets(pieces.bytes);
  ASSERT_EQ(pa.size(), pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i)
    EXPECT_EQ(pa[i], pb[i]) << "packet " << i;
  check_layout(pieces.bytes, 2);
  auto pages = ogg_pages(pieces.bytes);
  for (std::size_t i = 3; i < pages.size(); ++i)
    EXPECT_LE(pages[i].granule - pages[i - 1].granule, 48000 + 960)
      << "page " << i;
  EXPECT_GE(pages.size(), 2u + 5u); // ~one page a second
}
