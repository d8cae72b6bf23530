// Calls (+ audio), appointments, pipeline, notes, tasks, messages and the
// token's business under /api/crm/*.
#include "tests/crm/crm_support.hpp"
#include "tests/support/audio_rows.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace al::test {
namespace {

namespace fs = std::filesystem;

class Records : public ::testing::Test {
protected:
  void SetUp() override {
    owner = crm.new_token(1, "owner").token;
    agent = crm.new_token(1, "agent").token;
    reader = crm.new_token(1, "read_only").token;
  }

  crm_app crm;
  std::string owner, agent, reader;
};

TEST_F(Records, CallsListDetailAndAudio) {
  auto lead = crm.new_lead(agent, R"({"name":"caller","phone":"0501234567"})");
  crm.sql("INSERT INTO calls (business_id, call_sid, from_number, to_number,"
          " status, lead_id, started_at, ended_at, ended_normally, created_at)"
          " VALUES (1, 'CA1', '+972501234567', '+97231234567', 'completed', "
          + std::to_string(lead)
          + ", now() - interval '65 seconds', now() - interval '5 seconds',"
            " true, now() - interval '70 seconds'),"
            " (1, 'CA2', '+972509999999', '+97231234567', 'in-progress', NULL,"
            " now(), NULL, false, now())");
  // Events inserted out of order; the API orders them by seq.
  crm.sql(
    "INSERT INTO call_events (business_id, call_sid, seq, kind, detail)"
    " VALUES (1, 'CA1', 3, 'dtmf', '{\"digit\":\"1\"}'),"
    " (1, 'CA1', 1, 'stream_start', '{}'),"
    " (1, 'CA1', 4, 'transcript', '{\"role\":\"agent\",\"text\":\"תודה\"}'),"
    " (1, 'CA1', 2, 'transcript', '{\"role\":\"caller\",\"text\":\"שלום\"}')");
  // Audio is kept in the database (tests/crm/audio_test.cpp has the rest).
  static const char raw0[] = "RIFF\x24\x00\x00\x00WAVEfmt segment zero";
  static const char raw1[] = "RIFF\0\0\0\0WAVE one";
  std::string wav0(raw0, sizeof raw0 - 1), wav1(raw1, sizeof raw1 - 1);
  crm.sql(audio_insert_sql(1, "CA1", "segment", 1, "audio/wav", wav1, 900));
  crm.sql(audio_insert_sql(1, "CA1", "segment", 0, "audio/wav", wav0, 1200));
  crm.sql(
    audio_insert_sql(1, "CA1", "recording", 0, "audio/mpeg", "ID3 mp3 bytes"));
  // Not complete yet (a streamed object): neither listed nor served.
  crm.sql(audio_insert_sql(1, "CA1", "segment", 8, "audio/wav", "SECRET"));
  crm.sql("UPDATE call_audio SET complete = false WHERE seq = 8");

  auto l = crm.call("GET", "/api/crm/calls", reader);
  ASSERT_EQ(l.status, 200) << l.body;
  EXPECT_EQ(l.int_at("total"), 2);
  EXPECT_EQ(l.items()[0].at("sid").as_string(), "CA2"); // newest first
  EXPECT_EQ(
    crm.call("GET", "/api/crm/calls?status=completed", reader).items().size(),
    1u);
  auto f = crm.call("GET", "/api/crm/calls?from=050-123-4567", reader);
  ASSERT_EQ(f.items().size(), 1u);
  EXPECT_EQ(f.items()[0].at("sid").as_string(), "CA1");
  EXPECT_EQ(crm.call("GET", "/api/crm/calls?status=in-progress", reader)
              .int_at("total"),
            1);
  EXPECT_EQ(
    crm.call("GET", "/api/crm/calls?lead_id=" + std::to_string(lead), reader)
      .int_at("total"),
    1);
  EXPECT_EQ(crm.call("GET", "/api/crm/calls?from=abc", reader).status, 400);
  EXPECT_EQ(crm.call("GET", "/api/crm/calls?per_page=0", reader).status, 400);

  auto d = crm.call("GET", "/api/crm/calls/CA1", reader);
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(d.int_at("lead_id"), lead);
  EXPECT_NEAR(d.obj().at("duration_s").as_double(), 60.0, 1.0);
  auto& ev = d.obj().at("events").as_array();
  ASSERT_EQ(ev.size(), 4u);
  for (std::size_t i = 0; i < ev.size(); ++i)
    EXPECT_EQ(ev[i].at("seq").as_int64(), static_cast<std::int64_t>(i + 1));
  EXPECT_EQ(ev[2].at("detail").at("digit").as_string(), "1");
  auto& tr = d.obj().at("transcript").as_array();
  ASSERT_EQ(tr.size(), 2u);
  EXPECT_EQ(tr[0].at("role").as_string(), "caller");
  EXPECT_EQ(tr[0].at("text").as_string(), "שלום");
  EXPECT_EQ(tr[1].at("text").as_string(), "תודה");
  auto& seg = d.obj().at("segments").as_array();
  ASSERT_EQ(seg.size(), 2u);
  EXPECT_EQ(seg[0].at("url").as_string(), "/api/crm/calls/CA1/segments/0");
  EXPECT_EQ(seg[0].at("duration_ms").as_int64(), 1200);
  EXPECT_EQ(d.str_at("recording_url"), "/api/crm/calls/CA1/recording");

  auto a = crm.call("GET", std::string{seg[0].at("url").as_string()}, reader);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.content_type, "audio/wav");
  EXPECT_EQ(a.body, wav0);
  a = crm.call("GET", "/api/crm/calls/CA1/segments/1", reader);
  EXPECT_EQ(a.body, wav1);
  a = crm.call("GET", "/api/crm/calls/CA1/recording", reader);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.content_type, "audio/mpeg");
  EXPECT_EQ(a.body, "ID3 mp3 bytes");
  // Unknown, incomplete and malformed segments.
  for (auto seq : {"5", "6", "7", "8", "9", "2", "x", "-1"}) {
    auto e = crm.call("GET", std::string{"/api/crm/calls/CA1/segments/"} + seq,
                      reader);
    EXPECT_EQ(e.status, 404) << seq;
    EXPECT_EQ(e.body.find("SECRET"), std::string::npos);
  }
  EXPECT_EQ(crm.call("GET", "/api/crm/calls/CA2/recording", reader).status,
            404);
  EXPECT_EQ(crm.call("GET", "/api/crm/calls/CA404", reader).status, 404);
  EXPECT_EQ(crm.call("GET", "/api/crm/calls/CA1%27--", reader).status, 404);
  // Another business sees none of it.
  auto other = crm.new_business("Other");
  auto stranger = crm.new_token(other, "owner").token;
  EXPECT_EQ(crm.call("GET", "/api/crm/calls", stranger).int_at("total"), 0);
  EXPECT_EQ(crm.call("GET", "/api/crm/calls/CA1", stranger).status, 404);
  EXPECT_EQ(crm.call("GET", "/api/crm/calls/CA1/segments/0", stranger).status,
            404);
  EXPECT_EQ(crm.call("GET", "/api/crm/calls/CA1/recording", stranger).status,
            404);
}

