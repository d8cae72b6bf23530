// The `openai` voice engine end to end: Twilio webhooks and media socket on
// one side, a local fake OpenAI Realtime server (real event names, beta and
// GA) on the other, PostgreSQL for the effects. Barge-in, tools, fallback
// to the local engine, the key kept out of the logs, the greeting never
// waiting for the AI.
#include "actors/call.hpp"
#include "actors/type_ids.hpp"
#include "core/crypto.hpp"
#include "core/israel_time.hpp"
#include "core/wav.hpp"
#include "tests/support/app_fixture.hpp"
#include "tests/support/closed_port.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/support/fake_realtime_server.hpp"
#include "tests/support/media_client.hpp"
#include "tests/whatsapp/wa_support.hpp"
#include "transport/services.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <regex>

using namespace al;
using namespace al::test;
using namespace std::chrono_literals;

namespace {

namespace json = boost::json;

const std::string caller = "+972501234567";
const std::string office = "+97231234567";
const std::string api_key = "sk-test-SECRET-6f1d2c9a7b";
const std::string model = "gpt-test-realtime";
const std::string prompt = "PROMPT-XYZ את נציגה של משרד התיווך הדגמה";

config ai_config(const std::string& url) {
  auto cfg = test_config();
  cfg.openai_api_key = api_key;
  cfg.openai_realtime_url = url;
  cfg.openai_model = model;
  // These tests count the fake's REST requests: no greeting rendering
  // (receptionist_test covers it).
  cfg.openai_tts_model.clear();
  return cfg;
}

/// Business 1 (where unknown numbers go) uses the openai engine.
void openai_business(const config& cfg) {
  ASSERT_EQ(sql_value(cfg, "UPDATE businesses SET voice_engine = 'openai',"
                           " prompt = '"
                             + prompt
                             + "' WHERE id = 1"
                               " RETURNING id"),
            "1");
}

// -- server events, as the Realtime API sends them -------------------------

std::string ev(json::object o) {
  return json::serialize(o);
}

std::string session_updated() {
  return ev({{"type", "session.updated"},
             {"event_id", "ev_s"},
             {"session", json::object{{"id", "sess_1"}}}});
}

std::string speech_started(const std::string& item) {
  return ev({{"type", "input_audio_buffer.speech_started"},
             {"event_id", "ev_ss"},
             {"audio_start_ms", 100},
             {"item_id", item}});
}

std::string speech_stopped(const std::string& item) {
  return ev({{"type", "input_audio_buffer.speech_stopped"},
             {"event_id", "ev_sp"},
             {"audio_end_ms", 900},
             {"item_id", item}});
}

std::string response_created(const std::string& id) {
  return ev({{"type", "response.created"},
             {"event_id", "ev_rc"},
             {"response", json::object{{"id", id},
                                       {"object", "realtime.response"},
                                       {"status", "in_progress"},
                                       {"output", json::array{}}}}});
}

std::string response_done(const std::string& id,
                          const std::string& status = "completed") {
  return ev({{"type", "response.done"},
             {"event_id", "ev_rd"},
             {"response", json::object{{"id", id},
                                       {"object", "realtime.response"},
                                       {"status", status},
                                       {"output", json::array{}}}}});
}

std::string audio_delta(bool ga, const std::string& item,
                        const std::string& response, const std::string& bytes) {
  return ev(
    {{"type", ga ? "response.output_audio.delta" : "response.audio.delta"},
     {"event_id", "ev_ad"},
     {"response_id", response},
     {"item_id", item},
     {"output_index", 0},
     {"content_index", 0},
     {"delta", crypto::base64_encode(bytes)}});
}

std::string audio_done(bool ga, const std::string& item,
                       const std::string& response) {
  return ev(
    {{"type", ga ? "response.output_audio.done" : "response.audio.done"},
     {"event_id", "ev_adn"},
     {"response_id", response},
     {"item_id", item},
     {"output_index", 0},
     {"content_index", 0}});
}

std::string agent_transcript(bool ga, const std::string& item,
                             const std::string& response,
                             const std::string& text) {
  return ev({{"type", ga ? "response.output_audio_transcript.done"
                         : "response.audio_transcript.done"},
             {"event_id", "ev_at"},
             {"response_id", response},
             {"item_id", item},
             {"output_index", 0},
             {"content_index", 0},
             {"transcript", text}});
}

std::string caller_transcript(const std::string& item,
                              const std::string& text) {
  return ev({{"type", "conversation.item.input_audio_transcription.completed"},
             {"event_id", "ev_ct"},
             {"item_id", item},
             {"content_index", 0},
             {"transcript", text}});
}

/// response.function_call_arguments.done; `name` "" = the beta shape
/// without it.
std::string function_call(const std::string& call_id, const std::string& name,
                          const std::string& arguments) {
  json::object o{{"type", "response.function_call_arguments.done"},
                 {"event_id", "ev_fc"},
                 {"response_id", "resp_fc"},
                 {"item_id", "fc_" + call_id},
                 {"output_index", 0},
                 {"call_id", call_id},
                 {"arguments", arguments}};
  if (!name.empty())
    o["name"] = name;
  return ev(std::move(o));
}

std::string function_item(const std::string& type, const std::string& call_id,
                          const std::string& name,
                          const std::string& arguments) {
  return ev({{"type", type},
             {"event_id", "ev_oi"},
             {"response_id", "resp_fc"},
             {"output_index", 0},
             {"item", json::object{{"id", "fc_" + call_id},
                                   {"object", "realtime.item"},
                                   {"type", "function_call"},
                                   {"status", "completed"},
                                   {"call_id", call_id},
                                   {"name", name},
                                   {"arguments", arguments}}}});
}

std::string error_event(const std::string& code, const std::string& message,
                        const std::string& event_id = "") {
  return ev({{"type", "error"},
             {"event_id", "ev_err"},
             {"error", json::object{{"type", "server_error"},
                                    {"code", code},
                                    {"message", message},
                                    {"param", nullptr},
                                    {"event_id", event_id}}}});
}

/// A fake that confirms session.update and otherwise only listens.
fake_realtime_server::handler confirming() {
  return [](fake_realtime_server& s, const std::string& m) {
    if (type_of(m) == "session.update")
      s.send(session_updated());
  };
}

json::object parsed(const std::string& text) {
  return json::parse(text).as_object();
}

/// The function outputs the fake received: call_id -> output text.
std::map<std::string, std::string> outputs(const fake_realtime_server& ai) {
  std::map<std::string, std::string> out;
  for (auto& m : ai.received("conversation.item.create")) {
    auto item = parsed(m)["item"].as_object();
    if (item["type"] == "function_call_output")
      out[json::value_to<std::string>(item["call_id"])]
        = json::value_to<std::string>(item["output"]);
  }
  return out;
}

// -- the Twilio side ---------------------------------------------------------

struct ai_call {
  media_client ws;
  std::string sid;
  std::string stream;
  std::chrono::steady_clock::time_point started;

  ai_call(running_app& app, const std::string& call_sid)
    : sid(call_sid)
    , stream("MZ" + call_sid) {
    auto twiml = twilio_post(app.port(), app.cfg().public_base_url,
                             app.cfg().twilio_auth_token,
                             "/webhook/incoming_call",
                             {{"CallSid", sid},
                              {"From", caller},
                              {"To", office},
                              {"AccountSid", "ACtest"},
                              {"CallStatus", "ringing"}});
    EXPECT_EQ(twiml.status, 200) << twiml.body;
    std::smatch m;
    std::regex re("<Parameter name=\"call_token\" value=\"([^\"]*)\"");
    EXPECT_TRUE(std::regex_search(twiml.body, m, re)) << twiml.body;
    EXPECT_TRUE(ws.connect(app.port(), "/ws/twilio-media").ok);
    ws.send_connected();
    started = std::chrono::steady_clock::now();
    ws.send_start(stream, sid, {{"call_token", m[1].str()}});
  }

