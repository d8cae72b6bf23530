// core/whatsapp_wire, core/working_hours, core/rate_limit: pure functions.
#include "core/config.hpp"
#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/json.hpp"
#include "core/rate_limit.hpp"
#include "core/whatsapp_wire.hpp"
#include "core/working_hours.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <map>

namespace al {
namespace {

using namespace std::chrono_literals;

form_params form(std::vector<form_params::value_type> items) {
  return form_params{std::move(items)};
}

std::string header(const outbound_request& r, std::string_view name) {
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

// -- statuses
// -------------------------------------------------------------------

TEST(wa_status, moves_only_forward) {
  EXPECT_TRUE(wa_status_advances("queued", "sent"));
  EXPECT_TRUE(wa_status_advances("sent", "delivered"));
  EXPECT_TRUE(wa_status_advances("delivered", "read"));
  EXPECT_TRUE(wa_status_advances("sent", "failed"));
  EXPECT_TRUE(wa_status_advances("queued", "undelivered"));
  EXPECT_FALSE(wa_status_advances("delivered", "sent"));
  EXPECT_FALSE(wa_status_advances("read", "delivered"));
  EXPECT_FALSE(wa_status_advances("sent", "sent"));
  EXPECT_FALSE(wa_status_advances("delivered", "failed"));
  EXPECT_FALSE(wa_status_advances("read", "failed"));
  // Failures are final.
  EXPECT_FALSE(wa_status_advances("failed", "delivered"));
  EXPECT_FALSE(wa_status_advances("failed", "read"));
  EXPECT_FALSE(wa_status_advances("undelivered", "read"));
  // Unknown targets never apply; inbound messages never move.
  EXPECT_FALSE(wa_status_advances("sent", "bogus"));
  EXPECT_FALSE(wa_status_advances("received", "read"));
  EXPECT_TRUE(wa_status_advances("", "queued"));
}

// -- Twilio
// -----------------------------------------------------------------------

TEST(twilio_wire, send_request_is_form_post_with_basic_auth) {
  auto r = twilio_send_request("https://api.twilio.com/", {"ACabc", "tok"},
                               "whatsapp:+14155238886",
                               "whatsapp:+972501234567", "שלום & bye",
                               "https://h.example/webhook/whatsapp/status",
                               5000ms);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url,
            "https://api.twilio.com/2010-04-01/Accounts/ACabc/Messages.json");
  EXPECT_EQ(header(r, "Authorization"),
            "Basic " + crypto::base64_encode("ACabc:tok"));
  EXPECT_EQ(header(r, "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(r.timeout, 5000ms);
  auto f = parse_form(r.body);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->value_or("To"), "whatsapp:+972501234567");
  EXPECT_EQ(f->value_or("From"), "whatsapp:+14155238886");
  EXPECT_EQ(f->value_or("Body"), "שלום & bye");
  EXPECT_EQ(f->value_or("StatusCallback"),
            "https://h.example/webhook/whatsapp/status");
}

TEST(twilio_wire, account_sid_cannot_leave_its_path_segment) {
  auto r = twilio_send_request("http://x", {"AC/../../evil?a=b", "t"}, "f", "t",
                               "b", "", 1000ms);
  EXPECT_EQ(r.url, "http://x/2010-04-01/Accounts/AC%2F..%2F..%2Fevil%3Fa%3Db"
                   "/Messages.json");
  EXPECT_FALSE(parse_form(r.body)->contains("StatusCallback"));
}

TEST(twilio_wire, parses_success) {
  auto out = parse_twilio_send_response(
    answer(201, R"({"sid":"SM0123","status":"queued","error_code":null})"));
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(out.sid, "SM0123");
  EXPECT_EQ(out.status, "queued");
}

TEST(twilio_wire, parses_errors) {
  auto out = parse_twilio_send_response(answer(
    400,
    R"({"code":21211,"message":"Invalid 'To' Phone Number","status":400})"));
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "Invalid 'To' Phone Number");
  EXPECT_EQ(out.error_code, "21211");

  out = parse_twilio_send_response(answer(503, "<html>busy</html>"));
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "twilio answered HTTP 503");

  out = parse_twilio_send_response(answer(201, R"({"status":"queued"})"));
  EXPECT_FALSE(out.ok) << "a 2xx without a sid is not a sent message";

  outbound_response t;
  t.error = "timeout";
  out = parse_twilio_send_response(t);
  EXPECT_FALSE(out.ok);
  EXPECT_TRUE(out.timeout);
  EXPECT_EQ(out.error, "twilio timed out");

