// The receptionist with the local engine, end to end against the real
// PostgreSQL and real sockets: every tenant's calls connect on its own
// Twilio account, an uploaded greeting is the first thing heard, DTMF 0
// reaches a person inside working hours (and only then), and a silent
// caller hears one reprompt and then a polite goodbye.
// (The AI engine's side of the same features is in openai_test.cpp.)
#include "core/crypto.hpp"
#include "core/israel_time.hpp"
#include "core/twilio_signature.hpp"
#include "core/wav.hpp"
#include "tests/support/app_fixture.hpp"
#include "tests/support/media_client.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>

using namespace al;
using namespace al::test;
using namespace std::chrono_literals;

namespace {

namespace json = boost::json;

const std::string caller = "+972501234567";
const std::string office = "+97231234567";

/// The wss URL the TwiML's <Stream> names, and its path.
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

/// An account a call is signed with: the global one or a business's own.
struct account {
  std::string token;
  std::string to = office; // the number called
};

http_result incoming(running_app& app, const std::string& sid,
                     const account& a) {
  return twilio_post(app.port(), app.cfg().public_base_url, a.token,
                     "/webhook/incoming_call",
                     {{"CallSid", sid},
                      {"From", caller},
                      {"To", a.to},
                      {"AccountSid", "ACx"},
                      {"CallStatus", "ringing"}});
}

/// A call through Twilio's steps: the signed webhook, the signed upgrade
/// to the URL of the TwiML, `start` with the call token.
struct call_leg {
  media_client ws;
  std::string sid;
  std::string stream;
  std::string twiml;
  handshake_result hs;

  call_leg(running_app& app, const std::string& call_sid, const account& a)
    : sid(call_sid)
    , stream("MZ" + call_sid) {
    auto r = incoming(app, sid, a);
    EXPECT_EQ(r.status, 200) << r.body;
    twiml = r.body;
    auto url = stream_url(twiml);
    auto sig = twilio_signature(a.token, url, form_params{});
    hs = ws.connect(app.port(), path_of(url), "audio.twilio.com",
                    {{"X-Twilio-Signature", sig}});
    if (!hs.ok)
      return;
    ws.send_connected();
    ws.send_start(stream, sid,
                  {{"call_token", param_value(twiml, "call_token")}});
  }

  bool wait_mark(const std::string& name, std::chrono::milliseconds t = 15s) {
    return ws.wait_for(
      [&](auto& msgs) {
        for (auto& m : msgs)
          if (event_of(m.text) == "mark" && field_of(m.text, "name") == name)
            return true;
        return false;
      },
      t);
  }

  /// Waits for the mark that ends utterance `n` and echoes it.
  bool play_through(int n) {
    auto name = "u" + std::to_string(n);
    if (!wait_mark(name))
      return false;
    ws.send_mark(stream, name);
    return true;
  }

