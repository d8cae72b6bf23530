// The after-call job's parsers of provider answers (core/after_call_wire):
// a transcription server's {"text":...}, a chat completion's envelope and
// the model's summary JSON, plus the multipart builder fed with the input
// as a part and as a boundary. Accepted input must come out validated: a
// summary within its bounds and enums, a multipart body that frames its
// parts (the delimiter occurs exactly once per part plus the close).

#include "bench/fuzz/fuzz_util.hpp"
#include "core/after_call_wire.hpp"
#include "core/json.hpp"

#include <boost/json/serialize.hpp>

#include <cmath>
#include <variant>

namespace {

using namespace al;
using al::fuzz::check;

void check_summary(const call_summary& s) {
  check(!s.summary.empty() && s.summary.size() <= 4000, "summary bounded");
  check(valid_utf8(s.summary), "summary is UTF-8");
  if (s.deal)
    check(*s.deal == "buy" || *s.deal == "rent", "deal enum");
  if (s.city)
    check(!s.city->empty() && s.city->size() <= 200, "city bounded");
  if (s.rooms)
    check(std::isfinite(*s.rooms) && *s.rooms >= 0.5 && *s.rooms <= 50
            && *s.rooms * 2 == std::floor(*s.rooms * 2),
          "rooms in halves");
  if (s.budget)
    check(*s.budget >= 0 && *s.budget <= 10'000'000'000, "budget bounded");
  check(s.sentiment == "positive" || s.sentiment == "neutral"
          || s.sentiment == "negative",
        "sentiment enum");
  check(s.next_step.size() <= 1000, "next_step bounded");
  // What is stored serialises, and validates again with the same result.
  auto f = summary_fields_json(s, "ai");
  f["summary"] = s.summary;
  f.erase("source");
  auto again = parse_summary_json(boost::json::serialize(f));
  check(std::holds_alternative<call_summary>(again), "round trip validates");
}

std::size_t occurrences(std::string_view hay, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = hay.find(needle); at != std::string_view::npos;
       at = hay.find(needle, at + 1))
    ++n;
  return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size > 256 * 1024)
    return 0;
  auto in = fuzz::as_view(data, size);
  if (auto t = transcription_text(in)) {
    check(t->size() <= 4000, "transcription bounded");
    check(valid_utf8(*t), "transcription is UTF-8");
  }
  auto r = parse_summary_response(in);
  if (auto* s = std::get_if<call_summary>(&r))
    check_summary(*s);
  else
    check(!std::get<std::string>(r).empty(), "an error says why");
  auto direct = parse_summary_json(in);
  if (auto* s = std::get_if<call_summary>(&direct))
    check_summary(*s);
  // The input as a file part and, when short, as a boundary.
  if (auto b = transcription_request(in, "turn-1.wav", "whisper-1", "he",
                                     "al-fuzz-boundary")) {
    check(occurrences(b->body, "--al-fuzz-boundary") == 5,
          "one delimiter per part and the close");
  }
  if (size <= 80) {
    auto b = build_multipart({{"model", "whisper-1", "", ""}}, in);
    if (b) {
      auto open = "--" + std::string{in} + "\r\n";
      auto close = "\r\n--" + std::string{in} + "--\r\n";
      check(b->body.rfind(open, 0) == 0, "the body opens with the boundary");
      check(b->body.size() >= close.size()
              && b->body.compare(b->body.size() - close.size(), close.size(),
                                 close)
                   == 0,
            "the body closes with the boundary");
    }
  }
  return 0;
}