TEST_F(Records, Appointments) {
  auto lead = crm.new_lead(agent, R"({"name":"a"})");
  auto r = crm.call("POST", "/api/crm/appointments", agent,
                    js(json::object{{"starts_at", "2025-03-10T10:30:00+02:00"},
                                    {"address", "הרצל 1, חיפה"},
                                    {"lead_id", lead}}));
  ASSERT_EQ(r.status, 201) << r.body;
  auto id = r.int_at("id");
  EXPECT_EQ(r.str_at("starts_at"), "2025-03-10T08:30:00.000Z");
  EXPECT_EQ(r.str_at("status"), "scheduled");
  EXPECT_EQ(r.str_at("lead_name"), "a");
  // 23:30 Israel time on 2025-03-11 is 21:30Z the same day.
  ASSERT_EQ(crm
              .call("POST", "/api/crm/appointments", agent,
                    R"({"starts_at":"2025-03-11T21:30:00Z"})")
              .status,
            201);
  ASSERT_EQ(crm
              .call("POST", "/api/crm/appointments", agent,
                    R"({"starts_at":"2025-03-20T09:00:00.5+02:00"})")
              .status,
            201);

  auto list = [&](const std::string& q) {
    auto l = crm.call("GET", "/api/crm/appointments" + q, reader);
    EXPECT_EQ(l.status, 200) << q << l.body;
    return l.int_at("total");
  };
  EXPECT_EQ(list(""), 3);
  EXPECT_EQ(list("?from=2025-03-10&to=2025-03-11"), 2); // dates inclusive
  EXPECT_EQ(list("?from=2025-03-11&to=2025-03-11"), 1);
  EXPECT_EQ(list("?from=2025-03-12"), 1);
  EXPECT_EQ(list("?to=2025-03-09"), 0);
  EXPECT_EQ(list("?from=2025-03-10T09:00:00Z"), 2);
  EXPECT_EQ(list("?lead_id=" + std::to_string(lead)), 1);
  auto l = crm.call("GET", "/api/crm/appointments", reader);
  EXPECT_EQ(l.items()[0].at("id").as_int64(), id); // by time
  for (auto bad : {"?from=2025-02-30", "?from=yesterday", "?to=2025-13-01",
                   "?from=2025-03-10T10:00:00", "?status=maybe"})
    EXPECT_EQ(crm
                .call("GET", std::string{"/api/crm/appointments"} + bad, reader)
                .status,
              400)
      << bad;

  auto p = crm.call("PATCH", "/api/crm/appointments/" + std::to_string(id),
                    agent, R"({"status":"done","notes":"went well"})");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.str_at("status"), "done");
  EXPECT_EQ(p.str_at("address"), "הרצל 1, חיפה");
  EXPECT_EQ(list("?status=done"), 1);
  p = crm.call("PATCH", "/api/crm/appointments/" + std::to_string(id), agent,
               R"({"starts_at":"2025-03-12T12:00:00+03:00","lead_id":null})");
  EXPECT_EQ(p.status, 200) << p.body;
  EXPECT_TRUE(p.obj().at("lead_id").is_null());
  EXPECT_EQ(p.str_at("starts_at"), "2025-03-12T09:00:00.000Z");

  struct bad_case {
    const char* body;
    int status;
  } cases[] = {
    {R"({})", 400},
    {R"({"starts_at":"2025-03-10 10:30"})", 400},     // no offset
    {R"({"starts_at":"2025-02-29T10:00:00Z"})", 400}, // not a leap year
    {R"({"starts_at":"2025-03-10T25:00:00Z"})", 400},
    {R"({"starts_at":20250310})", 400},
    {R"({"starts_at":"2025-03-10T10:00:00Z","status":"moved"})", 400},
    {R"({"starts_at":"2025-03-10T10:00:00Z","lead_id":"1"})", 400},
    {R"({"starts_at":"2025-03-10T10:00:00Z","lead_id":999999})", 404},
    {"{nope", 400},
  };
  for (auto& c : cases)
    EXPECT_EQ(crm.call("POST", "/api/crm/appointments", agent, c.body).status,
              c.status)
      << c.body;
  EXPECT_EQ(crm
              .call("PATCH", "/api/crm/appointments/99999", agent,
                    R"({"status":"done"})")
              .status,
            404);
  EXPECT_EQ(crm
              .call("PATCH", "/api/crm/appointments/" + std::to_string(id),
                    agent, R"({"starts_at":null})")
              .status,
            400);
  EXPECT_EQ(crm
              .call("POST", "/api/crm/appointments", reader,
                    R"({"starts_at":"2025-03-10T10:00:00Z"})")
              .status,
            403);
}

