// The WhatsApp AI (SPEC §7 "WhatsApp conversations") end to end: the
// service in-process against the real PostgreSQL, the fake Twilio and Meta
// providers, and a fake chat-completions server with scripted replies, tool
// calls, 5xx and timeouts. Every wait is for an observable event (a provider
// request, a counter of al_whatsapp_messages_total, a row), never a sleep.
#include "tests/whatsapp/wa_support.hpp"

#include "actors/metrics.hpp"
#include "actors/type_ids.hpp"
#include "actors/whatsapp_ai.hpp"
#include "actors/whatsapp_conversation.hpp"
#include "core/crypto.hpp"
#include "core/israel_time.hpp"
#include "transport/services.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <deque>
#include <future>
#include <mutex>
#include <set>

namespace al::test {
namespace {

using namespace std::chrono_literals;

const std::string number = "+972501234567";

/// POST /chat/completions like OpenAI's: each request takes the next
/// scripted answer (the default text reply when the script is empty).
class fake_chat {
public:
  fake_chat()
    : server_(
      [this](const fake_http_server::request& r) { return handle(r); }) {}

  std::string base_url() const {
    return server_.base_url() + "/v1";
  }
  fake_http_server& server() {
    return server_;
  }

  /// A text reply.
  void say(std::string text) {
    push(200, reply_body(json::object{{"role", "assistant"},
                                      {"content", std::move(text)}},
                         "stop"));
  }
  /// One tool call (arguments as JSON text).
  void call(std::string name, std::string arguments) {
    json::array calls{json::object{
      {"id", "call_" + std::to_string(++calls_)},
      {"type", "function"},
      {"function", json::object{{"name", std::move(name)},
                                {"arguments", std::move(arguments)}}}}};
    push(200, reply_body(json::object{{"role", "assistant"},
                                      {"content", nullptr},
                                      {"tool_calls", std::move(calls)}},
                         "tool_calls"));
  }
  void push(int status, std::string body) {
    std::lock_guard<std::mutex> g{mtx_};
    script_.emplace_back(status, std::move(body));
  }

  /// The JSON bodies received, in order.
  std::vector<json::object> bodies() const {
    std::vector<json::object> out;
    for (auto& r : server_.requests())
      out.push_back(json::parse(r.body()).as_object());
    return out;
  }
  std::size_t count() const {
    return server_.request_count();
  }

private:
  static std::string reply_body(json::object message, const char* finish) {
    return json::serialize(json::object{
      {"id", "chatcmpl-1"},
      {"object", "chat.completion"},
      {"choices", json::array{json::object{{"index", 0},
                                           {"message", std::move(message)},
                                           {"finish_reason", finish}}}}});
  }

  fake_http_server::response handle(const fake_http_server::request& r) {
    if (std::string{r[http::field::authorization]} != "Bearer sk-test")
      return fake_http_server::reply(http::status::unauthorized,
                                     R"({"error":{"message":"bad key"}})");
    std::pair<int, std::string> next{
      200, reply_body(json::object{{"role", "assistant"},
                                   {"content", "שלום! איך אפשר לעזור?"}},
                      "stop")};
    {
      std::lock_guard<std::mutex> g{mtx_};
      if (!script_.empty()) {
        next = std::move(script_.front());
        script_.pop_front();
      }
    }
    return fake_http_server::reply(static_cast<http::status>(next.first),
                                   std::move(next.second));
  }

  mutable std::mutex mtx_;
  std::deque<std::pair<int, std::string>> script_;
  int calls_ = 0;
  fake_http_server server_; // last: stops before the state above goes
};

class whatsapp_ai_test : public whatsapp_test {
protected:
  config ai_config(std::chrono::milliseconds debounce = 200ms) {
    auto c = wa_config();
    c.openai_api_key = "sk-test";
    c.openai_api_base = chat_.base_url();
    c.wa_ai_debounce = debounce;
    c.wa_ai_timeout = 1000ms;
    return c;
  }

  double counter(const char* result) {
    return app().svc().m.whatsapp_messages.Add({{"result", result}}).Value();
  }

