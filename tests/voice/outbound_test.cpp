// Follow-up calls, the telephony half, end to end against the real
// PostgreSQL, real sockets and a fake Twilio Calls API: the dial's form,
// the do-not-contact check right before it, the answered call on the same
// call actor and media path as an inbound one (its opening line heard),
// AMD and voicemail, the status callbacks' outcomes (idempotent, never
// backwards), DTMF 9, and web-form lead intake.
#include "actors/outbound_call.hpp"
#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/tts.hpp"
#include "core/twilio_signature.hpp"
#include "tests/support/app_fixture.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/support/media_client.hpp"
#include "transport/services.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <regex>

using namespace al;
using namespace al::test;
using namespace std::chrono_literals;

namespace {

namespace json = boost::json;

const std::string office = "+97231234567";
const std::string lead_number = "+972501112233";

/// Twilio's Calls API: POST .../Calls.json → 201 {"sid":"CA…"}; POST
/// .../Calls/{sid}.json (an update) → 200. Records every request.
class fake_calls_api {
public:
  enum class mode { ok, reject, server_error };

  fake_calls_api()
    : server_(
      [this](const fake_http_server::request& r) { return handle(r); }) {}

  std::string base_url() const {
    return server_.base_url();
  }
  void set_mode(mode m) {
    mode_ = m;
  }
  std::vector<fake_http_server::request> requests() const {
    return server_.requests();
  }
  /// The decoded form of the i-th request.
  form_params form(std::size_t i) const {
    auto all = requests();
    return parse_form(all.at(i).body()).value_or(form_params{});
  }

private:
  fake_http_server::response handle(const fake_http_server::request& req) {
    auto target = std::string{req.target()};
    if (req.method() != http::verb::post
        || target.rfind("/2010-04-01/Accounts/", 0) != 0)
      return fake_http_server::reply(http::status::not_found,
                                     R"({"code":20404,"status":404})");
    if (target.size() > 11
        && target.compare(target.size() - 11, 11, "/Calls.json") == 0) {
      switch (mode_.load()) {
        case mode::reject:
          return fake_http_server::reply(
            http::status::bad_request,
            R"({"code":21211,"message":"Invalid 'To' Phone Number",)"
            R"("more_info":"https://www.twilio.com/docs/errors/21211",)"
            R"("status":400})");
        case mode::server_error:
          return fake_http_server::reply(http::status::service_unavailable,
                                         "<html>busy</html>", "text/html");
        default:
          break;
      }
      auto sid = "CAfake" + std::to_string(++next_);
      return fake_http_server::reply(
        http::status::created,
        json::serialize(json::object{
          {"sid", sid}, {"status", "queued"}, {"direction", "outbound-api"}}));
    }
    return fake_http_server::reply(http::status::ok,
                                   R"({"sid":"CAx","status":"in-progress"})");
  }

