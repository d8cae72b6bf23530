// Twilio's Calls API answers and callbacks (core/twilio_calls_wire.hpp)
// and the lead intake body (core/intake_input.hpp): the input's first byte
// picks the parser. Properties: a created call has a sid of 1-64
// characters; a status or AMD event has a plain CallSid; an AMD event has
// a verdict; an intake has an E.164 phone and fields within their limits;
// the voicemail TwiML is well-formed XML whatever text it is given.

#include "bench/fuzz/fuzz_util.hpp"
#include "core/form.hpp"
#include "core/intake_input.hpp"
#include "core/json.hpp"
#include "core/twilio_calls_wire.hpp"

#include <cctype>
#include <variant>

namespace {

using namespace al;
using al::fuzz::check;

bool plain_sid(const std::string& s) {
  if (s.empty() || s.size() > 64)
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
      return false;
  return true;
}

void create_answer(std::string_view body, int status) {
  outbound_response r;
  r.status = status;
  r.body = std::string{body};
  auto c = parse_twilio_call_create(r);
  if (c.ok) {
    check(!c.sid.empty() && c.sid.size() <= 64, "created sid 1-64 chars");
    check(status >= 200 && status < 300, "ok only for a 2xx");
  } else {
    check(!c.error.empty(), "a failure says why");
    check(c.sid.empty(), "no sid on failure");
  }
  for (char ch : c.error)
    check(static_cast<unsigned char>(ch) >= 0x20, "error text is one line");
}

void callbacks(std::string_view text) {
  auto form = parse_form(text);
  if (!form)
    return;
  auto st = parse_call_status_event(*form);
  if (auto* e = std::get_if<call_status_event>(&st)) {
    check(plain_sid(e->call_sid), "status CallSid is plain");
    check(e->duration_s >= -1, "duration -1 or more");
    check(form->contains("CallStatus"), "status needs CallStatus");
  }
  auto amd = parse_amd_event(*form);
  if (auto* e = std::get_if<amd_event>(&amd)) {
    check(plain_sid(e->call_sid), "AMD CallSid is plain");
    check(e->by != answered_by::none, "AMD has a verdict");
    check(!to_string(e->by).empty(), "verdict has a name");
  }
  for (auto& [k, v] : form->items()) {
    auto p = parse_call_progress(v);
    check(p == call_progress::unknown || to_string(p) == v,
          "progress names round trip");
    (void)k;
  }
}

void intake(std::string_view text) {
  json_doc doc;
  if (!doc.parse(text))
    return;
  auto o = doc.object();
  if (!o)
    return;
  auto in = parse_intake(*o);
  if (auto* i = std::get_if<intake_input>(&in)) {
    check(i->phone.size() >= 9 && i->phone[0] == '+', "phone is E.164");
    check(i->source.size() <= 4 * intake_max_source, "source bounded");
    check(i->message.size() <= 4 * intake_max_message, "message bounded");
    check(!intake_lead_source(i->source).empty(), "a lead source");
    (void)intake_note(*i, i->listing_ref);
  } else {
    check(!std::get<std::string>(in).empty(), "an error says why");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size < 1 || size > 64 * 1024)
    return 0;
  auto text = fuzz::as_view(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      static const int statuses[] = {200, 201, 204, 400, 404, 429, 500, 503};
      create_answer(text, statuses[data[0] / 4 % 8]);
      break;
    }
    case 1:
      callbacks(text);
      break;
    case 2:
      intake(text);
      break;
    default:
      (void)fuzz::require_xml(
        say_hangup_twiml(text, "Google.he-IL-Standard-A"));
      break;
  }
  return 0;
}
