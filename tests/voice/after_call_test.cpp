// After every call (SPEC §7): a durable job writes the transcript (the local
// engine's prompts and the caller's turns through a fake STT server), a
// summary with fields (a fake chat server, strict JSON schema) and the
// call.completed webhook; failures are retried with backoff, then failed;
// two instances on one database run a job once.
//
// One test drives a whole local-engine call (real time, ~15 s); the others
// seed the rows such a call leaves behind (seed_ended_call) and test what
// the job does with them.
#include "actors/voice_cache.hpp"
#include "core/wav.hpp"
#include "tests/support/app_fixture.hpp"
#include "tests/support/audio_rows.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/support/media_client.hpp"
#include "transport/services.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <regex>
#include <thread>

using namespace al;
using namespace al::test;
using namespace std::chrono_literals;

namespace {

namespace json = boost::json;

const std::string caller = "+972501234567";
const std::string office = "+97231234567";
const std::string openai_key = "sk-test-AFTERCALL-4b1e9f";
const std::string stt_key = "stt-test-KEY-77aa";

/// A scripted provider: answers from a queue (the last answer repeats);
/// counts requests per path.
struct scripted {
  struct answer {
    http::status status = http::status::ok;
    std::string body;
  };
  std::mutex mtx;
  std::deque<answer> queue;
  answer last{http::status::ok, "{}"};
  fake_http_server server;

  scripted()
    : server([this](const fake_http_server::request&) {
      answer a;
      {
        std::lock_guard<std::mutex> g{mtx};
        if (!queue.empty()) {
          last = queue.front();
          queue.pop_front();
        }
        a = last;
      }
      return fake_http_server::reply(a.status, a.body);
    }) {}

  void push(http::status s, std::string body) {
    std::lock_guard<std::mutex> g{mtx};
    queue.push_back({s, std::move(body)});
  }

  std::size_t count() const {
    return server.request_count();
  }
};

std::string stt_text(const std::string& text) {
  return json::serialize(json::object{{"text", text}});
}

json::object summary_object() {
  return json::object{{"summary", "מחפש דירת 4 חדרים להשכרה בחיפה"},
                      {"deal", "rent"},
                      {"city", "חיפה"},
                      {"rooms", 4},
                      {"budget", 6500},
                      {"callback_time", "מחר בעשר"},
                      {"next_step", "לשלוח הצעות מתאימות"},
                      {"sentiment", "positive"}};
}

std::string chat_answer(const json::object& summary = summary_object()) {
  return json::serialize(json::object{
    {"id", "chatcmpl-1"},
    {"object", "chat.completion"},
    {"choices",
     json::array{json::object{
       {"index", 0},
       {"message", json::object{{"role", "assistant"},
                                {"content", json::serialize(summary)}}},
       {"finish_reason", "stop"}}}}});
}

config after_call_config(scripted* stt, scripted* chat) {
  auto cfg = test_config();
  cfg.voice_engine = "local"; // a key, but the scripted dialogue
  if (chat) {
    cfg.openai_api_key = openai_key;
    cfg.openai_api_base = chat->server.base_url() + "/v1";
  }
  if (stt) {
    cfg.stt_api_base = stt->server.base_url() + "/v1";
    cfg.stt_api_key = stt_key;
  }
  return cfg;
}

/// A local-engine call: greeting, the caller speaks (turn 1), "when should
/// we call back?", the caller speaks (turn 2), goodbye, hang-up.
struct local_call {
  media_client ws;
  std::string sid;
  std::string stream;

  local_call(running_app& app, const std::string& call_sid)
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
    EXPECT_TRUE(ws.connect(app.port(), "/ws/twilio-media").ok);
    ws.send_connected();
    ws.send_start(stream, sid,
                  {{"call_token", param_value(twiml.body, "call_token")}});
  }

  bool play_through(int n) {
    auto name = "u" + std::to_string(n);
    bool ok = ws.wait_for(
      [&](auto& msgs) {
        for (auto& m : msgs)
          if (event_of(m.text) == "mark" && field_of(m.text, "name") == name)
            return true;
        return false;
      },
      15s);
    if (ok)
      ws.send_mark(stream, name);
    return ok;
  }

  void turn() {
    auto speech = tone_frames(25);
    for (int i = 0; i < 25; ++i)
      ws.send_media(stream, speech.substr(i * 160, 160));
    auto quiet = silence_frames(30);
    for (int i = 0; i < 30; ++i)
      ws.send_media(stream, quiet.substr(i * 160, 160));
  }

