// core/http_range: the Range header of the audio routes, honest and hostile.
#include "core/http_range.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace al {
namespace {

using kind = range_request::kind;

void expect_partial(std::string_view h, std::uint64_t size, std::uint64_t first,
                    std::uint64_t last) {
  auto r = parse_range(h, size);
  ASSERT_EQ(r.what, kind::partial) << h;
  EXPECT_EQ(r.range.first, first) << h;
  EXPECT_EQ(r.range.last, last) << h;
  EXPECT_EQ(r.range.length(), last - first + 1) << h;
}

void expect_whole(std::string_view h, std::uint64_t size = 1000) {
  EXPECT_EQ(parse_range(h, size).what, kind::whole) << "[" << h << "]";
}

void expect_416(std::string_view h, std::uint64_t size = 1000) {
  EXPECT_EQ(parse_range(h, size).what, kind::unsatisfiable) << h;
}

TEST(http_range, closed_ranges) {
  expect_partial("bytes=0-0", 1000, 0, 0);
  expect_partial("bytes=0-99", 1000, 0, 99);
  expect_partial("bytes=500-999", 1000, 500, 999);
  expect_partial("bytes=999-999", 1000, 999, 999);
  // The last position past the end is clamped.
  expect_partial("bytes=900-5000", 1000, 900, 999);
  // The unit is case-insensitive; whitespace around the value is fine.
  expect_partial("BYTES=1-2", 1000, 1, 2);
  expect_partial("  bytes=1-2\t", 1000, 1, 2);
}

TEST(http_range, open_and_suffix_ranges) {
  expect_partial("bytes=0-", 1000, 0, 999);
  expect_partial("bytes=250-", 1000, 250, 999);
  expect_partial("bytes=-1", 1000, 999, 999);
  expect_partial("bytes=-100", 1000, 900, 999);
  // A suffix longer than the object is the whole object.
  expect_partial("bytes=-1000", 1000, 0, 999);
  expect_partial("bytes=-5000", 1000, 0, 999);
}

TEST(http_range, unsatisfiable) {
  expect_416("bytes=1000-");
  expect_416("bytes=1000-2000");
  expect_416("bytes=5000-");
  expect_416("bytes=-0");
  // Any range of an empty object.
  expect_416("bytes=0-", 0);
  expect_416("bytes=0-0", 0);
  expect_416("bytes=-5", 0);
  EXPECT_EQ(unsatisfied_range(1000), "bytes */1000");
  EXPECT_EQ(content_range(byte_range{0, 99}, 1000), "bytes 0-99/1000");
}

TEST(http_range, ignored_headers_mean_the_whole_body) {
  expect_whole("");
  expect_whole("   ");
  expect_whole("bytes");     // missing '='
  expect_whole("bytes 0-1"); // missing '='
  expect_whole("bytes=");    // empty spec
  expect_whole("bytes=-");   // neither position
  expect_whole("bytes=5-1"); // reversed
  expect_whole("items=0-1"); // another unit
  expect_whole("byte=0-1");
  expect_whole("bytesx=0-1");
  expect_whole("=0-1");
  expect_whole("bytes=0-1,5-6"); // multi-range
  expect_whole("bytes=0-1,");
  expect_whole("bytes=-1,-2");
  expect_whole("bytes= 0-1"); // spaces inside
  expect_whole("bytes=0 -1");
  expect_whole("bytes=0- 1");
  expect_whole("bytes=+1-2"); // signs
  expect_whole("bytes=-+5");
  expect_whole("bytes=--5");
  expect_whole("bytes=1--5");
  expect_whole("bytes=0x10-20"); // not decimal
  expect_whole("bytes=1.5-2");
  expect_whole("bytes=a-b");
  expect_whole("bytes==0-1");
  expect_whole(std::string_view{"bytes=0\0-1", 10}); // NUL inside
  expect_whole("bytes=٣-٤");                         // non-ASCII digits
}

TEST(http_range, huge_numbers_saturate_without_overflow) {
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  // 2^64 and far beyond: a first position past any end.
  expect_416("bytes=18446744073709551616-");
  expect_416("bytes=99999999999999999999999999999999999999999999-");
  expect_416("bytes=18446744073709551615-18446744073709551615");
  // A huge last position is clamped; a huge suffix is the whole object.
  expect_partial("bytes=0-18446744073709551616", 1000, 0, 999);
  expect_partial("bytes=10-" + std::string(5000, '9'), 1000, 10, 999);
  expect_partial("bytes=-" + std::string(5000, '9'), 1000, 0, 999);
  // Leading zeros are still numbers.
  expect_partial("bytes=" + std::string(100, '0') + "7-0009", 1000, 7, 9);
  // A huge first position with a small last one is reversed: ignored.
  expect_whole("bytes=99999999999999999999999-1");
  // The largest sizes work too.
  expect_partial("bytes=-1", max, max - 1, max - 1);
  expect_partial("bytes=0-", max, 0, max - 1);
  EXPECT_EQ(content_range(byte_range{0, max - 1}, max),
            "bytes 0-18446744073709551614/18446744073709551615");
}

} // namespace
} // namespace al