  outbound_response refused;
  refused.error = "connection refused";
  out = parse_twilio_send_response(refused);
  EXPECT_EQ(out.error, "twilio unreachable: connection refused");
  EXPECT_FALSE(out.timeout);
}

TEST(twilio_wire, inbound_fields) {
  auto parsed = parse_twilio_inbound(form({{"MessageSid", "SM1"},
                                           {"From", "whatsapp:+972501234567"},
                                           {"To", "whatsapp:+14155238886"},
                                           {"Body", "היי"},
                                           {"NumMedia", "2"},
                                           {"MediaUrl0", "https://m/0"},
                                           {"MediaUrl1", "https://m/1"},
                                           {"ProfileName", "דנה"},
                                           {"WaId", "972501234567"}}));
  ASSERT_TRUE(std::holds_alternative<wa_inbound>(parsed));
  auto& in = std::get<wa_inbound>(parsed);
  EXPECT_EQ(in.provider, "twilio");
  EXPECT_EQ(in.sid, "SM1");
  EXPECT_EQ(in.from, "+972501234567");
  EXPECT_EQ(in.to, "+14155238886");
  EXPECT_EQ(in.body, "היי");
  EXPECT_EQ(in.media, (std::vector<std::string>{"https://m/0", "https://m/1"}));
  EXPECT_EQ(in.profile_name, "דנה");
  EXPECT_EQ(in.wa_id, "972501234567");
}

TEST(twilio_wire, inbound_rejects_missing_sid_or_sender) {
  EXPECT_TRUE(std::holds_alternative<std::string>(
    parse_twilio_inbound(form({{"From", "whatsapp:+972501234567"}}))));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_twilio_inbound(
    form({{"MessageSid", "SM1"}, {"From", "whatsapp:hello"}}))));
  EXPECT_TRUE(std::holds_alternative<std::string>(
    parse_twilio_inbound(form({{"MessageSid", "SM1"}}))));
}

TEST(twilio_wire, inbound_text_is_made_storable) {
  auto parsed
    = parse_twilio_inbound(form({{"MessageSid", "SM1"},
                                 {"From", "+972501234567"},
                                 {"Body", std::string("a\0b\xff", 4)}}));
  ASSERT_TRUE(std::holds_alternative<wa_inbound>(parsed));
  EXPECT_EQ(std::get<wa_inbound>(parsed).body, "ab\xEF\xBF\xBD");
  EXPECT_TRUE(valid_utf8(std::get<wa_inbound>(parsed).body));
}

TEST(twilio_wire, status_callback) {
  auto parsed = parse_twilio_status(form({{"MessageSid", "SM1"},
                                          {"MessageStatus", "Undelivered"},
                                          {"ErrorCode", "30008"}}));
  ASSERT_TRUE(std::holds_alternative<wa_status_event>(parsed));
  auto& ev = std::get<wa_status_event>(parsed);
  EXPECT_EQ(ev.sid, "SM1");
  EXPECT_EQ(ev.status, "undelivered");
  EXPECT_EQ(ev.error_code, "30008");
  EXPECT_TRUE(std::holds_alternative<std::string>(
    parse_twilio_status(form({{"MessageSid", "SM1"}}))));
  EXPECT_TRUE(std::holds_alternative<std::string>(
    parse_twilio_status(form({{"MessageStatus", "sent"}}))));
}

// -- Meta
// ---------------------------------------------------------------------------

TEST(meta_wire, send_request) {
  auto r = meta_send_request("https://graph.facebook.com/v19.0", "10987",
                             "EAAtoken", "+972501234567", "שלום \"x\"", 5000ms);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://graph.facebook.com/v19.0/10987/messages");
  EXPECT_EQ(header(r, "Authorization"), "Bearer EAAtoken");
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  json_doc doc;
  ASSERT_TRUE(doc.parse(r.body)) << r.body;
  auto o = *doc.object();
  EXPECT_EQ(get_string(o, "messaging_product").value, "whatsapp");
  EXPECT_EQ(get_string(o, "to").value, "972501234567");
  EXPECT_EQ(get_string(o, "type").value, "text");
  EXPECT_EQ(get_string(get_object(o, "text").value, "body").value,
            "שלום \"x\"");
}

TEST(meta_wire, parses_send_answers) {
  auto out = parse_meta_send_response(answer(
    200,
    R"({"messaging_product":"whatsapp","contacts":[{"input":"972","wa_id":"972"}],)"
    R"("messages":[{"id":"wamid.ABC"}]})"));
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(out.sid, "wamid.ABC");
  out = parse_meta_send_response(answer(
    400,
    R"({"error":{"message":"(#131030) Recipient phone number not in allowed list",)"
    R"("type":"OAuthException","code":131030,"fbtrace_id":"x"}})"));
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error, "(#131030) Recipient phone number not in allowed list");
  EXPECT_EQ(out.error_code, "131030");
  out = parse_meta_send_response(answer(200, R"({"messages":[]})"));
  EXPECT_FALSE(out.ok);
}