  /// The whole dialogue; true once the server closed the stream.
  bool run() {
    if (!play_through(1))
      return false;
    turn();
    if (!play_through(2))
      return false;
    turn();
    if (!play_through(3))
      return false;
    return ws.wait_closed(10s);
  }
};

std::string job_status(const config& cfg, const std::string& sid) {
  return sql_value(cfg, "SELECT status FROM after_call_jobs WHERE call_sid = '"
                          + sid + "'");
}

bool job_ends(const config& cfg, const std::string& sid,
              const std::string& status, std::chrono::milliseconds t = 20s) {
  return eventually([&] { return job_status(cfg, sid) == status; }, t);
}

std::string token_for(running_app& app, const std::string& role) {
  auto r = api_call(app.port(), "POST", "/api/admin/tokens",
                    app.cfg().admin_token,
                    json::serialize(json::object{
                      {"business_id", 1}, {"role", role}, {"name", role}}));
  EXPECT_EQ(r.status, 201) << r.body;
  return json::value_to<std::string>(json::parse(r.body).at("token"));
}

json::object get_call(running_app& app, const std::string& sid) {
  auto r = api_call(app.port(), "GET", "/api/crm/calls/" + sid,
                    token_for(app, "read_only"));
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body).as_object();
}

/// "role:text" lines of the call's transcript, in order (without the
/// record_calls notice, which depends on the business's setting).
std::vector<std::string> transcript(const json::object& call) {
  std::vector<std::string> out;
  for (auto& l : call.at("transcript").as_array()) {
    auto& o = l.as_object();
    auto line = json::value_to<std::string>(o.at("role")) + ":"
                + json::value_to<std::string>(o.at("text"));
    if (line != std::string{"agent:"} + prompts::recording_notice)
      out.push_back(std::move(line));
  }
  return out;
}

/// What the caller did in a turn of the local dialogue: spoke (a WAV
/// segment of audio), or pressed a key.
struct caller_act {
  std::string digit; // empty: speech
};
const caller_act spoke{};
caller_act pressed(std::string digit) {
  return {std::move(digit)};
}

std::string sql_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out.push_back(c);
    if (c == '\'')
      out.push_back('\'');
  }
  return out + "'";
}