  /// The roles and contents of a request's messages, "role:content".
  static std::vector<std::string> turns(const json::object& body) {
    std::vector<std::string> out;
    for (auto& m : body.at("messages").as_array()) {
      auto& o = m.as_object();
      std::string content = o.at("content").is_string()
                              ? std::string{o.at("content").as_string()}
                              : std::string{};
      out.push_back(std::string{o.at("role").as_string()} + ":" + content);
    }
    return out;
  }

  fake_chat chat_;
};

TEST_F(whatsapp_ai_test, twilio_inbound_gets_one_ai_reply_stored_in_order) {
  start(ai_config());
  sql("UPDATE businesses SET prompt = 'PROMPT-OF-THE-OFFICE' WHERE id = 1");
  chat_.say("שלום! מה התקציב?");
  ASSERT_EQ(inbound("SMai1", number, "מחפש דירה בחיפה").status, 204);
  ASSERT_TRUE(eventually([&] { return twilio_.messages().size() == 1; }));
  auto sent = twilio_.messages()[0];
  EXPECT_EQ(sent.value_or("To"), "whatsapp:" + number);
  EXPECT_EQ(sent.value_or("Body"), "שלום! מה התקציב?");
  ASSERT_EQ(chat_.count(), 1u);

  // What the model got: the key, the prompt, today's Israel date, the
  // lead's phone, the history, the four tools.
  auto req = chat_.server().requests()[0];
  EXPECT_EQ(std::string{req.target()}, "/v1/chat/completions");
  auto body = chat_.bodies()[0];
  EXPECT_EQ(body.at("model").as_string(), "gpt-4o-mini");
  auto t = turns(body);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_NE(t[0].find("system:PROMPT-OF-THE-OFFICE"), std::string::npos);
  EXPECT_NE(t[0].find(israel_at(std::time(nullptr)).date), std::string::npos);
  EXPECT_NE(t[0].find(number), std::string::npos);
  EXPECT_EQ(t[1], "user:מחפש דירה בחיפה");
  std::set<std::string> tools;
  for (auto& tool : body.at("tools").as_array())
    tools.insert(std::string{tool.at("function").at("name").as_string()});
  EXPECT_EQ(tools, (std::set<std::string>{"save_lead", "search_listings",
                                          "book_appointment", "handoff"}));

  // Stored after the inbound message, by the AI, and the burst answered.
  ASSERT_TRUE(eventually([&] {
    return sql("SELECT status FROM messages WHERE direction = 'out'") == "sent";
  }));
  EXPECT_EQ(sql("SELECT string_agg(direction || ':' || coalesce(sent_by, '-'),"
                " ',' ORDER BY conversation_seq) FROM messages"),
            "in:-,out:ai");
  ASSERT_TRUE(eventually([&] {
    return sql("SELECT ai_answered_seq = 1 AND ai_claim_token IS NULL"
               " AND NOT needs_agent FROM wa_conversations")
           == "t";
  }));
}

TEST_F(whatsapp_ai_test, meta_inbound_gets_the_ai_reply_through_meta) {
  start(ai_config());
  auto biz = new_business(
    R"({"name":"Meta Agency","phone_numbers":["+97231234567"]})");
  sql("UPDATE businesses SET whatsapp_provider = 'meta' WHERE id = "
      + std::to_string(biz));
  chat_.say("היי, במה אפשר לעזור?");
  auto body
    = R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{)"
      R"("field":"messages","value":{"messaging_product":"whatsapp",)"
      R"("metadata":{"display_phone_number":"97231234567","phone_number_id":"10987"},)"
      R"("contacts":[{"profile":{"name":"Meta Person"},"wa_id":"972521112233"}],)"
      R"("messages":[{"from":"972521112233","id":"wamid.AI1","timestamp":)"
      R"("1749416383","type":"text","text":{"body":"hello"}}]}}]}]})";
  auto sig = "sha256="
             + crypto::to_hex(crypto::hmac_sha256("meta-secret", body));
  ASSERT_EQ(http_call(port(), "POST", "/webhook/whatsapp/meta", body,
                      {{"Content-Type", "application/json"},
                       {"X-Hub-Signature-256", sig}})
              .status,
            200);
  ASSERT_TRUE(eventually([&] { return meta_.server().request_count() == 1; }));
  auto sent = json::parse(meta_.server().requests()[0].body()).as_object();
  EXPECT_NE(std::string{sent.at("to").as_string()}.find("972521112233"),
            std::string::npos);
  EXPECT_EQ(sent.at("text").at("body").as_string(), "היי, במה אפשר לעזור?");
  EXPECT_EQ(chat_.count(), 1u);
  EXPECT_EQ(twilio_.messages().size(), 0u);
  ASSERT_TRUE(eventually([&] {
    return sql("SELECT provider || ':' || sent_by || ':' || business_id FROM"
               " messages WHERE direction = 'out' AND status = 'sent'")
           == "meta:ai:" + std::to_string(biz);
  }));
}

TEST_F(whatsapp_ai_test, a_burst_of_three_gets_one_reply_with_all_three) {
  // A long quiet time: the three webhooks certainly arrive within it.
  start(ai_config(1500ms));
  ASSERT_EQ(inbound("SMb1", number, "שלום").status, 204);
  ASSERT_EQ(inbound("SMb2", number, "אני מחפש דירה").status, 204);
  ASSERT_EQ(inbound("SMb3", number, "3 חדרים בחיפה").status, 204);
  ASSERT_TRUE(eventually([&] { return twilio_.messages().size() == 1; }, 10s));
  ASSERT_TRUE(eventually([&] { return counter("ai_replied") == 1; }));
  EXPECT_EQ(chat_.count(), 1u);
  auto t = turns(chat_.bodies()[0]);
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[1], "user:שלום");
  EXPECT_EQ(t[2], "user:אני מחפש דירה");
  EXPECT_EQ(t[3], "user:3 חדרים בחיפה");
  // All three are answered: a later claim finds nothing to answer.
  ASSERT_TRUE(eventually([&] {
    return sql("SELECT ai_answered_seq FROM wa_conversations") == "3";
  }));
  ASSERT_TRUE(eventually([&] { return counter("ai_claim_none") >= 1; }));
  EXPECT_EQ(chat_.count(), 1u);
  EXPECT_EQ(twilio_.messages().size(), 1u);
}

TEST_F(whatsapp_ai_test, search_listings_tool_returns_the_office_listing) {
  start(ai_config());
  auto created = api("POST", "/api/crm/listings", "test-admin",
                     R"({"title":"דירת גן ברחוב הנביאים","deal":"rent",)"
                     R"("city":"חיפה","rooms":3,"price":5200})");
  ASSERT_EQ(created.status, 201) << created.body;
  chat_.call("search_listings", R"({"deal":"rent","city":"חיפה"})");
  chat_.say("יש לנו דירת גן בחיפה ב-5,200 ₪ לחודש.");
  ASSERT_EQ(inbound("SMl1", number, "יש לכם משהו להשכרה בחיפה?").status, 204);
  ASSERT_TRUE(eventually([&] { return twilio_.messages().size() == 1; }));
  EXPECT_EQ(twilio_.messages()[0].value_or("Body"),
            "יש לנו דירת גן בחיפה ב-5,200 ₪ לחודש.");
  ASSERT_EQ(chat_.count(), 2u);
  // The second round carries the assistant's call and the tool's answer.
  auto msgs = chat_.bodies()[1].at("messages").as_array();
  ASSERT_GE(msgs.size(), 4u);
  auto& call = msgs[msgs.size() - 2].as_object();
  EXPECT_EQ(call.at("role").as_string(), "assistant");
  EXPECT_EQ(call.at("tool_calls").at(0).at("function").at("name").as_string(),
            "search_listings");
  auto& tool = msgs.back().as_object();
  EXPECT_EQ(tool.at("role").as_string(), "tool");
  EXPECT_EQ(tool.at("tool_call_id").as_string(),
            call.at("tool_calls").at(0).at("id").as_string());
  auto out = json::parse(tool.at("content").as_string()).as_object();
  EXPECT_EQ(out.at("ok"), true);
  EXPECT_EQ(out.at("count"), 1);
  EXPECT_NE(json::serialize(out).find("דירת גן ברחוב הנביאים"),
            std::string::npos);
}

TEST_F(whatsapp_ai_test, book_appointment_in_the_past_answers_alternatives) {
  start(ai_config());
  chat_.call("book_appointment",
             R"({"starts_at":"2020-01-01T10:00:00+02:00"})");
  chat_.say("המועד עבר; אפשר מחר?");
  ASSERT_EQ(inbound("SMp1", number, "אפשר לקבוע פגישה?").status, 204);
  ASSERT_TRUE(eventually([&] { return twilio_.messages().size() == 1; }));
  ASSERT_EQ(chat_.count(), 2u);
  auto msgs = chat_.bodies()[1].at("messages").as_array();
  auto out = json::parse(msgs.back().at("content").as_string()).as_object();
  EXPECT_EQ(out.at("ok"), false);
  EXPECT_EQ(out.at("reason").as_string(), "past");
  EXPECT_FALSE(out.at("alternatives").as_array().empty());
  EXPECT_EQ(sql("SELECT count(*) FROM appointments"), "0");
}

TEST_F(whatsapp_ai_test, provider_5xx_or_timeout_flags_needs_agent_no_reply) {
  start(ai_config());
  chat_.push(503, R"({"error":{"message":"overloaded sk-test"}})");
  ASSERT_EQ(inbound("SMf1", number, "שלום").status, 204);
  ASSERT_TRUE(eventually([&] { return counter("ai_failed") == 1; }));
  ASSERT_TRUE(eventually([&] {
    return sql("SELECT needs_agent AND ai_answered_seq = 1 AND"
               " ai_claim_token IS NULL FROM wa_conversations")
           == "t";
  }));
  EXPECT_EQ(twilio_.messages().size(), 0u);
  EXPECT_EQ(sql("SELECT count(*) FROM messages WHERE direction = 'in'"), "1");

  // A malformed reply: the same.
  chat_.push(200, R"({"choices":[{"message":{"content":42}}]})");
  ASSERT_EQ(inbound("SMf2", number, "הלו?").status, 204);
  ASSERT_TRUE(eventually([&] { return counter("ai_failed") == 2; }));

  // No answer within WA_AI_TIMEOUT_MS: the same.
  chat_.server().set_delay(3000ms);
  ASSERT_EQ(inbound("SMf3", number, "יש מישהו?").status, 204);
  ASSERT_TRUE(eventually([&] { return counter("ai_failed") == 3; }));
  EXPECT_EQ(twilio_.messages().size(), 0u);
  EXPECT_EQ(sql("SELECT needs_agent FROM wa_conversations"), "t");
}

TEST_F(whatsapp_ai_test, takeover_stops_the_ai_and_release_resumes_it) {
  start(ai_config());
  ASSERT_EQ(inbound("SMt1", number, "שלום").status, 204);
  ASSERT_TRUE(eventually([&] { return twilio_.messages().size() == 1; }));
  auto lead = sql("SELECT id FROM leads WHERE phone = '" + number + "'");

  auto r = api("POST", "/api/crm/leads/" + lead + "/takeover", "test-admin");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json.at("success"), true);
  auto until = r.str("ai_paused_until");  // ISO-8601 UTC, 12 h ahead
  EXPECT_EQ(until.size(), 24u) << r.body; // 2026-12-07T19:27:39.863Z
  EXPECT_EQ(until.back(), 'Z') << r.body;
  EXPECT_EQ(sql("SELECT ai_paused_by || ':' || (ai_paused_until > now() +"
                " interval '11 hours') FROM wa_conversations"),
            "admin:true");

