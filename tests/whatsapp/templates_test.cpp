// WhatsApp's 24-hour customer-care window and templates against the real
// PostgreSQL and the fake providers: free-form sends outside the window are
// 422 without a provider call, template CRUD, template sends through Twilio
// (ContentSid + ContentVariables) and Meta (type template), and the in-call
// send_whatsapp tool and booking confirmation falling back to templates.
#include "tests/whatsapp/wa_support.hpp"

#include "actors/call.hpp"
#include "actors/call_tools.hpp"
#include "app/compose.hpp"
#include "core/israel_time.hpp"
#include "transport/handlers/handlers.hpp"
#include "transport/services.hpp"

#include <boost/beast/http.hpp>

#include <ctime>
#include <future>

namespace al::test {
namespace {

using namespace std::chrono_literals;

const std::string number = "+972501234567";
const std::string twilio_sid = "HX0123456789abcdef0123456789abcdef";
const std::string outside
  = R"({"success":false,"error":"Outside the 24-hour window: use a template"})";

class wa_templates_test : public whatsapp_test {
protected:
  /// An inbound message from `from` to business 1, `hours_ago` hours ago.
  void wrote(const std::string& from, double hours_ago = 0) {
    static int n = 0;
    auto sid = "SMin" + std::to_string(++n);
    ASSERT_EQ(inbound(sid, from, "שלום").status, 204);
    if (hours_ago > 0) {
      ASSERT_EQ(sql("UPDATE wa_conversations SET last_inbound_at = now()"
                    " - interval '"
                    + std::to_string(hours_ago)
                    + " hours' WHERE business_id = 1 AND peer = 'whatsapp:"
                    + from + "' RETURNING peer"),
                "whatsapp:" + from);
    }
  }

  wa_answer add_template(const std::string& body,
                         const std::string& token = "test-admin") {
    return api("POST", "/api/crm/whatsapp/templates", token, body);
  }

  std::size_t twilio_count() {
    return twilio_.server().request_count();
  }

  /// Runs a call tool for a call `sid` from `number` to business 1 and
  /// waits for the model's answer.
  std::string run_tool(const std::string& sid, const std::string& name,
                       const std::string& args) {
    auto e = make_call_env(app().svc());
    envs_.push_back(e); // a booking's confirmation runs after the answer
    call_info info;
    info.call_sid = sid;
    info.business_id = 1;
    info.from = number;
    info.to = "+97231234567";
    auto answer = std::make_shared<std::promise<std::string>>();
    auto f = answer->get_future();
    run_call_tool(*e, info, tool_call{"call_1", name, args},
                  [answer](std::string out) { answer->set_value(out); });
    if (f.wait_for(10s) != std::future_status::ready)
      return "timeout";
    return f.get();
  }

  // The call envs hold actor handles: released before the app stops.
  void TearDown() override {
    envs_.clear();
  }

