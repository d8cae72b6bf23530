// Twilio's Calls API and its callbacks as pure values
// (core/twilio_calls_wire.hpp), and the intake body (core/intake_input.hpp),
// including hostile input.
#include "core/crypto.hpp"
#include "core/intake_input.hpp"
#include "core/json.hpp"
#include "core/twilio_calls_wire.hpp"

#include <gtest/gtest.h>

using namespace al;

namespace {

form_params form_of(const outbound_request& r) {
  return parse_form(r.body).value_or(form_params{});
}

std::string header(const outbound_request& r, const std::string& name) {
  for (auto& [k, v] : r.headers)
    if (k == name)
      return v;
  return {};
}

outbound_response answer(int status, std::string body) {
  outbound_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

} // namespace

TEST(twilio_calls_wire, the_create_form_names_every_callback) {
  url_builder urls{"https://al.example.test/"};
  twilio_dial_spec spec{"+972501112233", "+97231234567", 42, 25};
  auto r = twilio_call_create_request("https://api.twilio.com/",
                                      {"ACabc", "tok"}, urls, spec,
                                      std::chrono::seconds(15));
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url,
            "https://api.twilio.com/2010-04-01/Accounts/ACabc/Calls.json");
  EXPECT_EQ(header(r, "Authorization"),
            "Basic " + crypto::base64_encode("ACabc:tok"));
  EXPECT_EQ(header(r, "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(r.timeout, std::chrono::seconds(15));
  auto f = form_of(r);
  EXPECT_EQ(f.value_or("To"), "+972501112233");
  EXPECT_EQ(f.value_or("From"), "+97231234567");
  EXPECT_EQ(f.value_or("Url"),
            "https://al.example.test/webhook/outbound_call?cl=42");
  EXPECT_EQ(f.value_or("StatusCallback"),
            "https://al.example.test/webhook/outbound_status?cl=42");
  EXPECT_EQ(f.value_or("AsyncAmdStatusCallback"),
            "https://al.example.test/webhook/amd_status?cl=42");
  EXPECT_EQ(f.value_or("MachineDetection"), "DetectMessageEnd");
  EXPECT_EQ(f.value_or("AsyncAmd"), "true");
  EXPECT_EQ(f.value_or("AsyncAmdStatusCallbackMethod"), "POST");
  EXPECT_EQ(f.value_or("Timeout"), "25");
  int events = 0;
  for (auto& [k, v] : f.items())
    events += k == "StatusCallbackEvent";
  EXPECT_EQ(events, 4);
  // A hostile account sid cannot change the path; the timeout is clamped.
  spec.ring_timeout_s = 100000;
  auto odd = twilio_call_create_request("https://api.twilio.com",
                                        {"AC/../x?y=1", "t"}, urls, spec,
                                        std::chrono::seconds(1));
  EXPECT_EQ(odd.url, "https://api.twilio.com/2010-04-01/Accounts/"
                     "AC%2F..%2Fx%3Fy%3D1/Calls.json");
  EXPECT_EQ(form_of(odd).value_or("Timeout"), "600");
}

TEST(twilio_calls_wire, create_answers) {
  auto ok = parse_twilio_call_create(
    answer(201, R"({"sid":"CA123","status":"queued","to":"+9725"})"));
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.sid, "CA123");
  EXPECT_EQ(ok.status, "queued");

  auto bad = parse_twilio_call_create(answer(
    400,
    R"({"code":21211,"message":"Invalid 'To' Phone Number","status":400})"));
  EXPECT_FALSE(bad.ok);
  EXPECT_FALSE(bad.retryable);
  EXPECT_EQ(bad.error, "Invalid 'To' Phone Number");
  EXPECT_EQ(bad.error_code, "21211");

  auto code_as_text = parse_twilio_call_create(
    answer(403, R"({"code":"21219","message":"unverified"})"));
  EXPECT_EQ(code_as_text.error_code, "21219");

  auto busy = parse_twilio_call_create(answer(503, "<html>"));
  EXPECT_FALSE(busy.ok);
  EXPECT_TRUE(busy.retryable);
  EXPECT_EQ(busy.error, "twilio answered HTTP 503");
  EXPECT_TRUE(parse_twilio_call_create(answer(429, "{}")).retryable);

  outbound_response timeout;
  timeout.error = "timeout";
  auto t = parse_twilio_call_create(timeout);
  EXPECT_TRUE(t.retryable);
  EXPECT_EQ(t.error, "twilio timed out");

  // 2xx without a sid may have placed the call: not ok, not retried.
  for (auto body :
       {"", "{}", R"({"sid":17})", "[1]", "null", R"({"sid":""})"}) {
    auto r = parse_twilio_call_create(answer(201, body));
    EXPECT_FALSE(r.ok) << body;
    EXPECT_FALSE(r.retryable) << body;
  }
  auto long_sid = parse_twilio_call_create(
    answer(201, "{\"sid\":\"" + std::string(100, 'A') + "\"}"));
  EXPECT_FALSE(long_sid.ok);
  // Control characters in the provider's message never reach a log raw.
  auto ctl = parse_twilio_call_create(
    answer(400, "{\"message\":\"a\\u0000b\\nc\\u00e9\"}"));
  EXPECT_EQ(ctl.error.find('\n'), std::string::npos);
  EXPECT_EQ(ctl.error.find('\0'), std::string::npos);
}

TEST(twilio_calls_wire, status_and_amd_callbacks) {
  for (auto [text, want] :
       {std::pair{"queued", call_progress::queued},
        std::pair{"initiated", call_progress::initiated},
        std::pair{"ringing", call_progress::ringing},
        std::pair{"in-progress", call_progress::in_progress},
        std::pair{"completed", call_progress::completed},
        std::pair{"busy", call_progress::busy},
        std::pair{"no-answer", call_progress::no_answer},
        std::pair{"failed", call_progress::failed},
        std::pair{"canceled", call_progress::canceled},
        std::pair{"COMPLETED", call_progress::unknown},
        std::pair{"", call_progress::unknown}}) {
    EXPECT_EQ(parse_call_progress(text), want) << text;
    if (want != call_progress::unknown) {
      EXPECT_EQ(to_string(want), text);
    }
  }
  EXPECT_TRUE(is_final(call_progress::busy));
  EXPECT_FALSE(is_final(call_progress::in_progress));

  auto ev = parse_call_status_event(
    *parse_form("CallSid=CA1&CallStatus=no-answer&CallDuration=0"
                "&AnsweredBy=machine_end_beep"));
  auto& e = std::get<call_status_event>(ev);
  EXPECT_EQ(e.call_sid, "CA1");
  EXPECT_EQ(e.status, call_progress::no_answer);
  EXPECT_EQ(e.duration_s, 0);
  EXPECT_EQ(e.by, answered_by::machine_end_beep);
  for (auto bad :
       {"CallStatus=busy", "CallSid=CA1", "CallSid=&CallStatus=busy",
        "CallSid=CA%0A1&CallStatus=busy", "CallSid=CA%2F1&CallStatus=busy"})
    EXPECT_TRUE(std::holds_alternative<std::string>(
      parse_call_status_event(*parse_form(bad))))
      << bad;
  auto long_sid = "CallSid=" + std::string(65, 'A') + "&CallStatus=busy";
  EXPECT_TRUE(std::holds_alternative<std::string>(
    parse_call_status_event(*parse_form(long_sid))));
  auto odd = std::get<call_status_event>(parse_call_status_event(
    *parse_form("CallSid=CA1&CallStatus=weird&CallDuration=-4")));
  EXPECT_EQ(odd.status, call_progress::unknown);
  EXPECT_EQ(odd.duration_s, -1);
  EXPECT_EQ(odd.by, answered_by::none);

  auto amd = std::get<amd_event>(parse_amd_event(
    *parse_form("CallSid=CA2&AnsweredBy=human&MachineDetectionDuration=2300")));
  EXPECT_EQ(amd.by, answered_by::human);
  EXPECT_EQ(amd.detection_ms, 2300);
  EXPECT_TRUE(std::holds_alternative<std::string>(
    parse_amd_event(*parse_form("CallSid=CA2"))));
  for (auto [text, want] :
       {std::pair{"machine_start", answered_by::machine_start},
        std::pair{"machine_end_silence", answered_by::machine_end_silence},
        std::pair{"machine_end_other", answered_by::machine_end_other},
        std::pair{"fax", answered_by::fax},
        std::pair{"unknown", answered_by::unknown},
        std::pair{"robot", answered_by::unknown}})
    EXPECT_EQ(parse_answered_by(text), want) << text;
  EXPECT_TRUE(is_machine_end(answered_by::machine_end_other));
  EXPECT_FALSE(is_machine_end(answered_by::machine_start));
  EXPECT_TRUE(is_uncertain(answered_by::fax));
  EXPECT_FALSE(is_uncertain(answered_by::human));
}

TEST(twilio_calls_wire, updates_of_a_live_call) {
  auto twiml = say_hangup_twiml("שלום <b>&\x01", "Google.he-IL-Standard-A");
  EXPECT_EQ(twiml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say"
                   " voice=\"Google.he-IL-Standard-A\" language=\"he-IL\">שלום"
                   " &lt;b&gt;&amp;</Say><Hangup/></Response>");
  EXPECT_EQ(say_hangup_twiml("  ", ""),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Hangup/>"
            "</Response>");
  auto msg = twilio_call_twiml_request("https://api.twilio.com", {"ACa", "t"},
                                       "CA9", "<Response/>",
                                       std::chrono::seconds(5));
  EXPECT_EQ(msg.url,
            "https://api.twilio.com/2010-04-01/Accounts/ACa/Calls/CA9.json");
  EXPECT_EQ(form_of(msg).value_or("Twiml"), "<Response/>");
  auto hang = twilio_call_hangup_request("https://api.twilio.com", {"ACa", "t"},
                                         "CA/9", std::chrono::seconds(5));
  EXPECT_EQ(hang.url,
            "https://api.twilio.com/2010-04-01/Accounts/ACa/Calls/CA%2F9.json");
  EXPECT_EQ(form_of(hang).value_or("Status"), "completed");
}

// -- intake
// --------------------------------------------------------------------

namespace {

std::variant<intake_input, std::string> intake(const std::string& text) {
  json_doc doc;
  EXPECT_TRUE(doc.parse(text)) << text;
  return parse_intake(*doc.object());
}

} // namespace

TEST(intake_input, a_form_post) {
  auto in = std::get<intake_input>(
    intake(R"({"name":"  דנה ","phone":"050-111-2233","message":"שלום",)"
           R"("listing_ref":"Y2-77","source":null})"));
  EXPECT_EQ(in.name, "דנה");
  EXPECT_EQ(in.phone, "+972501112233");
  EXPECT_EQ(in.source, "web_form");
  EXPECT_EQ(in.message, "שלום");
  EXPECT_EQ(in.listing_ref, "Y2-77");
  EXPECT_EQ(intake_note(in, "נכס Y2-77 #3"), "[web_form] שלום (נכס Y2-77 #3)");
  EXPECT_EQ(intake_lead_source("portal"), "portal");
  EXPECT_EQ(intake_lead_source("web_form"), "web");
  EXPECT_EQ(intake_lead_source(""), "web");
  in.message.clear();
  EXPECT_EQ(intake_note(in, ""), "");
}

TEST(intake_input, hostile_bodies_get_a_reason) {
  for (auto body :
       {R"({})", R"({"phone":""})", R"({"phone":"   "})", R"({"phone":5})",
        R"({"phone":"abc"})", R"({"phone":"+972501112233+1"})",
        R"({"phone":"0501112233","name":7})",
        R"({"phone":"0501112233","source":["x"]})",
        R"({"phone":"0501112233","message":{"a":1}})"}) {
    auto r = intake(body);
    EXPECT_TRUE(std::holds_alternative<std::string>(r)) << body;
  }
  auto long_message = R"({"phone":"0501112233","message":")"
                      + std::string(2001, 'x') + "\"}";
  EXPECT_TRUE(std::holds_alternative<std::string>(intake(long_message)));
  // 2000 Hebrew letters are 4000 bytes, still within the limit.
  std::string hebrew;
  for (int i = 0; i < 2000; ++i)
    hebrew += "א";
  EXPECT_TRUE(std::holds_alternative<intake_input>(
    intake(R"({"phone":"0501112233","message":")" + hebrew + "\"}")));
  auto long_source = R"({"phone":"0501112233","source":")"
                     + std::string(65, 's') + "\"}";
  EXPECT_TRUE(std::holds_alternative<std::string>(intake(long_source)));
  // A NUL inside a string is refused, not truncated.
  EXPECT_TRUE(std::holds_alternative<std::string>(
    intake(R"({"phone":"0501112233","name":"a\u0000b"})")));
}