  /// The payload bytes of the media frames received, in order.
  std::string audio() const {
    std::string out;
    for (auto& m : ws.messages())
      if (event_of(m.text) == "media")
        out += crypto::base64_decode(field_of(m.text, "payload")).value_or("");
    return out;
  }
};

std::string events_of(const config& cfg, const std::string& sid) {
  return sql_value(cfg, "SELECT string_agg(kind, ',' ORDER BY seq) FROM"
                        " call_events WHERE call_sid = '"
                          + sid + "'");
}

http_result admin(running_app& app, const std::string& method,
                  const std::string& target, const std::string& body = {}) {
  return api_call(app.port(), method, target, app.cfg().admin_token, body);
}

/// A token of `role` for business `business`.
std::string token_for(running_app& app, std::int64_t business,
                      const std::string& role) {
  auto r = admin(app, "POST", "/api/admin/tokens",
                 json::serialize(json::object{
                   {"business_id", business}, {"role", role}, {"name", role}}));
  EXPECT_EQ(r.status, 201) << r.body;
  return json::value_to<std::string>(json::parse(r.body).at("token"));
}

/// `mulaw` as the bytes of an 8 kHz mu-law WAV file (decoded byte-exact).
std::string mulaw_wav(const std::string& mulaw) {
  auto path = std::filesystem::temp_directory_path()
              / ("al-greeting-" + std::to_string(::getpid()) + ".wav");
  EXPECT_TRUE(write_mulaw_wav(path.string(), mulaw));
  std::ifstream f{path, std::ios::binary};
  std::string bytes{std::istreambuf_iterator<char>{f}, {}};
  std::filesystem::remove(path);
  return bytes;
}

/// A one-second greeting: the tests wait for every utterance to be played
/// in real time, and the default greeting takes seven.
const char* const short_greeting = "שלום, כאן המשרד.";

void use_short_greeting(const config& cfg) {
  sql_value(cfg, std::string{"UPDATE businesses SET greeting = '"}
                   + short_greeting + "' RETURNING id");
}

/// The three-letter key of an Israel weekday (0 = Sunday).
const char* day_key(int weekday) {
  static const char* keys[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  return keys[weekday % 7];
}

} // namespace

// -- every tenant's calls connect --------------------------------------------

TEST(receptionist,
     two_businesses_on_their_own_twilio_accounts_each_get_a_full_call) {
  running_app app;
  use_short_greeting(app.cfg());
  auto& cfg = app.cfg();
  std::vector<std::pair<std::int64_t, account>> tenants;
  for (auto [name, number, token] :
       {std::tuple{"Sharon", "+97231110002", "token-of-sharon"},
        std::tuple{"Galil", "+97241110003", "token-of-galil"}}) {
    auto r = admin(
      app, "POST", "/api/admin/businesses",
      json::serialize(json::object{
        {"name", name},
        {"phone_numbers", json::array{number}},
        {"twilio", json::object{{"account_sid", "AC" + std::string{name}},
                                {"auth_token", token}}}}));
    ASSERT_EQ(r.status, 201) << r.body;
    tenants.push_back(
      {json::parse(r.body).at("id").as_int64(), account{token, number}});
  }
  // The second business's upgrade arrives before any of its calls reached
  // this instance: its token is read from the database.
  {
    auto id = tenants[1].first;
    auto url = "wss://al.example.test/ws/twilio-media/" + std::to_string(id);
    media_client ws;
    EXPECT_TRUE(ws.connect(app.port(), "/ws/twilio-media/" + std::to_string(id),
                           "audio.twilio.com",
                           {{"X-Twilio-Signature",
                             twilio_signature(tenants[1].second.token, url,
                                              form_params{})}})
                  .ok);
  }
  int n = 0;
  for (auto& [id, acct] : tenants) {
    auto sid = "CAtenant" + std::to_string(++n);
    // Signed with another account: refused, as before.
    EXPECT_EQ(
      incoming(app, sid, account{cfg.twilio_auth_token, acct.to}).status, 403);
    call_leg call{app, sid, acct};
    ASSERT_TRUE(call.hs.ok) << call.hs.status << " " << call.hs.error;
    EXPECT_EQ(path_of(stream_url(call.twiml)),
              "/ws/twilio-media/" + std::to_string(id));
    ASSERT_TRUE(call.play_through(1));   // the greeting
    call.ws.send_dtmf(call.stream, "2"); // rent
    ASSERT_TRUE(call.play_through(2));
    call.ws.send_dtmf(call.stream, "5");
    ASSERT_TRUE(call.play_through(3)); // goodbye
    ASSERT_TRUE(call.ws.wait_closed(5s));
    auto ended = twilio_post(app.port(), cfg.public_base_url, acct.token,
                             "/webhook/stream_ended", {{"CallSid", sid}});
    EXPECT_EQ(ended.status, 200);
    EXPECT_NE(ended.body.find("<Hangup/>"), std::string::npos) << ended.body;
    EXPECT_EQ(sql_value(cfg, "SELECT business_id || '|' || ended_normally FROM"
                             " calls WHERE call_sid = '"
                               + sid + "'"),
              std::to_string(id) + "|true");
    // The upgrade to this business's path with any other token: 403.
    auto url = "wss://al.example.test/ws/twilio-media/" + std::to_string(id);
    for (auto& wrong :
         {cfg.twilio_auth_token, std::string{"token-of-nobody"}}) {
      media_client bad;
      auto hs = bad.connect(
        app.port(), path_of(url), "audio.twilio.com",
        {{"X-Twilio-Signature", twilio_signature(wrong, url, form_params{})}});
      EXPECT_FALSE(hs.ok);
      EXPECT_EQ(hs.status, 403);
    }
  }
  // The default business stays on the bare path and the global token.
  call_leg plain{app, "CAtenant0",
                 account{cfg.twilio_auth_token, "+97239999999"}};
  ASSERT_TRUE(plain.hs.ok);
  EXPECT_EQ(path_of(stream_url(plain.twiml)), "/ws/twilio-media");
  // A path segment that is no business: 404 before anything else.
  media_client odd;
  EXPECT_EQ(odd.connect(app.port(), "/ws/twilio-media/x1").status, 404);
}

// -- the greeting the office uploaded --------------------------------------

TEST(receptionist, an_uploaded_greeting_is_heard_first_and_can_be_removed) {
  running_app app;
  use_short_greeting(app.cfg());
  auto& cfg = app.cfg();
  auto owner = token_for(app, 1, "owner");
  auto agent = token_for(app, 1, "agent");
  // Two seconds of a pattern no synthesiser makes.
  std::string recording;
  for (int i = 0; i < 16000; ++i)
    recording.push_back(static_cast<char>(0x20 + i % 7));
  auto wav = mulaw_wav(recording);
  auto put = [&](const std::string& token, const std::string& body) {
    return http_call(
      app.port(), "PUT", "/api/crm/settings/greeting-audio", body,
      {{"Authorization", "Bearer " + token}, {"Content-Type", "audio/wav"}});
  };
  // What is refused, with a clear 4xx, and changes nothing.
  EXPECT_EQ(put(agent, wav).status, 403);
  auto empty = put(owner, "");
  EXPECT_EQ(empty.status, 400) << empty.body;
  auto junk = put(owner, "this is not audio at all, just text");
  EXPECT_EQ(junk.status, 400);
  EXPECT_NE(junk.body.find("Unreadable audio"), std::string::npos) << junk.body;
  EXPECT_EQ(put(owner, std::string(5 * 1024 * 1024 + 10, 'x')).status, 413);
  EXPECT_EQ(sql_value(cfg, "SELECT greeting_audio IS NULL FROM businesses"
                           " WHERE id = 1"),
            "t");

  auto ok = put(owner, wav);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(ok.body.find("\"seconds\":2"), std::string::npos) << ok.body;
  auto settings = api_call(app.port(), "GET", "/api/crm/settings", owner);
  EXPECT_EQ(json::parse(settings.body).at("greeting_audio"), true)
    << settings.body;

  call_leg call{app, "CAupload1", account{cfg.twilio_auth_token}};
  ASSERT_TRUE(call.hs.ok);
  ASSERT_TRUE(call.wait_mark("u1"));
  auto heard = call.audio();
  ASSERT_GE(heard.size(), recording.size());
  EXPECT_EQ(heard.substr(0, recording.size()), recording);

  // Removed: the spoken greeting again.
  auto del = http_call(app.port(), "DELETE", "/api/crm/settings/greeting-audio",
                       "", {{"Authorization", "Bearer " + owner}});
  EXPECT_EQ(del.status, 200) << del.body;
  call_leg again{app, "CAupload2", account{cfg.twilio_auth_token}};
  ASSERT_TRUE(again.wait_mark("u1"));
  EXPECT_NE(again.audio().substr(0, 160), recording.substr(0, 160));
}

// -- transfer to a person ---------------------------------------------------

TEST(receptionist,
     dtmf_zero_inside_hours_dials_the_office_and_a_missed_transfer_records) {
  running_app app;
  use_short_greeting(app.cfg());
  auto& cfg = app.cfg();
  auto r = admin(app, "PATCH", "/api/admin/businesses/1",
                 R"({"transfer":{"numbers":["050-111-1111","+972522222222"],)"
                 R"("ring_timeout_s":25}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("numbers":["+972501111111","+972522222222"])"),
            std::string::npos)
    << r.body;
  for (auto sid : {"CAxfer1", "CAxfer2"}) {
    call_leg call{app, sid, account{cfg.twilio_auth_token}};
    ASSERT_TRUE(call.hs.ok);
    ASSERT_TRUE(call.play_through(1)); // the greeting (announces "0")
    call.ws.send_dtmf(call.stream, "0");
    ASSERT_TRUE(call.play_through(2)); // "transferring you"
    ASSERT_TRUE(call.ws.wait_closed(5s));
    auto ended = twilio_post(app.port(), cfg.public_base_url,
                             cfg.twilio_auth_token, "/webhook/stream_ended",
                             {{"CallSid", sid}});
    ASSERT_EQ(ended.status, 200);
    EXPECT_NE(
      ended.body.find(
        R"(<Dial timeout="25" action="https://al.example.test/webhook/transfer_status" method="POST" callerId="+972501234567"><Number>+972501111111</Number><Number>+972522222222</Number></Dial>)"),
      std::string::npos)
      << ended.body;
    EXPECT_NE(events_of(cfg, sid).find("transfer"), std::string::npos);
  }
  // Answered: hang up when the person is done.
  auto done = twilio_post(app.port(), cfg.public_base_url,
                          cfg.twilio_auth_token, "/webhook/transfer_status",
                          {{"CallSid", "CAxfer1"},
                           {"DialCallStatus", "completed"},
                           {"DialCallDuration", "42"}});
  EXPECT_NE(done.body.find("<Hangup/>"), std::string::npos) << done.body;
  // Nobody answered: the caller leaves a message, in a Hebrew voice.
  auto missed
    = twilio_post(app.port(), cfg.public_base_url, cfg.twilio_auth_token,
                  "/webhook/transfer_status",
                  {{"CallSid", "CAxfer2"}, {"DialCallStatus", "no-answer"}});
  EXPECT_NE(missed.body.find("<Record"), std::string::npos) << missed.body;
  EXPECT_NE(missed.body.find("<Say voice=\"" + cfg.say_voice
                             + "\" language=\"he-IL\">"),
            std::string::npos)
    << missed.body;
  // Its recording comes back to the same URL: then hang up.
  auto recorded = twilio_post(
    app.port(), cfg.public_base_url, cfg.twilio_auth_token,
    "/webhook/transfer_status",
    {{"CallSid", "CAxfer2"}, {"RecordingUrl", "https://api.twilio.com/r/RE1"}});
  EXPECT_NE(recorded.body.find("<Hangup/>"), std::string::npos);
  EXPECT_EQ(sql_value(cfg,
                      "SELECT string_agg(call_sid || ':' || transfer_status"
                      " || ':' || status, ',' ORDER BY call_sid) FROM calls"),
            "CAxfer1:completed:completed,CAxfer2:no-answer:transfer_missed");
  // Forged: 403, nothing changes.
  EXPECT_EQ(twilio_post(app.port(), cfg.public_base_url, "wrong-token",
                        "/webhook/transfer_status",
                        {{"CallSid", "CAxfer1"}, {"DialCallStatus", "busy"}})
              .status,
            403);
}

TEST(receptionist,
     outside_working_hours_no_one_is_dialed_and_the_call_goes_on) {
  running_app app;
  use_short_greeting(app.cfg());
  auto& cfg = app.cfg();
  // Open only on a day that is not today (Israel time), for one hour.
  auto today = israel_at(std::time(nullptr)).weekday;
  auto hours = std::string{R"({")"} + day_key(today + 3)
               + R"(":["09:00","10:00"]})";
  auto r = admin(app, "PATCH", "/api/admin/businesses/1",
                 R"({"transfer":{"numbers":["+972501111111"]},"working_hours":)"
                   + hours + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  call_leg call{app, "CAclosed", account{cfg.twilio_auth_token}};
  ASSERT_TRUE(call.play_through(1));
  call.ws.send_dtmf(call.stream, "0");
  ASSERT_TRUE(call.play_through(2)); // "closed now, we open ..."
  EXPECT_FALSE(call.ws.closed());
  ASSERT_TRUE(eventually([&] {
    return sql_value(cfg, "SELECT detail->>'opens' FROM call_events WHERE"
                          " kind = 'transfer_refused'")
           != "";
  }));
  // The dialogue goes on and ends normally: no <Dial>.
  call.ws.send_dtmf(call.stream, "1");
  ASSERT_TRUE(call.play_through(3));
  call.ws.send_dtmf(call.stream, "4");
  ASSERT_TRUE(call.play_through(4));
  ASSERT_TRUE(call.ws.wait_closed(5s));
  auto ended = twilio_post(app.port(), cfg.public_base_url,
                           cfg.twilio_auth_token, "/webhook/stream_ended",
                           {{"CallSid", "CAclosed"}});
  EXPECT_NE(ended.body.find("<Hangup/>"), std::string::npos) << ended.body;
  EXPECT_EQ(ended.body.find("<Dial"), std::string::npos);
  EXPECT_EQ(sql_value(cfg, "SELECT transfer IS NULL FROM calls"), "t");
}

