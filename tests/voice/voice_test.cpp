// The voice path end to end: Twilio webhooks, the media WebSocket, the call
// actor's dialogue, barge-in, fallback, supervision - against the real
// PostgreSQL and real sockets on loopback.
#include "actors/call.hpp"
#include "actors/type_ids.hpp"
#include "core/twilio_signature.hpp"
#include "tests/support/app_fixture.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/support/media_client.hpp"
#include "transport/services.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

using namespace al;
using namespace al::test;
using namespace std::chrono_literals;

namespace {

const std::string caller = "+972501234567";
const std::string office = "+97231234567";

http_result incoming(running_app& app, const std::string& sid) {
  return twilio_post(app.port(), app.cfg().public_base_url,
                     app.cfg().twilio_auth_token, "/webhook/incoming_call",
                     {{"CallSid", sid},
                      {"From", caller},
                      {"To", office},
                      {"AccountSid", "ACtest"},
                      {"CallStatus", "ringing"}});
}

/// A connected media stream for a call whose TwiML was served.
struct live_call {
  media_client ws;
  std::string sid;
  std::string stream = "MZ" + std::to_string(std::rand());
  handshake_result hs;

  live_call(running_app& app, const std::string& call_sid)
    : sid(call_sid) {
    auto twiml = incoming(app, sid);
    EXPECT_EQ(twiml.status, 200) << twiml.body;
    auto token = param_value(twiml.body, "call_token");
    EXPECT_FALSE(token.empty());
    hs = ws.connect(app.port(), "/ws/twilio-media");
    ws.send_connected();
    ws.send_start(stream, sid, {{"call_token", token}});
  }

  /// Waits for the mark that ends utterance `n` and echoes it (as Twilio
  /// does once the audio before it has played).
  bool play_through(int n, std::chrono::milliseconds timeout = 15s) {
    auto name = "u" + std::to_string(n);
    bool ok = ws.wait_for(
      [&](auto& msgs) {
        for (auto& m : msgs)
          if (event_of(m.text) == "mark" && field_of(m.text, "name") == name)
            return true;
        return false;
      },
      timeout);
    if (ok)
      ws.send_mark(stream, name);
    return ok;
  }
};

caf::actor find_call(running_app& app, const std::string& sid) {
  caf::scoped_actor self{app.svc().sys};
  caf::actor out;
  self->request(app.svc().call_manager, 2s, lookup_atom_v, call_key(sid))
    .receive([&](caf::actor& a) { out = a; }, [](caf::error&) {});
  return out;
}

} // namespace

TEST(voice, incoming_call_requires_a_valid_signature) {
  running_app app;
  auto unsigned_res
    = http_call(app.port(), "POST", "/webhook/incoming_call",
                "CallSid=CA1&From=%2B972501234567",
                {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(unsigned_res.status, 403);
  auto wrong = twilio_post(app.port(), app.cfg().public_base_url, "wrong-token",
                           "/webhook/incoming_call", {{"CallSid", "CA2"}});
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(sql_value(app.cfg(), "SELECT count(*) FROM calls"), "0");
  auto get = http_call(app.port(), "GET", "/webhook/incoming_call");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.header("Allow"), "POST");
}

TEST(voice, incoming_call_answers_with_an_absolute_stream_and_no_play) {
  running_app app;
  auto res = incoming(app, "CAshape1");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.header("Content-Type"), "text/xml");
  auto& b = res.body;
  EXPECT_NE(b.find("<Connect action=\"https://al.example.test/webhook/"
                   "stream_ended\">"),
            std::string::npos)
    << b;
  EXPECT_NE(b.find("<Stream url=\"wss://al.example.test/ws/twilio-media\""),
            std::string::npos);
  EXPECT_NE(b.find("statusCallback=\"https://al.example.test/webhook/"
                   "stream_status\""),
            std::string::npos);
  EXPECT_EQ(b.find("<Play"), std::string::npos);
  EXPECT_EQ(b.find("<Say"), std::string::npos);
  EXPECT_EQ(std::regex_search(b, std::regex("[^:]//")), false);
  EXPECT_EQ(sql_value(app.cfg(), "SELECT status FROM calls WHERE call_sid ="
                                 " 'CAshape1'"),
            "ringing");
  // The call actor exists before Twilio connects.
  EXPECT_TRUE(eventually([&] { return bool(find_call(app, "CAshape1")); }));
}

