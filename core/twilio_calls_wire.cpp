#include "core/twilio_calls_wire.hpp"

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/twiml.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <cctype>

namespace al {

namespace {

/// One path segment, percent-encoded (a stored SID can never add a path
/// segment or a query to the URL).
std::string segment(std::string_view s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

std::string calls_url(std::string_view api_base, std::string_view sid) {
  while (!api_base.empty() && api_base.back() == '/')
    api_base.remove_suffix(1);
  return std::string{api_base} + "/2010-04-01/Accounts/" + segment(sid)
         + "/Calls";
}

/// A short description of a text field for an error message: printable
/// ASCII only, at most 200 characters (Twilio's message is English).
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
  return out;
}

/// A non-negative decimal of at most 9 digits, else -1.
int small_number(std::string_view s) {
  if (s.empty() || s.size() > 9)
    return -1;
  int n = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return -1;
    n = n * 10 + (c - '0');
  }
  return n;
}

/// CallSid as given, or "" when missing, too long or not plain ASCII.
std::string call_sid_of(const form_params& form) {
  auto sid = form.value_or("CallSid");
  if (sid.size() > 64)
    return {};
  for (char c : sid)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
      return {};
  return sid;
}

} // namespace

outbound_request twilio_call_create_request(std::string_view api_base,
                                            const twilio_credentials& creds,
                                            const url_builder& urls,
                                            const twilio_dial_spec& spec,
                                            std::chrono::milliseconds timeout) {
  url_builder::query_pairs cl{{"cl", std::to_string(spec.campaign_lead_id)}};
  int ring = std::clamp(spec.ring_timeout_s, 5, 600);
  std::vector<form_params::value_type> form{
    {"To", spec.to},
    {"From", spec.from},
    {"Url", urls.with_query("/webhook/outbound_call", cl)},
    {"Method", "POST"},
    {"StatusCallback", urls.with_query("/webhook/outbound_status", cl)},
    {"StatusCallbackMethod", "POST"},
    {"StatusCallbackEvent", "initiated"},
    {"StatusCallbackEvent", "ringing"},
    {"StatusCallbackEvent", "answered"},
    {"StatusCallbackEvent", "completed"},
    {"MachineDetection", "DetectMessageEnd"},
    {"AsyncAmd", "true"},
    {"AsyncAmdStatusCallback", urls.with_query("/webhook/amd_status", cl)},
    {"AsyncAmdStatusCallbackMethod", "POST"},
    {"Timeout", std::to_string(ring)},
  };
  return twilio_post(calls_url(api_base, creds.account_sid) + ".json", creds,
                     encode_form(form), timeout);
}

twilio_call_created parse_twilio_call_create(const outbound_response& res) {
  twilio_call_created out;
  if (!res.error.empty()) {
    out.retryable = true;
    out.error = res.error == "timeout"
                  ? "twilio timed out"
                  : "twilio unreachable: " + printable(res.error);
    return out;
  }
  json_doc doc;
  std::optional<simdjson::dom::object> o;
  if (res.body.size() <= json_max_bytes && doc.parse(res.body))
    o = doc.object();
  auto text = [&o](std::string_view key) -> std::string {
    if (!o)
      return {};
    if (auto s = get_string(*o, key); s.ok())
      return std::string{s.value.substr(0, 200)};
    return {};
  };
  if (res.status >= 200 && res.status < 300) {
    out.sid = text("sid");
    if (out.sid.empty() || out.sid.size() > 64) {
      out.sid.clear();
      out.error = "twilio answered without a call sid";
      return out;
    }
    out.ok = true;
    out.status = text("status");
    return out;
  }
  out.retryable = res.status == 429 || res.status >= 500 || res.status < 200;
  out.error = "twilio answered HTTP " + std::to_string(res.status);
  if (o) {
    if (auto m = text("message"); !m.empty())
      out.error = printable(m);
    if (auto n = get_int(*o, "code"); n.ok())
      out.error_code = std::to_string(n.value);
    else
      out.error_code = printable(text("code"));
  }
  return out;
}

std::string_view to_string(call_progress s) noexcept {
  switch (s) {
    case call_progress::queued:
      return "queued";
    case call_progress::initiated:
      return "initiated";
    case call_progress::ringing:
      return "ringing";
    case call_progress::in_progress:
      return "in-progress";
    case call_progress::completed:
      return "completed";
    case call_progress::busy:
      return "busy";
    case call_progress::no_answer:
      return "no-answer";
    case call_progress::failed:
      return "failed";
    case call_progress::canceled:
      return "canceled";
    default:
      return "unknown";
  }
}