  // Taken over: the next message is stored and left to the agent.
  ASSERT_TRUE(eventually([&] { return counter("ai_claim_none") >= 1; }));
  ASSERT_EQ(inbound("SMt2", number, "אפשר לדבר עם מישהו?").status, 204);
  ASSERT_TRUE(eventually([&] { return counter("ai_claim_not_for_ai") == 1; }));
  EXPECT_EQ(chat_.count(), 1u);
  EXPECT_EQ(twilio_.messages().size(), 1u);

  // Released: the AI answers again.
  r = api("POST", "/api/crm/leads/" + lead + "/release", "test-admin");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"success":true})");
  EXPECT_EQ(sql("SELECT ai_paused_until IS NULL AND NOT needs_agent FROM"
                " wa_conversations"),
            "t");
  ASSERT_EQ(inbound("SMt3", number, "עדיין כאן?").status, 204);
  ASSERT_TRUE(eventually([&] { return twilio_.messages().size() == 2; }));
  EXPECT_EQ(chat_.count(), 2u);

  // Another business's lead, a lead without a phone, no lead: 404.
  auto other = new_business(R"({"name":"Other"})");
  auto token = new_token(other, "agent");
  EXPECT_EQ(api("POST", "/api/crm/leads/" + lead + "/takeover", token).status,
            404);
  EXPECT_EQ(api("POST", "/api/crm/leads/" + lead + "/release", token).status,
            404);
  auto nophone = api("POST", "/api/crm/leads", "test-admin",
                     R"({"name":"בלי טלפון"})");
  ASSERT_EQ(nophone.status, 201) << nophone.body;
  EXPECT_EQ(
    api("POST",
        "/api/crm/leads/" + std::to_string(nophone.num("id")) + "/takeover",
        "test-admin")
      .status,
    404);
  EXPECT_EQ(api("POST", "/api/crm/leads/999999/takeover", "test-admin").status,
            404);
  EXPECT_EQ(api("POST", "/api/crm/leads/x/takeover", "test-admin").status, 404);
  // A read-only token may not take over.
  EXPECT_EQ(api("POST", "/api/crm/leads/" + lead + "/takeover",
                new_token(1, "read_only"))
              .status,
            403);
}