TEST(meta_wire, signature) {
  std::string body = R"({"object":"whatsapp_business_account"})";
  auto sig = "sha256=" + crypto::to_hex(crypto::hmac_sha256("s3cret", body));
  EXPECT_TRUE(verify_meta_signature("s3cret", body, sig));
  std::string upper = sig;
  for (std::size_t i = 7; i < upper.size(); ++i)
    upper[i]
      = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
  EXPECT_TRUE(verify_meta_signature("s3cret", body, upper));
  EXPECT_FALSE(verify_meta_signature("other", body, sig));
  EXPECT_FALSE(verify_meta_signature("s3cret", body + " ", sig));
  EXPECT_FALSE(verify_meta_signature("", body, sig));
  EXPECT_FALSE(verify_meta_signature("s3cret", body, ""));
  EXPECT_FALSE(verify_meta_signature("s3cret", body, sig.substr(7)));
}

TEST(meta_wire, handshake) {
  auto q = form({{"hub.mode", "subscribe"},
                 {"hub.verify_token", "vt"},
                 {"hub.challenge", "1158201444"}});
  EXPECT_EQ(meta_handshake(q, "vt"), std::optional<std::string>{"1158201444"});
  EXPECT_FALSE(meta_handshake(q, "other"));
  EXPECT_FALSE(meta_handshake(q, ""));
  EXPECT_FALSE(meta_handshake(form({{"hub.mode", "unsubscribe"},
                                    {"hub.verify_token", "vt"},
                                    {"hub.challenge", "1"}}),
                              "vt"));
  EXPECT_FALSE(meta_handshake(form({{"hub.mode", "subscribe"},
                                    {"hub.verify_token", "vt"},
                                    {"hub.challenge", "<script>x</script> "}}),
                              "vt"));
}

constexpr const char* meta_hook = R"({
  "object": "whatsapp_business_account",
  "entry": [{
    "id": "102290129340398",
    "changes": [{
      "field": "messages",
      "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881",
                     "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Sheena Nelson"},
                      "wa_id": "972501234567"}],
        "messages": [
          {"from": "972501234567", "id": "wamid.T1", "timestamp": "1749416383",
           "type": "text", "text": {"body": "Does it come in another color?"}},
          {"from": "972501234567", "id": "wamid.I1", "timestamp": "1749416384",
           "type": "image", "image": {"caption": "this one", "id": "1479537139650973",
                                      "mime_type": "image/jpeg"}},
          {"from": "not-a-number", "id": "wamid.BAD", "type": "text",
           "text": {"body": "x"}}
        ],
        "statuses": [
          {"id": "wamid.S1", "status": "delivered", "timestamp": "1750263773",
           "recipient_id": "972501234567"},
          {"id": "wamid.S2", "status": "failed", "timestamp": "1750263773",
           "recipient_id": "972501234567",
           "errors": [{"code": 131049, "title": "Message not delivered",
                       "message": "This message was not delivered"}]}
        ]
      }
    }]
  }]
})";

TEST(meta_wire, webhook_messages_and_statuses) {
  auto parsed = parse_meta_webhook(meta_hook);
  ASSERT_TRUE(std::holds_alternative<meta_webhook>(parsed))
    << std::get<std::string>(parsed);
  auto& hook = std::get<meta_webhook>(parsed);
  ASSERT_EQ(hook.messages.size(), 2u);
  auto& m = hook.messages[0];
  EXPECT_EQ(m.provider, "meta");
  EXPECT_EQ(m.sid, "wamid.T1");
  EXPECT_EQ(m.from, "+972501234567");
  EXPECT_EQ(m.to, "+15550783881");
  EXPECT_EQ(m.body, "Does it come in another color?");
  EXPECT_EQ(m.profile_name, "Sheena Nelson");
  EXPECT_EQ(hook.messages[1].body, "this one");
  EXPECT_EQ(hook.messages[1].media,
            std::vector<std::string>{"meta-media:1479537139650973"});
  ASSERT_EQ(hook.statuses.size(), 2u);
  EXPECT_EQ(hook.statuses[0].sid, "wamid.S1");
  EXPECT_EQ(hook.statuses[0].status, "delivered");
  EXPECT_EQ(hook.statuses[1].status, "failed");
  EXPECT_EQ(hook.statuses[1].error_code, "131049");
  EXPECT_EQ(hook.statuses[1].error, "This message was not delivered");
}

