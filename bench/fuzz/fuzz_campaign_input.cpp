// POST /api/crm/campaigns bodies (core/campaign_input): whatever the input,
// parsing never crashes, and an accepted body comes out within its bounds
// (names, enums, ranges, a filter whose stored JSON parses again).

#include "bench/fuzz/fuzz_util.hpp"
#include "core/campaign_input.hpp"
#include "core/json.hpp"

#include <boost/json/parse.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace al;
  using al::fuzz::check;
  if (size > 256 * 1024)
    return 0;
  json_doc doc;
  if (!doc.parse(fuzz::as_view(data, size)))
    return 0;
  auto obj = doc.object();
  if (!obj)
    return 0;
  for (int cap : {1, 3, 50}) {
    campaign_input in;
    auto err = parse_campaign(*obj, in, cap);
    if (!err.empty())
      continue;
    check(!in.name.empty() && in.name.size() <= 200, "name bounded");
    check(in.max_concurrent >= 1 && in.max_concurrent <= cap, "cap holds");
    check(in.attempts >= 1 && in.attempts <= 10, "attempts in range");
    check(in.retry_after_min >= 1 && in.retry_after_min <= 10080,
          "retry in range");
    check(in.voicemail == "hangup" || in.voicemail == "message",
          "voicemail enum");
    check(in.voicemail != "message" || !in.voicemail_text.empty(),
          "a message has its text");
    check(in.filter.ids.size() <= max_campaign_ids, "ids bounded");
    for (auto id : in.filter.ids)
      check(id >= 1, "ids positive");
    boost::json::error_code ec;
    auto v = boost::json::parse(campaign_filter_json(in.filter), ec);
    check(!ec && v.is_object(), "the stored filter is a JSON object");
  }
  check(campaign_free_slots(static_cast<int>(size % 60), size % 7, 50,
                            size % 97)
          >= 0,
        "slots never negative");
  return 0;
}
