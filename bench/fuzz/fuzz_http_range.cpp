// HTTP Range headers (core/http_range.hpp parse_range) for the audio routes.
// The input is a Range header; the object size comes from its first 8
// bytes when there are at least 8 (else a few fixed sizes). Properties: a
// partial range lies inside the object, first <= last; an empty object is
// never partial; the Content-Range text names the same numbers; a value
// with a comma is never partial (one range only).

#include "bench/fuzz/fuzz_util.hpp"
#include "core/http_range.hpp"

#include <cstring>

namespace {

using namespace al;
using al::fuzz::check;

void judge(std::string_view header, std::uint64_t size) {
  auto r = parse_range(header, size);
  if (r.what != range_request::kind::partial)
    return;
  check(size > 0, "an empty object has no partial range");
  check(r.range.first <= r.range.last, "first <= last");
  check(r.range.last < size, "last inside the object");
  check(r.range.length() >= 1 && r.range.length() <= size, "length in 1..size");
  check(header.find(',') == std::string_view::npos, "one range only");
  auto text = content_range(r.range, size);
  check(text
          == "bytes " + std::to_string(r.range.first) + "-"
               + std::to_string(r.range.last) + "/" + std::to_string(size),
        "Content-Range names the range");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size > 64 * 1024)
    return 0;
  auto text = fuzz::as_view(data, size);
  for (std::uint64_t n :
       {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1000},
        std::uint64_t{262144 * 3 + 7}, ~std::uint64_t{0}})
    judge(text, n);
  if (size >= 8) {
    std::uint64_t n = 0;
    std::memcpy(&n, data, 8);
    judge(text.substr(8), n);
  }
  return 0;
}