TEST(meta_wire, webhook_rejects_garbage) {
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_meta_webhook("")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_meta_webhook("{")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_meta_webhook("[]")));
  EXPECT_TRUE(
    std::holds_alternative<std::string>(parse_meta_webhook(R"({"entry":5})")));
  auto empty
    = parse_meta_webhook(R"({"entry":[{"changes":[{"value":7}]}, 3]})");
  ASSERT_TRUE(std::holds_alternative<meta_webhook>(empty));
  EXPECT_TRUE(std::get<meta_webhook>(empty).messages.empty());
}

// -- working hours
// ---------------------------------------------------------------------

std::time_t utc(int y, int mo, int d, int h, int mi) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  return timegm(&tm);
}

TEST(working_hours, israel_daylight_time_rule) {
  // 2025: IDT from Fri 28 Mar 02:00 (00:00 UTC) to Sun 26 Oct 02:00 (23:00
  // UTC on the 25th).
  EXPECT_EQ(jerusalem_utc_offset(utc(2025, 3, 27, 23, 59)), 7200);
  EXPECT_EQ(jerusalem_utc_offset(utc(2025, 3, 28, 0, 0)), 10800);
  EXPECT_EQ(jerusalem_utc_offset(utc(2025, 7, 1, 12, 0)), 10800);
  EXPECT_EQ(jerusalem_utc_offset(utc(2025, 10, 25, 22, 59)), 10800);
  EXPECT_EQ(jerusalem_utc_offset(utc(2025, 10, 25, 23, 0)), 7200);
  EXPECT_EQ(jerusalem_utc_offset(utc(2025, 1, 15, 12, 0)), 7200);
  // 2024: 29 Mar to 27 Oct.
  EXPECT_EQ(jerusalem_utc_offset(utc(2024, 3, 28, 23, 0)), 7200);
  EXPECT_EQ(jerusalem_utc_offset(utc(2024, 3, 29, 0, 0)), 10800);
  EXPECT_EQ(jerusalem_utc_offset(utc(2024, 10, 26, 23, 0)), 7200);
}

TEST(working_hours, matches_tzdata_2013_to_2030) {
  // (year, March day, October day) of the switches at 00:00 UTC and 23:00
  // UTC, as Python's zoneinfo (tzdata) reports them for Asia/Jerusalem.
  struct sw {
    int y, mar, oct;
  };
  for (auto [y, mar, oct] :
       {sw{2013, 29, 26}, sw{2014, 28, 25}, sw{2015, 27, 24}, sw{2016, 25, 29},
        sw{2017, 24, 28}, sw{2018, 23, 27}, sw{2019, 29, 26}, sw{2020, 27, 24},
        sw{2021, 26, 30}, sw{2022, 25, 29}, sw{2023, 24, 28}, sw{2024, 29, 26},
        sw{2025, 28, 25}, sw{2026, 27, 24}, sw{2027, 26, 30}, sw{2028, 24, 28},
        sw{2029, 23, 27}, sw{2030, 29, 26}}) {
    auto start = utc(y, 3, mar, 0, 0);
    auto end = utc(y, 10, oct, 23, 0);
    EXPECT_EQ(jerusalem_utc_offset(start - 1), 7200) << y;
    EXPECT_EQ(jerusalem_utc_offset(start), 10800) << y;
    EXPECT_EQ(jerusalem_utc_offset(end - 1), 10800) << y;
    EXPECT_EQ(jerusalem_utc_offset(end), 7200) << y;
  }
}

TEST(working_hours, local_clock) {
  // Sunday 5 Jan 2025 07:30 UTC = 09:30 Israel time.
  auto c = jerusalem_clock(utc(2025, 1, 5, 7, 30));
  EXPECT_EQ(c.weekday, 0);
  EXPECT_EQ(c.minutes, 9 * 60 + 30);
  // Saturday 5 Jul 2025 22:30 UTC = Sunday 01:30 IDT.
  c = jerusalem_clock(utc(2025, 7, 5, 22, 30));
  EXPECT_EQ(c.weekday, 0);
  EXPECT_EQ(c.minutes, 90);
}