TEST_F(Records, PipelineRenameReorderExtendAndRemoval) {
  auto g = crm.call("GET", "/api/crm/pipeline", reader);
  ASSERT_EQ(g.status, 200) << g.body;
  std::vector<std::string> keys;
  for (auto& s : g.items())
    keys.emplace_back(s.at("key").as_string());
  EXPECT_EQ(keys, (std::vector<std::string>{"new", "contacted", "qualified",
                                            "appointment", "won", "lost"}));
  EXPECT_EQ(g.items()[0].at("label").as_string(), "חדש");

  auto lead = crm.new_lead(agent, R"({"name":"a"})");
  crm.call("PATCH", "/api/crm/leads/" + std::to_string(lead), agent,
           R"({"status":"contacted"})");

  std::string body = R"({"statuses":[
    {"key":"fresh","label":"טרי"},{"key":"contacted","label":"דיברנו"},
    {"key":"vip","label":"VIP"},{"key":"won","label":"נסגר"},
    {"key":"lost","label":"אבוד"}]})";
  EXPECT_EQ(crm.call("PUT", "/api/crm/pipeline", agent, body).status, 403);
  EXPECT_EQ(crm.call("PUT", "/api/crm/pipeline", reader, body).status, 403);
  auto p = crm.call("PUT", "/api/crm/pipeline", owner, body);
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.items()[0].at("key").as_string(), "fresh");
  EXPECT_EQ(p.items()[1].at("label").as_string(), "דיברנו");
  EXPECT_EQ(p.items()[1].at("leads").as_int64(), 1);
  EXPECT_EQ(p.int_at("total"), 5);

  // New leads start in the first status; the new status is usable; the
  // removed defaults are not.
  auto fresh = crm.call("POST", "/api/crm/leads", agent, R"({"name":"b"})");
  EXPECT_EQ(fresh.str_at("status"), "fresh");
  EXPECT_EQ(crm
              .call("PATCH", "/api/crm/leads/" + std::to_string(lead), agent,
                    R"({"status":"vip"})")
              .status,
            200);
  EXPECT_EQ(crm
              .call("POST", "/api/crm/leads", agent,
                    R"({"name":"c","status":"qualified"})")
              .status,
            422);

  // Removing a status in use is refused, naming it.
  auto c = crm.call("PUT", "/api/crm/pipeline", owner,
                    R"({"statuses":[{"key":"fresh","label":"x"},
                                    {"key":"won","label":"y"}]})");
  ASSERT_EQ(c.status, 409) << c.body;
  EXPECT_EQ(c.str_at("status"), "vip");
  EXPECT_EQ(crm.call("GET", "/api/crm/pipeline", reader).int_at("total"), 5);

  for (
    auto bad :
    {R"({})", R"({"statuses":[]})", R"({"statuses":"new"})",
     R"({"statuses":[{"key":"New","label":"x"}]})",
     R"({"statuses":[{"key":"a-b","label":"x"}]})",
     R"({"statuses":[{"key":"a","label":""}]})",
     R"({"statuses":[{"key":"a","label":"x"},{"key":"a","label":"y"}]})",
     R"({"statuses":[{"key":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","label":"x"}]})",
     R"({"statuses":[{"key":"a"}]})", R"({"statuses":[5]})"})
    EXPECT_EQ(crm.call("PUT", "/api/crm/pipeline", owner, bad).status, 400)
      << bad;
  // The admin token manages any business's pipeline.
  auto other = crm.new_business("Other");
  auto a
    = crm.call("PUT", "/api/crm/pipeline?business_id=" + std::to_string(other),
               admin_token, R"({"statuses":[{"key":"only","label":"x"}]})");
  EXPECT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(
    crm.sql("SELECT count(*) FROM pipeline_statuses WHERE business_id = "
            + std::to_string(other)),
    "1");
  EXPECT_EQ(
    crm.call("GET", "/api/crm/pipeline?business_id=424242", admin_token).status,
    404);
}

