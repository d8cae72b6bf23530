// The OpenAI Realtime JSON events as pure functions (core/realtime_wire).
#include "core/crypto.hpp"
#include "core/realtime_wire.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

using namespace al;
namespace json = boost::json;

namespace {

json::object obj(const std::string& text) {
  return json::parse(text).as_object();
}

} // namespace

TEST(realtime_wire, beta_session_update_is_mulaw_with_interrupting_vad) {
  realtime_session_options o;
  o.instructions = "דבר עברית";
  auto s = obj(realtime_session_update(o));
  EXPECT_EQ(s["type"], "session.update");
  auto session = s["session"].as_object();
  EXPECT_EQ(session["input_audio_format"], "g711_ulaw");
  EXPECT_EQ(session["output_audio_format"], "g711_ulaw");
  EXPECT_EQ(session["instructions"], "דבר עברית");
  EXPECT_EQ(session["voice"], "alloy");
  auto vad = session["turn_detection"].as_object();
  EXPECT_EQ(vad["type"], "server_vad");
  EXPECT_EQ(vad["interrupt_response"], true);
  EXPECT_EQ(vad["create_response"], true);
  EXPECT_EQ(session["input_audio_transcription"].as_object()["model"],
            "whisper-1");
  EXPECT_EQ(session["tools"].as_array().size(), 6u);
  EXPECT_FALSE(session.contains("audio"));
  EXPECT_FALSE(session.contains("type"));
}

TEST(realtime_wire, ga_session_update_uses_audio_pcmu) {
  realtime_session_options o;
  o.ga = true;
  o.model = "gpt-realtime";
  auto session = obj(realtime_session_update(o))["session"].as_object();
  EXPECT_EQ(session["type"], "realtime");
  EXPECT_EQ(session["model"], "gpt-realtime");
  auto audio = session["audio"].as_object();
  EXPECT_EQ(audio["input"].as_object()["format"].as_object()["type"],
            "audio/pcmu");
  EXPECT_EQ(audio["output"].as_object()["format"].as_object()["type"],
            "audio/pcmu");
  EXPECT_EQ(audio["input"]
              .as_object()["turn_detection"]
              .as_object()["interrupt_response"],
            true);
  EXPECT_TRUE(audio["input"].as_object()["transcription"].is_object());
  EXPECT_FALSE(session.contains("input_audio_format"));
  EXPECT_FALSE(session.contains("modalities"));
}

TEST(realtime_wire, tools_have_json_schema_parameters) {
  auto session = obj(realtime_session_update({}))["session"].as_object();
  std::map<std::string, json::object> tools;
  for (auto& t : session["tools"].as_array()) {
    auto o = t.as_object();
    EXPECT_EQ(o["type"], "function");
    tools[json::value_to<std::string>(o["name"])] = o;
  }
  auto lead
    = tools["save_lead"]["parameters"].as_object()["properties"].as_object();
  for (auto key : {"name", "deal", "city", "rooms", "budget", "notes"})
    EXPECT_TRUE(lead.contains(key)) << key;
  EXPECT_EQ(tools["book_appointment"]["parameters"].as_object()["required"],
            json::array{"starts_at"});
  EXPECT_EQ(tools["send_whatsapp"]["parameters"].as_object()["required"],
            json::array{"text"});
  EXPECT_TRUE(tools.count("end_call"));
  EXPECT_TRUE(tools.count("transfer_call"));
  EXPECT_TRUE(tools.count("search_listings"));
}

TEST(realtime_wire, client_events) {
  auto a = obj(realtime_append(std::string(3, '\xFF')));
  EXPECT_EQ(a["type"], "input_audio_buffer.append");
  EXPECT_EQ(a["audio"], "////");
  auto t = obj(realtime_truncate("al_trunc_1", "item_9", 480));
  EXPECT_EQ(t["type"], "conversation.item.truncate");
  EXPECT_EQ(t["item_id"], "item_9");
  EXPECT_EQ(t["content_index"], 0);
  EXPECT_EQ(t["audio_end_ms"], 480);
  EXPECT_EQ(t["event_id"], "al_trunc_1");
  auto c = obj(realtime_response_cancel("al_cancel_2"));
  EXPECT_EQ(c["type"], "response.cancel");
  auto f = obj(realtime_function_output("call_1", R"({"ok":true})"));
  EXPECT_EQ(f["item"].as_object()["type"], "function_call_output");
  EXPECT_EQ(f["item"].as_object()["call_id"], "call_1");
  EXPECT_EQ(f["item"].as_object()["output"], R"({"ok":true})");
  auto u = obj(realtime_user_text("1"));
  EXPECT_EQ(u["item"].as_object()["role"], "user");
  EXPECT_EQ(obj(realtime_response_create())["type"], "response.create");
}