/// The rows a local-engine call of business 1 from `caller` leaves when the
/// dialogue ended normally (as written by actors/call.cpp and
/// actors/call_rows.cpp, with record_calls on): the lead (the caller's, an
/// existing one linked), the completed calls row, the call actor's events
/// (greeting, recording notice, turn 1, "when should we call back?", turn
/// 2, goodbye, finished), each spoken turn's WAV segment in call_audio, and
/// last the after-call job marked ready the way the hang-up marks it, due
/// now; the job actor's poll (AFTER_CALL_POLL_MS, 100 ms in tests) claims
/// it.
void seed_ended_call(const config& cfg, const std::string& sid,
                     const std::vector<caller_act>& turns = {spoke, spoke}) {
  ASSERT_EQ(turns.size(), 2u) << "the local dialogue has two caller turns";
  // The dialogue's answers, as its "finished" event and the hang-up's lead
  // update have them.
  std::string deal;
  if (turns[0].digit == "1")
    deal = "buy";
  else if (turns[0].digit == "2")
    deal = "rent";
  else if (turns[0].digit == "3")
    deal = "sell";
  std::string callback = turns[1].digit.empty() ? "spoken"
                                                : "dtmf:" + turns[1].digit;

  sql_value(cfg, "INSERT INTO leads (business_id, phone, source, status)"
                 " VALUES (1, "
                   + sql_quote(caller)
                   + ", 'call', 'new')"
                     " ON CONFLICT (business_id, phone) WHERE phone IS NOT NULL"
                     " DO NOTHING");
  sql_value(cfg, "UPDATE leads SET deal = coalesce(nullif(" + sql_quote(deal)
                   + ", ''), deal), callback_at ="
                     " coalesce(nullif("
                   + sql_quote(callback)
                   + ", ''), callback_at), updated_at = now()"
                     " WHERE business_id = 1 AND phone = "
                   + sql_quote(caller));
  sql_value(cfg, "INSERT INTO calls (business_id, call_sid, stream_sid,"
                 " from_number, to_number, status, engine, lead_id,"
                 " ended_normally, end_reason, created_at, started_at,"
                 " ended_at) VALUES (1, "
                   + sql_quote(sid) + ", " + sql_quote("MZ" + sid) + ", "
                   + sql_quote(caller) + ", " + sql_quote(office)
                   + ", 'completed', 'local',"
                     " (SELECT id FROM leads WHERE business_id = 1 AND phone = "
                   + sql_quote(caller)
                   + "), TRUE, 'dialogue complete',"
                     " now() - interval '18 seconds',"
                     " now() - interval '17 seconds', now())");

  std::vector<std::pair<std::string, json::object>> events{
    {"stream_start", {{"stream_sid", "MZ" + sid}}},
    {"utterance", {{"mark", "greeting"}, {"what", "greeting"}}},
    {"utterance", {{"mark", "u1"}, {"what", "recording_notice"}}}};
  int segment = 0;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    if (turns[i].digit.empty()) {
      ++segment;
      sql_value(cfg, audio_insert_sql(1, sid, "segment", segment, "audio/wav",
                                      mulaw_wav(tone_frames(49)), 980));
      events.push_back({"caller_turn", {{"segment", segment}}});
    } else {
      events.push_back({"dtmf", {{"digit", turns[i].digit}}});
    }
    events.push_back(
      {"utterance",
       {{"mark", "u" + std::to_string(i + 2)},
        {"what", i + 1 < turns.size() ? "ask_callback" : "goodbye"}}});
  }
  events.push_back({"finished", {{"deal", deal}, {"callback", callback}}});
  std::string values;
  for (std::size_t i = 0; i < events.size(); ++i)
    values += std::string{i ? ", " : ""} + "(1, " + sql_quote(sid) + ", "
              + std::to_string(i + 1) + ", " + sql_quote(events[i].first) + ", "
              + sql_quote(json::serialize(events[i].second)) + "::jsonb)";
  sql_value(cfg, "INSERT INTO call_events (business_id, call_sid, seq, kind,"
                 " detail) VALUES "
                   + values);

  // Last, as the hang-up writes it: the job, ready and due.
  sql_value(cfg, "INSERT INTO after_call_jobs (call_sid, business_id, ready)"
                 " VALUES ("
                   + sql_quote(sid) + ", 1, TRUE)");
}
} // namespace