TEST_F(Records, NotesAndTasks) {
  auto lead = crm.new_lead(agent, R"({"name":"a"})");
  auto path = "/api/crm/leads/" + std::to_string(lead) + "/notes";
  auto n = crm.call("POST", path, agent,
                    R"({"body":"called back, no answer"})");
  ASSERT_EQ(n.status, 201) << n.body;
  EXPECT_EQ(n.str_at("author").rfind("token:", 0), 0u);
  crm.call("POST", path, owner, R"({"body":"second"})");
  auto l = crm.call("GET", path, reader);
  ASSERT_EQ(l.status, 200);
  EXPECT_EQ(l.int_at("total"), 2);
  EXPECT_EQ(l.items()[0].at("body").as_string(), "second"); // newest first
  EXPECT_EQ(crm.call("POST", path, agent, R"({"body":""})").status, 400);
  EXPECT_EQ(crm.call("POST", path, agent, R"({"body":5})").status, 400);
  EXPECT_EQ(crm.call("POST", path, reader, R"({"body":"x"})").status, 403);
  EXPECT_EQ(
    crm.call("POST", "/api/crm/leads/99999/notes", agent, R"({"body":"x"})")
      .status,
    404);
  EXPECT_EQ(crm.call("GET", "/api/crm/leads/99999/notes", agent).status, 404);

  auto t = crm.call("POST", "/api/crm/tasks", agent,
                    js(json::object{{"title", "call back"},
                                    {"lead_id", lead},
                                    {"due_at", "2025-04-01T09:00:00+03:00"}}));
  ASSERT_EQ(t.status, 201) << t.body;
  auto tid = t.int_at("id");
  EXPECT_EQ(t.str_at("due_at"), "2025-04-01T06:00:00.000Z");
  EXPECT_EQ(t.obj().at("done"), false);
  ASSERT_EQ(
    crm.call("POST", "/api/crm/tasks", agent, R"({"title":"later"})").status,
    201);
  EXPECT_EQ(crm.call("GET", "/api/crm/tasks", reader).int_at("total"), 2);
  EXPECT_EQ(
    crm.call("GET", "/api/crm/tasks?lead_id=" + std::to_string(lead), reader)
      .int_at("total"),
    1);
  auto p = crm.call("PATCH", "/api/crm/tasks/" + std::to_string(tid), agent,
                    R"({"done":true,"due_at":null})");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.obj().at("done"), true);
  EXPECT_TRUE(p.obj().at("due_at").is_null());
  EXPECT_EQ(p.str_at("title"), "call back");
  EXPECT_EQ(crm.call("GET", "/api/crm/tasks?done=true", reader).int_at("total"),
            1);
  EXPECT_EQ(
    crm.call("GET", "/api/crm/tasks?done=false", reader).int_at("total"), 1);
  for (auto bad : {R"({})", R"({"title":""})", R"({"title":"x","done":"yes"})",
                   R"({"title":"x","due_at":"tomorrow"})",
                   R"({"title":"x","lead_id":-3})"})
    EXPECT_EQ(crm.call("POST", "/api/crm/tasks", agent, bad).status, 400)
      << bad;
  EXPECT_EQ(crm
              .call("POST", "/api/crm/tasks", agent,
                    R"({"title":"x","lead_id":99999})")
              .status,
            404);
  EXPECT_EQ(
    crm.call("PATCH", "/api/crm/tasks/99999", agent, R"({"done":true})").status,
    404);
  EXPECT_EQ(crm.call("GET", "/api/crm/tasks?done=maybe", reader).status, 400);
  // Deleting the lead removes its notes and tasks.
  crm.call("DELETE", "/api/crm/leads/" + std::to_string(lead), agent);
  EXPECT_EQ(crm.sql("SELECT count(*) FROM lead_notes"), "0");
  EXPECT_EQ(crm.call("GET", "/api/crm/tasks", reader).int_at("total"), 1);
}