TEST(voice, preview_returns_the_same_twiml_and_writes_nothing) {
  running_app app;
  auto res = http_call(app.port(), "GET", "/webhook/incoming_call_preview");
  ASSERT_EQ(res.status, 200);
  EXPECT_NE(res.body.find("<Connect action=\"https://"), std::string::npos);
  EXPECT_NE(res.body.find("<Stream url=\"wss://"), std::string::npos);
  EXPECT_EQ(sql_value(app.cfg(), "SELECT count(*) FROM calls"), "0");
}

TEST(voice, a_full_call_greets_at_once_captures_the_lead_and_hangs_up) {
  auto cfg = test_config();
  running_app app{cfg};
  live_call call{app, "CAfull1"};
  ASSERT_TRUE(call.hs.ok) << call.hs.error;
  EXPECT_EQ(call.hs.subprotocol, "audio.twilio.com");
  // The greeting starts at once (how soon is bench/'s first-media figure,
  // never a test's: latency is not asserted here).
  ASSERT_TRUE(call.ws.wait_for([](auto& m) { return !m.empty(); }, 2s));
  EXPECT_EQ(event_of(call.ws.messages().front().text), "media");
  // Frames are 160 bytes of mu-law.
  auto payload = field_of(call.ws.messages().front().text, "payload");
  EXPECT_EQ(payload.size(), 216u);

  ASSERT_TRUE(call.play_through(1));   // greeting heard
  call.ws.send_dtmf(call.stream, "1"); // buy
  ASSERT_TRUE(call.play_through(2));   // "when should we call back?"
  // The caller answers: speech, then silence (end of turn).
  auto speech = tone_frames(25);
  for (int i = 0; i < 25; ++i)
    call.ws.send_media(call.stream, speech.substr(i * 160, 160));
  auto quiet = silence_frames(30);
  for (int i = 0; i < 30; ++i)
    call.ws.send_media(call.stream, quiet.substr(i * 160, 160));
  ASSERT_TRUE(call.play_through(3)); // goodbye
  ASSERT_TRUE(call.ws.wait_closed(5s));

  // The <Connect action>: a normal end hangs up.
  auto ended
    = twilio_post(app.port(), cfg.public_base_url, cfg.twilio_auth_token,
                  "/webhook/stream_ended",
                  {{"CallSid", "CAfull1"}, {"CallStatus", "in-progress"}});
  EXPECT_EQ(ended.status, 200);
  EXPECT_NE(ended.body.find("<Hangup/>"), std::string::npos) << ended.body;

  EXPECT_TRUE(eventually([&] {
    return sql_value(cfg, "SELECT deal FROM leads WHERE phone = '" + caller
                            + "' AND source = 'call'")
           == "buy";
  }));
  EXPECT_EQ(sql_value(cfg, "SELECT callback_at FROM leads"), "spoken");
  // The caller's turn is kept in the database (a mu-law WAV), not on disk.
  EXPECT_TRUE(eventually([&] {
    return sql_value(cfg, "SELECT count(*) FROM call_audio WHERE call_sid"
                          " = 'CAfull1' AND kind = 'segment' AND complete")
           == "1";
  }));
  EXPECT_EQ(sql_value(cfg, "SELECT encode(substring(data FROM 1 FOR 4),"
                           " 'escape') FROM call_audio_chunks"),
            "RIFF");
  EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM call_segments"), "0");
  EXPECT_GT(std::stoi(sql_value(cfg, "SELECT duration_ms FROM call_audio")), 0);
  auto kinds = sql_value(cfg, "SELECT string_agg(kind, ',' ORDER BY seq)"
                              " FROM call_events WHERE call_sid = 'CAfull1'");
  EXPECT_NE(kinds.find("stream_start"), std::string::npos) << kinds;
  EXPECT_NE(kinds.find("dtmf"), std::string::npos);
  EXPECT_NE(kinds.find("caller_turn"), std::string::npos);
  EXPECT_NE(kinds.find("finished"), std::string::npos);
  EXPECT_EQ(sql_value(cfg, "SELECT ended_normally FROM calls"), "t");
}