  std::atomic<mode> mode_{mode::ok};
  std::atomic<int> next_{0};
  fake_http_server server_; // last: stops before the state above goes
};

config outbound_config(const fake_calls_api& api) {
  auto cfg = test_config();
  cfg.twilio_api_base = api.base_url();
  return cfg;
}

/// A business on its own Twilio account with one number, and a draft
/// campaign (the campaign engine leaves drafts alone) with one lead whose
/// row is `dialing`, as the engine's claim leaves it.
struct seeded {
  std::int64_t business = 0;
  std::int64_t campaign = 0;
  std::int64_t lead = 0;
  std::int64_t row = 0;
  std::string token = "token-of-cohen";
};

http_result admin(running_app& app, const std::string& method,
                  const std::string& target, const std::string& body = {}) {
  return api_call(app.port(), method, target, app.cfg().admin_token, body);
}

seeded seed(running_app& app, const std::string& voicemail = "hangup",
            const std::string& voicemail_text = "",
            const std::string& phone = lead_number) {
  seeded s;
  auto r = admin(app, "POST", "/api/admin/businesses",
                 json::serialize(json::object{
                   {"name", "כהן נדל\"ן"},
                   {"phone_numbers", json::array{office}},
                   {"twilio", json::object{{"account_sid", "ACcohen"},
                                           {"auth_token", s.token}}}}));
  EXPECT_EQ(r.status, 201) << r.body;
  s.business = json::parse(r.body).at("id").as_int64();
  auto& cfg = app.cfg();
  auto b = std::to_string(s.business);
  s.lead = std::stoll(sql_value(
    cfg, "INSERT INTO leads (business_id, name, phone, deal, city, notes)"
         " VALUES ("
           + b + ", 'דנה', '" + phone
           + "', 'buy', 'חיפה', 'מחפשת 4 חדרים') RETURNING id"));
  s.campaign = std::stoll(sql_value(
    cfg, "INSERT INTO campaigns (business_id, name, prompt, voicemail,"
         " voicemail_text, retry_after_min) VALUES ("
           + b + ", 'test', 'PROMPT-MARKER', '" + voicemail + "', '"
           + voicemail_text + "', 60) RETURNING id"));
  s.row = std::stoll(sql_value(
    cfg, "INSERT INTO campaign_leads (campaign_id, business_id, lead_id,"
         " phone, outcome, attempts_made) VALUES ("
           + std::to_string(s.campaign) + ", " + b + ", "
           + std::to_string(s.lead) + ", '" + phone
           + "', 'dialing', 1) RETURNING id"));
  return s;
}

outbound_dial_result dial(running_app& app, const seeded& s,
                          const std::string& to = lead_number) {
  std::promise<outbound_dial_result> p;
  auto f = p.get_future();
  std::atomic<int> calls{0};
  place_outbound_call(*app.svc().outbound,
                      outbound_dial{s.business, s.campaign, s.row, s.lead, to},
                      [&p, &calls](outbound_dial_result r) {
                        if (calls++ == 0)
                          p.set_value(std::move(r));
                      });
  EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
  auto r = f.get();
  EXPECT_EQ(calls.load(), 1);
  return r;
}

std::string row_sql(running_app& app, const seeded& s,
                    const std::string& column) {
  return sql_value(app.cfg(), "SELECT " + column
                                + " FROM campaign_leads WHERE id = "
                                + std::to_string(s.row));
}

std::string cl(const seeded& s) {
  return "?cl=" + std::to_string(s.row);
}

http_result status_cb(running_app& app, const seeded& s, const std::string& sid,
                      const std::string& status,
                      const std::string& token = {}) {
  return twilio_post(app.port(), app.cfg().public_base_url,
                     token.empty() ? s.token : token,
                     "/webhook/outbound_status" + cl(s),
                     {{"CallSid", sid},
                      {"AccountSid", "ACcohen"},
                      {"CallStatus", status},
                      {"CallDuration", "0"}});
}

http_result amd_cb(running_app& app, const seeded& s, const std::string& sid,
                   const std::string& answered_by) {
  return twilio_post(app.port(), app.cfg().public_base_url, s.token,
                     "/webhook/amd_status" + cl(s),
                     {{"CallSid", sid},
                      {"AccountSid", "ACcohen"},
                      {"AnsweredBy", answered_by},
                      {"MachineDetectionDuration", "2300"}});
}

std::string stream_url(const std::string& twiml) {
  std::smatch m;
  std::regex re("<Stream url=\"([^\"]*)\"");
  return std::regex_search(twiml, m, re) ? m[1].str() : std::string{};
}

std::string path_of(const std::string& url) {
  auto scheme = url.find("://");
  auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

/// The share of the first `n` bytes whose mu-law codes differ by more
/// than 2 (about the same amplitude), 1 when either is shorter.
double share_different(const std::string& a, const std::string& b,
                       std::size_t n) {
  if (a.size() < n || b.size() < n)
    return 1.0;
  std::size_t off = 0;
  for (std::size_t i = 0; i < n; ++i)
    off += std::abs(static_cast<unsigned char>(a[i])
                    - static_cast<unsigned char>(b[i]))
           > 2;
  return static_cast<double>(off) / static_cast<double>(n);
}

std::string heard(const media_client& ws) {
  std::string out;
  for (auto& m : ws.messages())
    if (event_of(m.text) == "media")
      out += crypto::base64_decode(field_of(m.text, "payload")).value_or("");
  return out;
}

} // namespace

// -- dialing
// -------------------------------------------------------------------

TEST(outbound, a_dial_posts_the_documented_form_with_the_business_account) {
  fake_calls_api api;
  running_app app{outbound_config(api)};
  auto s = seed(app);
  auto r = dial(app, s);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.call_sid, "CAfake1");
  auto reqs = api.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(std::string{reqs[0].target()},
            "/2010-04-01/Accounts/ACcohen/Calls.json");
  EXPECT_EQ(std::string{reqs[0][http::field::authorization]},
            "Basic " + crypto::base64_encode("ACcohen:" + s.token));
  auto f = api.form(0);
  auto base = app.cfg().public_base_url;
  auto q = cl(s);
  EXPECT_EQ(f.value_or("To"), lead_number);
  EXPECT_EQ(f.value_or("From"), office);
  EXPECT_EQ(f.value_or("Url"), base + "/webhook/outbound_call" + q);
  EXPECT_EQ(f.value_or("Method"), "POST");
  EXPECT_EQ(f.value_or("StatusCallback"),
            base + "/webhook/outbound_status" + q);
  EXPECT_EQ(f.value_or("StatusCallbackMethod"), "POST");
  std::vector<std::string> events;
  for (auto& [k, v] : f.items())
    if (k == "StatusCallbackEvent")
      events.push_back(v);
  EXPECT_EQ(events, (std::vector<std::string>{"initiated", "ringing",
                                              "answered", "completed"}));
  EXPECT_EQ(f.value_or("MachineDetection"), "DetectMessageEnd");
  EXPECT_EQ(f.value_or("AsyncAmd"), "true");
  EXPECT_EQ(f.value_or("AsyncAmdStatusCallback"),
            base + "/webhook/amd_status" + q);
  EXPECT_EQ(f.value_or("AsyncAmdStatusCallbackMethod"), "POST");
  EXPECT_EQ(f.value_or("Timeout"), "25");
  // The calls row and the row's call sid.
  EXPECT_EQ(sql_value(app.cfg(),
                      "SELECT direction || ',' || status || ',' || from_number"
                      " || ',' || to_number || ',' || campaign_lead_id || ','"
                      " || lead_id FROM calls WHERE call_sid = 'CAfake1'"),
            "outbound,queued," + office + "," + lead_number + ","
              + std::to_string(s.row) + "," + std::to_string(s.lead));
  EXPECT_EQ(row_sql(app, s, "call_sid"), "CAfake1");
  EXPECT_EQ(row_sql(app, s, "outcome"), "dialing");
}