TEST_F(Records, LeadMessages) {
  auto lead = crm.new_lead(agent, R"({"name":"a","phone":"0501234567"})");
  auto other_lead = crm.new_lead(agent, R"({"name":"b"})");
  crm.sql(
    "INSERT INTO messages (business_id, lead_id, direction, provider,"
    " provider_sid, from_address, to_address, body, status) VALUES"
    " (1, "
    + std::to_string(lead)
    + ", 'in', 'twilio', 'SM1',"
      " 'whatsapp:+972501234567', 'whatsapp:+14155238886', 'שלום', 'received'),"
      " (1, "
    + std::to_string(lead)
    + ", 'out', 'twilio', 'SM2',"
      " 'whatsapp:+14155238886', 'whatsapp:+972501234567', 'היי', 'sent'),"
      " (1, "
    + std::to_string(other_lead)
    + ", 'in', 'meta', 'wamid.3',"
      " 'x', 'y', 'other', 'received')");
  auto r = crm.call(
    "GET", "/api/crm/leads/" + std::to_string(lead) + "/messages", reader);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.int_at("total"), 2);
  EXPECT_EQ(r.items()[0].at("body").as_string(), "היי"); // newest first
  EXPECT_EQ(r.items()[0].at("direction").as_string(), "out");
  EXPECT_EQ(r.items()[1].at("provider_sid").as_string(), "SM1");
  EXPECT_EQ(crm
              .call("GET",
                    "/api/crm/leads/" + std::to_string(lead)
                      + "/messages?per_page=1&page=2",
                    reader)
              .items()[0]
              .at("body")
              .as_string(),
            "שלום");
  EXPECT_EQ(crm.call("GET", "/api/crm/leads/99999/messages", reader).status,
            404);
}