TEST_F(whatsapp_ai_test, an_agents_send_pauses_the_ai_and_clears_needs_agent) {
  start(ai_config());
  chat_.push(500, "oops");
  ASSERT_EQ(inbound("SMg1", number, "שלום").status, 204);
  ASSERT_TRUE(eventually([&] { return counter("ai_failed") == 1; }));
  ASSERT_TRUE(eventually(
    [&] { return sql("SELECT needs_agent FROM wa_conversations") == "t"; }));
  ASSERT_EQ(
    send(R"({"to":")" + number + R"(","text":"כאן דנה מהמשרד"})").status, 200);
  EXPECT_EQ(sql("SELECT sent_by FROM messages WHERE direction = 'out'"),
            "agent");
  EXPECT_EQ(sql("SELECT (NOT needs_agent) || ':' || ai_paused_by || ':' ||"
                " (ai_paused_until > now()) FROM wa_conversations"),
            "true:admin:true");
  ASSERT_EQ(inbound("SMg2", number, "תודה").status, 204);
  ASSERT_TRUE(eventually([&] { return counter("ai_claim_not_for_ai") == 1; }));
  EXPECT_EQ(chat_.count(), 1u);
  EXPECT_EQ(twilio_.messages().size(), 1u);
}

TEST_F(whatsapp_ai_test, handoff_flags_pauses_and_tells_the_transfer_numbers) {
  start(ai_config());
  sql(R"(UPDATE businesses SET transfer = '{"numbers":["+972541112222"]}')"
      " WHERE id = 1");
  open_window("+972541112222"); // the agent's number wrote to the office
  chat_.call("handoff", R"({"reason":"רוצה לדבר עם מתווך"})");
  chat_.say("נציג יחזור אליך בהקדם.");
  ASSERT_EQ(inbound("SMh1", number, "אני רוצה בן אדם").status, 204);
  ASSERT_TRUE(eventually([&] { return twilio_.messages().size() == 2; }));
  std::set<std::string> lines;
  for (auto& m : twilio_.messages())
    lines.insert(m.value_or("To") + "|" + m.value_or("Body"));
  EXPECT_TRUE(lines.count("whatsapp:" + number + "|נציג יחזור אליך בהקדם."));
  EXPECT_TRUE(lines.count("whatsapp:+972541112222|ליד מבקש נציג: Dana ("
                          + number + ")" + " — רוצה לדבר עם מתווך"));
  EXPECT_EQ(sql("SELECT needs_agent || ':' || ai_paused_by FROM"
                " wa_conversations WHERE peer = 'whatsapp:"
                + number + "'"),
            "true:ai");
  ASSERT_TRUE(eventually([&] {
    return sql("SELECT string_agg(sent_by, ',' ORDER BY sent_by) FROM"
               " messages WHERE direction = 'out'")
           == "ai,system";
  }));
}