  static bool is_mark(const server_message& m, const std::string& name) {
    return event_of(m.text) == "mark" && field_of(m.text, "name") == name;
  }

  bool wait_mark(const std::string& name, std::chrono::milliseconds t = 15s) {
    return ws.wait_for(
      [&](auto& msgs) {
        for (auto& m : msgs)
          if (is_mark(m, name))
            return true;
        return false;
      },
      t);
  }

  /// Waits until `n` Twilio `clear` messages were received.
  bool wait_clears(std::size_t n, std::chrono::milliseconds t = 5s) {
    return ws.wait_for(
      [&](auto& msgs) {
        std::size_t seen = 0;
        for (auto& m : msgs)
          seen += event_of(m.text) == "clear";
        return seen >= n;
      },
      t);
  }

  /// Waits for mark `name` and echoes it, as Twilio does once played.
  bool play_through(const std::string& name) {
    if (!wait_mark(name))
      return false;
    ws.send_mark(stream, name);
    return true;
  }

  void speak(int frames) {
    auto tone = tone_frames(frames);
    for (int i = 0; i < frames; ++i)
      ws.send_media(stream, tone.substr(i * 160, 160));
  }

  void quiet(int frames) {
    auto q = silence_frames(frames);
    for (int i = 0; i < frames; ++i)
      ws.send_media(stream, q.substr(i * 160, 160));
  }

  /// Media frames received whose payload is `byte` repeated.
  std::size_t frames_of(char byte) const {
    std::size_t n = 0;
    for (auto& m : ws.messages())
      if (event_of(m.text) == "media") {
        auto p = crypto::base64_decode(field_of(m.text, "payload"));
        if (p && *p == std::string(160, byte))
          ++n;
      }
    return n;
  }

  /// Position of the first message matching `pred` (npos if none).
  std::size_t
  index_of(const std::function<bool(const server_message&)>& pred) const {
    auto msgs = ws.messages();
    for (std::size_t i = 0; i < msgs.size(); ++i)
      if (pred(msgs[i]))
        return i;
    return std::string::npos;
  }
};

std::string fallback_reason(const config& cfg, const std::string& sid) {
  return sql_value(cfg, "SELECT string_agg(detail->>'reason', '|')"
                        " FROM call_events WHERE call_sid = '"
                          + sid + "' AND kind = 'engine_fallback'");
}

std::string count_events(const config& cfg, const std::string& sid,
                         const std::string& kind) {
  return sql_value(cfg, "SELECT count(*) FROM call_events WHERE call_sid = '"
                          + sid + "' AND kind = '" + kind + "'");
}

/// The local engine carries on: greeting heard, DTMF 1, then "when should
/// we call back" (u2).
void local_dialogue_goes_on(ai_call& call) {
  ASSERT_TRUE(call.play_through("u1"));
  call.ws.send_dtmf(call.stream, "1");
  EXPECT_TRUE(call.wait_mark("u2"));
  EXPECT_FALSE(call.ws.closed());
}

caf::actor find_call(running_app& app, const std::string& sid) {
  caf::scoped_actor self{app.svc().sys};
  caf::actor out;
  self->request(app.svc().call_manager, 2s, lookup_atom_v, call_key(sid))
    .receive([&](caf::actor& a) { out = a; }, [](caf::error&) {});
  return out;
}

/// Collects every log message of the default logger.
class capture_sink : public spdlog::sinks::base_sink<std::mutex> {
public:
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock{mutex_};
    return lines_;
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines_.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}

private:
  std::vector<std::string> lines_;
};

} // namespace

// -- happy path, with the beta and the GA event names -----------------------

class openai_events : public ::testing::TestWithParam<bool> {};

TEST_P(openai_events, session_audio_round_trip_and_transcripts) {
  bool ga = GetParam();
  std::atomic<bool> answered{false};
  fake_realtime_server ai{[&](fake_realtime_server& s, const std::string& m) {
    auto t = type_of(m);
    if (t == "session.update")
      s.send(session_updated());
    // After ~300 ms of caller audio, the model "hears" and answers.
    if (t == "input_audio_buffer.append"
        && s.count("input_audio_buffer.append") >= 3
        && !answered.exchange(true)) {
      s.send(speech_started("item_u1"));
      s.send(speech_stopped("item_u1"));
      s.send(caller_transcript("item_u1", "אני מחפש דירה בחיפה"));
      s.send(response_created("resp_1"));
      s.send(audio_delta(ga, "item_a1", "resp_1", std::string(800, 0x55)));
      s.send(audio_delta(ga, "item_a1", "resp_1", std::string(800, 0x55)));
      s.send(audio_done(ga, "item_a1", "resp_1"));
      s.send(agent_transcript(ga, "item_a1", "resp_1", "בשמחה, כמה חדרים?"));
      s.send(response_done("resp_1"));
    }
  }};
  auto cfg = ai_config(ai.url());
  running_app app{cfg};
  openai_business(cfg);
  ai_call call{app, ga ? "CAaiGA" : "CAaiBeta"};
  // The greeting starts at once, from the local engine's cache (that it
  // never waits for the AI is a_slow_ai_server_never_delays_the_greeting).
  ASSERT_TRUE(call.ws.wait_for([](auto& m) { return !m.empty(); }, 2s));
  ASSERT_TRUE(eventually([&] { return ai.count("session.update") == 1; }));

  // The upgrade: model in the URL, the key as a Bearer token, beta header.
  EXPECT_EQ(ai.target(), "/v1/realtime?model=" + model);
  auto headers = ai.headers();
  EXPECT_EQ(headers["authorization"], "Bearer " + api_key);
  EXPECT_EQ(headers["openai-beta"], "realtime=v1");
  // session.update: mu-law both ways, server VAD that interrupts, the
  // business prompt, transcription on, the four tools.
  auto session
    = parsed(ai.received("session.update")[0])["session"].as_object();
  EXPECT_EQ(session["input_audio_format"], "g711_ulaw");
  EXPECT_EQ(session["output_audio_format"], "g711_ulaw");
  auto vad = session["turn_detection"].as_object();
  EXPECT_EQ(vad["type"], "server_vad");
  EXPECT_EQ(vad["interrupt_response"], true);
  auto instructions = json::value_to<std::string>(session["instructions"]);
  EXPECT_NE(instructions.find(prompt), std::string::npos) << instructions;
  EXPECT_NE(instructions.find(caller), std::string::npos); // known details
  EXPECT_TRUE(session["input_audio_transcription"].is_object());
  std::set<std::string> tools;
  for (auto& t : session["tools"].as_array())
    tools.insert(json::value_to<std::string>(t.as_object().at("name")));
  EXPECT_EQ(tools, (std::set<std::string>{"save_lead", "book_appointment",
                                          "send_whatsapp", "search_listings",
                                          "transfer_call", "end_call"}));

  // The caller talks over the greeting (which stops), then is quiet.
  call.speak(25);
  call.quiet(30);
  // The model's audio reaches Twilio untouched, as 20 ms frames, one mark
  // per 100 ms part.
  ASSERT_TRUE(call.wait_mark("a2", 10s));
  EXPECT_EQ(call.frames_of(0x55), 10u);
  EXPECT_TRUE(call.wait_mark("a1", 0ms));
  EXPECT_GE(call.ws.count("clear"), 1u); // the greeting was cut

  // The caller's audio went to the model as it came, untouched.
  ASSERT_TRUE(eventually([&] {
    std::string appended;
    for (auto& m : ai.received("input_audio_buffer.append"))
      appended += *crypto::base64_decode(
        json::value_to<std::string>(parsed(m)["audio"]));
    return appended.find(tone_frames(25)) != std::string::npos;
  }));

  // Both sides of the conversation are in the transcript.
  ASSERT_TRUE(eventually(
    [&] { return count_events(cfg, call.sid, "transcript") == "2"; }));
  EXPECT_EQ(sql_value(cfg, "SELECT string_agg((detail->>'role') || ':'"
                           " || (detail->>'text'), '|' ORDER BY seq)"
                           " FROM call_events WHERE kind = 'transcript'"),
            "caller:אני מחפש דירה בחיפה|agent:בשמחה, כמה חדרים?");
  EXPECT_EQ(sql_value(cfg, "SELECT engine FROM calls"), "openai");
  EXPECT_EQ(count_events(cfg, call.sid, "engine_fallback"), "0");
  EXPECT_FALSE(call.ws.closed());
}