TEST(working_hours, schedule) {
  std::string wh = R"({"sun":["09:00","18:00"],"mon":["09:00","18:00"],)"
                   R"("thu":["20:00","02:00"]})";
  // Sunday 5 Jan 2025: 09:30 local open, 08:59 closed, 18:00 closed.
  EXPECT_TRUE(within_working_hours(wh, utc(2025, 1, 5, 7, 30)));
  EXPECT_FALSE(within_working_hours(wh, utc(2025, 1, 5, 6, 59)));
  EXPECT_FALSE(within_working_hours(wh, utc(2025, 1, 5, 16, 0)));
  // Tuesday: not listed, closed.
  EXPECT_FALSE(within_working_hours(wh, utc(2025, 1, 7, 10, 0)));
  // Thursday 9 Jan 21:00 local open; Friday 01:00 local still open (late
  // shift), Friday 02:00 closed.
  EXPECT_TRUE(within_working_hours(wh, utc(2025, 1, 9, 19, 0)));
  EXPECT_TRUE(within_working_hours(wh, utc(2025, 1, 9, 23, 0)));
  EXPECT_FALSE(within_working_hours(wh, utc(2025, 1, 10, 0, 0)));
  // No schedule or garbage: always open (never an accidental auto-reply).
  EXPECT_TRUE(within_working_hours("{}", utc(2025, 1, 7, 3, 0)));
  EXPECT_TRUE(within_working_hours("", utc(2025, 1, 7, 3, 0)));
  EXPECT_TRUE(within_working_hours("[1]", utc(2025, 1, 7, 3, 0)));
  EXPECT_TRUE(
    within_working_hours(R"({"tue":"all day"})", utc(2025, 1, 7, 3, 0)));
}

// -- rate limit
// ----------------------------------------------------------------------------

TEST(token_bucket, burst_then_refill) {
  token_bucket b{3, std::chrono::minutes(1)};
  auto t0 = token_bucket::clock::time_point{} + std::chrono::hours(1);
  EXPECT_TRUE(b.try_take(t0));
  EXPECT_TRUE(b.try_take(t0));
  EXPECT_TRUE(b.try_take(t0));
  EXPECT_FALSE(b.try_take(t0));
  EXPECT_FALSE(b.try_take(t0 + 19s)); // one token per 20 s
  EXPECT_TRUE(b.try_take(t0 + 20s));
  EXPECT_FALSE(b.try_take(t0 + 21s));
  EXPECT_NEAR(b.available(t0 + 10min), 3.0, 1e-9); // capped at capacity
}

// -- configuration
// ---------------------------------------------------------------------

config_result load(std::map<std::string, std::string> env) {
  return load_config([env](const std::string& k) -> std::optional<std::string> {
    auto i = env.find(k);
    return i == env.end() ? std::nullopt
                          : std::optional<std::string>{i->second};
  });
}

TEST(whatsapp_config, defaults_and_validation) {
  auto d = load({});
  ASSERT_TRUE(std::holds_alternative<config>(d));
  auto& c = std::get<config>(d);
  EXPECT_EQ(c.twilio_whatsapp_from, "whatsapp:+14155238886");
  EXPECT_EQ(c.whatsapp_provider_timeout, 5000ms);
  EXPECT_EQ(c.whatsapp_idle_timeout, std::chrono::seconds(1800));
  EXPECT_EQ(c.whatsapp_rate_per_min, 30);
  auto own = load({{"TWILIO_WHATSAPP_FROM", "+972 3-123-4567"},
                   {"WHATSAPP_RATE_PER_MIN", "5"}});
  ASSERT_TRUE(std::holds_alternative<config>(own));
  EXPECT_EQ(std::get<config>(own).twilio_whatsapp_from,
            "whatsapp:+97231234567");
  EXPECT_EQ(std::get<config>(own).whatsapp_rate_per_min, 5);
  for (auto [k, v] : {std::pair{"TWILIO_WHATSAPP_FROM", "sandbox"},
                      std::pair{"WHATSAPP_RATE_PER_MIN", "0"},
                      std::pair{"WHATSAPP_PROVIDER_TIMEOUT_MS", "5s"},
                      std::pair{"WHATSAPP_IDLE_TIMEOUT_S", "-1"}}) {
    auto r = load({{k, v}});
    ASSERT_TRUE(std::holds_alternative<std::string>(r)) << k;
    EXPECT_NE(std::get<std::string>(r).find(k), std::string::npos)
      << std::get<std::string>(r);
  }
}

// -- the 24-hour window and templates
// ---------------------------------------------------

wa_template_problem tmpl(const std::string& body, wa_template& t) {
  t = wa_template{};
  return parse_wa_template(body, t);
}