TEST(realtime_wire, url_appends_the_encoded_model) {
  EXPECT_EQ(realtime_url("wss://api.openai.com/v1/realtime", "gpt-realtime"),
            "wss://api.openai.com/v1/realtime?model=gpt-realtime");
  EXPECT_EQ(realtime_url("wss://h/v1/realtime?x=1", "a b&c"),
            "wss://h/v1/realtime?x=1&model=a%20b%26c");
}

TEST(realtime_wire, both_audio_event_names_parse_the_same) {
  realtime_parser p;
  realtime_event ev;
  auto payload = crypto::base64_encode(std::string(160, 'x'));
  for (auto type : {"response.audio.delta", "response.output_audio.delta"}) {
    ASSERT_TRUE(p.parse(std::string(R"({"type":")") + type
                          + R"(","response_id":"r1","item_id":"i1",)"
                            R"("output_index":0,"content_index":0,"delta":")"
                          + payload + "\"}",
                        ev))
      << p.error();
    EXPECT_EQ(ev.kind, realtime_kind::audio_delta) << type;
    EXPECT_EQ(ev.audio, std::string(160, 'x'));
    EXPECT_EQ(ev.item_id, "i1");
    EXPECT_EQ(ev.response_id, "r1");
  }
  for (auto type : {"response.audio_transcript.done",
                    "response.output_audio_transcript.done"}) {
    ASSERT_TRUE(p.parse(
      std::string(R"({"type":")") + type + R"(","transcript":"שלום"})", ev));
    EXPECT_EQ(ev.kind, realtime_kind::agent_transcript);
    EXPECT_EQ(ev.transcript, "שלום");
  }
  for (auto type : {"response.audio.done", "response.output_audio.done"}) {
    ASSERT_TRUE(p.parse(std::string(R"({"type":")") + type + "\"}", ev));
    EXPECT_EQ(ev.kind, realtime_kind::audio_done);
  }
  EXPECT_FALSE(p.parse(R"({"type":"response.audio.delta","delta":"!!"})", ev));
  EXPECT_FALSE(p.parse("[1]", ev));
  EXPECT_FALSE(p.parse("{\"type\":", ev));
}

TEST(realtime_wire, other_server_events) {
  realtime_parser p;
  realtime_event ev;
  ASSERT_TRUE(p.parse(R"({"type":"response.function_call_arguments.done",)"
                      R"("call_id":"c1","arguments":"{\"a\":1}"})",
                      ev));
  EXPECT_EQ(ev.kind, realtime_kind::function_call);
  EXPECT_EQ(ev.call_id, "c1");
  EXPECT_EQ(ev.name, "");
  EXPECT_EQ(ev.arguments, R"({"a":1})");
  ASSERT_TRUE(p.parse(R"({"type":"response.output_item.done","item":{"id":)"
                      R"("fc1","type":"function_call","call_id":"c1",)"
                      R"("name":"end_call","arguments":"{}"}})",
                      ev));
  EXPECT_EQ(ev.kind, realtime_kind::output_item);
  EXPECT_EQ(ev.item_type, "function_call");
  EXPECT_EQ(ev.name, "end_call");
  ASSERT_TRUE(p.parse(R"({"type":"response.done","response":{"id":"r2",)"
                      R"("status":"cancelled"}})",
                      ev));
  EXPECT_EQ(ev.kind, realtime_kind::response_done);
  EXPECT_EQ(ev.response_id, "r2");
  EXPECT_EQ(ev.status, "cancelled");
  ASSERT_TRUE(
    p.parse(R"({"type":"error","error":{"type":"invalid_request_error",)"
            R"("code":"response_cancel_not_active","message":"m",)"
            R"("event_id":"al_cancel_1"}})",
            ev));
  EXPECT_EQ(ev.kind, realtime_kind::error);
  EXPECT_EQ(ev.error_code, "response_cancel_not_active");
  EXPECT_EQ(ev.error_event_id, "al_cancel_1");
  ASSERT_TRUE(p.parse(R"({"type":"input_audio_buffer.speech_started",)"
                      R"("item_id":"u1","audio_start_ms":5})",
                      ev));
  EXPECT_EQ(ev.kind, realtime_kind::speech_started);
  ASSERT_TRUE(p.parse(R"({"type":"conversation.item.input_audio_transcription)"
                      R"(.completed","item_id":"u1","transcript":"כן"})",
                      ev));
  EXPECT_EQ(ev.kind, realtime_kind::caller_transcript);
  EXPECT_EQ(ev.transcript, "כן");
  ASSERT_TRUE(p.parse(R"({"type":"rate_limits.updated"})", ev));
  EXPECT_EQ(ev.kind, realtime_kind::other);
}