INSTANTIATE_TEST_SUITE_P(openai, openai_events, ::testing::Values(false, true),
                         [](const auto& info) {
                           return info.param ? "ga_names" : "beta_names";
                         });

TEST(openai, the_ai_speaks_only_after_the_greeting) {
  fake_realtime_server ai{[](fake_realtime_server& s, const std::string& m) {
    if (type_of(m) != "session.update")
      return;
    s.send(session_updated());
    // The model speaks at once, while the greeting still plays.
    s.send(response_created("resp_0"));
    s.send(audio_delta(false, "item_0", "resp_0", std::string(1600, 0x5A)));
    s.send(response_done("resp_0"));
  }};
  auto cfg = ai_config(ai.url());
  running_app app{cfg};
  openai_business(cfg);
  ai_call call{app, "CAaiOrder"};
  ASSERT_TRUE(call.wait_mark("a2", 20s));
  auto end_of_greeting
    = call.index_of([](auto& m) { return ai_call::is_mark(m, "u1"); });
  auto first_ai_frame = call.index_of([](auto& m) {
    return event_of(m.text) == "media"
           && crypto::base64_decode(field_of(m.text, "payload"))
                == std::string(160, 0x5A);
  });
  ASSERT_NE(end_of_greeting, std::string::npos);
  ASSERT_NE(first_ai_frame, std::string::npos);
  EXPECT_LT(end_of_greeting, first_ai_frame);
  EXPECT_EQ(call.frames_of(0x5A), 10u);
}

// -- barge-in
// ------------------------------------------------------------------

TEST(openai, barge_in_clears_cancels_and_truncates_at_the_played_position) {
  fake_realtime_server ai{confirming()};
  auto cfg = ai_config(ai.url());
  running_app app{cfg};
  openai_business(cfg);
  ai_call call{app, "CAaiBarge"};
  ASSERT_TRUE(eventually([&] { return ai.count("session.update") == 1; }));
  call.speak(10); // over the greeting: the local engine clears it
  call.quiet(30);
  ASSERT_TRUE(call.wait_clears(1));

  // The model answers with one second of audio.
  ai.send(response_created("resp_b"));
  for (int i = 0; i < 10; ++i)
    ai.send(audio_delta(false, "item_b", "resp_b", std::string(800, 0x33)));
  // Twilio played two parts (200 ms) and echoes their marks.
  ASSERT_TRUE(call.play_through("a1"));
  ASSERT_TRUE(call.play_through("a2"));
  // Media sent after the marks is appended after they were handled.
  auto appends = ai.count("input_audio_buffer.append");
  call.quiet(5);
  ASSERT_TRUE(eventually(
    [&] { return ai.count("input_audio_buffer.append") > appends; }));

  // The server hears the caller: barge-in.
  ai.send(speech_started("item_u2"));
  ASSERT_TRUE(call.wait_clears(2));
  ASSERT_TRUE(eventually([&] {
    return ai.count("response.cancel") == 1
           && ai.count("conversation.item.truncate") == 1;
  }));
  auto truncate = parsed(ai.received("conversation.item.truncate")[0]);
  EXPECT_EQ(truncate["item_id"], "item_b");
  EXPECT_EQ(truncate["content_index"], 0);
  EXPECT_EQ(truncate["audio_end_ms"], 200);
  // After the clear, the rest of the answer is not played.
  auto media = call.ws.count("media");
  auto frames = call.frames_of(0x33);
  EXPECT_LT(frames, 50u);

  // Late deltas of the cut answer are dropped; the race error about the
  // cancel is harmless.
  ai.send(audio_delta(false, "item_b", "resp_b", std::string(800, 0x33)));
  ai.send(error_event("response_cancel_not_active",
                      "Cancellation failed: no active response found"));
  ai.send(response_done("resp_b", "cancelled"));
  ai.send(caller_transcript("item_u2", "רגע, שאלה"));
  ASSERT_TRUE(eventually(
    [&] { return count_events(cfg, call.sid, "transcript") == "1"; }));
  EXPECT_EQ(call.frames_of(0x33), frames);
  EXPECT_LE(call.ws.count("media"), media + 3);
  EXPECT_EQ(count_events(cfg, call.sid, "engine_fallback"), "0");
  EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM call_events WHERE kind ="
                           " 'barge_in' AND detail->>'engine' = 'openai'"
                           " AND (detail->>'audio_end_ms')::int = 200"),
            "1");
  auto metrics = http_call(app.port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find("al_barge_ins_total 2"), std::string::npos);
}

// -- tools
// ---------------------------------------------------------------------

TEST(openai, save_lead_and_book_appointment_write_postgresql) {
  fake_realtime_server ai{confirming()};
  auto cfg = ai_config(ai.url());
  running_app app{cfg};
  openai_business(cfg);
  ai_call call{app, "CAaiTools"};
  ASSERT_TRUE(eventually([&] { return ai.count("session.update") == 1; }));

  // save_lead, with its name in the arguments event (GA shape).
  ai.send(response_created("resp_t1"));
  ai.send(function_call(
    "call_1", "save_lead",
    R"({"name":"דני כהן","deal":"rent","city":"חיפה","rooms":3.5,)"
    R"("budget":6000,"notes":"רוצה חניה"})"));
  ai.send(response_done("resp_t1"));
  ASSERT_TRUE(eventually([&] { return outputs(ai).count("call_1") == 1; }));
  EXPECT_NE(outputs(ai)["call_1"].find(R"("ok":true)"), std::string::npos)
    << outputs(ai)["call_1"];
  // Then the model is asked to go on.
  ASSERT_TRUE(eventually([&] { return ai.count("response.create") == 1; }));
  EXPECT_EQ(sql_value(cfg, "SELECT name || '|' || deal || '|' || city || '|'"
                           " || rooms || '|' || budget_max || '|' || notes"
                           " || '|' || source FROM leads WHERE phone = '"
                             + caller + "'"),
            "דני כהן|rent|חיפה|3.5|6000|רוצה חניה|call");
  auto lead = sql_value(cfg, "SELECT id FROM leads");
  EXPECT_EQ(sql_value(cfg, "SELECT lead_id FROM calls"), lead);

  // book_appointment in the beta shape: the name only on the output item.
  ai.send(response_created("resp_t2"));
  ai.send(function_item("response.output_item.added", "call_2",
                        "book_appointment", ""));
  ai.send(function_call(
    "call_2", "",
    R"({"starts_at":"2030-05-01T10:00:00+03:00","address":"הרצל 1, חיפה"})"));
  ai.send(response_done("resp_t2"));
  ASSERT_TRUE(eventually([&] { return outputs(ai).count("call_2") == 1; }));
  EXPECT_NE(outputs(ai)["call_2"].find(R"("ok":true)"), std::string::npos)
    << outputs(ai)["call_2"];
  EXPECT_EQ(sql_value(cfg, "SELECT to_char(starts_at AT TIME ZONE 'UTC',"
                           " 'YYYY-MM-DD HH24:MI') || '|' || address || '|'"
                           " || lead_id || '|' || business_id || '|' || status"
                           " FROM appointments"),
            "2030-05-01 07:00|הרצל 1, חיפה|" + lead + "|1|scheduled");

  // Only the output item names the call; a local time is Israel time.
  ai.send(function_call("call_3", "", R"({"starts_at":"2030-05-02T09:30"})"));
  ai.send(function_item("response.output_item.done", "call_3",
                        "book_appointment",
                        R"({"starts_at":"2030-05-02T09:30"})"));
  ASSERT_TRUE(eventually([&] { return outputs(ai).count("call_3") == 1; }));
  EXPECT_EQ(sql_value(cfg, "SELECT to_char(starts_at AT TIME ZONE"
                           " 'Asia/Jerusalem', 'YYYY-MM-DD HH24:MI')"
                           " FROM appointments ORDER BY id DESC LIMIT 1"),
            "2030-05-02 09:30");

  // Bad arguments: an error for the model, nothing written.
  ai.send(function_call("call_4", "save_lead", R"({"deal":"castle"})"));
  ai.send(function_call("call_5", "book_appointment", R"({"address":"x"})"));
  ai.send(function_call("call_6", "fly_to_moon", "{}"));
  ASSERT_TRUE(eventually([&] { return outputs(ai).size() == 6; }));
  auto out = outputs(ai);
  EXPECT_NE(out["call_4"].find("deal must be buy, rent or sell"),
            std::string::npos);
  EXPECT_NE(out["call_5"].find("starts_at is required"), std::string::npos);
  EXPECT_NE(out["call_6"].find(R"("ok":false)"), std::string::npos);
  EXPECT_EQ(sql_value(cfg, "SELECT deal FROM leads"), "rent");
  EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM appointments"), "2");
  // Call events go through the ordered write queue: they land after the
  // outputs reach the model (a slow machine showed 3 of 6 at this point).
  EXPECT_TRUE(
    eventually([&] { return count_events(cfg, call.sid, "tool_call") == "6"; }))
    << count_events(cfg, call.sid, "tool_call");
  EXPECT_EQ(count_events(cfg, call.sid, "engine_fallback"), "0");
}

