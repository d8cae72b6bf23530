// POST /api/whatsapp/send against the real PostgreSQL and fake providers:
// the wire formats, the 400/401/403/501/502/429 answers, the conversation
// actor's ordering, crash recovery, rate limit and after-hours reply.
#include "tests/whatsapp/wa_support.hpp"

#include "actors/type_ids.hpp"
#include "actors/whatsapp_conversation.hpp"
#include "core/crypto.hpp"
#include "core/working_hours.hpp"
#include "transport/services.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <boost/beast/http.hpp>

#include <future>
#include <set>
#include <thread>

namespace al::test {
namespace {

using namespace std::chrono_literals;

// The numbers these tests send to; each wrote to the office just before
// (open_window), so free-form sends are inside WhatsApp's 24-hour window.
// templates_test covers sends outside it.
const std::string number = "+972501234567";
const std::string other_number = "+972521112233";

std::string header_of(const fake_http_server::request& r, const char* name) {
  return std::string{r[name]};
}

TEST_F(whatsapp_test, send_twilio_success_wire_format_and_row) {
  start();
  open_window(number); // it wrote: inside the 24-hour window
  auto r = send(
    R"({"to":"whatsapp:+972501234567","text":"בדיקה","provider":"twilio"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json.at("success"), true);
  EXPECT_EQ(r.str("provider"), "twilio");
  EXPECT_EQ(r.str("sid").rfind("SM", 0), 0u) << r.body;
  auto id = r.num("message_id");
  ASSERT_GT(id, 0);

  auto reqs = twilio_.server().requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method(), http::verb::post);
  EXPECT_EQ(std::string{reqs[0].target()},
            "/2010-04-01/Accounts/ACtest/Messages.json");
  EXPECT_EQ(header_of(reqs[0], "Authorization"),
            "Basic " + crypto::base64_encode("ACtest:test-auth-token"));
  EXPECT_EQ(header_of(reqs[0], "Content-Type"),
            "application/x-www-form-urlencoded");
  auto form = parse_form(reqs[0].body());
  ASSERT_TRUE(form);
  EXPECT_EQ(form->value_or("To"), "whatsapp:+972501234567");
  EXPECT_EQ(form->value_or("From"), "whatsapp:+14155238886");
  EXPECT_EQ(form->value_or("Body"), "בדיקה");
  EXPECT_EQ(form->value_or("StatusCallback"),
            "https://al.example.test/webhook/whatsapp/status");

  auto row = sql("SELECT direction || '|' || provider || '|' || status || '|'"
                 " || provider_sid || '|' || body || '|' || to_address || '|'"
                 " || from_address FROM messages WHERE id = "
                 + std::to_string(id));
  EXPECT_EQ(row, "out|twilio|sent|" + r.str("sid")
                   + "|בדיקה|whatsapp:+972501234567|whatsapp:+14155238886");
  // The recipient is a lead of the business, and the message is on it.
  EXPECT_EQ(sql("SELECT l.phone || '|' || l.source FROM leads l JOIN messages m"
                " ON m.lead_id = l.id WHERE m.id = "
                + std::to_string(id)),
            "+972501234567|whatsapp");
}

TEST_F(whatsapp_test, send_accepts_message_key_and_israeli_local_number) {
  start();
  open_window(number); // it wrote: inside the 24-hour window
  auto r = send(R"({"to":"050-123-4567","message":"hi"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto msgs = twilio_.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].value_or("To"), "whatsapp:+972501234567");
  EXPECT_EQ(msgs[0].value_or("Body"), "hi");
  // "message" wins over "text"; an empty "message" falls back to "text".
  ASSERT_EQ(send(R"({"to":"+972501234567","message":"m","text":"t"})").status,
            200);
  ASSERT_EQ(send(R"({"to":"+972501234567","message":"","text":"t2"})").status,
            200);
  msgs = twilio_.messages();
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(msgs[1].value_or("Body"), "m");
  EXPECT_EQ(msgs[2].value_or("Body"), "t2");
}

TEST_F(whatsapp_test, send_missing_to_or_message_is_400) {
  start();
  open_window(number); // it wrote: inside the 24-hour window
  const std::string expected
    = R"({"success":false,"error":"Missing to/message"})";
  for (auto body : {
         R"({"text":"x"})",
         R"({"to":"+972501234567"})",
         R"({"to":"","text":"x"})",
         R"({"to":"+972501234567","text":""})",
         R"({"to":"+972501234567","message":"   ","text":"\n"})",
         R"({"to":123,"text":"x"})",
         R"({"to":"+972501234567","message":["x"]})",
         R"({"to":"+972501234567","text":{"body":"x"}})",
         R"({"to":null,"text":null})",
         R"({})",
         R"([])",
         R"("to")",
         "{not json",
         "",
       }) {
    auto r = send(body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.body, expected) << body;
  }
  EXPECT_EQ(twilio_.server().request_count(), 0u);
  EXPECT_EQ(sql("SELECT count(*) FROM messages"), "0");
}

TEST_F(whatsapp_test, send_other_400s_and_auth) {
  start();
  open_window(number); // it wrote: inside the 24-hour window
  auto r = send(R"({"to":"+972501234567","text":"x","provider":"stripe"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.str("error").find("Unknown provider"), std::string::npos);
  r = send(R"({"to":"+972501234567","text":"x","provider":7})");
  EXPECT_EQ(r.status, 400);
  r = send(R"({"to":"whatsapp:+97250","text":"x"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.str("error").find("Invalid recipient"), std::string::npos);
  r = send(R"({"to":"hello","text":"x"})");
  EXPECT_EQ(r.status, 400);
  r = send(R"({"to":"+972501234567","text":"x","business_id":"2"})");
  EXPECT_EQ(r.status, 400);
  r = send(R"({"to":"+972501234567","text":")" + std::string(4097, 'a')
           + "\"}");
  EXPECT_EQ(r.status, 400);
  r = send(R"({"to":"+972501234567","text":"a\u0000b"})");
  EXPECT_EQ(r.status, 400);
  // Authentication comes first; read-only tokens may not send.
  auto raw = http_call(port(), "POST", "/api/whatsapp/send",
                       R"({"to":"+972501234567","text":"x"})",
                       {{"Content-Type", "application/json"}});
  EXPECT_EQ(raw.status, 401);
  EXPECT_EQ(send("{}", "wrong-token").status, 401);
  auto reader = new_token(1, "read_only");
  EXPECT_EQ(send(R"({"to":"+972501234567","text":"x"})", reader).status, 403);
  auto agent = new_token(1, "agent");
  EXPECT_EQ(send(R"({"text":"x"})", agent).status, 400);
  EXPECT_EQ(send(R"({"to":"+972501234567","text":"x"})", agent).status, 200);
  // Unknown business (admin acting for it).
  r = send(R"({"to":"+972501234567","text":"x","business_id":999})");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(twilio_.server().request_count(), 1u);
  EXPECT_EQ(sql("SELECT count(*) FROM messages"), "1");
}

TEST_F(whatsapp_test, send_provider_4xx_is_502_and_row_kept_failed) {
  start();
  open_window(number); // it wrote: inside the 24-hour window
  twilio_.set_mode(fake_mode::reject);
  auto r = send(R"({"to":"+972501234567","text":"x"})");
  ASSERT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.json.at("success"), false);
  EXPECT_EQ(r.str("error"), "Invalid 'To' Phone Number");
  EXPECT_EQ(r.str("error_code"), "21211");
  auto id = r.num("message_id");
  ASSERT_GT(id, 0);
  EXPECT_EQ(sql("SELECT direction || '|' || status || '|' || error || '|'"
                " || error_code || '|' || (provider_sid IS NULL)"
                " FROM messages WHERE id = "
                + std::to_string(id)),
            "out|failed|Invalid 'To' Phone Number|21211|true");
}

TEST_F(whatsapp_test, send_provider_5xx_is_502_and_row_kept_failed) {
  start();
  open_window(number); // it wrote: inside the 24-hour window
  twilio_.set_mode(fake_mode::server_error);
  auto r = send(R"({"to":"+972501234567","text":"x"})");
  ASSERT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.str("error"), "twilio answered HTTP 503");
  EXPECT_EQ(sql("SELECT status || '|' || error FROM messages"),
            "failed|twilio answered HTTP 503");
}

TEST_F(whatsapp_test, send_provider_timeout_is_502_and_row_kept_failed) {
  start();             // provider timeout 500 ms
  open_window(number); // it wrote: inside the 24-hour window
  twilio_.server().set_delay(2000ms);
  // The provider answers after 2 s, the timeout is 500 ms: the answer is
  // the timeout's (how fast is not asserted: no wall clock in tests).
  auto r = send(R"({"to":"+972501234567","text":"x"})");
  ASSERT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.str("error"), "twilio timed out");
  EXPECT_EQ(sql("SELECT status || '|' || error FROM messages"),
            "failed|twilio timed out");
  // Unreachable provider: the same.
  twilio_.server().set_delay(0ms);
  auto c = wa_config();
  app_.reset();
  c.twilio_api_base = "http://127.0.0.1:1";
  start(c);
  open_window(number); // it wrote: inside the 24-hour window
  r = send(R"({"to":"+972501234567","text":"x"})");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(r.str("error").find("twilio unreachable"), std::string::npos);
}

TEST_F(whatsapp_test, send_meta_wire_format_and_errors) {
  start();
  open_window(number); // it wrote: inside the 24-hour window
  auto r = send(R"({"to":"+972501234567","text":"שלום","provider":"meta"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str("provider"), "meta");
  EXPECT_EQ(r.str("sid"), "wamid.FAKE1");
  auto reqs = meta_.server().requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(std::string{reqs[0].target()}, "/10987/messages");
  EXPECT_EQ(header_of(reqs[0], "Authorization"), "Bearer meta-token");
  auto body = json::parse(reqs[0].body()).as_object();
  EXPECT_EQ(body.at("messaging_product"), "whatsapp");
  EXPECT_EQ(body.at("to"), "972501234567");
  EXPECT_EQ(body.at("type"), "text");
  EXPECT_EQ(body.at("text").at("body"), "שלום");
  EXPECT_EQ(sql("SELECT provider || '|' || status || '|' || provider_sid"
                " FROM messages"),
            "meta|sent|wamid.FAKE1");
  EXPECT_EQ(twilio_.server().request_count(), 0u);

  meta_.set_mode(fake_mode::reject);
  r = send(R"({"to":"+972501234567","text":"x","provider":"meta"})");
  ASSERT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.str("error"),
            "(#131030) Recipient phone number not in allowed list");
  EXPECT_EQ(sql("SELECT status || '|' || error_code FROM messages WHERE id = "
                + std::to_string(r.num("message_id"))),
            "failed|131030");
}

TEST_F(whatsapp_test, send_provider_choice_business_default_and_own_sender) {
  auto c = wa_config();
  c.whatsapp_default_provider = "meta";
  start(c);
  open_window(number); // it wrote: inside the 24-hour window
  // Global default meta.
  ASSERT_EQ(send(R"({"to":"+972501234567","text":"a"})").str("provider"),
            "meta");
  // provider:"twilio" forces Twilio.
  ASSERT_EQ(send(R"({"to":"+972501234567","text":"b","provider":"twilio"})")
              .str("provider"),
            "twilio");
  // A business with its own provider, sender and Twilio account.
  auto biz = new_business(
    R"({"name":"Own","whatsapp":{"from":"whatsapp:+97237654321","provider":"twilio"},)"
    R"("twilio":{"account_sid":"ACown","auth_token":"own-token"}})");
  open_window(number, biz);
  auto r = send(R"({"to":"+972501234567","text":"c","business_id":)"
                + std::to_string(biz) + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str("provider"), "twilio");
  auto reqs = twilio_.server().requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(std::string{reqs[1].target()},
            "/2010-04-01/Accounts/ACown/Messages.json");
  EXPECT_EQ(header_of(reqs[1], "Authorization"),
            "Basic " + crypto::base64_encode("ACown:own-token"));
  EXPECT_EQ(parse_form(reqs[1].body())->value_or("From"),
            "whatsapp:+97237654321");
  EXPECT_EQ(sql("SELECT business_id FROM messages WHERE id = "
                + std::to_string(r.num("message_id"))),
            std::to_string(biz));
  // A token's business always wins over business_id in the body.
  auto agent = new_token(biz, "agent");
  r = send(R"({"to":"+972501234567","text":"d","business_id":1})", agent);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(sql("SELECT business_id FROM messages WHERE id = "
                + std::to_string(r.num("message_id"))),
            std::to_string(biz));
}

TEST_F(whatsapp_test, send_without_provider_credentials_is_501) {
  auto c = wa_config();
  c.meta_wa_token.clear();
  c.twilio_account_sid.clear();
  start(c);
  open_window(number); // it wrote: inside the 24-hour window
  auto r = send(R"({"to":"+972501234567","text":"x","provider":"meta"})");
  EXPECT_EQ(r.status, 501) << r.body;
  r = send(R"({"to":"+972501234567","text":"x"})");
  EXPECT_EQ(r.status, 501) << r.body;
  EXPECT_EQ(sql("SELECT count(*) FROM messages"), "0");
}

// -- the conversation actor
// ----------------------------------------------------------

TEST_F(whatsapp_test, concurrent_sends_to_one_number_are_serialised_in_order) {
  start();
  open_window(number); // it wrote: inside the 24-hour window
  open_window(other_number);
  twilio_.server().set_delay(15ms);
  constexpr int n = 20;
  std::vector<std::future<wa_answer>> answers;
  for (int i = 0; i < n; ++i)
    answers.push_back(std::async(std::launch::async, [this, i] {
      return send(R"({"to":"+972501234567","text":"m)" + std::to_string(i)
                  + "\"}");
    }));
  std::vector<std::pair<std::int64_t, std::string>> by_id; // id -> body
  for (int i = 0; i < n; ++i) {
    auto r = answers[static_cast<std::size_t>(i)].get();
    ASSERT_EQ(r.status, 200) << r.body;
    by_id.emplace_back(r.num("message_id"), "m" + std::to_string(i));
  }
  std::sort(by_id.begin(), by_id.end());
  auto msgs = twilio_.messages();
  ASSERT_EQ(msgs.size(), static_cast<std::size_t>(n));
  // The provider saw them one at a time, in the order they were queued (the
  // row ids), each exactly once.
  EXPECT_EQ(twilio_.max_outstanding(), 1);
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(msgs[static_cast<std::size_t>(i)].value_or("Body"),
              by_id[static_cast<std::size_t>(i)].second)
      << i;
  EXPECT_EQ(sql("SELECT count(*) FROM messages WHERE status = 'sent'"),
            std::to_string(n));
  EXPECT_EQ(app().svc().whatsapp_stats.live.load(), 1);
  // Another number has its own conversation and does not wait for this one.
  ASSERT_EQ(send(R"({"to":"+972521112233","text":"other"})").status, 200);
  EXPECT_EQ(app().svc().whatsapp_stats.live.load(), 2);
}

