// transport/early_greetings: what incoming_call leaves for the media socket
// is taken once, and what no stream came for does not pile up.

#include "transport/early_greetings.hpp"

#include "actors/voice_cache.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

namespace {

using namespace al;
using namespace std::chrono_literals;
using clock_type = early_greetings::clock;

std::shared_ptr<const voice_pack> voice() {
  return std::make_shared<voice_pack>();
}

TEST(early_greetings, a_greeting_is_taken_once) {
  early_greetings board;
  auto v = voice();
  board.put("CA1", v);
  EXPECT_EQ(board.size(), 1u);
  EXPECT_EQ(board.take("CA2"), nullptr);
  EXPECT_EQ(board.take("CA1"), v);
  EXPECT_EQ(board.take("CA1"), nullptr); // a second stream greets itself
  EXPECT_EQ(board.size(), 0u);
  board.put("CA3", nullptr); // nothing to leave
  EXPECT_EQ(board.size(), 0u);
}

TEST(early_greetings, streams_that_never_came_expire) {
  early_greetings board{30s, 100};
  auto t0 = clock_type::time_point{} + 1h;
  board.put("CAold", voice(), t0);
  board.put("CAnew", voice(), t0 + 20s);
  // The next put, past the first one's ttl, drops it.
  board.put("CAlater", voice(), t0 + 31s);
  EXPECT_EQ(board.size(), 2u);
  EXPECT_EQ(board.take("CAold"), nullptr);
  EXPECT_NE(board.take("CAnew"), nullptr);
  // A sid put again keeps its newer entry when the old one expires.
  board.put("CAagain", voice(), t0 + 40s);
  auto again = voice();
  board.put("CAagain", again, t0 + 60s);
  board.put("CAx", voice(), t0 + 75s); // expires the t0+40s put
  EXPECT_EQ(board.take("CAagain"), again);
}

TEST(early_greetings, a_full_board_takes_no_more) {
  early_greetings board{30s, 2};
  auto t0 = clock_type::time_point{} + 1h;
  board.put("CA1", voice(), t0);
  board.put("CA2", voice(), t0);
  board.put("CA3", voice(), t0); // full: that call's actor greets it
  EXPECT_EQ(board.size(), 2u);
  EXPECT_EQ(board.take("CA3"), nullptr);
  // Taking frees a place; the queue of puts stays bounded.
  EXPECT_NE(board.take("CA1"), nullptr);
  for (int i = 0; i < 100; ++i) {
    auto sid = "CAchurn" + std::to_string(i);
    board.put(sid, voice(), t0);
    EXPECT_NE(board.take(sid), nullptr);
  }
  EXPECT_EQ(board.size(), 1u);
  EXPECT_NE(board.take("CA2"), nullptr);
}

} // namespace
