#include "core/sse.hpp"

#include <gtest/gtest.h>

namespace al {
namespace {

TEST(SseFrame, NamedEventWithJson) {
  EXPECT_EQ(sse_frame("call", R"({"sid":"CA1"})"),
            "event: call\ndata: {\"sid\":\"CA1\"}\n\n");
}

TEST(SseFrame, EmptyNameIsADefaultMessage) {
  EXPECT_EQ(sse_frame("", "x"), "data: x\n\n");
  EXPECT_EQ(sse_frame("", ""), "data: \n\n");
}

TEST(SseFrame, EveryKindOfLineBreakStartsANewDataLine) {
  EXPECT_EQ(sse_frame("m", "a\nb\r\nc\rd"),
            "event: m\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
  // A payload cannot end the frame early or smuggle in a field.
  EXPECT_EQ(sse_frame("m", "x\n\nevent: evil"),
            "event: m\ndata: x\ndata: \ndata: event: evil\n\n");
}

TEST(SseFrame, LineBreaksInTheNameAreDropped) {
  EXPECT_EQ(sse_frame("ca\nll\r", "1"), "event: call\ndata: 1\n\n");
}

TEST(SseFrame, WithAnIdLineFirst) {
  EXPECT_EQ(sse_frame("call", "{}", "1716-call-7"),
            "id: 1716-call-7\nevent: call\ndata: {}\n\n");
  // An id cannot end the line early, and a NUL would void it.
  EXPECT_EQ(sse_frame("m", "x", std::string_view{"a\nb\r\0c", 6}),
            "id: abc\nevent: m\ndata: x\n\n");
}

TEST(SseComment, IsOneLine) {
  EXPECT_EQ(sse_comment("ping"), ": ping\n\n");
  EXPECT_EQ(sse_comment("a\nb\rc"), ": a b c\n\n");
}

} // namespace
} // namespace al