TEST_F(whatsapp_test,
       crashed_conversation_restarts_no_message_lost_or_doubled) {
  start();
  open_window(number); // it wrote: inside the 24-hour window
  twilio_.server().set_delay(100ms);
  constexpr int n = 10;
  std::vector<std::future<wa_answer>> answers;
  for (int i = 0; i < n; ++i)
    answers.push_back(std::async(std::launch::async, [this, i] {
      return send(R"({"to":"+972501234567","text":"c)" + std::to_string(i)
                  + "\"}");
    }));
  // Crash it while one send is at the provider and others wait in its queue.
  ASSERT_TRUE(
    eventually([&] { return twilio_.server().request_count() >= 2; }));
  auto& svc = app().svc();
  caf::actor conv;
  {
    caf::scoped_actor self{svc.sys};
    self
      ->request(svc.whatsapp_manager, 5s, lookup_atom_v,
                whatsapp_conversation_key(1, "+972501234567"))
      .receive([&](caf::actor& a) { conv = a; }, [](caf::error&) {});
  }
  ASSERT_TRUE(conv);
  caf::anon_send_exit(conv, caf::exit_reason::unhandled_exception);
  std::multiset<std::string> answered;
  for (auto& f : answers) {
    auto r = f.get();
    EXPECT_EQ(r.status, 200) << r.body;
    answered.insert(r.str("sid"));
  }
  EXPECT_EQ(svc.whatsapp_stats.restarts.load(), 1);
  // Every message reached the provider exactly once.
  std::multiset<std::string> bodies;
  for (auto& m : twilio_.messages())
    bodies.insert(m.value_or("Body"));
  std::multiset<std::string> expected;
  for (int i = 0; i < n; ++i)
    expected.insert("c" + std::to_string(i));
  EXPECT_EQ(bodies, expected);
  EXPECT_EQ(std::set<std::string>(answered.begin(), answered.end()).size(),
            static_cast<std::size_t>(n));
  EXPECT_EQ(sql("SELECT count(*) FROM messages WHERE status = 'sent'"),
            std::to_string(n));
  EXPECT_EQ(sql("SELECT count(DISTINCT body) FROM messages"),
            std::to_string(n));
  // The restarted conversation keeps working.
  EXPECT_EQ(send(R"({"to":"+972501234567","text":"after"})").status, 200);
}