  std::vector<std::shared_ptr<const call_env>> envs_;
};

TEST_F(wa_templates_test, free_form_to_a_number_that_never_wrote_is_422) {
  start();
  auto r = send(R"({"to":")" + number + R"(","text":"שלום"})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.body, outside);
  // The answer is synchronous: the provider was never called, and no row.
  EXPECT_EQ(twilio_count(), 0u);
  EXPECT_EQ(meta_.server().request_count(), 0u);
  EXPECT_EQ(sql("SELECT count(*) FROM messages WHERE direction = 'out'"), "0");
  // The same through Meta.
  r = send(R"({"to":")" + number + R"(","text":"שלום","provider":"meta"})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.body, outside);
  EXPECT_EQ(meta_.server().request_count(), 0u);
}

TEST_F(wa_templates_test, inside_the_window_a_free_form_send_goes_out) {
  start();
  wrote(number);
  auto r = send(R"({"to":")" + number + R"(","text":"שלום"})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(twilio_.messages().size(), 1u);
  EXPECT_EQ(twilio_.messages()[0].value_or("Body"), "שלום");
  EXPECT_FALSE(twilio_.messages()[0].contains("ContentSid"));
  EXPECT_EQ(sql("SELECT coalesce(template_name, 'none') FROM messages"
                " WHERE direction = 'out'"),
            "none");
  // Another number's message does not open this one's window, nor does
  // another business's.
  wrote("+972501111111");
  auto other = new_business(R"({"name":"Other"})");
  auto tok = new_token(other, "owner");
  r = send(R"({"to":"+972501111111","text":"x"})", tok);
  EXPECT_EQ(r.status, 422) << r.body;
  r = send(R"({"to":"+972502222222","text":"x"})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(twilio_count(), 1u);
}

TEST_F(wa_templates_test, a_number_that_wrote_25_hours_ago_is_outside) {
  start();
  wrote(number, 25);
  auto r = send(R"({"to":")" + number + R"(","text":"שלום"})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.body, outside);
  EXPECT_EQ(twilio_count(), 0u);
  // 23 hours ago is inside.
  wrote(number, 23);
  r = send(R"({"to":")" + number + R"(","text":"שלום"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(twilio_count(), 1u);
}

TEST_F(wa_templates_test, template_crud_and_validation) {
  start();
  auto owner = new_token(1, "owner");
  auto agent = new_token(1, "agent");
  auto ro = new_token(1, "read_only");
  auto r = add_template(R"({"name":"pay_link","purpose":"payment_link",)"
                        R"("twilio_content_sid":")"
                          + twilio_sid
                          + R"(","variables":["1","2","3"],)"
                            R"("body":"שלום {{1}}, לתשלום {{2}}: {{3}}"})",
                        owner);
  ASSERT_EQ(r.status, 201) << r.body;
  auto id = r.num("id");
  ASSERT_GT(id, 0);
  EXPECT_EQ(r.str("name"), "pay_link");
  EXPECT_EQ(r.str("purpose"), "payment_link");
  EXPECT_EQ(r.str("language"), "he");
  EXPECT_EQ(r.str("meta_name"), "pay_link");
  EXPECT_EQ(r.str("twilio_content_sid"), twilio_sid);
  EXPECT_EQ(json::serialize(r.obj().at("variables")), R"(["1","2","3"])");

  // Duplicate name: 409; agents and read-only tokens may not write.
  r = add_template(R"({"name":"pay_link","body":"x"})", owner);
  EXPECT_EQ(r.status, 409) << r.body;
  r = add_template(R"({"name":"by_agent","body":"x"})", agent);
  EXPECT_EQ(r.status, 403) << r.body;
  r = add_template(R"({"name":"by_ro","body":"x"})", ro);
  EXPECT_EQ(r.status, 403) << r.body;
  r = api("POST", "/api/crm/whatsapp/templates", "", R"({"name":"x"})");
  EXPECT_EQ(r.status, 401) << r.body;

  // Bad input: 400 for malformed, 422 for values out of their rules.
  for (auto [body, status] : std::vector<std::pair<std::string, int>>{
         {"{not json", 400},
         {"[]", 400},
         {R"({"body":"x"})", 400},
         {R"({"name":"ok"})", 400},
         {R"({"name":5,"body":"x"})", 400},
         {R"({"name":"Bad Name","body":"x"})", 422},
         {R"({"name":"ok","purpose":"marketing","body":"x"})", 422},
         {R"({"name":"ok","twilio_content_sid":"HX1","body":"x"})", 422},
         {R"({"name":"ok","variables":["1"],"body":"{{1}} {{2}}"})", 422},
         {R"({"name":"ok","language":"Hebrew","body":"x"})", 422},
       }) {
    r = add_template(body, owner);
    EXPECT_EQ(r.status, status) << body << " -> " << r.body;
    EXPECT_EQ(r.obj().at("success"), false) << body;
  }

  // Agents read; the list is the business's own.
  auto other = new_business(R"({"name":"Other"})");
  auto other_owner = new_token(other, "owner");
  ASSERT_EQ(add_template(R"({"name":"theirs","body":"x"})", other_owner).status,
            201);
  r = api("GET", "/api/crm/whatsapp/templates", agent);
  ASSERT_EQ(r.status, 200) << r.body;
  auto& items = r.obj().at("items").as_array();
  ASSERT_EQ(items.size(), 1u) << r.body;
  EXPECT_EQ(items[0].at("name"), "pay_link");

  // Delete: agents 403, another business's id 404, own 204 then 404.
  auto target = "/api/crm/whatsapp/templates/" + std::to_string(id);
  EXPECT_EQ(api("DELETE", target, agent).status, 403);
  auto theirs = sql("SELECT id FROM wa_templates WHERE name = 'theirs'");
  EXPECT_EQ(
    api("DELETE", "/api/crm/whatsapp/templates/" + theirs, owner).status, 404);
  auto d = api("DELETE", target, owner);
  EXPECT_EQ(d.status, 204) << d.body;
  EXPECT_TRUE(d.body.empty());
  EXPECT_EQ(api("DELETE", target, owner).status, 404);
  EXPECT_EQ(api("DELETE", "/api/crm/whatsapp/templates/abc", owner).status,
            404);
  EXPECT_EQ(sql("SELECT count(*) FROM wa_templates"), "1");
}

TEST_F(wa_templates_test, template_send_through_twilio_content_api) {
  start();
  ASSERT_EQ(add_template(R"({"name":"pay_link","purpose":"payment_link",)"
                         R"("twilio_content_sid":")"
                         + twilio_sid
                         + R"(","body":"שלום {{1}}, לתשלום {{2}}"})")
              .status,
            201);
  // Never wrote: a template goes out anyway.
  auto r = send(R"({"to":")" + number
                + R"(","template":{"name":"pay_link","variables":)"
                  R"({"1":"דנה","2":"150 ₪"}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str("template"), "pay_link");
  auto msgs = twilio_.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].value_or("To"), "whatsapp:" + number);
  EXPECT_EQ(msgs[0].value_or("From"), "whatsapp:+14155238886");
  EXPECT_EQ(msgs[0].value_or("ContentSid"), twilio_sid);
  auto vars = json::parse(msgs[0].value_or("ContentVariables"));
  EXPECT_EQ(vars, (json::value{{"1", "דנה"}, {"2", "150 ₪"}}));
  EXPECT_FALSE(msgs[0].contains("Body"));
  // The row keeps the rendered preview and the template's name.
  EXPECT_EQ(sql("SELECT body || '|' || template_name || '|' || status FROM"
                " messages WHERE id = "
                + std::to_string(r.num("message_id"))),
            "שלום דנה, לתשלום 150 ₪|pay_link|sent");

  // Unknown template, missing variables: 422 without a provider call.
  r = send(R"({"to":")" + number
           + R"(","template":{"name":"nope","variables":{"1":"x"}}})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.str("error").find("Unknown template"), std::string::npos);
  r = send(R"({"to":")" + number
           + R"(","template":{"name":"pay_link","variables":{"1":"x"}}})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.str("error"), "Missing template variables: 2");
  r = send(R"({"to":")" + number + R"(","template":{"name":"pay_link"}})");
  EXPECT_EQ(r.status, 422) << r.body;
  // A malformed template object: 400.
  r = send(R"({"to":")" + number + R"(","template":"pay_link"})");
  EXPECT_EQ(r.status, 400) << r.body;
  r = send(R"({"to":")" + number
           + R"(","template":{"name":"pay_link","variables":[1]}})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(twilio_count(), 1u);

  // A template without a Twilio content sid cannot go through Twilio.
  ASSERT_EQ(add_template(R"({"name":"meta_only","body":"hi"})").status, 201);
  r = send(R"({"to":")" + number + R"(","template":{"name":"meta_only"}})");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.str("error").find("twilio_content_sid"), std::string::npos);
  EXPECT_EQ(twilio_count(), 1u);
}