TEST(wa_templates, parse_accepts_a_full_definition_and_defaults) {
  wa_template t;
  auto p = tmpl(R"({"name":"pay_link_1","purpose":"payment_link",)"
                R"("language":"he","twilio_content_sid":)"
                R"("HX0123456789abcdef0123456789ABCDEF",)"
                R"("meta_name":"pay_link_v2","variables":["1","2","3"],)"
                R"("body":"שלום {{1}}, לתשלום {{2}}: {{3}}"})",
                t);
  ASSERT_EQ(p.status, 0) << p.error;
  EXPECT_EQ(t.name, "pay_link_1");
  EXPECT_EQ(t.purpose, "payment_link");
  EXPECT_EQ(t.twilio_content_sid, "HX0123456789abcdef0123456789ABCDEF");
  EXPECT_EQ(t.meta_name, "pay_link_v2");
  EXPECT_EQ(t.variables, (std::vector<std::string>{"1", "2", "3"}));
  // Defaults: purpose generic, language he, meta_name = name, variables
  // from the body's placeholders in order of first use.
  p = tmpl(R"({"name":"hello","body":"{{name}} / {{2}} / {{name}}"})", t);
  ASSERT_EQ(p.status, 0) << p.error;
  EXPECT_EQ(t.purpose, "generic");
  EXPECT_EQ(t.language, "he");
  EXPECT_EQ(t.meta_name, "hello");
  EXPECT_TRUE(t.twilio_content_sid.empty());
  EXPECT_EQ(t.variables, (std::vector<std::string>{"name", "2"}));
  p = tmpl(R"({"name":"x","body":"b","language":"en_US","meta_name":null})", t);
  EXPECT_EQ(p.status, 0) << p.error;
  EXPECT_EQ(t.meta_name, "x");
}

TEST(wa_templates, parse_refuses_hostile_and_invalid_input) {
  struct bad_case {
    const char* body;
    int status;
    const char* error_part;
  };
  const std::string long_name(65, 'a');
  const std::string long_body(1025, 'x');
  const std::vector<bad_case> cases = {
    {"", 400, "JSON object"},
    {"{not json", 400, "JSON object"},
    {"[]", 400, "JSON object"},
    {R"("name")", 400, "JSON object"},
    {R"({"body":"b"})", 400, "name is required"},
    {R"({"name":null,"body":"b"})", 400, "name is required"},
    {R"({"name":7,"body":"b"})", 400, "name must be a string"},
    {R"({"name":"ok"})", 400, "body is required"},
    {R"({"name":"ok","body":["b"]})", 400, "body must be a string"},
    {R"({"name":"Has_Caps","body":"b"})", 422, "name must be"},
    {R"({"name":"","body":"b"})", 422, "name must be"},
    {R"({"name":"a-b","body":"b"})", 422, "name must be"},
    {R"({"name":"שלום","body":"b"})", 422, "name must be"},
    {R"({"name":"a\u0000b","body":"b"})", 422, "NUL"},
    {R"({"name":"ok","body":"   "})", 422, "body must not be empty"},
    {R"({"name":"ok","purpose":"spam","body":"b"})", 422, "purpose"},
    {R"({"name":"ok","purpose":1,"body":"b"})", 400, "purpose"},
    {R"({"name":"ok","language":"hebrew","body":"b"})", 422, "language"},
    {R"({"name":"ok","language":"he_il","body":"b"})", 422, "language"},
    {R"({"name":"ok","twilio_content_sid":"HX123","body":"b"})", 422,
     "twilio_content_sid"},
    {R"({"name":"ok","twilio_content_sid":"MG0123456789abcdef0123456789abcdef",)"
     R"("body":"b"})",
     422, "twilio_content_sid"},
    {R"({"name":"ok","twilio_content_sid":"HX0123456789abcdef0123456789abcdeg",)"
     R"("body":"b"})",
     422, "twilio_content_sid"},
    {R"({"name":"ok","meta_name":"Bad Name","body":"b"})", 422, "meta_name"},
    {R"({"name":"ok","variables":"1","body":"b"})", 400, "variables"},
    {R"({"name":"ok","variables":[1],"body":"b"})", 400, "variables"},
    {R"({"name":"ok","variables":["a b"],"body":"b"})", 422, "variable"},
    {R"({"name":"ok","variables":["1","1"],"body":"b"})", 422, "twice"},
    {R"({"name":"ok","variables":["1"],"body":"{{1}} {{2}}"})", 422, "{{2}}"},
  };
  wa_template t;
  for (auto& c : cases) {
    auto p = tmpl(c.body, t);
    EXPECT_EQ(p.status, c.status) << c.body << " -> " << p.error;
    EXPECT_NE(p.error.find(c.error_part), std::string::npos)
      << c.body << " -> " << p.error;
  }
  auto p = tmpl(R"({"name":")" + long_name + R"(","body":"b"})", t);
  EXPECT_EQ(p.status, 422);
  p = tmpl(R"({"name":"ok","body":")" + long_body + R"("})", t);
  EXPECT_EQ(p.status, 422);
  std::string many = R"({"name":"ok","body":"b","variables":[)";
  for (int i = 1; i <= 21; ++i)
    many += (i > 1 ? ",\"" : "\"") + std::to_string(i) + "\"";
  p = tmpl(many + "]}", t);
  EXPECT_EQ(p.status, 422);
  EXPECT_NE(p.error.find("20"), std::string::npos);
}