TEST(receptionist, without_transfer_numbers_zero_is_just_another_key) {
  running_app app;
  use_short_greeting(app.cfg());
  auto& cfg = app.cfg();
  call_leg call{app, "CAnozero", account{cfg.twilio_auth_token}};
  ASSERT_TRUE(call.play_through(1));
  call.ws.send_dtmf(call.stream, "0"); // nothing to transfer to
  call.ws.send_dtmf(call.stream, "3"); // sell
  ASSERT_TRUE(call.play_through(2));
  EXPECT_EQ(field_of(call.ws.messages().back().text, "name"), "u2");
  ASSERT_TRUE(eventually([&] {
    return sql_value(cfg, "SELECT count(*) FROM call_events WHERE kind ="
                          " 'transfer_unavailable'")
           == "1";
  }));
  EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM call_events WHERE kind ="
                           " 'transfer'"),
            "0");
}

TEST(receptionist, transfer_settings_are_validated) {
  running_app app;
  use_short_greeting(app.cfg());
  auto owner = token_for(app, 1, "owner");
  for (
    auto body :
    {R"({"transfer":"0501111111"})", R"({"transfer":{"numbers":"0501111111"}})",
     R"({"transfer":{"numbers":["not a phone"]}})",
     R"({"transfer":{"numbers":["+972501111111"],"ring_timeout_s":2}})",
     R"({"transfer":{"numbers":["+972501","+972502","+972503","+972504","+972505","+972506"]}})",
     R"({"voice":"a voice; DROP"})", R"({"voice_engine":"robot"})"}) {
    auto r = api_call(app.port(), "PATCH", "/api/crm/settings", owner, body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
  }
  // An owner sets transfer and voice; voice_engine stays the admin's.
  auto ok
    = api_call(app.port(), "PATCH", "/api/crm/settings", owner,
               R"({"transfer":{"numbers":["+972501111111"]},"voice":"coral"})");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_NE(ok.body.find(R"("voice":"coral")"), std::string::npos);
  EXPECT_NE(ok.body.find(R"("ring_timeout_s":20)"), std::string::npos);
  EXPECT_EQ(api_call(app.port(), "PATCH", "/api/crm/settings", owner,
                     R"({"voice_engine":"openai"})")
              .status,
            403);
  auto admin_ok = admin(app, "PATCH", "/api/admin/businesses/1",
                        R"({"voice_engine":"auto"})");
  EXPECT_EQ(admin_ok.status, 200) << admin_ok.body;
}

// -- a silent caller ---------------------------------------------------------

TEST(receptionist, a_silent_caller_hears_one_reprompt_then_goodbye) {
  auto cfg = test_config();
  cfg.silence_reprompt = 1s;
  running_app app{cfg};
  use_short_greeting(app.cfg());
  call_leg call{app, "CAsilent", account{cfg.twilio_auth_token}};
  ASSERT_TRUE(call.play_through(1)); // greeting; then nothing from the caller
  ASSERT_TRUE(call.play_through(2)); // "are you still there?"
  ASSERT_TRUE(call.play_through(3)); // goodbye
  ASSERT_TRUE(call.ws.wait_closed(5s));
  ASSERT_TRUE(eventually([&] {
    return sql_value(cfg, "SELECT end_reason FROM calls") == "silence";
  }));
  auto kinds = events_of(cfg, "CAsilent");
  EXPECT_NE(kinds.find("silence_reprompt"), std::string::npos) << kinds;
  EXPECT_NE(kinds.find("silence_goodbye"), std::string::npos) << kinds;
  auto ended = twilio_post(app.port(), cfg.public_base_url,
                           cfg.twilio_auth_token, "/webhook/stream_ended",
                           {{"CallSid", "CAsilent"}});
  EXPECT_NE(ended.body.find("<Hangup/>"), std::string::npos);
}

TEST(receptionist, a_caller_who_answers_the_reprompt_goes_on) {
  auto cfg = test_config();
  cfg.silence_reprompt = 1s;
  running_app app{cfg};
  use_short_greeting(app.cfg());
  call_leg call{app, "CAanswers", account{cfg.twilio_auth_token}};
  ASSERT_TRUE(call.play_through(1));
  ASSERT_TRUE(call.play_through(2));   // the reprompt
  call.ws.send_dtmf(call.stream, "1"); // answers: the dialogue goes on
  ASSERT_TRUE(call.wait_mark("u3"));
  ASSERT_TRUE(eventually([&] {
    return sql_value(cfg, "SELECT detail->>'what' FROM call_events WHERE"
                          " kind = 'utterance' AND detail->>'mark' = 'u3'")
           == "ask_callback";
  }));
}
