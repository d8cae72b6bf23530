#pragma once

// HTTP byte ranges (RFC 9110 §14) for the audio routes: one `Range` header
// judged against the size of the object it asks for. Pure; never throws.
//
// Only a single range is honoured. Anything this parser does not take
// (another unit, a list of ranges, spaces, a reversed range, junk) is
// "ignore the header": the server then answers 200 with the whole body,
// which RFC 9110 always allows.

#include <cstdint>
#include <string>
#include <string_view>

namespace al {

/// Inclusive byte positions, first <= last < size.
struct byte_range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;

  std::uint64_t length() const noexcept {
    return last - first + 1;
  }
};

struct range_request {
  enum class kind {
    whole,        // no usable Range header: 200 with the whole body
    partial,      // 206 with `range`
    unsatisfiable // 416 with Content-Range: bytes */size
  };
  kind what = kind::whole;
  byte_range range;
};

/// Judges the value of a `Range` header (empty when absent) for an object
/// of `size` bytes:
///   "bytes=a-b"  -> [a, min(b, size-1)]          (a > b: ignored)
///   "bytes=a-"   -> [a, size-1]
///   "bytes=-n"   -> the last min(n, size) bytes   (n = 0: unsatisfiable)
///   a >= size, or any range of an empty object -> unsatisfiable
/// Numbers of any length are read saturating at 2^64-1 (so a huge first
/// position is past the end and a huge last one is clamped). The unit is
/// matched case-insensitively; optional whitespace around the whole value
/// is skipped, inside it the header is ignored.
range_request parse_range(std::string_view header, std::uint64_t size);

/// "bytes first-last/size", for a 206.
std::string content_range(const byte_range& r, std::uint64_t size);

/// "bytes */size", for a 416.
std::string unsatisfied_range(std::uint64_t size);

} // namespace al