TEST(wa_templates, placeholders_and_rendering) {
  EXPECT_EQ(wa_template_placeholders("{{1}} {{ 2 }} {{a-b}} {{x}}{{1}} {{"),
            (std::vector<std::string>{"1", "x"}));
  EXPECT_EQ(wa_template_placeholders("{{{{1}}}}"),
            (std::vector<std::string>{"1"}));
  EXPECT_TRUE(wa_template_placeholders("").empty());
  wa_template_values v{{"1", "דנה"}, {"2", "{{1}}"}};
  // Values are not re-expanded; unknown keys and broken braces stay.
  EXPECT_EQ(render_wa_template("שלום {{1}}, {{2}} {{3}} {{1", v),
            "שלום דנה, {{1}} {{3}} {{1");
  EXPECT_EQ(render_wa_template("{{{{1}}}}", v), "{{דנה}}");
  EXPECT_EQ(render_wa_template("", v), "");
}

TEST(wa_templates, arguments_name_what_is_missing) {
  wa_template t;
  t.variables = {"1", "2", "name"};
  auto ok = wa_template_arguments(
    t, {{"name", "n"}, {"2", "b"}, {"1", "a"}, {"extra", "ignored"}});
  ASSERT_TRUE(std::holds_alternative<wa_template_values>(ok));
  EXPECT_EQ(std::get<wa_template_values>(ok),
            (wa_template_values{{"1", "a"}, {"2", "b"}, {"name", "n"}}));
  auto missing = wa_template_arguments(t, {{"1", "a"}, {"2", "  "}});
  ASSERT_TRUE(std::holds_alternative<std::string>(missing));
  EXPECT_EQ(std::get<std::string>(missing),
            "Missing template variables: 2, name");
}

TEST(wa_templates, fill_maps_facts_by_name_or_position) {
  wa_template_values facts{
    {"name", "דנה"}, {"amount", "150.00 ILS"}, {"url", "https://p/1"}};
  wa_template numbered;
  numbered.variables = {"1", "2", "3"};
  auto v = wa_fill_template(numbered, facts);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, (wa_template_values{
                  {"1", "דנה"}, {"2", "150.00 ILS"}, {"3", "https://p/1"}}));
  wa_template named;
  named.variables = {"url", "name"};
  v = wa_fill_template(named, facts);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, (wa_template_values{{"url", "https://p/1"}, {"name", "דנה"}}));
  wa_template too_many;
  too_many.variables = {"1", "4"};
  EXPECT_FALSE(wa_fill_template(too_many, facts));
  wa_template unknown;
  unknown.variables = {"coupon"};
  EXPECT_FALSE(wa_fill_template(unknown, facts));
  wa_template none;
  v = wa_fill_template(none, facts);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->empty());
  // Meta refuses newlines and tabs inside a parameter.
  wa_template one;
  one.variables = {"1"};
  v = wa_fill_template(one, {{"text", "שורה\nשנייה\tסוף"}});
  ASSERT_TRUE(v);
  EXPECT_EQ((*v)[0].second, "שורה שנייה סוף");
  // An empty fact does not fit.
  EXPECT_FALSE(wa_fill_template(one, {{"text", ""}}));
}

TEST(wa_templates, send_object_parsing) {
  auto parse = [](const std::string& body) {
    json_doc doc;
    EXPECT_TRUE(doc.parse(body)) << body;
    return parse_wa_template_send(*doc.object());
  };
  auto ok = parse(R"({"name":"hello","variables":{"1":"a","2":3}})");
  ASSERT_TRUE(
    (std::holds_alternative<std::pair<std::string, wa_template_values>>(ok)));
  auto& [name, values]
    = std::get<std::pair<std::string, wa_template_values>>(ok);
  EXPECT_EQ(name, "hello");
  EXPECT_EQ(values, (wa_template_values{{"1", "a"}, {"2", "3"}}));
  for (auto bad : {
         R"({})",
         R"({"name":""})",
         R"({"name":5})",
         R"({"name":"Bad"})",
         R"({"name":"x","variables":[]})",
         R"({"name":"x","variables":"1"})",
         R"({"name":"x","variables":{"1":null}})",
         R"({"name":"x","variables":{"1":{"a":1}}})",
         R"({"name":"x","variables":{"1":1.5}})",
         R"({"name":"x","variables":{"a b":"v"}})",
         R"({"name":"x","variables":{"1":"a\u0000"}})",
         R"({"name":"x","variables":{"1":"a","1":"b"}})",
       })
    EXPECT_TRUE(std::holds_alternative<std::string>(parse(bad))) << bad;
  std::string big = R"({"name":"x","variables":{"1":")" + std::string(1025, 'x')
                    + R"("}})";
  EXPECT_TRUE(std::holds_alternative<std::string>(parse(big)));
}