TEST(realtime_wire, lead_patch_from_tool_arguments) {
  std::string patch, notes;
  EXPECT_EQ(realtime_lead_patch(R"({"name":" דני ","deal":"buy","rooms":"4",)"
                                R"("budget":"2,500,000","notes":"קומה גבוהה"})",
                                patch, notes),
            "");
  auto p = obj(patch);
  EXPECT_EQ(p["name"], "דני");
  EXPECT_EQ(p["deal"], "buy");
  EXPECT_EQ(p["rooms"].to_number<double>(), 4.0);
  EXPECT_EQ(p["budget_max"], 2500000);
  EXPECT_FALSE(p.contains("notes"));
  EXPECT_EQ(notes, "קומה גבוהה");
  EXPECT_NE(realtime_lead_patch(R"({"deal":"castle"})", patch, notes), "");
  EXPECT_NE(realtime_lead_patch(R"({"rooms":-2})", patch, notes), "");
  EXPECT_NE(realtime_lead_patch(R"({"rooms":"many"})", patch, notes), "");
  EXPECT_NE(realtime_lead_patch("{}", patch, notes), "");
  EXPECT_NE(realtime_lead_patch("not json", patch, notes), "");
  EXPECT_NE(realtime_lead_patch(R"({"name":5})", patch, notes), "");
}

TEST(realtime_wire, appointment_arguments) {
  appointment_args a;
  EXPECT_EQ(realtime_appointment_args(
              R"({"starts_at":"2030-01-02T10:00:00+02:00","address":"א"})", a),
            "");
  EXPECT_FALSE(a.local);
  EXPECT_EQ(a.address, "א");
  EXPECT_EQ(realtime_appointment_args(R"({"starts_at":"2030-01-02T10:00"})", a),
            "");
  EXPECT_TRUE(a.local);
  EXPECT_NE(realtime_appointment_args(R"({"starts_at":"tomorrow"})", a), "");
  EXPECT_NE(realtime_appointment_args(R"({"address":"x"})", a), "");
  std::string text;
  EXPECT_EQ(realtime_whatsapp_text(R"({"text":"שלום"})", text), "");
  EXPECT_EQ(text, "שלום");
  EXPECT_NE(realtime_whatsapp_text(R"({"text":""})", text), "");
  EXPECT_NE(realtime_whatsapp_text(
              R"({"text":")" + std::string(2000, 'a') + "\"}", text),
            "");
}

TEST(realtime_wire, summary_request_and_response) {
  EXPECT_EQ(openai_rest_url("wss://api.openai.com/v1/realtime",
                            "/chat/completions"),
            "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(openai_rest_url("ws://127.0.0.1:9/v1/realtime?x=1", "/a"),
            "http://127.0.0.1:9/v1/a");
  EXPECT_EQ(openai_rest_url("https://x/v1/realtime", "/a"), "");
  auto req = obj(summary_request(
    "gpt-4o-mini", {{"caller", "שלום"}, {"agent", "היי, במה אפשר לעזור?"}}));
  EXPECT_EQ(req["model"], "gpt-4o-mini");
  auto messages = req["messages"].as_array();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1].as_object()["content"],
            "מתקשר: שלום\nנציג: היי, במה אפשר לעזור?\n");
  // Long transcripts keep their end.
  std::vector<transcript_line> many(2000, {"caller", "abcdefghij"});
  many.push_back({"agent", "THE END"});
  auto big = obj(summary_request("m", many))["messages"]
               .as_array()[1]
               .as_object()["content"]
               .as_string();
  EXPECT_LE(big.size(), 12000u);
  EXPECT_NE(std::string_view{big}.find("THE END"), std::string_view::npos);
  EXPECT_EQ(
    summary_text(R"({"choices":[{"message":{"content":"  סיכום \n"}}]})"),
    "סיכום");
  EXPECT_FALSE(summary_text(R"({"choices":[]})"));
  EXPECT_FALSE(summary_text(R"({"choices":[{"message":{"content":" "}}]})"));
  EXPECT_FALSE(summary_text("<html>"));
}

TEST(realtime_wire, instructions_and_redaction) {
  auto i = realtime_instructions("משרד", "PROMPT", "שלום, במה אפשר לעזור?",
                                 "שם: דני");
  EXPECT_EQ(i.rfind("PROMPT", 0), 0u);
  EXPECT_NE(i.find("שלום, במה אפשר לעזור?"), std::string::npos);
  EXPECT_NE(i.find("שם: דני"), std::string::npos);
  EXPECT_NE(i.find("save_lead"), std::string::npos);
  auto d = realtime_instructions("משרד", "", "", "");
  EXPECT_NE(d.find("משרד"), std::string::npos);
  EXPECT_EQ(redact("key sk-1 and sk-1!", "sk-1"), "key *** and ***!");
  EXPECT_EQ(redact("nothing", ""), "nothing");
}