TEST_F(wa_templates_test, template_send_through_meta_cloud_api) {
  start();
  ASSERT_EQ(add_template(R"({"name":"visit","purpose":"follow_up",)"
                         R"("meta_name":"visit_v2","language":"he",)"
                         R"("body":"{{1}}, נתראה ב-{{2}}"})")
              .status,
            201);
  auto r = send(R"({"to":")" + number
                + R"(","provider":"meta","template":{"name":"visit",)"
                  R"("variables":{"1":"דנה","2":"10:00"}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str("provider"), "meta");
  auto reqs = meta_.server().requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(std::string{reqs[0].target()}, "/10987/messages");
  EXPECT_EQ(json::parse(reqs[0].body()),
            json::parse(R"({"messaging_product":"whatsapp",)"
                        R"("to":"972501234567","type":"template",)"
                        R"("template":{"name":"visit_v2",)"
                        R"("language":{"code":"he"},"components":[)"
                        R"({"type":"body","parameters":[)"
                        R"({"type":"text","text":"דנה"},)"
                        R"({"type":"text","text":"10:00"}]}]}})"));
  EXPECT_EQ(sql("SELECT body || '|' || template_name FROM messages"
                " WHERE direction = 'out'"),
            "דנה, נתראה ב-10:00|visit");
  EXPECT_EQ(twilio_count(), 0u);
}