TEST(openai, send_whatsapp_texts_the_caller_through_the_whatsapp_actor) {
  fake_twilio twilio;
  fake_realtime_server ai{confirming()};
  auto cfg = ai_config(ai.url());
  cfg.twilio_api_base = twilio.base_url();
  running_app app{cfg};
  openai_business(cfg);
  // The caller wrote to the office today: inside WhatsApp's 24-hour window
  // (tests/whatsapp/templates_test covers outside).
  ASSERT_FALSE(sql_value(cfg, "INSERT INTO wa_conversations (business_id,"
                              " peer, last_inbound_at) VALUES (1, 'whatsapp:"
                                + caller + "', now()) RETURNING peer")
                 .empty());
  ai_call call{app, "CAaiWa"};
  ASSERT_TRUE(eventually([&] { return ai.count("session.update") == 1; }));
  ai.send(function_call("call_w", "send_whatsapp",
                        R"({"text":"סיכום: דירת 3.5 חדרים בחיפה"})"));
  ASSERT_TRUE(eventually([&] { return outputs(ai).count("call_w") == 1; }));
  EXPECT_NE(outputs(ai)["call_w"].find(R"("ok":true)"), std::string::npos)
    << outputs(ai)["call_w"];
  ASSERT_EQ(twilio.messages().size(), 1u);
  auto sent = twilio.messages()[0];
  EXPECT_EQ(sent.value_or("To"), "whatsapp:" + caller);
  EXPECT_EQ(sent.value_or("Body"), "סיכום: דירת 3.5 חדרים בחיפה");
  EXPECT_EQ(sql_value(cfg, "SELECT direction || '|' || body || '|' || status"
                           " FROM messages"),
            "out|סיכום: דירת 3.5 חדרים בחיפה|sent");

  // A refused send is an error for the model, not for the call.
  twilio.set_mode(fake_mode::reject);
  ai.send(function_call("call_x", "send_whatsapp", R"({"text":"שוב"})"));
  ASSERT_TRUE(eventually([&] { return outputs(ai).count("call_x") == 1; }));
  EXPECT_NE(outputs(ai)["call_x"].find(R"("ok":false)"), std::string::npos);
  EXPECT_EQ(count_events(cfg, call.sid, "engine_fallback"), "0");
}

TEST(openai, end_call_hangs_up_after_the_goodbye_is_played_and_sums_up) {
  fake_realtime_server ai{confirming()};
  const std::string summary = "המתקשר מחפש דירה לשכירות בחיפה; יחזרו אליו.";
  ai.set_http_handler([&](const fake_realtime_server::http_exchange&) {
    return std::pair<int, std::string>{
      200, ev({{"id", "chatcmpl-1"},
               {"object", "chat.completion"},
               {"choices",
                json::array{json::object{
                  {"index", 0},
                  // The after-call job asks for the call_summary schema.
                  {"message",
                   json::object{{"role", "assistant"},
                                {"content", ev({{"summary", summary},
                                                {"deal", "rent"},
                                                {"city", "חיפה"},
                                                {"rooms", nullptr},
                                                {"budget", nullptr},
                                                {"callback_time", nullptr},
                                                {"next_step", "לחזור אליו"},
                                                {"sentiment", "neutral"}})}}},
                  {"finish_reason", "stop"}}}}})};
  });
  auto cfg = ai_config(ai.url());
  running_app app{cfg};
  openai_business(cfg);
  ai_call call{app, "CAaiEnd"};
  ASSERT_TRUE(eventually([&] { return ai.count("session.update") == 1; }));
  call.speak(10);
  call.quiet(30);
  ASSERT_TRUE(call.wait_clears(1));
  ai.send(caller_transcript("item_u9", "תודה, זה הכול"));
  ai.send(response_created("resp_e"));
  ai.send(audio_delta(false, "item_bye", "resp_e", std::string(1600, 0x44)));
  ai.send(agent_transcript(false, "item_bye", "resp_e", "להתראות!"));
  ai.send(audio_done(false, "item_bye", "resp_e"));
  ai.send(function_call("call_e", "end_call", R"({"reason":"done"})"));
  ai.send(response_done("resp_e"));
  ASSERT_TRUE(eventually([&] { return outputs(ai).count("call_e") == 1; }));
  // Nothing ends before the goodbye was heard.
  ASSERT_TRUE(call.play_through("a1"));
  EXPECT_FALSE(call.ws.closed());
  ASSERT_TRUE(call.play_through("a2"));
  ASSERT_TRUE(call.ws.wait_closed(5s));
  ASSERT_TRUE(eventually(
    [&] { return sql_value(cfg, "SELECT ended_normally FROM calls") == "t"; }));
  EXPECT_EQ(sql_value(cfg, "SELECT end_reason FROM calls"), "ai end_call");
  EXPECT_EQ(ai.count("response.create"), 0u); // end_call asks for nothing
  auto ended = twilio_post(app.port(), cfg.public_base_url,
                           cfg.twilio_auth_token, "/webhook/stream_ended",
                           {{"CallSid", call.sid}});
  EXPECT_NE(ended.body.find("<Hangup/>"), std::string::npos) << ended.body;

  // A short summary of the transcript, on the call and on the lead.
  ASSERT_TRUE(eventually(
    [&] { return sql_value(cfg, "SELECT summary FROM calls") == summary; }));
  auto asked = ai.http_requests();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].method, "POST");
  EXPECT_EQ(asked[0].target, "/v1/chat/completions");
  EXPECT_EQ(asked[0].authorization, "Bearer " + api_key);
  EXPECT_NE(asked[0].body.find("מתקשר: תודה, זה הכול"), std::string::npos);
  EXPECT_NE(asked[0].body.find("נציג: להתראות!"), std::string::npos);
  EXPECT_TRUE(eventually([&] {
    return sql_value(cfg, "SELECT body || '|' || author FROM lead_notes"
                          " WHERE lead_id = (SELECT lead_id FROM calls)")
           == "סיכום שיחה: " + summary + "|ai";
  }));
}

TEST(openai, end_call_without_a_goodbye_says_the_local_one) {
  fake_realtime_server ai{confirming()};
  auto cfg = ai_config(ai.url());
  running_app app{cfg};
  openai_business(cfg);
  ai_call call{app, "CAaiEnd2"};
  ASSERT_TRUE(eventually([&] { return ai.count("session.update") == 1; }));
  ASSERT_TRUE(call.play_through("u1")); // the greeting
  ai.send(function_call("call_e2", "end_call", "{}"));
  ASSERT_TRUE(call.play_through("u2")); // the local goodbye
  ASSERT_TRUE(call.ws.wait_closed(5s));
  ASSERT_TRUE(eventually(
    [&] { return sql_value(cfg, "SELECT ended_normally FROM calls") == "t"; }));
}