TEST(outbound, a_number_on_the_do_not_contact_list_is_never_dialed) {
  fake_calls_api api;
  running_app app{outbound_config(api)};
  auto s = seed(app);
  sql_value(app.cfg(), "INSERT INTO dnc (business_id, phone, source) VALUES ("
                         + std::to_string(s.business) + ", '" + lead_number
                         + "', 'whatsapp') RETURNING 1");
  auto r = dial(app, s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "opted_out");
  EXPECT_FALSE(r.retryable);
  EXPECT_TRUE(api.requests().empty());
  EXPECT_EQ(row_sql(app, s, "outcome"), "opted_out");
  EXPECT_EQ(row_sql(app, s, "lease_owner IS NULL"), "t");
}

TEST(outbound, refusals_say_whether_a_retry_can_help) {
  fake_calls_api api;
  running_app app{outbound_config(api)};
  auto s = seed(app);
  api.set_mode(fake_calls_api::mode::reject);
  auto rejected = dial(app, s);
  EXPECT_FALSE(rejected.ok);
  EXPECT_FALSE(rejected.retryable);
  EXPECT_NE(rejected.error.find("Invalid 'To' Phone Number"),
            std::string::npos);
  EXPECT_NE(rejected.error.find("21211"), std::string::npos);
  api.set_mode(fake_calls_api::mode::server_error);
  auto busy = dial(app, s);
  EXPECT_FALSE(busy.ok);
  EXPECT_TRUE(busy.retryable);
  EXPECT_EQ(sql_value(app.cfg(), "SELECT count(*) FROM calls WHERE"
                                 " direction = 'outbound'"),
            "0");
  // A business without a number is not dialed at all.
  sql_value(app.cfg(), "DELETE FROM phone_numbers WHERE business_id = "
                         + std::to_string(s.business) + " RETURNING 1");
  auto before = api.requests().size();
  auto none = dial(app, s);
  EXPECT_FALSE(none.ok);
  EXPECT_FALSE(none.retryable);
  EXPECT_EQ(none.error, "The business has no phone number");
  EXPECT_EQ(api.requests().size(), before);
}

// -- the answered call -------------------------------------------------------