TEST(after_call, a_local_call_gets_a_transcript_summary_fields_and_webhook) {
  scripted stt, chat;
  stt.push(http::status::ok, stt_text("אני מחפש דירה להשכרה בחיפה"));
  stt.push(http::status::ok, stt_text("מחר בעשר"));
  chat.push(http::status::ok, chat_answer());
  auto cfg = after_call_config(&stt, &chat);
  running_app app{cfg};
  // No recording notice (not what this tests): a shorter call.
  sql_value(cfg, "UPDATE businesses SET webhook_url = 'http://127.0.0.1:9/h',"
                 " record_calls = false WHERE id = 1 RETURNING id");
  local_call call{app, "CAacFull"};
  ASSERT_TRUE(call.run());
  ASSERT_TRUE(job_ends(cfg, call.sid, "done"))
    << sql_value(cfg, "SELECT last_error FROM after_call_jobs");

  // Caller turns from the STT server, prompts from the dialogue, in order.
  auto c = get_call(app, call.sid);
  auto lines = transcript(c);
  ASSERT_EQ(lines.size(), 5u) << json::serialize(c.at("transcript"));
  EXPECT_EQ(lines[0].rfind("agent:", 0), 0u);
  EXPECT_NE(lines[0].find("הגעתם למשרד התיווך"), std::string::npos);
  EXPECT_EQ(lines[1], "caller:אני מחפש דירה להשכרה בחיפה");
  EXPECT_EQ(lines[2], "agent:תודה. מתי יהיה לכם נוח שנחזור אליכם?");
  EXPECT_EQ(lines[3], "caller:מחר בעשר");
  EXPECT_EQ(lines[4], "agent:תודה רבה! נציג יחזור אליכם בהקדם. להתראות.");

  // The uploads: multipart with the WAV, the model, Hebrew, the STT key.
  auto uploads = stt.server.requests();
  ASSERT_EQ(uploads.size(), 2u);
  auto& up = uploads[0];
  EXPECT_EQ(up.target(), "/v1/audio/transcriptions");
  EXPECT_EQ(std::string{up[http::field::authorization]}, "Bearer " + stt_key);
  auto ct = std::string{up[http::field::content_type]};
  ASSERT_EQ(ct.rfind("multipart/form-data; boundary=", 0), 0u) << ct;
  auto& body = up.body();
  EXPECT_NE(body.find("name=\"file\"; filename=\""), std::string::npos);
  EXPECT_NE(body.find("Content-Type: audio/wav\r\n\r\nRIFF"),
            std::string::npos);
  EXPECT_NE(body.find("name=\"model\"\r\n\r\nwhisper-1\r\n"),
            std::string::npos);
  EXPECT_NE(body.find("name=\"language\"\r\n\r\nhe\r\n"), std::string::npos);
  EXPECT_NE(body.find("name=\"response_format\"\r\n\r\njson\r\n"),
            std::string::npos);

  // The summary request: the transcript and the strict schema.
  auto asked = chat.server.requests();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].target(), "/v1/chat/completions");
  EXPECT_EQ(std::string{asked[0][http::field::authorization]},
            "Bearer " + openai_key);
  auto req = json::parse(asked[0].body()).as_object();
  EXPECT_EQ(req.at("model"), json::value(cfg.openai_text_model));
  EXPECT_EQ(req.at("response_format").at("json_schema").at("name"),
            "call_summary");
  auto user = json::value_to<std::string>(
    req.at("messages").as_array()[1].at("content"));
  EXPECT_NE(user.find("מתקשר: מחר בעשר"), std::string::npos) << user;

  // On the call, in the API, and on the lead.
  EXPECT_EQ(c.at("summary"), "מחפש דירת 4 חדרים להשכרה בחיפה");
  auto& f = c.at("summary_fields").as_object();
  EXPECT_EQ(f.at("deal"), "rent");
  EXPECT_EQ(f.at("city"), "חיפה");
  EXPECT_EQ(f.at("rooms").to_number<double>(), 4.0);
  EXPECT_EQ(f.at("budget").to_number<std::int64_t>(), 6500);
  EXPECT_EQ(f.at("callback_time"), "מחר בעשר");
  EXPECT_EQ(f.at("sentiment"), "positive");
  auto& ac = c.at("after_call").as_object();
  EXPECT_EQ(ac.at("status"), "done");
  EXPECT_EQ(ac.at("attempts").to_number<std::int64_t>(), 1);
  EXPECT_TRUE(ac.at("error").is_null());
  EXPECT_EQ(sql_value(cfg, "SELECT city || '|' || rooms || '|' || budget_max"
                           " || '|' || callback_at FROM leads"),
            "חיפה|4.0|6500|מחר בעשר");
  EXPECT_EQ(sql_value(cfg, "SELECT body FROM lead_notes WHERE author = 'ai'"),
            "סיכום שיחה: מחפש דירת 4 חדרים להשכרה בחיפה");

  // The webhook, queued with the job's end.
  auto hook = sql_value(cfg, "SELECT body FROM webhook_outbox"
                             " WHERE event = 'call.completed'");
  ASSERT_FALSE(hook.empty());
  auto data = json::parse(hook).at("data").as_object();
  EXPECT_EQ(data.at("call_sid"), json::value(call.sid));
  EXPECT_EQ(data.at("from"), json::value(caller));
  EXPECT_EQ(data.at("summary"), "מחפש דירת 4 חדרים להשכרה בחיפה");
  EXPECT_EQ(data.at("summary_fields").at("city"), "חיפה");
  auto hook_lines = data.at("transcript").as_array();
  ASSERT_GE(hook_lines.size(), 5u);
  EXPECT_EQ(hook_lines.back().at("text"), lines[4].substr(6).c_str());
  EXPECT_EQ(hook_lines[hook_lines.size() - 2].at("text"), "מחר בעשר");
  EXPECT_TRUE(data.contains("recording_url"));
  EXPECT_TRUE(data.contains("duration_s"));

  // Nothing of the keys in any stored error or event.
  EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM call_events WHERE"
                           " detail::text LIKE '%"
                             + stt_key + "%'"),
            "0");
}