TEST(voice, caller_speech_over_the_greeting_clears_it) {
  running_app app;
  live_call call{app, "CAbarge1"};
  ASSERT_TRUE(call.ws.wait_for([](auto& m) { return m.size() >= 3; }, 2s));
  auto speech = tone_frames(4);
  for (int i = 0; i < 4; ++i)
    call.ws.send_media(call.stream, speech.substr(i * 160, 160));
  EXPECT_TRUE(call.ws.wait_for(
    [](auto& msgs) {
      for (auto& m : msgs)
        if (event_of(m.text) == "clear")
          return true;
      return false;
    },
    2s));
  // Once cleared, the greeting stops. Observed without a clock: the caller
  // finishes a turn, and the next mark the service sends after the clear is
  // that of its answer. Had the greeting gone on playing, its own mark
  // ("greeting", sent when its last frame went out) would come first: the
  // answer queues behind it.
  auto more = tone_frames(25);
  for (int i = 0; i < 25; ++i)
    call.ws.send_media(call.stream, more.substr(i * 160, 160));
  auto quiet = silence_frames(30);
  for (int i = 0; i < 30; ++i)
    call.ws.send_media(call.stream, quiet.substr(i * 160, 160));
  auto first_mark_after_clear = [](const auto& msgs) -> std::string {
    bool cleared = false;
    for (auto& m : msgs) {
      auto ev = event_of(m.text);
      if (ev == "clear")
        cleared = true;
      else if (cleared && ev == "mark")
        return m.text;
    }
    return {};
  };
  ASSERT_TRUE(call.ws.wait_for(
    [&](auto& msgs) { return !first_mark_after_clear(msgs).empty(); }, 10s));
  auto mark = first_mark_after_clear(call.ws.messages());
  EXPECT_EQ(mark.find("\"greeting\""), std::string::npos) << mark;
  EXPECT_TRUE(eventually([&] {
    return sql_value(app.cfg(), "SELECT count(*) FROM call_events WHERE kind"
                                " = 'barge_in'")
           == "1";
  }));
}

TEST(voice, a_dropped_stream_gets_the_recording_fallback_from_any_instance) {
  auto cfg = test_config();
  running_app a{cfg};
  {
    live_call call{a, "CAdrop1"};
    ASSERT_TRUE(call.ws.wait_for([](auto& m) { return !m.empty(); }, 2s));
    call.ws.close();
    ASSERT_TRUE(call.ws.wait_closed(3s));
  }
  ASSERT_TRUE(eventually([&] {
    return sql_value(cfg, "SELECT status FROM calls WHERE call_sid = 'CAdrop1'")
           == "dropped";
  }));
  // A second instance on the same database answers the <Connect action>.
  auto cfg_b = cfg;
  cfg_b.port = 0;
  running_app b{cfg_b};
  auto ended = twilio_post(b.port(), cfg.public_base_url, cfg.twilio_auth_token,
                           "/webhook/stream_ended", {{"CallSid", "CAdrop1"}});
  EXPECT_EQ(ended.status, 200);
  EXPECT_NE(ended.body.find("<Record maxLength=\"120\" playBeep=\"true\""),
            std::string::npos)
    << ended.body;
  EXPECT_NE(ended.body.find("recordingStatusCallback=\"https://al.example.test"
                            "/webhook/recording_status\""),
            std::string::npos);
  // After the recording, the same URL hangs up instead of recording again.
  auto after
    = twilio_post(b.port(), cfg.public_base_url, cfg.twilio_auth_token,
                  "/webhook/stream_ended",
                  {{"CallSid", "CAdrop1"},
                   {"RecordingUrl", "https://api.twilio.com/rec/RE1"}});
  EXPECT_NE(after.body.find("<Hangup/>"), std::string::npos);
}