TEST_F(whatsapp_ai_test, whatsapp_ai_off_means_no_ai) {
  start(ai_config());
  sql("UPDATE businesses SET whatsapp_ai = false WHERE id = 1");
  ASSERT_EQ(inbound("SMo1", number, "שלום").status, 204);
  // The claim finds the AI off and leaves the message to a person (and to
  // the after-hours reply, which send_test covers).
  ASSERT_TRUE(eventually([&] { return counter("inbound_handled") == 1; }));
  EXPECT_EQ(counter("ai_claim_not_for_ai"), 1);
  EXPECT_EQ(chat_.count(), 0u);
  EXPECT_EQ(twilio_.messages().size(), 0u);
  EXPECT_EQ(sql("SELECT ai_answered_seq FROM wa_conversations"), "1");
}

TEST_F(whatsapp_ai_test, without_a_key_the_old_behaviour_is_unchanged) {
  auto c = ai_config();
  c.openai_api_key.clear();
  start(c);
  ASSERT_EQ(inbound("SMk1", number, "שלום").status, 204);
  ASSERT_TRUE(eventually([&] { return counter("inbound_handled") == 1; }));
  EXPECT_EQ(counter("ai_claim_none") + counter("ai_claim_claimed")
              + counter("ai_claim_not_for_ai") + counter("ai_claim_busy"),
            0);
  EXPECT_EQ(chat_.count(), 0u);
  EXPECT_EQ(twilio_.messages().size(), 0u); // always open: no reply at all
}