TEST(outbound, the_answered_call_streams_and_the_callee_hears_who_calls) {
  fake_calls_api api;
  running_app app{outbound_config(api)};
  auto s = seed(app);
  sql_value(app.cfg(), "UPDATE businesses SET record_calls = false WHERE id = "
                         + std::to_string(s.business) + " RETURNING 1");
  auto r = dial(app, s);
  ASSERT_TRUE(r.ok) << r.error;
  auto base = app.cfg().public_base_url;
  std::vector<std::pair<std::string, std::string>> form{
    {"CallSid", r.call_sid},
    {"AccountSid", "ACcohen"},
    {"From", office},
    {"To", lead_number},
    {"CallStatus", "in-progress"},
    {"Direction", "outbound-api"}};
  // Signed with another account's token (the global one): refused.
  auto forged = twilio_post(app.port(), base, app.cfg().twilio_auth_token,
                            "/webhook/outbound_call" + cl(s), form);
  EXPECT_EQ(forged.status, 403) << forged.body;
  EXPECT_EQ(row_sql(app, s, "outcome"), "dialing");
  auto answer = twilio_post(app.port(), base, s.token,
                            "/webhook/outbound_call" + cl(s), form);
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_NE(answer.body.find("<Connect"), std::string::npos) << answer.body;
  EXPECT_NE(answer.body.find("<Stream"), std::string::npos) << answer.body;
  EXPECT_EQ(row_sql(app, s, "outcome"), "answered");

  // Twilio's upgrade and start, as for an inbound call.
  auto url = stream_url(answer.body);
  media_client ws;
  auto hs = ws.connect(
    app.port(), path_of(url), "audio.twilio.com",
    {{"X-Twilio-Signature", twilio_signature(s.token, url, form_params{})}});
  ASSERT_TRUE(hs.ok) << hs.status << " " << hs.error;
  ws.send_connected();
  ws.send_start("MZout1", r.call_sid,
                {{"call_token", param_value(answer.body, "call_token")}});
  // The opening line names the lead and the office and how to opt out.
  outbound_target t;
  t.lead_name = "דנה";
  t.business_name = "כהן נדל\"ן";
  t.campaign_kind = "campaign";
  auto opening = outbound_opening(t);
  EXPECT_NE(opening.find("דנה"), std::string::npos);
  EXPECT_NE(opening.find("הקש/י 9"), std::string::npos);
  // espeak-ng's output is not bit-exact from one run to the next: the
  // start of what was heard matches the opening's synthesis, and not that
  // of another line.
  auto expected = synthesize_mulaw(opening);
  auto other = synthesize_mulaw("בסדר, לא נתקשר אליך שוב. תודה ולהתראות.");
  ASSERT_TRUE(expected && other);
  ASSERT_TRUE(eventually([&] { return heard(ws).size() >= 800; }, 10s));
  auto start = heard(ws);
  EXPECT_LT(share_different(start, *expected, 800), 0.05);
  EXPECT_GT(share_different(start, *other, 800), 0.3);
  // The call is the lead's, not a new lead for the office's own number.
  EXPECT_TRUE(eventually([&] {
    return sql_value(app.cfg(), "SELECT lead_id FROM calls WHERE call_sid = '"
                                  + r.call_sid + "'")
           == std::to_string(s.lead);
  }));
  EXPECT_EQ(sql_value(app.cfg(), "SELECT count(*) FROM leads WHERE phone = '"
                                   + office + "'"),
            "0");

  // DTMF 9: on the list, opted out, a short goodbye, then the end.
  ws.send_dtmf("MZout1", "9");
  EXPECT_TRUE(eventually([&] {
    return sql_value(app.cfg(), "SELECT source FROM dnc WHERE business_id = "
                                  + std::to_string(s.business)
                                  + " AND phone = '" + lead_number + "'")
           == "dtmf";
  }));
  EXPECT_TRUE(
    eventually([&] { return row_sql(app, s, "outcome") == "opted_out"; }));
  // The confirmation (utterance 2, after the cut greeting), its mark
  // echoed, ends the stream.
  ASSERT_TRUE(ws.wait_for(
    [](auto& msgs) {
      for (auto& m : msgs)
        if (event_of(m.text) == "mark" && field_of(m.text, "name") == "u2")
          return true;
      return false;
    },
    20s));
  EXPECT_GE(ws.count("clear"), 1u);
  ws.send_mark("MZout1", "u2");
  EXPECT_TRUE(ws.wait_closed(10s));
  // The call's completion never moves the outcome back.
  EXPECT_EQ(status_cb(app, s, r.call_sid, "completed").status, 204);
  EXPECT_EQ(row_sql(app, s, "outcome"), "opted_out");
  // A later dial of the number is refused before Twilio.
  sql_value(app.cfg(), "UPDATE campaign_leads SET outcome = 'dialing' WHERE"
                       " id = "
                         + std::to_string(s.row) + " RETURNING 1");
  auto again = dial(app, s);
  EXPECT_EQ(again.error, "opted_out");
}