TEST(wa_templates, twilio_template_request_uses_content_sid_and_variables) {
  twilio_credentials creds{"ACtest", "tok"};
  auto r = twilio_template_request(
    "https://api.twilio.test/", creds, "whatsapp:+14155238886",
    "whatsapp:+972501234567", "HX0123456789abcdef0123456789abcdef",
    {{"1", "דנה"}, {"2", "a\"b"}}, "https://cb/status", 5000ms);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url,
            "https://api.twilio.test/2010-04-01/Accounts/ACtest/Messages.json");
  EXPECT_EQ(header(r, "Authorization"),
            "Basic " + crypto::base64_encode("ACtest:tok"));
  auto f = parse_form(r.body);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->value_or("To"), "whatsapp:+972501234567");
  EXPECT_EQ(f->value_or("From"), "whatsapp:+14155238886");
  EXPECT_EQ(f->value_or("ContentSid"), "HX0123456789abcdef0123456789abcdef");
  EXPECT_EQ(f->value_or("ContentVariables"), R"({"1":"דנה","2":"a\"b"})");
  EXPECT_EQ(f->value_or("StatusCallback"), "https://cb/status");
  EXPECT_FALSE(f->contains("Body"));
  // No values: no ContentVariables.
  r = twilio_template_request("https://t", creds, "f", "t", "HXab", {}, "",
                              1000ms);
  f = parse_form(r.body);
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->contains("ContentVariables"));
  EXPECT_FALSE(f->contains("StatusCallback"));
  EXPECT_FALSE(f->contains("Body"));
}

TEST(wa_templates, meta_template_request_shape) {
  auto r = meta_template_request("https://graph.test/v19.0", "10987", "tok",
                                 "+972501234567", "pay_link", "he",
                                 {{"1", "דנה"}, {"2", "150 ILS"}}, 5000ms);
  EXPECT_EQ(r.url, "https://graph.test/v19.0/10987/messages");
  EXPECT_EQ(header(r, "Authorization"), "Bearer tok");
  EXPECT_EQ(r.body, R"({"messaging_product":"whatsapp","to":"972501234567",)"
                    R"("type":"template","template":{"name":"pay_link",)"
                    R"("language":{"code":"he"},"components":[{"type":"body",)"
                    R"("parameters":[{"type":"text","text":"דנה"},)"
                    R"({"type":"text","text":"150 ILS"}]}]}})");
  // Named variables carry parameter_name; no values, no components.
  r = meta_template_request("https://g", "1", "t", "+972501234567", "n",
                            "en_US", {{"name", "Dana"}}, 1000ms);
  EXPECT_NE(
    r.body.find(R"({"type":"text","text":"Dana","parameter_name":"name"})"),
    std::string::npos)
    << r.body;
  r = meta_template_request("https://g", "1", "t", "+972501234567", "n", "he",
                            {}, 1000ms);
  EXPECT_EQ(r.body.find("components"), std::string::npos) << r.body;
}

TEST(wa_templates, masked_number_hides_the_middle) {
  EXPECT_EQ(wa_masked_number("+972501234567"), "+972******567");
  EXPECT_EQ(wa_masked_number("whatsapp:+972501234567"), "+972******567");
  EXPECT_EQ(wa_masked_number("+14155238886"), "+14******886");
  EXPECT_EQ(wa_masked_number("12345"), "*****");
  EXPECT_EQ(wa_masked_number(""), "");
}

TEST(wa_templates, outgoing_text_from_a_string_is_generic) {
  wa_outgoing_text t = std::string{"שלום"};
  EXPECT_EQ(t.body, "שלום");
  EXPECT_EQ(t.fallback_purpose, "generic");
  EXPECT_EQ(t.fallback_facts, (wa_template_values{{"text", "שלום"}}));
}

} // namespace
} // namespace al