TEST_F(whatsapp_ai_test, opt_out_newly_confirms_once_and_never_calls_the_ai) {
  start(ai_config());
  open_window(number);
  auto& svc = app().svc();
  wa_inbound_event ev;
  ev.opted_out = wa_inbound_event::opt_out::newly;
  whatsapp_notify_inbound(svc.sys, svc.whatsapp_manager, svc.whatsapp, 1,
                          number, ev);
  ASSERT_TRUE(eventually([&] { return counter("inbound_handled") == 1; }));
  ASSERT_TRUE(eventually([&] { return twilio_.messages().size() == 1; }));
  EXPECT_EQ(twilio_.messages()[0].value_or("Body"),
            "הוסרת מרשימת הפניות שלנו. לא נפנה אליך יותר.");
  // Again: no second confirmation, still no AI.
  ev.opted_out = wa_inbound_event::opt_out::again;
  whatsapp_notify_inbound(svc.sys, svc.whatsapp_manager, svc.whatsapp, 1,
                          number, ev);
  ASSERT_TRUE(eventually([&] { return counter("inbound_handled") == 2; }));
  EXPECT_EQ(twilio_.messages().size(), 1u);
  EXPECT_EQ(chat_.count(), 0u);
  ASSERT_TRUE(eventually([&] {
    return sql("SELECT sent_by FROM messages WHERE direction = 'out'")
           == "auto";
  }));
}