// -- the in-call send_whatsapp tool and the booking confirmation
// ---------------

TEST_F(wa_templates_test, in_call_tool_outside_the_window_reports_it) {
  start();
  ASSERT_EQ(sql("INSERT INTO calls (business_id, call_sid, from_number,"
                " to_number, status) VALUES (1, 'CAwin1', '"
                + number + "', '+97231234567', 'in-progress') RETURNING id")
              .empty(),
            false);
  auto out = run_tool("CAwin1", "send_whatsapp",
                      R"({"text":"סיכום: דירת 4 חדרים"})");
  auto v = json::parse(out);
  EXPECT_EQ(v.at("ok"), false) << out;
  EXPECT_EQ(v.at("reason"), "whatsapp_outside_window") << out;
  EXPECT_EQ(twilio_count(), 0u);
  // The call keeps the fact as an event.
  ASSERT_TRUE(eventually([&] {
    return sql("SELECT count(*) FROM call_events WHERE call_sid = 'CAwin1'"
               " AND kind = 'whatsapp_outside_window'")
           == "1";
  }));
  EXPECT_EQ(sql("SELECT detail->>'what' FROM call_events"
                " WHERE kind = 'whatsapp_outside_window'"),
            "send_whatsapp");
}

TEST_F(wa_templates_test, in_call_tool_outside_the_window_uses_generic) {
  start();
  ASSERT_EQ(add_template(R"({"name":"note","purpose":"generic",)"
                         R"("twilio_content_sid":")"
                         + twilio_sid + R"(","body":"הודעה מהמשרד: {{1}}"})")
              .status,
            201);
  auto out = run_tool("CAwin2", "send_whatsapp",
                      R"({"text":"סיכום:\nדירת 4 חדרים"})");
  EXPECT_NE(out.find(R"("ok":true)"), std::string::npos) << out;
  auto msgs = twilio_.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].value_or("ContentSid"), twilio_sid);
  EXPECT_EQ(json::parse(msgs[0].value_or("ContentVariables")),
            (json::value{{"1", "סיכום: דירת 4 חדרים"}}));
  EXPECT_FALSE(msgs[0].contains("Body"));
  EXPECT_EQ(sql("SELECT body || '|' || template_name FROM messages"
                " WHERE direction = 'out'"),
            "הודעה מהמשרד: סיכום: דירת 4 חדרים|note");
  // Inside the window the text itself goes.
  wrote(number);
  out = run_tool("CAwin2", "send_whatsapp", R"({"text":"שוב"})");
  EXPECT_NE(out.find(R"("ok":true)"), std::string::npos) << out;
  msgs = twilio_.messages();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[1].value_or("Body"), "שוב");
  EXPECT_FALSE(msgs[1].contains("ContentSid"));
}

TEST_F(wa_templates_test, booking_confirmation_uses_its_template_by_name) {
  start();
  ASSERT_EQ(add_template(R"({"name":"visit_ok",)"
                         R"("purpose":"appointment_confirmation",)"
                         R"("twilio_content_sid":")"
                         + twilio_sid
                         + R"(","body":"{{name}}, נקבעה פגישה ל-{{date}})"
                           R"( בשעה {{time}}"})")
              .status,
            201);
  // Tomorrow 11:00 Israel time, inside the default (always open) hours.
  auto when = std::time(nullptr) + 2 * 86400;
  auto m = israel_at(when);
  auto starts = m.date + "T11:00:00"
                + (m.utc_offset_s == 10800 ? "+03:00" : "+02:00");
  auto out = run_tool("CAwin3", "book_appointment",
                      R"({"starts_at":")" + starts + R"("})");
  EXPECT_NE(out.find(R"("ok":true)"), std::string::npos) << out;
  ASSERT_TRUE(eventually([&] { return twilio_.messages().size() == 1; }));
  auto msgs = twilio_.messages();
  EXPECT_EQ(msgs[0].value_or("ContentSid"), twilio_sid);
  auto date = m.date.substr(8, 2) + "/" + m.date.substr(5, 2) + "/"
              + m.date.substr(0, 4);
  // The caller's lead has no name: a neutral form of address.
  EXPECT_EQ(
    json::parse(msgs[0].value_or("ContentVariables")),
    (json::value{{"name", "לקוח/ה"}, {"date", date}, {"time", "11:00"}}));
}

} // namespace
} // namespace al::test
