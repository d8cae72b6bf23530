// actors/call_recorder without a database: the two channels land on one
// timeline (the agent's audio where its playback started, cut at a
// barge-in), the result is a valid 2-channel Ogg/Opus of the caller
// timeline's length, and chunks are exact-size except the last.
#include "actors/call_recorder.hpp"

#include "core/mulaw.hpp"
#include "tests/core/ogg_opus_decode.hpp"
#include "tests/core/ogg_pages.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace al;
using namespace al::test;

namespace {

struct chunk {
  int no;
  std::string bytes;
  bool last;
  int duration_ms;
};

struct collector {
  std::vector<chunk> chunks;
  recording_chunk_sink sink() {
    return [this](int no, std::string bytes, bool last, int ms) {
      chunks.push_back(chunk{no, std::move(bytes), last, ms});
    };
  }
  std::string joined() const {
    std::string out;
    for (auto& c : chunks)
      out += c.bytes;
    return out;
  }
};

/// `frames` 20 ms frames of a tone, mu-law.
std::string tone(int frames, double hz, int amplitude) {
  std::vector<std::int16_t> pcm(static_cast<std::size_t>(frames) * 160);
  for (std::size_t i = 0; i < pcm.size(); ++i)
    pcm[i] = static_cast<std::int16_t>(amplitude
                                       * std::sin(2 * M_PI * hz * i / 8000));
  return mulaw::encode(pcm.data(), pcm.size());
}

std::string silence(int frames) {
  return std::string(static_cast<std::size_t>(frames) * 160,
                     static_cast<char>(mulaw::silence));
}

std::int64_t preskip_of(const std::vector<ogg_page>& pages) {
  auto& h = pages.at(0).body;
  return static_cast<unsigned char>(h[10])
         | static_cast<unsigned char>(h[11]) << 8;
}

} // namespace

TEST(call_recorder, two_channels_on_one_timeline_with_barge_in) {
  collector out;
  call_recorder_options o;
  o.chunk_bytes = 4096; // small, so this short call spans several chunks
  o.title = "CAtest";
  call_recorder rec{out.sink(), o};
  auto caller = tone(300, 300, 6000); // the caller talks all along
  auto send = [&](int from, int to) {
    // Batches of 5 frames (100 ms), as the media session sends them.
    for (int f = from; f < to; f += 5)
      rec.caller_audio(std::string_view{caller}.substr(
        static_cast<std::size_t>(f) * 160,
        static_cast<std::size_t>(std::min(5, to - f)) * 160));
  };
  send(0, 50);
  // The agent starts at frame 50: 3 s queued, two utterances.
  rec.agent_audio(std::make_shared<const std::string>(tone(100, 1000, 8000)));
  rec.agent_audio(std::make_shared<const std::string>(tone(50, 1000, 8000)));
  EXPECT_EQ(rec.agent_queued(), 150u * 160);
  send(50, 100);
  EXPECT_EQ(rec.agent_queued(), 100u * 160);
  rec.clear_agent(); // barge-in at frame 100: the rest is never heard
  EXPECT_EQ(rec.agent_queued(), 0u);
  send(100, 200);
  // A short reply at frame 200, played out completely.
  rec.agent_audio(std::make_shared<const std::string>(tone(25, 1000, 8000)));
  send(200, 300);
  EXPECT_EQ(rec.samples(), 300u * 160);
  EXPECT_FALSE(rec.finished());
  EXPECT_LT(rec.pending_bytes(), o.chunk_bytes + 1);
  rec.finish();
  rec.finish(); // idempotent
  EXPECT_TRUE(rec.finished());
  EXPECT_EQ(rec.error(), "");

  ASSERT_GE(out.chunks.size(), 2u);
  for (std::size_t i = 0; i < out.chunks.size(); ++i) {
    EXPECT_EQ(out.chunks[i].no, static_cast<int>(i));
    bool last = i + 1 == out.chunks.size();
    EXPECT_EQ(out.chunks[i].last, last);
    if (!last)
      EXPECT_EQ(out.chunks[i].bytes.size(), 4096u) << i;
    else
      EXPECT_GT(out.chunks[i].bytes.size(), 0u);
  }
  EXPECT_EQ(out.chunks.back().duration_ms, 6000);

  auto bytes = out.joined();
  auto pages = ogg_pages(bytes);
  ASSERT_GE(pages.size(), 3u);
  std::size_t total = 0;
  for (auto& p : pages) {
    total += p.size;
    EXPECT_TRUE(p.crc_ok);
  }
  EXPECT_EQ(total, bytes.size());
  EXPECT_EQ(pages[0].body.substr(0, 8), "OpusHead");
  EXPECT_EQ(static_cast<int>(pages[0].body[9]), 2);
  EXPECT_NE(pages[1].body.find("TITLE=CAtest"), std::string::npos);
  EXPECT_TRUE(pages.back().eos());
  EXPECT_EQ(pages.back().granule - preskip_of(pages), 300 * 160 * 6);

  // What the two channels hold (levels of 20 ms frames, skipping edges).
  auto audio = decode_ogg_opus(bytes);
  ASSERT_EQ(audio.channels, 2);
  ASSERT_GE(audio.samples(), 300u * 160);
  auto level = [&](int ch, int from_frame, int to_frame) {
    return channel_level(audio, ch, static_cast<std::size_t>(from_frame) * 160,
                         static_cast<std::size_t>(to_frame) * 160);
  };
  EXPECT_GT(level(0, 5, 295), 1500);   // the caller, throughout
  EXPECT_LT(level(1, 5, 45), 150);     // the agent: silent before it spoke
  EXPECT_GT(level(1, 55, 95), 2000);   // speaking from frame 50
  EXPECT_LT(level(1, 105, 195), 150);  // cut at the barge-in (frame 100)
  EXPECT_GT(level(1, 205, 220), 2000); // the reply: frames 200..225
  EXPECT_LT(level(1, 230, 295), 150);  // then silence again
}