// The claim protocol itself (whatsapp_ai.hpp), as two instances or a
// restarted actor would run it against one conversation row.
TEST_F(whatsapp_ai_test, one_claim_per_burst_across_claimants) {
  auto c = ai_config();
  c.openai_api_key.clear(); // no actor claims on its own here
  start(c);
  ASSERT_EQ(inbound("SMc1", number, "שלום").status, 204);
  auto& db = app().svc().db;
  auto run = [&](std::function<void(db_tx&)> job) {
    std::promise<std::string> p;
    db.run(std::move(job), [&](const db_error& e) { p.set_value(e); });
    return p.get_future().get();
  };
  wa_ai_claim a, b, d;
  ASSERT_EQ(run([&](db_tx& tx) {
              a = claim_wa_ai(tx, 1, number, "A", std::chrono::seconds(60));
            }),
            "");
  ASSERT_EQ(a.what, wa_ai_claim::outcome::claimed);
  EXPECT_EQ(a.seq, 1);
  ASSERT_EQ(a.history.size(), 1u);
  EXPECT_EQ(a.history[0].content, "שלום");
  // A second claimant (another instance, a restarted actor): busy.
  ASSERT_EQ(run([&](db_tx& tx) {
              b = claim_wa_ai(tx, 1, number, "B", std::chrono::seconds(60));
            }),
            "");
  EXPECT_EQ(b.what, wa_ai_claim::outcome::busy);
  // Only the holder may renew and finish.
  bool renewed_b = true, renewed_a = false;
  run([&](db_tx& tx) {
    renewed_b = renew_wa_ai_claim(tx, 1, number, "B", std::chrono::seconds(60));
    renewed_a = renew_wa_ai_claim(tx, 1, number, "A", std::chrono::seconds(60));
    finish_wa_ai(tx, 1, number, "B", 1, false); // not B's: no effect
  });
  EXPECT_FALSE(renewed_b);
  EXPECT_TRUE(renewed_a);
  EXPECT_EQ(sql("SELECT ai_claim_token FROM wa_conversations"), "A");
  run([&](db_tx& tx) { finish_wa_ai(tx, 1, number, "A", a.seq, false); });
  // Answered: nobody answers it again.
  ASSERT_EQ(run([&](db_tx& tx) {
              d = claim_wa_ai(tx, 1, number, "C", std::chrono::seconds(60));
            }),
            "");
  EXPECT_EQ(d.what, wa_ai_claim::outcome::none);
  // A holder that died: its lease expires and the next claim takes over.
  ASSERT_EQ(inbound("SMc2", number, "הלו").status, 204);
  run([&](db_tx& tx) {
    a = claim_wa_ai(tx, 1, number, "D", std::chrono::seconds(60));
  });
  ASSERT_EQ(a.what, wa_ai_claim::outcome::claimed);
  sql("UPDATE wa_conversations SET ai_claim_until = now() - interval '1 s'");
  run([&](db_tx& tx) {
    b = claim_wa_ai(tx, 1, number, "E", std::chrono::seconds(60));
  });
  EXPECT_EQ(b.what, wa_ai_claim::outcome::claimed);
  EXPECT_EQ(b.seq, 2);
}

// A conversation actor killed while its AI answers: the chain still sends
// the one reply, and the restarted actor does not answer again.
TEST_F(whatsapp_ai_test, a_restarted_conversation_does_not_answer_twice) {
  start(ai_config());
  chat_.server().set_delay(300ms);
  ASSERT_EQ(inbound("SMr1", number, "שלום").status, 204);
  ASSERT_TRUE(eventually([&] { return chat_.count() == 1; }));
  auto& svc = app().svc();
  caf::actor conv;
  {
    caf::scoped_actor self{svc.sys};
    self
      ->request(svc.whatsapp_manager, 5s, lookup_atom_v,
                whatsapp_conversation_key(1, number))
      .receive([&](caf::actor& a) { conv = a; }, [](caf::error&) {});
  }
  ASSERT_TRUE(conv);
  caf::anon_send_exit(conv, caf::exit_reason::unhandled_exception);
  ASSERT_TRUE(eventually([&] { return twilio_.messages().size() == 1; }));
  // The restarted actor's own claim (after its quiet time) finds the
  // burst answered or still held: no second request, no second reply.
  ASSERT_TRUE(eventually(
    [&] { return counter("ai_claim_none") + counter("ai_claim_busy") >= 1; }));
  EXPECT_EQ(chat_.count(), 1u);
  EXPECT_EQ(twilio_.messages().size(), 1u);
  EXPECT_EQ(counter("ai_claim_claimed"), 1);
}

} // namespace
} // namespace al::test