TEST(openai, dtmf_goes_to_the_model_as_a_user_message) {
  fake_realtime_server ai{confirming()};
  auto cfg = ai_config(ai.url());
  running_app app{cfg};
  openai_business(cfg);
  ai_call call{app, "CAaiDtmf"};
  ASSERT_TRUE(eventually([&] { return ai.count("session.update") == 1; }));
  call.ws.send_dtmf(call.stream, "3");
  ASSERT_TRUE(eventually([&] { return ai.count("response.create") == 1; }));
  auto items = ai.received("conversation.item.create");
  ASSERT_EQ(items.size(), 1u);
  auto item = parsed(items[0])["item"].as_object();
  EXPECT_EQ(item["role"], "user");
  auto text = json::value_to<std::string>(
    item["content"].as_array()[0].as_object()["text"]);
  EXPECT_NE(text.find("3"), std::string::npos) << text;
  EXPECT_TRUE(call.wait_clears(1)); // the greeting stopped for the key
  // The scripted dialogue did not move: the model answers. (Events are
  // written in order: once the transcript is in, so is all before it.)
  ai.send(caller_transcript("item_d", "שלוש"));
  ASSERT_TRUE(eventually(
    [&] { return count_events(cfg, call.sid, "transcript") == "1"; }));
  EXPECT_EQ(count_events(cfg, call.sid, "dtmf"), "1");
  // The greeting and its recording notice (record_calls): nothing else.
  EXPECT_EQ(sql_value(cfg, "SELECT string_agg(detail->>'what', ',' ORDER BY"
                           " seq) FROM call_events WHERE kind = 'utterance'"),
            "greeting,recording_notice");
}

// -- fallback to the local engine
// ----------------------------------------------

TEST(openai, refused_connection_falls_back_at_once) {
  closed_port dead; // held until the end: nobody else gets the port
  auto cfg = ai_config("ws://" + dead.host_port() + "/v1/realtime");
  running_app app{cfg};
  openai_business(cfg);
  ai_call call{app, "CAaiRefused"};
  ASSERT_TRUE(
    eventually([&] { return !fallback_reason(cfg, call.sid).empty(); }, 3s));
  EXPECT_EQ(fallback_reason(cfg, call.sid),
            "connect failed: connection refused");
  local_dialogue_goes_on(call);
  auto metrics = http_call(app.port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find("al_engine_fallbacks_total 1"), std::string::npos);
}

TEST(openai, a_mid_call_close_falls_back_without_dropping_the_caller) {
  fake_realtime_server ai{confirming()};
  auto cfg = ai_config(ai.url());
  running_app app{cfg};
  openai_business(cfg);
  ai_call call{app, "CAaiClose"};
  ASSERT_TRUE(eventually([&] { return ai.count("session.update") == 1; }));
  call.speak(10);
  call.quiet(30);
  ASSERT_TRUE(call.wait_clears(1));
  ai.send(response_created("resp_c"));
  for (int i = 0; i < 20; ++i)
    ai.send(audio_delta(false, "item_c", "resp_c", std::string(800, 0x22)));
  ASSERT_TRUE(call.wait_mark("a1"));
  ai.close(); // mid-sentence
  // The model's audio stops and the local engine asks its next question.
  ASSERT_TRUE(call.wait_mark("u2"));
  EXPECT_EQ(call.ws.count("clear"), 2u);
  EXPECT_LT(call.frames_of(0x22), 100u);
  EXPECT_EQ(fallback_reason(cfg, call.sid).rfind("connection closed", 0), 0u)
    << fallback_reason(cfg, call.sid);
  ASSERT_TRUE(call.play_through("u2"));
  call.ws.send_dtmf(call.stream, "5");
  ASSERT_TRUE(call.play_through("u3")); // goodbye
  ASSERT_TRUE(call.ws.wait_closed(5s));
  EXPECT_TRUE(eventually(
    [&] { return sql_value(cfg, "SELECT ended_normally FROM calls") == "t"; }));
}

TEST(openai, a_silent_ai_falls_back_when_a_reply_is_due) {
  fake_realtime_server ai; // accepts, then says nothing at all
  auto cfg = ai_config(ai.url());
  running_app app{cfg};
  openai_business(cfg);
  ai_call call{app, "CAaiSilent"};
  ASSERT_TRUE(eventually([&] { return ai.count("session.update") == 1; }));
  call.speak(25);
  call.quiet(30);
  auto turn_end = std::chrono::steady_clock::now();
  // No audio 1.5 s after the caller's turn: the local engine answers.
  ASSERT_TRUE(call.wait_mark("u2", 6s));
  EXPECT_GT(std::chrono::steady_clock::now() - turn_end, 1s);
  EXPECT_EQ(fallback_reason(cfg, call.sid), "no reply audio");
  EXPECT_FALSE(call.ws.closed());
}

TEST(openai, an_error_event_falls_back) {
  fake_realtime_server ai{[](fake_realtime_server& s, const std::string& m) {
    if (type_of(m) == "session.update")
      s.send(error_event("server_error", "The server had an error"));
  }};
  auto cfg = ai_config(ai.url());
  running_app app{cfg};
  openai_business(cfg);
  ai_call call{app, "CAaiError"};
  ASSERT_TRUE(
    eventually([&] { return !fallback_reason(cfg, call.sid).empty(); }, 5s));
  EXPECT_EQ(fallback_reason(cfg, call.sid), "error event: server_error");
  local_dialogue_goes_on(call);
}

TEST(openai, a_slow_ai_server_never_delays_the_greeting) {
  fake_realtime_server ai{confirming()};
  ai.set_upgrade_delay(4s);
  auto cfg = ai_config(ai.url());
  running_app app{cfg};
  openai_business(cfg);
  ai_call call{app, "CAaiSlow"};
  // The greeting plays while the AI's upgrade is still held (4 s): no
  // session was configured yet when the first frame arrived.
  ASSERT_TRUE(call.ws.wait_for([](auto& m) { return !m.empty(); }, 2s));
  EXPECT_EQ(ai.count("session.update"), 0u);
  EXPECT_EQ(event_of(call.ws.messages().front().text), "media");
  ASSERT_TRUE(
    eventually([&] { return !fallback_reason(cfg, call.sid).empty(); }, 4s));
  EXPECT_EQ(fallback_reason(cfg, call.sid), "connect timeout");
  EXPECT_EQ(ai.count("session.update"), 0u);
  local_dialogue_goes_on(call);
}

TEST(openai, a_restarted_call_actor_goes_on_with_the_local_engine) {
  fake_realtime_server ai{confirming()};
  auto cfg = ai_config(ai.url());
  running_app app{cfg};
  openai_business(cfg);
  ai_call call{app, "CAaiKill"};
  ASSERT_TRUE(eventually([&] { return ai.count("session.update") == 1; }));
  auto before = find_call(app, call.sid);
  ASSERT_TRUE(before);
  caf::anon_send(before,
                 caf::exit_msg{caf::actor_addr{},
                               caf::make_error(caf::sec::runtime_error)});
  ASSERT_TRUE(eventually(
    [&] { return fallback_reason(cfg, call.sid) == "call actor restarted"; }));
  EXPECT_NE(find_call(app, call.sid), before);
  // The model's late events reach nobody; the same socket carries on.
  ai.send(response_created("resp_k"));
  ai.send(audio_delta(false, "item_k", "resp_k", std::string(800, 0x11)));
  local_dialogue_goes_on(call);
  EXPECT_EQ(call.frames_of(0x11), 0u);
}