TEST(call_recorder, full_size_chunks_are_256_kib) {
  collector out;
  call_recorder rec{out.sink()}; // default chunk size
  // Loud noise-like audio on both sides compresses worst: ~2 min of it
  // makes more than one chunk.
  std::string noise(8000, '\0');
  std::uint32_t x = 7;
  for (auto& c : noise) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  auto agent = std::make_shared<const std::string>(noise);
  int seconds = 0;
  while (rec.chunks() < 1 && seconds < 400) {
    rec.agent_audio(agent);
    rec.caller_audio(noise);
    ++seconds;
  }
  ASSERT_EQ(rec.chunks(), 1) << "no chunk after " << seconds << " s";
  EXPECT_LT(rec.pending_bytes(), 256u * 1024 + 1);
  rec.finish();
  ASSERT_EQ(out.chunks.size(), 2u);
  EXPECT_EQ(out.chunks[0].bytes.size(), 256u * 1024);
  EXPECT_FALSE(out.chunks[0].last);
  EXPECT_TRUE(out.chunks[1].last);
  EXPECT_EQ(out.chunks[1].duration_ms, seconds * 1000);
  auto pages = ogg_pages(out.joined());
  ASSERT_FALSE(pages.empty());
  EXPECT_TRUE(pages.back().eos());
  EXPECT_EQ(pages.back().granule - preskip_of(pages),
            static_cast<std::int64_t>(seconds) * 8000 * 6);
}

TEST(call_recorder, the_cap_finishes_the_recording) {
  collector out;
  call_recorder_options o;
  o.max_duration = std::chrono::seconds(2);
  call_recorder rec{out.sink(), o};
  auto quiet = silence(50); // 1 s
  rec.caller_audio(quiet);
  EXPECT_FALSE(rec.finished());
  rec.caller_audio(quiet + quiet); // crosses the cap: cut at 2 s
  EXPECT_TRUE(rec.finished());
  EXPECT_EQ(rec.samples(), 16000u);
  ASSERT_EQ(out.chunks.size(), 1u);
  EXPECT_TRUE(out.chunks[0].last);
  EXPECT_EQ(out.chunks[0].duration_ms, 2000);
  rec.caller_audio(quiet); // ignored after the cap
  rec.finish();
  EXPECT_EQ(out.chunks.size(), 1u);
  EXPECT_EQ(rec.samples(), 16000u);
}

TEST(call_recorder, a_throwing_sink_is_an_error_not_a_crash) {
  call_recorder rec{
    [](int, std::string, bool, int) { throw std::runtime_error{"disk full"}; }};
  rec.caller_audio(silence(10));
  rec.finish();
  EXPECT_TRUE(rec.finished());
  EXPECT_NE(rec.error().find("disk full"), std::string::npos) << rec.error();
}