TEST(voice, a_wrong_call_token_closes_the_socket_and_nothing_is_spoken) {
  running_app app;
  ASSERT_EQ(incoming(app, "CAtok1").status, 200);
  media_client ws;
  ASSERT_TRUE(ws.connect(app.port(), "/ws/twilio-media/").ok);
  ws.send_connected();
  ws.send_start("MZtok", "CAtok1", {{"call_token", "forged"}});
  EXPECT_TRUE(ws.wait_closed(3s));
  EXPECT_EQ(ws.close_code(), 1008);
  EXPECT_EQ(ws.count("media"), 0u);
  // Missing token: the same.
  media_client ws2;
  ASSERT_TRUE(ws2.connect(app.port(), "/ws/twilio-media").ok);
  ws2.send_start("MZtok2", "CAtok1", {});
  EXPECT_TRUE(ws2.wait_closed(3s));
  EXPECT_EQ(ws2.count("media"), 0u);
}

TEST(voice, subprotocol_is_echoed_only_when_offered) {
  running_app app;
  media_client offered;
  auto a = offered.connect(app.port(), "/ws/twilio-media", "audio.twilio.com");
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(a.subprotocol, "audio.twilio.com");
  media_client plain;
  auto b = plain.connect(app.port(), "/ws/twilio-media", "");
  ASSERT_TRUE(b.ok);
  EXPECT_EQ(b.subprotocol, "");
}

TEST(voice, a_bad_upgrade_signature_is_refused) {
  running_app app;
  media_client ws;
  auto r = ws.connect(app.port(), "/ws/twilio-media", "audio.twilio.com",
                      {{"X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJl"}});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.status, 403);
  form_params none;
  auto good = twilio_signature(app.cfg().twilio_auth_token,
                               "wss://al.example.test/ws/twilio-media", none);
  media_client ws2;
  EXPECT_TRUE(ws2
                .connect(app.port(), "/ws/twilio-media", "audio.twilio.com",
                         {{"X-Twilio-Signature", good}})
                .ok);
}

TEST(voice, a_killed_call_actor_restarts_and_keeps_the_socket) {
  running_app app;
  live_call call{app, "CAkill1"};
  ASSERT_TRUE(call.ws.wait_for([](auto& m) { return !m.empty(); }, 2s));
  auto before = find_call(app, "CAkill1");
  ASSERT_TRUE(before);
  // An abnormal exit, as a crash would produce.
  caf::anon_send(before,
                 caf::exit_msg{caf::actor_addr{},
                               caf::make_error(caf::sec::runtime_error)});
  ASSERT_TRUE(eventually([&] {
    auto now = find_call(app, "CAkill1");
    return now && now != before;
  }));
  EXPECT_EQ(app.svc().call_stats.restarts.load(), 1);
  // The same socket carries on: the dialogue continues after the greeting.
  ASSERT_TRUE(call.play_through(1));
  call.ws.send_dtmf(call.stream, "2");
  EXPECT_TRUE(call.play_through(2));
  EXPECT_FALSE(call.ws.closed());
  auto metrics = http_call(app.port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find("al_supervisor_restarts_total{domain=\"call\"} 1"),
            std::string::npos);
  // The admin view reports the restart; after the hang-up no call actor is
  // left behind.
  call.ws.send_stop(call.stream, call.sid);
  auto call_domain = [&] {
    auto r = api_call(app.port(), "GET", "/api/admin/supervisors",
                      "test-admin");
    auto at = r.body.find("\"domain\":\"call\"");
    return at == std::string::npos
             ? std::string{}
             : r.body.substr(at, r.body.find('}', at) - at);
  };
  EXPECT_NE(call_domain().find("\"restarts\":1"), std::string::npos)
    << call_domain();
  EXPECT_TRUE(eventually(
    [&] { return call_domain().find("\"live\":0") != std::string::npos; }))
    << call_domain();
}