TEST(openai, without_a_key_or_for_a_local_business_no_ai_is_used) {
  fake_realtime_server ai{confirming()};
  {
    auto cfg = ai_config(ai.url());
    cfg.openai_api_key.clear();
    running_app app{cfg};
    openai_business(cfg);
    ai_call call{app, "CAnoKey"};
    local_dialogue_goes_on(call);
  }
  {
    auto cfg = ai_config(ai.url());
    running_app app{cfg};
    ASSERT_EQ(sql_value(cfg, "UPDATE businesses SET voice_engine = 'local'"
                             " WHERE id = 1 RETURNING id"),
              "1"); // the office chose the script
    ai_call call{app, "CAlocal"};
    local_dialogue_goes_on(call);
    EXPECT_EQ(sql_value(cfg, "SELECT engine FROM calls"), "local");
  }
  EXPECT_EQ(ai.connections(), 0u);
}

TEST(openai, the_api_key_never_reaches_the_logs) {
  auto sink = std::make_shared<capture_sink>();
  auto logger = spdlog::default_logger();
  auto level = logger->level();
  logger->sinks().push_back(sink);
  logger->set_level(spdlog::level::trace);
  {
    // A refused key, then a server error quoting the key back.
    fake_realtime_server refusing;
    refusing.set_upgrade_status(401);
    auto cfg = ai_config(refusing.url());
    running_app app{cfg};
    openai_business(cfg);
    ai_call call{app, "CAkey1"};
    ASSERT_TRUE(
      eventually([&] { return !fallback_reason(cfg, call.sid).empty(); }, 5s));
    EXPECT_EQ(fallback_reason(cfg, call.sid),
              "connect failed: upgrade declined: 401");
    EXPECT_EQ(refusing.headers()["authorization"], "Bearer " + api_key);
  }
  {
    fake_realtime_server ai{[](fake_realtime_server& s, const std::string& m) {
      if (type_of(m) == "session.update")
        s.send(error_event(api_key, "Incorrect API key provided: " + api_key));
    }};
    auto cfg = ai_config(ai.url());
    running_app app{cfg};
    openai_business(cfg);
    ai_call call{app, "CAkey2"};
    ASSERT_TRUE(
      eventually([&] { return !fallback_reason(cfg, call.sid).empty(); }, 5s));
    // Nor the call's stored events.
    EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM call_events WHERE"
                             " detail::text LIKE '%"
                               + api_key + "%'"),
              "0");
    EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM call_events WHERE kind ="
                             " 'engine_error'"),
              "1");
  }
  logger->sinks().pop_back();
  logger->set_level(level);
  auto lines = sink->lines();
  bool mentions_openai = false;
  for (auto& l : lines) {
    EXPECT_EQ(l.find(api_key), std::string::npos) << l;
    EXPECT_EQ(l.find("SECRET"), std::string::npos) << l;
    mentions_openai = mentions_openai || l.find("openai") != std::string::npos;
  }
  EXPECT_TRUE(mentions_openai); // the logs did cover these calls
}

// -- the receptionist with the AI (SPEC §7 "Calls")
// ----------------------------

TEST(openai, a_key_alone_turns_the_ai_on) {
  fake_realtime_server ai{confirming()};
  auto cfg = ai_config(ai.url());
  running_app app{cfg}; // business 1 keeps its default voice_engine
  EXPECT_EQ(sql_value(cfg, "SELECT voice_engine FROM businesses WHERE id = 1"),
            "auto");
  ai_call call{app, "CAaiAuto"};
  ASSERT_TRUE(eventually([&] { return ai.count("session.update") == 1; }));
  ASSERT_TRUE(eventually(
    [&] { return sql_value(cfg, "SELECT engine FROM calls") == "openai"; }));
}

TEST(openai, voice_engine_local_keeps_the_script_even_with_a_key) {
  fake_realtime_server ai{confirming()};
  auto cfg = ai_config(ai.url());
  cfg.voice_engine = "local";
  running_app app{cfg};
  ai_call call{app, "CAaiLocal"};
  local_dialogue_goes_on(call); // greeting, DTMF 1, "when shall we call?"
  ASSERT_TRUE(call.play_through("u2"));
  call.ws.send_dtmf(call.stream, "4");
  ASSERT_TRUE(call.play_through("u3")); // goodbye
  ASSERT_TRUE(call.ws.wait_closed(5s));
  EXPECT_EQ(ai.connections(), 0u);
  EXPECT_EQ(sql_value(cfg, "SELECT engine FROM calls"), "local");
}

TEST(openai, instructions_carry_the_israel_date_the_hours_and_closures) {
  fake_realtime_server ai{confirming()};
  auto cfg = ai_config(ai.url());
  running_app app{cfg};
  sql_value(cfg, "UPDATE businesses SET working_hours = '{\"sun\":[\"09:00\","
                 "\"18:00\"],\"mon\":[\"09:00\",\"18:00\"],\"fri\":"
                 "[\"09:00\",\"13:00\"]}' WHERE id = 1 RETURNING id");
  ai_call call{app, "CAaiDate"};
  ASSERT_TRUE(eventually([&] { return ai.count("session.update") == 1; }));
  auto after = israel_at(std::time(nullptr));
  auto session
    = parsed(ai.received("session.update")[0])["session"].as_object();
  auto text = json::value_to<std::string>(session["instructions"]);
  // The date when the session opened (the test may straddle midnight).
  auto before = israel_at(std::time(nullptr) - 60);
  EXPECT_TRUE(text.find(after.date) != std::string::npos
              || text.find(before.date) != std::string::npos)
    << text;
  EXPECT_TRUE(text.find(after.weekday_he) != std::string::npos
              || text.find(before.weekday_he) != std::string::npos)
    << text;
  EXPECT_NE(text.find("09:00"), std::string::npos) << text;
  EXPECT_NE(text.find("13:00"), std::string::npos) << text; // Friday
  EXPECT_NE(text.find("alternatives"), std::string::npos);
}

namespace {

/// The first date 2..20 days ahead that is a Sunday..Thursday and no holiday
/// (Israel), as YYYY-MM-DD.
std::string next_workday() {
  auto now = std::time(nullptr);
  for (int d = 2; d < 20; ++d) {
    auto m = israel_at(now + d * 86400);
    if (m.weekday <= 4 && !is_closure(m.date))
      return m.date;
  }
  return {};
}

/// Sends one tool call as the model would and returns its output.
std::string tool(fake_realtime_server& ai, const std::string& id,
                 const std::string& name, const std::string& args) {
  ai.send(response_created("resp_" + id));
  ai.send(function_call(id, name, args));
  ai.send(response_done("resp_" + id));
  EXPECT_TRUE(eventually([&] { return outputs(ai).count(id) == 1; }));
  return outputs(ai)[id];
}

} // namespace