TEST(outbound, webhooks_refuse_bad_input_and_unknown_rows) {
  fake_calls_api api;
  running_app app{outbound_config(api)};
  auto s = seed(app);
  auto base = app.cfg().public_base_url;
  for (auto path : {"/webhook/outbound_call", "/webhook/amd_status",
                    "/webhook/outbound_status"}) {
    // No signature at all.
    auto unsigned_post
      = http_call(app.port(), "POST", std::string{path} + cl(s),
                  "CallSid=CA1&CallStatus=busy&AnsweredBy=human",
                  {{"Content-Type", "application/x-www-form-urlencoded"}});
    EXPECT_EQ(unsigned_post.status, 403) << path << unsigned_post.body;
    // No row named: not a URL we gave Twilio, whatever its signature.
    auto no_row = twilio_post(
      app.port(), base, s.token, path,
      {{"CallSid", "CA1"}, {"CallStatus", "busy"}, {"AnsweredBy", "human"}});
    EXPECT_EQ(no_row.status, 403) << path;
    auto junk = twilio_post(
      app.port(), base, s.token, std::string{path} + "?cl=1%00",
      {{"CallSid", "CA1"}, {"CallStatus", "busy"}, {"AnsweredBy", "human"}});
    EXPECT_EQ(junk.status, 403) << path;
  }
  // Missing fields.
  EXPECT_EQ(twilio_post(app.port(), base, s.token,
                        "/webhook/amd_status" + cl(s), {{"CallSid", "CA1"}})
              .status,
            400);
  EXPECT_EQ(twilio_post(app.port(), base, s.token,
                        "/webhook/outbound_status" + cl(s),
                        {{"CallStatus", "busy"}})
              .status,
            400);
  // An unknown row, signed with the global account: nothing to do.
  auto unknown = twilio_post(app.port(), base, app.cfg().twilio_auth_token,
                             "/webhook/outbound_call?cl=999999",
                             {{"CallSid", "CA9"}});
  EXPECT_EQ(unknown.status, 200);
  EXPECT_NE(unknown.body.find("<Hangup/>"), std::string::npos);
}

// -- AMD and voicemail
// ----------------------------------------------------------

TEST(outbound, a_machine_gets_the_campaign_message_then_a_hang_up) {
  fake_calls_api api;
  running_app app{outbound_config(api)};
  auto s = seed(app, "message", "שלום, כאן כהן נדלן. נשמח שתחזרו אלינו.");
  auto r = dial(app, s);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(amd_cb(app, s, r.call_sid, "machine_end_beep").status, 204);
  EXPECT_EQ(row_sql(app, s, "outcome"), "voicemail");
  EXPECT_EQ(row_sql(app, s, "answered_by"), "machine_end_beep");
  ASSERT_TRUE(eventually([&] { return api.requests().size() == 2; }));
  auto update = api.requests()[1];
  EXPECT_EQ(std::string{update.target()},
            "/2010-04-01/Accounts/ACcohen/Calls/" + r.call_sid + ".json");
  auto twiml = api.form(1).value_or("Twiml");
  EXPECT_NE(twiml.find("<Say"), std::string::npos) << twiml;
  EXPECT_NE(twiml.find("נשמח שתחזרו אלינו"), std::string::npos) << twiml;
  EXPECT_NE(twiml.find("<Hangup/>"), std::string::npos) << twiml;
  EXPECT_NE(twiml.find(app.cfg().say_voice), std::string::npos) << twiml;
  // A duplicate verdict updates nothing; the call's end keeps voicemail.
  EXPECT_EQ(amd_cb(app, s, r.call_sid, "machine_end_beep").status, 204);
  EXPECT_EQ(status_cb(app, s, r.call_sid, "completed").status, 204);
  EXPECT_EQ(row_sql(app, s, "outcome"), "voicemail");
  EXPECT_EQ(api.requests().size(), 2u);
}

