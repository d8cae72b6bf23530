// Twilio Media Streams frames (core/media_frame.hpp). The input is one text
// frame, parsed three ways that must agree: parse_copy, parse() on a
// caller-owned padded buffer, and parse_copy again with the same (reused)
// parser and frame. An accepted frame honours the documented contract.

#include "bench/fuzz/fuzz_util.hpp"
#include "core/media_frame.hpp"

#include <cstring>
#include <memory>

namespace {

using namespace al;
using al::fuzz::check;

bool same(const media_frame& a, const media_frame& b) {
  return a.event == b.event && a.stream_sid == b.stream_sid
         && a.sequence_number == b.sequence_number && a.protocol == b.protocol
         && a.version == b.version && a.call_sid == b.call_sid
         && a.account_sid == b.account_sid && a.tracks == b.tracks
         && a.custom_parameters == b.custom_parameters
         && a.encoding == b.encoding && a.sample_rate == b.sample_rate
         && a.channels == b.channels && a.track == b.track && a.chunk == b.chunk
         && a.timestamp == b.timestamp && a.payload == b.payload
         && a.mark_name == b.mark_name && a.dtmf_digit == b.dtmf_digit
         && a.dtmf_track == b.dtmf_track && a.event_name == b.event_name;
}

void contract(const media_frame& f) {
  switch (f.event) {
    case media_event::media:
      check(!f.stream_sid.empty(), "media has a streamSid");
      check(f.payload.size() <= media_max_payload, "payload within limit");
      break;
    case media_event::start:
      check(!f.stream_sid.empty() && !f.call_sid.empty(),
            "start has streamSid and callSid");
      break;
    case media_event::mark:
      check(!f.mark_name.empty(), "mark has a name");
      break;
    case media_event::dtmf:
      check(!f.dtmf_digit.empty(), "dtmf has a digit");
      break;
    case media_event::unknown:
    case media_event::connected:
    case media_event::stop:
      break;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  static media_frame_parser parser;
  static media_frame a, b, c;
  auto text = fuzz::as_view(data, size);

  auto ea = parser.parse_copy(text, a);
  (void)to_string(ea);
  (void)to_string(a.event);

  // A caller-owned buffer with exactly the padding simdjson needs, so ASan
  // catches any read past it.
  auto cap = size + simdjson::SIMDJSON_PADDING;
  std::unique_ptr<char[]> buf{new char[cap]};
  if (size)
    std::memcpy(buf.get(), data, size);
  std::memset(buf.get() + size, 0, cap - size);
  auto eb = parser.parse(buf.get(), size, cap, b);
  check(ea == eb, "padded parse agrees with parse_copy");

  // Too little padding: must fall back to a copy, same answer.
  auto ec = parser.parse(buf.get(), size, size, c);
  check(ea == ec, "unpadded parse agrees with parse_copy");

  if (ea == media_error::ok) {
    check(same(a, b) && same(a, c), "same fields every way");
    contract(a);
    (void)a.custom_parameter("call_token");
  }
  if (size > media_max_frame)
    check(ea == media_error::payload_too_large, "huge frame refused");
  return 0;
}