TEST_F(whatsapp_test, sends_are_rate_limited_per_number) {
  auto c = wa_config();
  c.whatsapp_rate_per_min = 3;
  start(c);
  open_window(number); // it wrote: inside the 24-hour window
  open_window(other_number);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(send(R"({"to":"+972501234567","text":"x"})").status, 200) << i;
  auto r = send(R"({"to":"+972501234567","text":"x"})");
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(sql("SELECT count(*) FROM messages"), "3");
  EXPECT_EQ(send(R"({"to":"+972521112233","text":"x"})").status, 200);
}

/// A schedule that is closed right now (only a day two days away is open).
std::string closed_now_schedule() {
  static const char* days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  auto today = jerusalem_clock(std::time(nullptr)).weekday;
  return std::string{R"({")"} + days[(today + 2) % 7]
         + R"(":["09:00","10:00"]})";
}

TEST_F(whatsapp_test, after_hours_reply_once_per_conversation_revived_from_db) {
  auto c = wa_config();
  c.whatsapp_idle_timeout = std::chrono::seconds(1);
  start(c);
  sql("UPDATE businesses SET working_hours = '" + closed_now_schedule()
      + "'::jsonb, after_hours_reply = 'סגורים כעת, נחזור אליך' WHERE id = 1");
  ASSERT_EQ(inbound("SMq1", "+972501234567", "יש מישהו?").status, 204);
  ASSERT_TRUE(eventually([&] { return twilio_.messages().size() == 1; }));
  auto reply = twilio_.messages()[0];
  EXPECT_EQ(reply.value_or("To"), "whatsapp:+972501234567");
  EXPECT_EQ(reply.value_or("Body"), "סגורים כעת, נחזור אליך");
  ASSERT_TRUE(eventually([&] {
    return sql("SELECT count(*) FROM messages WHERE auto_reply AND status ="
               " 'sent' AND direction = 'out'")
           == "1";
  }));
  // A second message soon after: no second acknowledgement. The
  // conversation counts each inbound message once it decided its reply (a
  // queued reply is counted before that), so the absence is observed.
  auto counter = [&](const char* result) {
    return app().svc().m.whatsapp_messages.Add({{"result", result}}).Value();
  };
  ASSERT_TRUE(eventually([&] { return counter("inbound_handled") == 1; }));
  ASSERT_EQ(inbound("SMq2", "+972501234567", "שוב").status, 204);
  ASSERT_TRUE(eventually([&] { return counter("inbound_handled") == 2; }));
  EXPECT_EQ(counter("auto_reply_queued"), 1);
  EXPECT_EQ(twilio_.messages().size(), 1u);

  // Idle: the conversation stops by itself...
  auto& stats = app().svc().whatsapp_stats;
  ASSERT_TRUE(eventually([&] { return stats.live.load() == 0; }, 5s));
  // ...and is revived from the database: the last reply is remembered.
  ASSERT_EQ(inbound("SMq3", "+972501234567", "שלישי").status, 204);
  ASSERT_TRUE(eventually([&] { return stats.spawned.load() == 2; }));
  ASSERT_TRUE(eventually([&] { return counter("inbound_handled") == 3; }));
  EXPECT_EQ(counter("auto_reply_queued"), 1);
  EXPECT_EQ(twilio_.messages().size(), 1u);

  // Once the last reply is hours old (as the database says), a revived
  // conversation acknowledges again.
  ASSERT_TRUE(eventually([&] { return stats.live.load() == 0; }, 5s));
  sql("UPDATE messages SET created_at = now() - interval '5 hours'"
      " WHERE auto_reply");
  ASSERT_EQ(inbound("SMq4", "+972501234567", "רביעי").status, 204);
  ASSERT_TRUE(eventually([&] { return twilio_.messages().size() == 2; }));
  EXPECT_EQ(sql("SELECT count(*) FROM messages WHERE auto_reply"), "2");
  // Another sender gets their own acknowledgement.
  ASSERT_EQ(inbound("SMq5", "+972521112233", "hello").status, 204);
  ASSERT_TRUE(eventually([&] { return twilio_.messages().size() == 3; }));
  EXPECT_EQ(twilio_.messages()[2].value_or("To"), "whatsapp:+972521112233");
}