TEST(outbound, a_machine_is_hung_up_on_when_the_campaign_says_hangup) {
  fake_calls_api api;
  running_app app{outbound_config(api)};
  auto s = seed(app, "hangup");
  auto r = dial(app, s);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(amd_cb(app, s, r.call_sid, "machine_end_silence").status, 204);
  ASSERT_TRUE(eventually([&] { return api.requests().size() == 2; }));
  EXPECT_EQ(api.form(1).value_or("Status"), "completed");
  EXPECT_FALSE(api.form(1).contains("Twiml"));
  EXPECT_EQ(row_sql(app, s, "outcome"), "voicemail");
}

TEST(outbound, a_human_verdict_only_records_who_answered) {
  fake_calls_api api;
  running_app app{outbound_config(api)};
  auto s = seed(app, "message", "text");
  auto r = dial(app, s);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(amd_cb(app, s, r.call_sid, "human").status, 204);
  EXPECT_EQ(row_sql(app, s, "answered_by"), "human");
  EXPECT_EQ(row_sql(app, s, "outcome"), "answered");
  // machine_start is uncertain: a human by default (AMD_UNKNOWN_AS).
  EXPECT_EQ(amd_cb(app, s, r.call_sid, "machine_start").status, 204);
  EXPECT_EQ(row_sql(app, s, "outcome"), "answered");
  EXPECT_EQ(status_cb(app, s, r.call_sid, "completed").status, 204);
  EXPECT_EQ(row_sql(app, s, "outcome"), "completed");
  EXPECT_EQ(api.requests().size(), 1u); // no update of the call
  EXPECT_EQ(sql_value(app.cfg(), "SELECT status FROM calls WHERE call_sid = '"
                                   + r.call_sid + "'"),
            "completed");
}

// -- status callbacks ---------------------------------------------------------

TEST(outbound, unanswered_calls_are_due_again_and_never_regress) {
  fake_calls_api api;
  running_app app{outbound_config(api)};
  // Set once, before any callback can read it, and never reassigned while
  // the app runs (a handler may still be calling it after the last
  // request); the counter outlives the app.
  auto count = std::make_shared<std::atomic<int>>(0);
  auto& finished = *count;
  app.svc().outbound->on_dial_finished = [count](std::int64_t) { ++*count; };
  auto s = seed(app);
  struct cse {
    std::string status;
    std::string outcome;
  };
  std::int64_t campaign = s.campaign;
  int n = 0;
  for (auto c : {cse{"busy", "busy"}, cse{"no-answer", "no_answer"},
                 cse{"failed", "failed"}, cse{"canceled", "failed"}}) {
    SCOPED_TRACE(c.status);
    // A fresh attempt on the same row.
    sql_value(app.cfg(), "UPDATE campaign_leads SET outcome = 'dialing',"
                         " lease_owner = 'me', lease_until = now() +"
                         " interval '5 minutes' WHERE id = "
                           + std::to_string(s.row) + " RETURNING 1");
    auto r = dial(app, s);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(status_cb(app, s, r.call_sid, "ringing").status, 204);
    EXPECT_EQ(row_sql(app, s, "outcome"), "dialing");
    EXPECT_EQ(status_cb(app, s, r.call_sid, c.status).status, 204);
    EXPECT_EQ(row_sql(app, s, "outcome"), c.outcome);
    EXPECT_EQ(row_sql(app, s, "lease_owner IS NULL AND lease_until IS NULL"),
              "t");
    EXPECT_EQ(row_sql(app, s,
                      "next_attempt_at BETWEEN now() + interval '59 minutes'"
                      " AND now() + interval '61 minutes'"),
              "t");
    EXPECT_EQ(row_sql(app, s, "last_error"), "twilio: " + c.status);
    EXPECT_EQ(finished.load(), ++n);
    EXPECT_EQ(sql_value(app.cfg(), "SELECT status FROM calls WHERE call_sid"
                                   " = '"
                                     + r.call_sid + "'"),
              c.status);
    // Duplicates and late, out-of-order callbacks change nothing.
    auto due = row_sql(app, s, "next_attempt_at");
    EXPECT_EQ(status_cb(app, s, r.call_sid, c.status).status, 204);
    EXPECT_EQ(status_cb(app, s, r.call_sid, "in-progress").status, 204);
    EXPECT_EQ(status_cb(app, s, r.call_sid, "completed").status, 204);
    EXPECT_EQ(row_sql(app, s, "outcome"), c.outcome);
    EXPECT_EQ(row_sql(app, s, "next_attempt_at"), due);
    n = finished.load();
  }
  // An earlier attempt's late callback does not touch the current one.
  sql_value(app.cfg(), "UPDATE campaign_leads SET outcome = 'dialing' WHERE"
                       " id = "
                         + std::to_string(s.row) + " RETURNING 1");
  auto current = dial(app, s);
  ASSERT_TRUE(current.ok);
  EXPECT_EQ(status_cb(app, s, "CAfake1", "busy").status, 204);
  EXPECT_EQ(row_sql(app, s, "outcome"), "dialing");
  // An answered call ends completed, and stays so.
  EXPECT_EQ(
    twilio_post(app.port(), app.cfg().public_base_url, s.token,
                "/webhook/amd_status" + cl(s),
                {{"CallSid", current.call_sid}, {"AnsweredBy", "human"}})
      .status,
    204);
  EXPECT_EQ(status_cb(app, s, current.call_sid, "completed").status, 204);
  EXPECT_EQ(row_sql(app, s, "outcome"), "completed");
  EXPECT_EQ(status_cb(app, s, current.call_sid, "busy").status, 204);
  EXPECT_EQ(row_sql(app, s, "outcome"), "completed");
  EXPECT_EQ(campaign, s.campaign);
}