TEST(after_call, an_agent_typed_field_is_kept_and_an_empty_one_filled) {
  scripted stt, chat;
  stt.push(http::status::ok, stt_text("דירה בחיפה"));
  stt.push(http::status::ok, stt_text("מחר"));
  chat.push(http::status::ok, chat_answer());
  auto cfg = after_call_config(&stt, &chat);
  running_app app{cfg};
  // The agent typed the city and a budget already.
  sql_value(cfg, "INSERT INTO leads (business_id, phone, source, city,"
                 " budget_min) VALUES (1, '"
                   + caller
                   + "', 'manual',"
                     " 'תל אביב', 5000) RETURNING id");
  ASSERT_NO_FATAL_FAILURE(seed_ended_call(cfg, "CAacKeep"));
  ASSERT_TRUE(job_ends(cfg, "CAacKeep", "done"));
  EXPECT_EQ(sql_value(cfg, "SELECT city FROM leads"), "תל אביב");
  EXPECT_EQ(sql_value(cfg, "SELECT budget_min || '|' ||"
                           " coalesce(budget_max::text, 'null') FROM leads"),
            "5000|null");
  EXPECT_EQ(sql_value(cfg, "SELECT rooms FROM leads"), "4.0");
  EXPECT_EQ(sql_value(cfg, "SELECT callback_at FROM leads"), "מחר בעשר");
  // The call keeps what the model heard.
  EXPECT_EQ(sql_value(cfg, "SELECT summary_fields->>'city' FROM calls"),
            "חיפה");
}

TEST(after_call, a_5xx_is_retried_then_done) {
  scripted stt, chat;
  stt.push(http::status::service_unavailable, R"({"error":"busy"})");
  stt.push(http::status::ok, stt_text("שלום"));
  stt.push(http::status::ok, stt_text("מחר"));
  chat.push(http::status::bad_gateway, "<html>502</html>");
  chat.push(http::status::ok, chat_answer());
  auto cfg = after_call_config(&stt, &chat);
  running_app app{cfg};
  ASSERT_NO_FATAL_FAILURE(seed_ended_call(cfg, "CAacRetry"));
  ASSERT_TRUE(job_ends(cfg, "CAacRetry", "done"))
    << sql_value(cfg, "SELECT last_error FROM after_call_jobs");
  EXPECT_EQ(sql_value(cfg, "SELECT attempts FROM after_call_jobs"), "3");
  EXPECT_EQ(stt.count(), 3u); // the stored line is not asked again
  EXPECT_EQ(chat.count(), 2u);
  auto c = get_call(app, "CAacRetry");
  EXPECT_EQ(transcript(c).size(), 5u);
  EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM call_events WHERE kind ="
                           " 'transcript' AND detail->>'text' NOT LIKE"
                           " 'השיחה מוקלטת%'"),
            "5");
  EXPECT_TRUE(c.at("after_call").at("error").is_null());
  EXPECT_EQ(app.svc().m.after_call_jobs.Add({{"result", "retried"}}).Value(),
            2);
  EXPECT_EQ(app.svc().m.after_call_jobs.Add({{"result", "done"}}).Value(), 1);
}

TEST(after_call, a_timeout_is_retried) {
  scripted stt, chat;
  stt.push(http::status::ok, stt_text("שלום"));
  stt.push(http::status::ok, stt_text("מחר"));
  chat.push(http::status::ok, chat_answer());
  stt.server.set_delay(5s); // far longer than the timeout
  auto cfg = after_call_config(&stt, &chat);
  cfg.after_call_http_timeout = 300ms;
  cfg.after_call_retry_base = std::chrono::hours(1); // the test says when
  running_app app{cfg};
  ASSERT_NO_FATAL_FAILURE(seed_ended_call(cfg, "CAacSlow"));
  ASSERT_TRUE(eventually(
    [&] {
      return sql_value(cfg, "SELECT status || '|' || last_error FROM"
                            " after_call_jobs")
             == "pending|stt: timeout";
    },
    20s))
    << sql_value(cfg, "SELECT last_error FROM after_call_jobs");
  EXPECT_EQ(sql_value(cfg, "SELECT next_at > now() + interval '10 minutes'"
                           " FROM after_call_jobs"),
            "t"); // backed off
  // The provider is fast again; the retry is due now.
  stt.server.set_delay(0ms);
  sql_value(cfg, "UPDATE after_call_jobs SET next_at = now() RETURNING 1");
  ASSERT_TRUE(job_ends(cfg, "CAacSlow", "done"))
    << sql_value(cfg, "SELECT last_error FROM after_call_jobs");
  EXPECT_EQ(sql_value(cfg, "SELECT attempts FROM after_call_jobs"), "2");
  EXPECT_EQ(sql_value(cfg, "SELECT summary FROM calls"),
            "מחפש דירת 4 חדרים להשכרה בחיפה");
}