call_progress parse_call_progress(std::string_view t) noexcept {
  for (auto s :
       {call_progress::queued, call_progress::initiated, call_progress::ringing,
        call_progress::in_progress, call_progress::completed,
        call_progress::busy, call_progress::no_answer, call_progress::failed,
        call_progress::canceled})
    if (t == to_string(s))
      return s;
  return call_progress::unknown;
}

bool is_final(call_progress s) noexcept {
  return s == call_progress::completed || s == call_progress::busy
         || s == call_progress::no_answer || s == call_progress::failed
         || s == call_progress::canceled;
}

std::string_view to_string(answered_by a) noexcept {
  switch (a) {
    case answered_by::human:
      return "human";
    case answered_by::machine_start:
      return "machine_start";
    case answered_by::machine_end_beep:
      return "machine_end_beep";
    case answered_by::machine_end_silence:
      return "machine_end_silence";
    case answered_by::machine_end_other:
      return "machine_end_other";
    case answered_by::fax:
      return "fax";
    case answered_by::unknown:
      return "unknown";
    default:
      return "";
  }
}

answered_by parse_answered_by(std::string_view t) noexcept {
  if (t.empty())
    return answered_by::none;
  for (auto a :
       {answered_by::human, answered_by::machine_start,
        answered_by::machine_end_beep, answered_by::machine_end_silence,
        answered_by::machine_end_other, answered_by::fax})
    if (t == to_string(a))
      return a;
  return answered_by::unknown;
}

bool is_machine_end(answered_by a) noexcept {
  return a == answered_by::machine_end_beep
         || a == answered_by::machine_end_silence
         || a == answered_by::machine_end_other;
}

bool is_uncertain(answered_by a) noexcept {
  return a == answered_by::machine_start || a == answered_by::fax
         || a == answered_by::unknown;
}

std::variant<call_status_event, std::string>
parse_call_status_event(const form_params& form) {
  call_status_event e;
  e.call_sid = call_sid_of(form);
  if (e.call_sid.empty())
    return std::string{"CallSid is required"};
  auto status = form.get("CallStatus");
  if (!status || status->empty())
    return std::string{"CallStatus is required"};
  e.status = parse_call_progress(*status);
  e.duration_s = small_number(form.value_or("CallDuration"));
  e.by = parse_answered_by(form.value_or("AnsweredBy"));
  return e;
}

std::variant<amd_event, std::string> parse_amd_event(const form_params& form) {
  amd_event e;
  e.call_sid = call_sid_of(form);
  if (e.call_sid.empty())
    return std::string{"CallSid is required"};
  e.by = parse_answered_by(form.value_or("AnsweredBy"));
  if (e.by == answered_by::none)
    return std::string{"AnsweredBy is required"};
  e.detection_ms = small_number(form.value_or("MachineDetectionDuration"));
  return e;
}

std::string say_hangup_twiml(std::string_view text,
                             std::string_view say_voice) {
  xml_writer w;
  w.declaration().open("Response");
  auto clean = xml_clean(text);
  if (clean.find_first_not_of(" \t\r\n") != std::string::npos) {
    w.open("Say");
    if (!say_voice.empty())
      w.attr("voice", say_voice);
    w.attr("language", "he-IL").text(clean).close();
  }
  w.empty_element("Hangup");
  return w.take();
}

outbound_request twilio_call_twiml_request(std::string_view api_base,
                                           const twilio_credentials& creds,
                                           std::string_view call_sid,
                                           std::string twiml,
                                           std::chrono::milliseconds timeout) {
  return twilio_post(
    calls_url(api_base, creds.account_sid) + "/" + segment(call_sid) + ".json",
    creds, encode_form({{"Twiml", std::move(twiml)}}), timeout);
}

outbound_request twilio_call_hangup_request(std::string_view api_base,
                                            const twilio_credentials& creds,
                                            std::string_view call_sid,
                                            std::chrono::milliseconds timeout) {
  return twilio_post(calls_url(api_base, creds.account_sid) + "/"
                       + segment(call_sid) + ".json",
                     creds, encode_form({{"Status", "completed"}}), timeout);
}

} // namespace al