TEST(openai, book_appointment_refuses_bad_slots_with_alternatives) {
  fake_twilio twilio;
  fake_realtime_server ai{confirming()};
  auto cfg = ai_config(ai.url());
  cfg.twilio_api_base = twilio.base_url();
  running_app app{cfg};
  std::string hours = R"({"sun":["09:00","18:00"],"mon":["09:00","18:00"],)"
                      R"("tue":["09:00","18:00"],"wed":["09:00","18:00"],)"
                      R"("thu":["09:00","18:00"]})";
  sql_value(cfg, "UPDATE businesses SET working_hours = '" + hours
                   + "' WHERE id = 1 RETURNING id");
  // The caller wrote to the office today: the confirmation goes free-form
  // (tests/whatsapp/templates_test covers the template outside the window).
  ASSERT_FALSE(sql_value(cfg, "INSERT INTO wa_conversations (business_id,"
                              " peer, last_inbound_at) VALUES (1, 'whatsapp:"
                                + caller + "', now()) RETURNING peer")
                 .empty());
  auto day = next_workday();
  ASSERT_FALSE(day.empty());
  ai_call call{app, "CAaiBook"};
  ASSERT_TRUE(eventually([&] { return ai.count("session.update") == 1; }));

  auto check_refusal = [&](const std::string& out,
                           const std::string& reason) -> json::array {
    auto o = parsed(out);
    EXPECT_EQ(o["ok"], false) << out;
    EXPECT_EQ(json::value_to<std::string>(o["reason"]), reason) << out;
    auto alts = o["alternatives"].as_array();
    EXPECT_FALSE(alts.empty()) << out;
    for (auto& a : alts) {
      auto t = parse_appointment_time(json::value_to<std::string>(a));
      if (!t) {
        ADD_FAILURE() << "not a time: " << a;
        continue;
      }
      EXPECT_EQ(check_slot(hours, *t, 60, std::time(nullptr), {}),
                slot_problem::none)
        << a;
    }
    return alts;
  };
  check_refusal(tool(ai, "b_past", "book_appointment",
                     R"({"starts_at":"2020-01-05T10:00:00+02:00"})"),
                "past");
  check_refusal(tool(ai, "b_late", "book_appointment",
                     R"({"starts_at":")" + day + R"(T22:00:00"})"),
                "outside_working_hours");
  EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM appointments"), "0");

  auto good = parsed(tool(ai, "b_ok", "book_appointment",
                          R"({"starts_at":")" + day
                            + R"(T10:00:00","address":"ביאליק 5, רמת גן"})"));
  EXPECT_EQ(good["ok"], true);
  auto booked_at = json::value_to<std::string>(good["starts_at"]);
  EXPECT_EQ(booked_at.substr(0, 19), day + "T10:00:00");
  EXPECT_EQ(sql_value(cfg, "SELECT to_char(starts_at AT TIME ZONE"
                           " 'Asia/Jerusalem', 'YYYY-MM-DD HH24:MI') FROM"
                           " appointments"),
            day + " 10:00");
  // The caller gets it in writing.
  ASSERT_TRUE(eventually([&] { return twilio.messages().size() == 1; }));
  auto confirmation = twilio.messages()[0].value_or("Body");
  EXPECT_NE(confirmation.find(day), std::string::npos) << confirmation;
  EXPECT_NE(confirmation.find("10:00"), std::string::npos) << confirmation;

  // The same hour again: taken, and not among the alternatives.
  auto alts = check_refusal(tool(ai, "b_taken", "book_appointment",
                                 R"({"starts_at":")" + day + R"(T10:30:00"})"),
                            "slot_taken");
  for (auto& a : alts)
    EXPECT_EQ(json::value_to<std::string>(a).find(day + "T10:"),
              std::string::npos)
      << a;
  EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM appointments"), "1");
}

TEST(openai, transfer_call_says_its_line_then_the_stream_ends_in_a_dial) {
  fake_twilio twilio;
  fake_realtime_server ai{[](fake_realtime_server& s, const std::string& m) {
    auto t = type_of(m);
    if (t == "session.update")
      s.send(session_updated());
    // Asked to speak after the tool: "I'm transferring you".
    if (t == "response.create" && s.count("response.create") == 1) {
      s.send(response_created("resp_x2"));
      s.send(audio_delta(false, "item_x2", "resp_x2", std::string(1600, 0x33)));
      s.send(audio_done(false, "item_x2", "resp_x2"));
      s.send(response_done("resp_x2"));
    }
  }};
  auto cfg = ai_config(ai.url());
  cfg.twilio_api_base = twilio.base_url();
  running_app app{cfg};
  sql_value(cfg, "UPDATE businesses SET transfer = '{\"numbers\":"
                 "[\"+972509998877\"],\"ring_timeout_s\":15}' WHERE id = 1"
                 " RETURNING id");
  // The agent wrote to the office's WhatsApp today: inside the 24-hour
  // window, so the notice goes free-form.
  ASSERT_FALSE(sql_value(cfg, "INSERT INTO wa_conversations (business_id,"
                              " peer, last_inbound_at) VALUES (1,"
                              " 'whatsapp:+972509998877', now())"
                              " RETURNING peer")
                 .empty());
  ai_call call{app, "CAaiXfer"};
  ASSERT_TRUE(eventually([&] { return ai.count("session.update") == 1; }));
  auto session
    = parsed(ai.received("session.update")[0])["session"].as_object();
  EXPECT_NE(
    json::value_to<std::string>(session["instructions"]).find("transfer_call"),
    std::string::npos);
  auto out = tool(ai, "call_t", "transfer_call",
                  R"({"reason":"רוצה לדבר עם מתווך על דירה ברמת גן"})");
  EXPECT_NE(out.find(R"("ok":true)"), std::string::npos) << out;
  // The agent hears who is coming, on WhatsApp, before answering.
  ASSERT_TRUE(eventually([&] { return twilio.messages().size() == 1; }));
  EXPECT_EQ(twilio.messages()[0].value_or("To"), "whatsapp:+972509998877");
  EXPECT_NE(twilio.messages()[0].value_or("Body").find(caller),
            std::string::npos);
  // Nothing ends before the line was heard.
  ASSERT_TRUE(call.play_through("a1"));
  EXPECT_FALSE(call.ws.closed());
  ASSERT_TRUE(call.play_through("a2"));
  ASSERT_TRUE(call.ws.wait_closed(5s));
  auto ended = twilio_post(app.port(), cfg.public_base_url,
                           cfg.twilio_auth_token, "/webhook/stream_ended",
                           {{"CallSid", call.sid}});
  EXPECT_NE(ended.body.find(R"(<Dial timeout="15")"), std::string::npos)
    << ended.body;
  EXPECT_NE(ended.body.find("<Number>+972509998877</Number>"),
            std::string::npos);
}

TEST(openai, the_ai_voice_renders_the_greeting_once_and_every_call_plays_it) {
  // A speech endpoint: 24 kHz 16-bit PCM, as response_format "pcm" is.
  std::string pcm;
  for (int i = 0; i < 24000; ++i) {
    auto v = static_cast<std::int16_t>(i % 48 < 24 ? 6000 : -6000);
    pcm.push_back(static_cast<char>(v & 0xFF));
    pcm.push_back(static_cast<char>((v >> 8) & 0xFF));
  }
  fake_http_server speech{[&](const fake_http_server::request& req) {
    if (req.target() != "/v1/audio/speech")
      return fake_http_server::reply(http::status::not_found, "{}");
    return fake_http_server::reply(http::status::ok, pcm, "audio/pcm");
  }};
  fake_realtime_server ai{confirming()};
  auto cfg = ai_config(ai.url());
  cfg.openai_api_base = speech.base_url() + "/v1";
  cfg.openai_tts_model = "gpt-4o-mini-tts";
  running_app app{cfg};
  sql_value(cfg, "UPDATE businesses SET voice = 'coral', name = 'כהן נדל\"ן'"
                 " WHERE id = 1 RETURNING id");
  {
    ai_call first{app, "CAaiTts1"}; // espeak-ng while the rendering runs
    ASSERT_TRUE(eventually([&] { return speech.request_count() == 1; }));
  }
  auto asked = speech.requests()[0];
  EXPECT_EQ(asked[http::field::authorization], "Bearer " + api_key);
  auto body = parsed(asked.body());
  EXPECT_EQ(body["voice"], "coral");
  EXPECT_EQ(body["response_format"], "pcm");
  EXPECT_EQ(body["model"], "gpt-4o-mini-tts");
  EXPECT_NE(json::value_to<std::string>(body["input"]).find("כהן נדל\"ן"),
            std::string::npos);
  ASSERT_TRUE(eventually([&] {
    return sql_value(cfg, "SELECT count(*) FROM rendered_speech") == "1";
  }));
  // From now on every call opens in the AI's voice, and the session speaks
  // with that voice too.
  auto expected = pcm16_as_mulaw(pcm, 24000);
  // The instance drops its espeak pack right after the row commits: a call
  // placed in that instant may still get espeak, the next one cannot.
  std::string heard;
  std::unique_ptr<ai_call> second;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    second = std::make_unique<ai_call>(app,
                                       "CAaiTts2-" + std::to_string(attempt));
    ASSERT_TRUE(second->wait_mark("u1"));
    heard.clear();
    for (auto& m : second->ws.messages())
      if (event_of(m.text) == "media")
        heard
          += crypto::base64_decode(field_of(m.text, "payload")).value_or("");
    if (heard.size() >= 1600
        && heard.substr(0, 1600) == expected.substr(0, 1600))
      break;
  }
  ASSERT_GE(heard.size(), 1600u);
  EXPECT_EQ(heard.substr(0, 1600), expected.substr(0, 1600));
  ASSERT_TRUE(eventually([&] {
    return sql_value(cfg, "SELECT count(*) FROM call_events WHERE call_sid ="
                          " '"
                            + second->sid + "' AND kind = 'engine_open'")
           == "1";
  }));
  auto session
    = parsed(ai.received("session.update").back())["session"].as_object();
  EXPECT_EQ(session["voice"], "coral");
  EXPECT_EQ(speech.request_count(), 1u); // rendered once

  // Another voice: rendered again.
  sql_value(cfg, "UPDATE businesses SET voice = 'verse', greeting_rev ="
                 " greeting_rev + 1 WHERE id = 1 RETURNING id");
  ai_call third{app, "CAaiTts3"};
  ASSERT_TRUE(eventually([&] { return speech.request_count() == 2; }));
  EXPECT_EQ(parsed(speech.requests()[1].body())["voice"], "verse");
}