TEST(voice, hostile_frames_are_ignored_and_the_server_lives) {
  running_app app;
  media_client early;
  ASSERT_TRUE(early.connect(app.port(), "/ws/twilio-media").ok);
  early.send_media("MZx", tone_frames(1)); // media before start
  early.send("{not json");
  early.send(R"({"event":"unknown_thing"})");
  early.send(R"({"event":"media","media":{"payload":"!!!notbase64"}})");
  early.send(std::string(60000, '['));
  early.send(R"({"event":"start","start":{"callSid":5}})");
  live_call call{app, "CAhostile1"};
  for (int i = 0; i < 200; ++i)
    call.ws.send_mark(call.stream, "flood" + std::to_string(i));
  call.ws.send(R"({"event":"media","streamSid":"x","media":{"payload":")"
               + std::string(9000, 'A') + "\"}}");
  EXPECT_TRUE(call.play_through(1));
  EXPECT_EQ(http_call(app.port(), "GET", "/healthz").status, 200);
}

TEST(voice, without_a_stream_the_watchdog_redirects_to_the_fallback) {
  fake_http_server twilio{[](const auto& req) {
    return fake_http_server::reply(http::status::ok,
                                   R"({"sid":"CAwd1","status":"in-progress"})",
                                   "application/json");
  }};
  auto cfg = test_config();
  cfg.twilio_api_base = twilio.base_url();
  cfg.start_timeout = 300ms;
  running_app app{cfg};
  ASSERT_EQ(incoming(app, "CAwd1").status, 200);
  ASSERT_TRUE(eventually([&] { return twilio.request_count() == 1; }));
  auto req = twilio.requests().front();
  EXPECT_EQ(std::string{req.target()},
            "/2010-04-01/Accounts/ACtest/Calls/CAwd1.json");
  EXPECT_NE(req.body().find("Twiml="), std::string::npos);
  EXPECT_NE(req.body().find("Record"), std::string::npos);
  EXPECT_EQ(std::string{req[http::field::authorization]}.rfind("Basic ", 0),
            0u);
  EXPECT_TRUE(eventually([&] {
    return sql_value(cfg, "SELECT status FROM calls") == "redirected";
  }));
}

TEST(voice, over_capacity_callers_get_voicemail) {
  auto cfg = test_config();
  cfg.max_live_calls = 0;
  running_app app{cfg};
  auto res = incoming(app, "CAcap1");
  ASSERT_EQ(res.status, 200);
  EXPECT_NE(res.body.find("<Record"), std::string::npos);
  EXPECT_EQ(res.body.find("<Stream"), std::string::npos);
}

TEST(voice, status_callbacks_are_signed_and_update_the_call) {
  auto cfg = test_config();
  running_app app{cfg};
  ASSERT_EQ(incoming(app, "CAst1").status, 200);
  auto bad = http_call(app.port(), "POST", "/webhook/call_status",
                       "CallSid=CAst1&CallStatus=completed",
                       {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(bad.status, 403);
  auto ok = twilio_post(app.port(), cfg.public_base_url, cfg.twilio_auth_token,
                        "/webhook/call_status",
                        {{"CallSid", "CAst1"}, {"CallStatus", "completed"}});
  EXPECT_EQ(ok.status, 204);
  EXPECT_EQ(sql_value(cfg, "SELECT status FROM calls"), "completed");
  auto status
    = http_call(app.port(), "POST", "/webhook/stream_status",
                "CallSid=CAst1&StreamSid=MZ1&StreamEvent=stream-started",
                {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(status.status, 204);
  auto garbage = http_call(app.port(), "POST", "/webhook/stream_status",
                           "%%%&&&=", {});
  EXPECT_EQ(garbage.status, 204);
  EXPECT_TRUE(eventually([&] {
    return sql_value(cfg, "SELECT count(*) FROM call_events WHERE kind ="
                          " 'stream_status'")
           == "1";
  }));
}