// -- lead intake
// ---------------------------------------------------------------

namespace {

std::string owner_token(running_app& app, std::int64_t business) {
  auto r = admin(app, "POST", "/api/admin/tokens",
                 json::serialize(json::object{{"business_id", business},
                                              {"role", "owner"},
                                              {"name", "owner"}}));
  EXPECT_EQ(r.status, 201) << r.body;
  return json::value_to<std::string>(json::parse(r.body).at("token"));
}

http_result intake(running_app& app, const std::string& query,
                   const std::string& body, const header_list& extra = {}) {
  header_list h{{"Content-Type", "application/json"},
                {"Origin", "https://office.example"}};
  for (auto& e : extra)
    h.push_back(e);
  return http_call(app.port(), "POST", "/api/leads/intake" + query, body, h);
}

} // namespace

TEST(outbound, intake_with_the_key_creates_dedupes_and_allows_any_origin) {
  running_app app;
  auto owner = owner_token(app, 1);
  auto none = api_call(app.port(), "GET", "/api/crm/settings/intake-key",
                       owner);
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_TRUE(json::parse(none.body).at("intake_key").is_null());
  auto made = api_call(app.port(), "POST", "/api/crm/settings/intake-key",
                       owner, "{}");
  ASSERT_EQ(made.status, 201) << made.body;
  auto key
    = json::value_to<std::string>(json::parse(made.body).at("intake_key"));
  EXPECT_EQ(key.size(), 32u);
  EXPECT_EQ(key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
                                  "rstuvwxyz0123456789-_"),
            std::string::npos);
  auto shown = api_call(app.port(), "GET", "/api/crm/settings/intake-key",
                        owner);
  EXPECT_EQ(
    json::value_to<std::string>(json::parse(shown.body).at("intake_key")), key);
  // An agent may not see or rotate it.
  auto agent = json::value_to<std::string>(
    json::parse(admin(app, "POST", "/api/admin/tokens",
                      R"({"business_id":1,"role":"agent","name":"a"})")
                  .body)
      .at("token"));
  EXPECT_EQ(
    api_call(app.port(), "GET", "/api/crm/settings/intake-key", agent).status,
    403);

  // The preflight of a cross-origin POST.
  auto pre = http_call(app.port(), "OPTIONS", "/api/leads/intake?key=" + key,
                       {},
                       {{"Origin", "https://office.example"},
                        {"Access-Control-Request-Method", "POST"},
                        {"Access-Control-Request-Headers", "content-type"}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.header("access-control-allow-origin"), "*");
  EXPECT_NE(pre.header("access-control-allow-methods").find("POST"),
            std::string::npos);
  EXPECT_NE(pre.header("access-control-allow-headers").find("Content-Type"),
            std::string::npos);

  auto created
    = intake(app, "?key=" + key,
             R"({"name":"רון","phone":"050-999-8877",)"
             R"("message":"מחפש דירת 3 חדרים","listing_ref":"NOPE-1"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.header("access-control-allow-origin"), "*");
  auto id = json::parse(created.body).at("lead_id").as_int64();
  auto lead = std::to_string(id);
  EXPECT_EQ(sql_value(app.cfg(), "SELECT phone || ',' || source || ',' || name"
                                 " FROM leads WHERE id = "
                                   + lead),
            "+972509998877,web,רון");
  auto notes = sql_value(app.cfg(),
                         "SELECT notes FROM leads WHERE id = " + lead);
  EXPECT_NE(notes.find("[web_form] מחפש דירת 3 חדרים"), std::string::npos);
  EXPECT_NE(notes.find("NOPE-1"), std::string::npos);

  auto dup = intake(app, "?key=" + key,
                    R"({"phone":"+972509998877","source":"yad2",)"
                    R"("message":"שוב אני"})");
  ASSERT_EQ(dup.status, 200) << dup.body;
  auto d = json::parse(dup.body);
  EXPECT_EQ(d.at("lead_id").as_int64(), id);
  EXPECT_EQ(d.at("duplicate"), true);
  EXPECT_EQ(sql_value(app.cfg(), "SELECT source FROM leads WHERE id = " + lead),
            "web");
  EXPECT_NE(sql_value(app.cfg(), "SELECT notes FROM leads WHERE id = " + lead)
              .find("[yad2] שוב אני"),
            std::string::npos);
  EXPECT_EQ(sql_value(app.cfg(), "SELECT count(*) FROM lead_history WHERE"
                                 " lead_id = "
                                   + lead + " AND field = 'intake'"),
            "2");

  // Bad input: 400 (with CORS, so the form can show it); a wrong key: 401.
  for (
    auto body :
    {R"({"name":"x"})", R"({"phone":"hello"})", R"({"phone":12})", R"([1,2])",
     "not json",
     R"({"phone":"0501234567","source":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})"}) {
    auto bad = intake(app, "?key=" + key, body);
    EXPECT_EQ(bad.status, 400) << body << " " << bad.body;
    EXPECT_EQ(bad.header("access-control-allow-origin"), "*");
  }
  auto wrong = intake(app, "?key=not-the-key", R"({"phone":"0501234567"})");
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  // Rotated: the old key stops working.
  auto rotated = api_call(app.port(), "POST", "/api/crm/settings/intake-key",
                          owner, "{}");
  ASSERT_EQ(rotated.status, 201);
  EXPECT_EQ(intake(app, "?key=" + key, R"({"phone":"0501234567"})").status,
            401);
}

TEST(outbound, intake_with_a_token_and_the_rate_limit_of_the_key_path) {
  running_app app;
  auto owner = owner_token(app, 1);
  // A token: no CORS, the token's business.
  auto r = api_call(app.port(), "POST", "/api/leads/intake", owner,
                    R"({"phone":"052-333-4444","name":"מיכל"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("access-control-allow-origin"), "");
  auto id = std::to_string(json::parse(r.body).at("lead_id").as_int64());
  EXPECT_EQ(sql_value(app.cfg(),
                      "SELECT business_id FROM leads WHERE id = " + id),
            "1");
  // No credentials at all; a read-only token.
  EXPECT_EQ(http_call(app.port(), "POST", "/api/leads/intake",
                      R"({"phone":"0523334444"})",
                      {{"Content-Type", "application/json"}})
              .status,
            401);
  auto reader = json::value_to<std::string>(
    json::parse(admin(app, "POST", "/api/admin/tokens",
                      R"({"business_id":1,"role":"read_only","name":"r"})")
                  .body)
      .at("token"));
  EXPECT_EQ(api_call(app.port(), "POST", "/api/leads/intake", reader,
                     R"({"phone":"0523334444"})")
              .status,
            403);
  // The key path: a burst from one address is cut off, others go on.
  auto key = json::value_to<std::string>(
    json::parse(
      api_call(app.port(), "POST", "/api/crm/settings/intake-key", owner, "{}")
        .body)
      .at("intake_key"));
  int limited = 0;
  for (int i = 0; i < 40 && limited == 0; ++i) {
    auto x = intake(app, "?key=" + key, R"({"phone":"0523334444"})",
                    {{"X-Forwarded-For", "203.0.113.7"}});
    if (x.status == 429)
      ++limited;
    else
      EXPECT_EQ(x.status, 200) << x.body;
  }
  EXPECT_EQ(limited, 1);
  EXPECT_EQ(intake(app, "?key=" + key, R"({"phone":"0523334444"})",
                   {{"X-Forwarded-For", "203.0.113.8"}})
              .status,
            200);
}