// -- listings on calls (SPEC §7 "Listings")
// -------------------------------------

TEST(openai, search_listings_answers_from_the_offices_listings_only) {
  fake_realtime_server ai{confirming()};
  auto cfg = ai_config(ai.url());
  running_app app{cfg};
  auto listing = [&](const std::string& title, const std::string& city,
                     double rooms, std::int64_t price,
                     const std::string& status = "available") {
    return sql_value(cfg,
                     "INSERT INTO listings (business_id, title, deal, city,"
                     " rooms, price, status) VALUES (1, '"
                       + title + "', 'buy', '" + city + "', "
                       + std::to_string(rooms) + ", " + std::to_string(price)
                       + ", '" + status + "') RETURNING id");
  };
  auto fits = listing("4 חדרים ברמת גן", "רמת גן", 4, 2900000);
  listing("4 חדרים יקרה", "רמת גן", 4, 3900000);
  listing("4 חדרים בחיפה", "חיפה", 4, 1900000);
  listing("נמכרה ברמת גן", "רמת גן", 4, 2500000, "sold");
  ai_call call{app, "CAaiSearch"};
  ASSERT_TRUE(eventually([&] { return ai.count("session.update") == 1; }));
  auto out = parsed(tool(ai, "s1", "search_listings",
                         R"({"deal":"buy","city":"רמת גן","rooms_min":4,)"
                         R"("rooms_max":4,"price_max":3000000})"));
  EXPECT_EQ(out["ok"], true);
  auto found = out["listings"].as_array();
  ASSERT_EQ(found.size(), 1u) << json::serialize(out);
  EXPECT_EQ(json::value_to<std::string>(found[0].as_object()["title"]),
            "4 חדרים ברמת גן");
  // The call shows the listing it offered.
  ASSERT_TRUE(eventually([&] {
    return sql_value(cfg, "SELECT listing_id FROM listing_mentions WHERE"
                          " call_sid = 'CAaiSearch'")
           == fits;
  }));
  // Nothing fits: said so, with no invention.
  auto none = parsed(
    tool(ai, "s2", "search_listings", R"({"deal":"buy","city":"אילת"})"));
  EXPECT_EQ(none["count"], 0);
  EXPECT_TRUE(none["listings"].as_array().empty());
  EXPECT_NE(json::value_to<std::string>(none["note"]).find("never invent"),
            std::string::npos);
  // What the caller's lead says fills what the model left out.
  sql_value(cfg, "UPDATE leads SET deal = 'buy', city = 'חיפה', rooms = 4"
                 " WHERE phone = '"
                   + caller + "' RETURNING id");
  auto prefilled = parsed(tool(ai, "s3", "search_listings", "{}"));
  ASSERT_EQ(prefilled["listings"].as_array().size(), 1u)
    << json::serialize(prefilled);
  EXPECT_EQ(prefilled["searched"].as_object()["city"], "חיפה");
}

TEST(openai, a_call_to_a_listings_tracking_number_preloads_that_listing) {
  fake_realtime_server ai{confirming()};
  auto cfg = ai_config(ai.url());
  running_app app{cfg};
  // The ad's own number, one of its office's numbers (calls are routed by
  // the business's numbers only).
  auto b = sql_value(cfg, "INSERT INTO businesses (name) VALUES ('משרד ב')"
                          " RETURNING id");
  sql_value(cfg, "INSERT INTO phone_numbers (number, business_id) VALUES ('"
                   + office + "', " + b + ") RETURNING number");
  sql_value(cfg, "INSERT INTO listings (business_id, title, deal, city, rooms,"
                 " price, tracking_number) VALUES ("
                   + b
                   + ", 'פנטהאוז בבת ים', 'buy', 'בת ים', 5, 4200000,"
                     " '"
                   + office + "') RETURNING id");
  ai_call call{app, "CAaiTracked"};
  ASSERT_TRUE(eventually([&] { return ai.count("session.update") == 1; }));
  EXPECT_EQ(sql_value(cfg, "SELECT business_id FROM calls"), b);
  auto session
    = parsed(ai.received("session.update")[0])["session"].as_object();
  auto text = json::value_to<std::string>(session["instructions"]);
  EXPECT_NE(text.find("פנטהאוז בבת ים"), std::string::npos) << text;
  EXPECT_NE(text.find("4200000"), std::string::npos);
}

TEST(openai, a_silent_caller_is_asked_once_by_the_ai_then_it_says_goodbye) {
  // The model answers every response.create with a short line.
  fake_realtime_server ai{[](fake_realtime_server& s, const std::string& m) {
    auto t = type_of(m);
    if (t == "session.update")
      s.send(session_updated());
    if (t == "response.create") {
      auto n = std::to_string(s.count("response.create"));
      s.send(response_created("resp_q" + n));
      s.send(
        audio_delta(false, "item_q" + n, "resp_q" + n, std::string(800, 0x22)));
      s.send(audio_done(false, "item_q" + n, "resp_q" + n));
      s.send(response_done("resp_q" + n));
    }
  }};
  auto cfg = ai_config(ai.url());
  cfg.silence_reprompt = std::chrono::seconds(1);
  running_app app{cfg};
  sql_value(cfg, "UPDATE businesses SET greeting = 'שלום' RETURNING id");
  ai_call call{app, "CAaiSilent"};
  ASSERT_TRUE(eventually([&] { return ai.count("session.update") == 1; }));
  ASSERT_TRUE(call.play_through("u1")); // the greeting; then silence
  // One reprompt, in the model's voice.
  ASSERT_TRUE(eventually([&] { return ai.count("response.create") == 1; },
                         std::chrono::seconds(5)));
  auto notes = ai.received("conversation.item.create");
  ASSERT_FALSE(notes.empty());
  EXPECT_NE(notes.back().find("שותק"), std::string::npos) << notes.back();
  ASSERT_TRUE(call.play_through("a1"));
  // Silent again: the goodbye, then the call ends normally.
  ASSERT_TRUE(eventually([&] { return ai.count("response.create") == 2; },
                         std::chrono::seconds(5)))
    << sql_value(cfg, "SELECT string_agg(kind || ':' || detail::text, ' ; '"
                      " ORDER BY seq) FROM call_events");
  ASSERT_TRUE(call.play_through("a2"));
  ASSERT_TRUE(call.ws.wait_closed(5s));
  ASSERT_TRUE(eventually([&] {
    return sql_value(cfg, "SELECT end_reason FROM calls") == "silence";
  }));
  EXPECT_EQ(count_events(cfg, call.sid, "silence_reprompt"), "1");
  EXPECT_EQ(count_events(cfg, call.sid, "silence_goodbye"), "1");
}