TEST(after_call, always_5xx_fails_and_shows_in_the_api) {
  scripted stt, chat;
  stt.push(http::status::internal_server_error,
           R"({"error":"echo )" + stt_key + "\"}");
  auto cfg = after_call_config(&stt, &chat);
  cfg.after_call_max_attempts = 3;
  running_app app{cfg};
  sql_value(cfg, "UPDATE businesses SET webhook_url = 'http://127.0.0.1:9/h'"
                 " WHERE id = 1 RETURNING id");
  ASSERT_NO_FATAL_FAILURE(seed_ended_call(cfg, "CAacFail"));
  ASSERT_TRUE(job_ends(cfg, "CAacFail", "failed"));
  EXPECT_EQ(stt.count(), 3u);
  EXPECT_EQ(chat.count(), 0u);
  auto c = get_call(app, "CAacFail");
  auto& ac = c.at("after_call").as_object();
  EXPECT_EQ(ac.at("status"), "failed");
  EXPECT_EQ(ac.at("attempts").to_number<std::int64_t>(), 3);
  EXPECT_EQ(ac.at("error"), "stt: HTTP 500");
  EXPECT_TRUE(c.at("summary_fields").is_null());
  // The prompts are still in the transcript; the webhook still goes.
  EXPECT_EQ(transcript(c).size(), 3u);
  EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM webhook_outbox WHERE event ="
                           " 'call.completed'"),
            "1");
  EXPECT_EQ(app.svc().m.after_call_jobs.Add({{"result", "failed"}}).Value(), 1);
}

TEST(after_call, a_4xx_fails_at_once) {
  scripted stt, chat;
  stt.push(http::status::ok, stt_text("שלום"));
  stt.push(http::status::ok, stt_text("מחר"));
  chat.push(http::status::bad_request, R"({"error":{"message":"bad schema"}})");
  auto cfg = after_call_config(&stt, &chat);
  running_app app{cfg};
  ASSERT_NO_FATAL_FAILURE(seed_ended_call(cfg, "CAac400"));
  ASSERT_TRUE(job_ends(cfg, "CAac400", "failed"));
  EXPECT_EQ(sql_value(cfg, "SELECT attempts || '|' || last_error"
                           " FROM after_call_jobs"),
            "1|summary: HTTP 400");
  EXPECT_EQ(chat.count(), 1u);
  // The caller's lines were kept.
  EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM call_events WHERE kind ="
                           " 'transcript' AND detail->>'text' NOT LIKE"
                           " 'השיחה מוקלטת%'"),
            "5");
}

TEST(after_call, a_summary_that_breaks_the_schema_is_retried) {
  scripted stt, chat;
  stt.push(http::status::ok, stt_text("שלום"));
  stt.push(http::status::ok, stt_text("מחר"));
  auto bad = summary_object();
  bad["deal"] = "steal";
  chat.push(http::status::ok, chat_answer(bad));
  chat.push(http::status::ok, chat_answer());
  auto cfg = after_call_config(&stt, &chat);
  running_app app{cfg};
  ASSERT_NO_FATAL_FAILURE(seed_ended_call(cfg, "CAacBad"));
  ASSERT_TRUE(job_ends(cfg, "CAacBad", "done"));
  EXPECT_EQ(chat.count(), 2u);
  EXPECT_EQ(sql_value(cfg, "SELECT summary_fields->>'deal' FROM calls"),
            "rent");
}

TEST(after_call, two_instances_run_a_job_once) {
  scripted stt, chat;
  stt.push(http::status::ok, stt_text("שלום"));
  stt.push(http::status::ok, stt_text("מחר"));
  chat.push(http::status::ok, chat_answer());
  auto cfg = after_call_config(&stt, &chat);
  running_app a{cfg};
  running_app b{cfg}; // the same database
  // Both poll for due jobs; the call ended on neither in particular.
  ASSERT_NO_FATAL_FAILURE(seed_ended_call(cfg, "CAacTwo"));
  ASSERT_TRUE(job_ends(cfg, "CAacTwo", "done"));
  // Each claim counts an attempt: one attempt means one claim ever (a done
  // job is never claimed again), so nobody else is still at work on it.
  EXPECT_EQ(sql_value(cfg, "SELECT attempts FROM after_call_jobs"), "1");
  EXPECT_EQ(stt.count(), 2u);
  EXPECT_EQ(chat.count(), 1u);
  EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM lead_notes"), "1");
  EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM call_events WHERE kind ="
                           " 'transcript' AND detail->>'text' NOT LIKE"
                           " 'השיחה מוקלטת%'"),
            "5");
}