TEST_F(Records, TheTokensBusiness) {
  auto admin_set
    = crm.call("PATCH", "/api/admin/businesses/1", admin_token,
               R"({"twilio":{"account_sid":"ACx","auth_token":"sekret"},
                                "payments":{"paypal_client_id":"id",
                                            "paypal_secret":"pp-sekret"}})");
  ASSERT_EQ(admin_set.status, 200) << admin_set.body;
  auto g = crm.call("GET", "/api/crm/business", reader);
  ASSERT_EQ(g.status, 200) << g.body;
  EXPECT_EQ(g.int_at("id"), 1);
  EXPECT_EQ(g.str_at("name"), "Default");
  EXPECT_EQ(g.body.find("sekret"), std::string::npos);
  EXPECT_EQ(g.obj().at("twilio").at("auth_token_set"), true);
  EXPECT_EQ(g.obj().at("payments").at("paypal_configured"), true);

  auto p = crm.call("PATCH", "/api/crm/business", owner, R"({
      "greeting":"שלום, הגעתם למשרד", "prompt":"את נציגה אדיבה",
      "working_hours":{"sun":["09:00","18:00"]},
      "whatsapp":{"provider":"meta"},
      "payments":{"enabled":true,"default_provider":"tranzila",
                  "tranzila_terminal":"term1"}})");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.str_at("greeting"), "שלום, הגעתם למשרד");
  EXPECT_EQ(p.obj().at("whatsapp").at("provider").as_string(), "meta");
  EXPECT_EQ(p.obj().at("payments").at("default_provider").as_string(),
            "tranzila");
  EXPECT_EQ(js(p.obj().at("working_hours")), R"({"sun":["09:00","18:00"]})");
  EXPECT_EQ(p.str_at("name"), "Default");

  // Owner-only, and routing/credentials stay with the administrator.
  EXPECT_EQ(
    crm.call("PATCH", "/api/crm/business", agent, R"({"greeting":"x"})").status,
    403);
  EXPECT_EQ(crm
              .call("PATCH", "/api/crm/business", reader, R"({"greeting":"x"})")
              .status,
            403);
  for (auto field :
       {R"({"name":"Mine"})", R"({"phone_numbers":["031234567"]})",
        R"({"twilio":{"auth_token":"x"}})", R"({"voice_engine":"openai"})",
        R"({"whatsapp":{"from":"whatsapp:+1555"}})", R"({"max_live_calls":5})"})
    EXPECT_EQ(crm.call("PATCH", "/api/crm/business", owner, field).status, 403)
      << field;
  for (auto bad :
       {R"({"greeting":5})", R"({"working_hours":{"mon":["9","18"]}})",
        R"({"whatsapp":{"provider":"telegram"}})", "[]", "{"})
    EXPECT_EQ(crm.call("PATCH", "/api/crm/business", owner, bad).status, 400)
      << bad;
  EXPECT_EQ(crm.sql("SELECT name FROM businesses WHERE id = 1"), "Default");

  // Each token sees its own business.
  auto other = crm.new_business("Other");
  auto t = crm.new_token(other, "read_only").token;
  EXPECT_EQ(crm.call("GET", "/api/crm/business", t).int_at("id"), other);
  EXPECT_EQ(crm
              .call("GET",
                    "/api/crm/business?business_id=" + std::to_string(other),
                    admin_token)
              .str_at("name"),
            "Other");
  // A token's business cannot be switched by query or body.
  EXPECT_EQ(crm.call("GET", "/api/crm/business?business_id=1", t).int_at("id"),
            other);
}

TEST(AdminBusinesses, GetOneAndList) {
  crm_app crm;
  auto id = crm.new_business("Second");
  auto r = crm.call("GET", "/api/admin/businesses/" + std::to_string(id),
                    admin_token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str_at("name"), "Second");
  EXPECT_EQ(crm.call("GET", "/api/admin/businesses/424242", admin_token).status,
            404);
  EXPECT_EQ(crm.call("GET", "/api/admin/businesses/abc", admin_token).status,
            404);
  auto l = crm.call("GET", "/api/admin/businesses", admin_token);
  EXPECT_EQ(l.int_at("total"), 2);
  auto owner = crm.new_token(id, "owner").token;
  EXPECT_EQ(crm.call("GET", "/api/admin/businesses/1", owner).status, 403);
  EXPECT_EQ(crm.call("GET", "/api/admin/businesses/1", "nope").status, 401);
}

} // namespace
} // namespace al::test