TEST_F(whatsapp_test, lead_thread_has_both_directions_and_is_tenant_safe) {
  start();
  // The inbound message opens the 24-hour window for the reply.
  ASSERT_EQ(inbound("SMt1", "+972501234567", "question").status, 204);
  ASSERT_EQ(send(R"({"to":"+972501234567","text":"answer"})").status, 200);
  auto lead = sql("SELECT id FROM leads WHERE phone = '+972501234567'");
  ASSERT_FALSE(lead.empty());
  auto r = api("GET", "/api/crm/leads/" + lead + "/messages", "test-admin");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.num("total"), 2);
  std::set<std::string> seen;
  for (auto& item : r.json.at("items").as_array())
    seen.insert(std::string{item.at("direction").as_string()} + ":"
                + std::string{item.at("body").as_string()});
  EXPECT_EQ(seen, (std::set<std::string>{"in:question", "out:answer"}));
  auto other = new_business(R"({"name":"Other"})");
  auto token = new_token(other, "owner");
  EXPECT_EQ(api("GET", "/api/crm/leads/" + lead + "/messages", token).status,
            404);
}

// Scale-out (SPEC §6): one conversation touched from two instances at the
// same moment. Instance A sends replies through the API while instance B
// stores the customer's inbound messages and sends too. PostgreSQL orders
// them: conversation_seq is unique, follows the id order, and each
// instance's own sequence keeps its order; both instances list the same.
TEST_F(whatsapp_test, two_instances_keep_one_conversation_in_order) {
  auto cfg = wa_config();
  cfg.whatsapp_rate_per_min = 1000;
  start(cfg);
  open_window(number); // it wrote: inside the 24-hour window
  auto cfg_b = cfg;
  cfg_b.port = 0;
  running_app b{cfg_b};
  constexpr int n = 12;
  const std::string customer = "+972501234567";

  auto from_a = std::async(std::launch::async, [&] {
    int ok = 0;
    for (int i = 0; i < n; ++i)
      ok += send(R"({"to":"whatsapp:)" + customer + R"(","text":"A)"
                 + std::to_string(i) + R"("})")
              .status
            == 200;
    return ok;
  });
  auto from_b = std::async(std::launch::async, [&] {
    int ok = 0;
    for (int i = 0; i < n; ++i) {
      ok += twilio_post(b.port(), cfg.public_base_url, cfg.twilio_auth_token,
                        "/webhook/whatsapp/incoming",
                        {{"MessageSid", "SMb" + std::to_string(i)},
                         {"From", "whatsapp:" + customer},
                         {"To", "whatsapp:+14155238886"},
                         {"Body", "B" + std::to_string(i)}})
              .status
            == 204;
      ok += api_call(b.port(), "POST", "/api/whatsapp/send", "test-admin",
                     R"({"to":")" + customer + R"(","text":"C)"
                       + std::to_string(i) + R"("})")
              .status
            == 200;
    }
    return ok;
  });
  ASSERT_EQ(from_a.get(), n);
  ASSERT_EQ(from_b.get(), 2 * n);

  // One conversation, numbered without duplicates, in id order.
  EXPECT_EQ(sql("SELECT count(*) FROM messages"), std::to_string(3 * n));
  EXPECT_EQ(sql("SELECT count(DISTINCT conversation_seq) FROM messages"),
            std::to_string(3 * n));
  EXPECT_EQ(sql("SELECT count(*) FROM wa_conversations"), "1");
  EXPECT_EQ(sql("SELECT string_agg(body, ',' ORDER BY id) ="
                " string_agg(body, ',' ORDER BY conversation_seq)"
                " FROM messages"),
            "t");
  EXPECT_EQ(sql("SELECT last_seq >= (SELECT max(conversation_seq) FROM"
                " messages) FROM wa_conversations"),
            "t");
  // Each writer's own order is kept.
  for (const char* who : {"A", "B", "C"}) {
    std::string want;
    for (int i = 0; i < n; ++i)
      want += (i ? "," : "") + std::string{who} + std::to_string(i);
    EXPECT_EQ(sql(std::string{"SELECT string_agg(body, ',' ORDER BY "
                              "conversation_seq) FROM messages WHERE body "
                              "LIKE '"}
                  + who + "%'"),
              want)
      << who;
  }
  // Both instances show the lead's conversation alike.
  auto lead = sql("SELECT id FROM leads");
  auto list_a = api("GET", "/api/crm/leads/" + lead + "/messages?per_page=100",
                    "test-admin");
  auto list_b = api_call(b.port(), "GET",
                         "/api/crm/leads/" + lead + "/messages?per_page=100",
                         "test-admin");
  ASSERT_EQ(list_a.status, 200) << list_a.body;
  EXPECT_EQ(list_a.body, list_b.body);
  EXPECT_NE(list_a.body.find("\"conversation_seq\":"), std::string::npos);
}

} // namespace
} // namespace al::test