TEST(after_call, a_job_left_by_a_dead_instance_is_taken_over) {
  scripted stt, chat;
  chat.push(http::status::ok, chat_answer());
  auto cfg = after_call_config(&stt, &chat);
  running_app app{cfg};
  // A call that ended with no stream, claimed by an instance that died.
  sql_value(cfg, "INSERT INTO calls (business_id, call_sid, from_number,"
                 " to_number, status) VALUES (1, 'CAacDead', '"
                   + caller + "', '" + office + "', 'busy') RETURNING id");
  sql_value(cfg, "INSERT INTO after_call_jobs (call_sid, business_id,"
                 " status, attempts, ready, lease_until, lease_token)"
                 " VALUES ('CAacDead', 1, 'running', 1, TRUE,"
                 " now() + interval '1 second', 'dead:CAacDead')"
                 " RETURNING call_sid");
  // Not before its lease ran out; then once, by this instance.
  ASSERT_TRUE(job_ends(cfg, "CAacDead", "done"));
  EXPECT_EQ(sql_value(cfg, "SELECT attempts FROM after_call_jobs"), "2");
  // Nothing said: a scripted summary, no model asked.
  EXPECT_EQ(chat.count(), 0u);
  EXPECT_FALSE(sql_value(cfg, "SELECT summary FROM calls").empty());
  EXPECT_EQ(sql_value(cfg, "SELECT summary_fields->>'source' FROM calls"),
            "script");
}

TEST(after_call, without_a_key_the_dialogue_answers_make_the_summary) {
  auto cfg = after_call_config(nullptr, nullptr);
  running_app app{cfg};
  // The caller answered with keys: 2 (rent), then 1.
  ASSERT_NO_FATAL_FAILURE(
    seed_ended_call(cfg, "CAacNoKey", {pressed("2"), pressed("1")}));
  ASSERT_TRUE(job_ends(cfg, "CAacNoKey", "done"));
  auto c = get_call(app, "CAacNoKey");
  auto summary = json::value_to<std::string>(c.at("summary"));
  EXPECT_NE(summary.find("שכירות"), std::string::npos) << summary;
  EXPECT_EQ(c.at("summary_fields").at("deal"), "rent");
  EXPECT_EQ(c.at("summary_fields").at("source"), "script");
  auto lines = transcript(c);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[1], "caller:(הקשה: 2)");
  EXPECT_EQ(lines[3], "caller:(הקשה: 1)");
  // The dialogue's own answers stay on the lead; no AI note.
  EXPECT_EQ(sql_value(cfg, "SELECT deal || '|' || callback_at FROM leads"),
            "rent|dtmf:1");
  EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM lead_notes"), "0");
}

TEST(after_call, a_call_that_has_not_ended_has_no_job) {
  auto cfg = after_call_config(nullptr, nullptr);
  running_app app{cfg};
  local_call call{app, "CAacLive"};
  // Live: streaming, the greeting on its way (no need to hear it out).
  ASSERT_TRUE(eventually(
    [&] {
      return sql_value(cfg, "SELECT c.status || '|' || (count(e.id) > 0)"
                            " FROM calls c LEFT JOIN call_events e ON"
                            " e.call_sid = c.call_sid AND e.kind = 'utterance'"
                            " WHERE c.call_sid = '"
                              + call.sid + "' GROUP BY c.status")
             == "in-progress|true";
    },
    15s));
  // The job row is written by the transaction that ends the call, so while
  // the call is live there is none (no waiting needed to see "nothing").
  auto c = get_call(app, call.sid);
  EXPECT_TRUE(c.at("after_call").is_null());
  EXPECT_TRUE(c.at("summary_fields").is_null());
  EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM after_call_jobs"), "0");
  call.ws.send_stop(call.stream, call.sid); // the caller hangs up
  ASSERT_TRUE(job_ends(cfg, call.sid, "done"));
  EXPECT_EQ(get_call(app, call.sid).at("after_call").at("status"), "done");
}
