// /api/crm/campaigns end to end: the API's shapes, validation, roles and
// tenant isolation; then the whole service dialing through a fake Twilio
// Calls API (place_outbound_call, the real dial path), within
// max_concurrent, with two instances on one database, and speed-to-lead.
//
// Call outcomes are written the way Twilio's status callbacks write them
// (an UPDATE of the campaign_leads row by call_sid, then the same wake the
// callbacks send through on_dial_finished), so these tests do not depend
// on the webhook handlers (tested with them).
#include "tests/crm/crm_support.hpp"

#include "actors/campaign.hpp"
#include "actors/campaign_store.hpp"
#include "core/form.hpp"
#include "tests/support/fake_http_server.hpp"
#include "transport/services.hpp"

#include <gtest/gtest.h>

#include <future>
#include <map>
#include <mutex>
#include <set>

namespace al::test {
namespace {

using namespace std::chrono_literals;

/// Twilio's Calls API: 201 with a new sid for each POST .../Calls.json.
struct fake_calls_api {
  std::mutex mtx;
  std::vector<std::pair<std::string, std::string>> created; // sid, To
  std::map<std::string, int> per_number;
  std::set<std::string> ended;
  int max_outstanding = 0;
  int next = 0;

  fake_http_server server{[this](const fake_http_server::request& req) {
    std::string target{req.target()};
    if (req.method() != http::verb::post
        || target.find("/Calls.json") == std::string::npos)
      return fake_http_server::reply(http::status::not_found, "{}");
    auto form = parse_form(req.body());
    std::string to = form ? std::string{form->get("To").value_or("")} : "";
    std::lock_guard<std::mutex> g{mtx};
    char sid[40];
    std::snprintf(sid, sizeof(sid), "CA%032d", ++next);
    created.emplace_back(sid, to);
    ++per_number[to];
    max_outstanding = std::max(max_outstanding,
                               static_cast<int>(created.size() - ended.size()));
    auto res = fake_http_server::reply(http::status::created,
                                       std::string{R"({"sid":")"} + sid
                                         + R"(","status":"queued"})");
    res.set(http::field::content_type, "application/json");
    return res;
  }};

  int count() {
    std::lock_guard<std::mutex> g{mtx};
    return static_cast<int>(created.size());
  }
  /// The sids created and not yet ended.
  std::vector<std::string> outstanding() {
    std::lock_guard<std::mutex> g{mtx};
    std::vector<std::string> out;
    for (auto& [sid, to] : created)
      if (!ended.count(sid))
        out.push_back(sid);
    return out;
  }
  void end(const std::string& sid) {
    std::lock_guard<std::mutex> g{mtx};
    ended.insert(sid);
  }
  int max_per_number() {
    std::lock_guard<std::mutex> g{mtx};
    int m = 0;
    for (auto& [n, c] : per_number)
      m = std::max(m, c);
    return m;
  }
};

config dial_config(const std::string& twilio_base) {
  auto cfg = test_config();
  cfg.twilio_api_base = twilio_base;
  cfg.campaign_scan = 200ms;
  cfg.campaign_tick = 100ms;
  return cfg;
}

class CampaignsApi : public ::testing::Test {
protected:
  void SetUp() override {
    owner = crm.new_token(1, "owner").token;
    agent = crm.new_token(1, "agent").token;
  }
  std::int64_t lead(const std::string& name, const std::string& phone,
                    const std::string& extra = {}) {
    return crm.new_lead(owner, R"({"name":")" + name + R"(","phone":")" + phone
                                 + "\"" + extra + "}");
  }
  crm_app crm{[] {
    auto cfg = test_config();
    cfg.campaign_scan = 600000ms; // nothing here is dialed
    return cfg;
  }()};
  std::string owner, agent;
};

TEST_F(CampaignsApi, CreateMaterialisesTheFilteredLeads) {
  auto vip = lead("א", "050-100-0001", R"(,"tags":["vip"])");
  lead("ב", "050-100-0002");
  crm.new_lead(owner, R"({"name":"no phone"})");
  auto r = crm.call("POST", "/api/crm/campaigns", owner,
                    R"({"name":"VIP","lead_filter":{"tags":["vip"]},
                        "max_concurrent":2,"attempts":3,"retry_after_min":30,
                        "voicemail":"message","voicemail_text":"שלום"})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto id = r.int_at("id");
  auto all = crm.call("POST", "/api/crm/campaigns", owner, R"({"name":"all"})");
  ASSERT_EQ(all.status, 201) << all.body;

  auto g = crm.call("GET", "/api/crm/campaigns/" + std::to_string(id), owner);
  ASSERT_EQ(g.status, 200) << g.body;
  auto& o = g.obj();
  EXPECT_EQ(o.at("name").as_string(), "VIP");
  EXPECT_EQ(o.at("state").as_string(), "draft");
  EXPECT_EQ(o.at("max_concurrent").as_int64(), 2);
  EXPECT_EQ(o.at("attempts").as_int64(), 3);
  EXPECT_EQ(o.at("retry_after_min").as_int64(), 30);
  EXPECT_EQ(o.at("voicemail").as_string(), "message");
  auto& totals = o.at("totals").as_object();
  EXPECT_EQ(totals.size(), 9u);
  EXPECT_EQ(totals.at("queued").as_int64(), 1);
  EXPECT_EQ(totals.at("opted_out").as_int64(), 0);
  auto& leads = o.at("leads").as_array();
  ASSERT_EQ(leads.size(), 1u);
  auto& l = leads[0].as_object();
  EXPECT_EQ(l.at("lead_id").as_int64(), vip);
  EXPECT_EQ(l.at("name").as_string(), "א");
  EXPECT_EQ(l.at("phone").as_string(), "+972501000001");
  EXPECT_EQ(l.at("outcome").as_string(), "queued");
  EXPECT_EQ(l.at("attempts_made").as_int64(), 0);
  EXPECT_TRUE(l.at("next_attempt_at").is_string());
  EXPECT_TRUE(l.at("answered_by").is_null());
  EXPECT_EQ(l.at("last_error").as_string(), "");

  auto a = crm.call("GET",
                    "/api/crm/campaigns/" + std::to_string(all.int_at("id"))
                      + "?per_page=1&page=2",
                    agent);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.obj().at("totals").at("queued").as_int64(), 2);
  EXPECT_EQ(a.obj().at("leads").as_array().size(), 1u);
  EXPECT_EQ(a.obj().at("leads_total").as_int64(), 2);

  auto list = crm.call("GET", "/api/crm/campaigns", agent);
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.items().size(), 2u);
  EXPECT_EQ(list.items()[0].at("name").as_string(), "all"); // newest first
}

TEST_F(CampaignsApi, StartPauseAndTheCompletedConflict) {
  lead("א", "050-100-0001");
  auto id = std::to_string(
    crm.call("POST", "/api/crm/campaigns", owner, R"({"name":"c"})")
      .int_at("id"));
  auto s = crm.call("POST", "/api/crm/campaigns/" + id + "/start", owner);
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.str_at("state"), "running");
  EXPECT_NE(crm.sql("SELECT started_at FROM campaigns WHERE id = " + id), "");
  auto p = crm.call("POST", "/api/crm/campaigns/" + id + "/pause", owner);
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.str_at("state"), "paused");
  crm.sql("UPDATE campaigns SET state = 'completed' WHERE id = " + id);
  EXPECT_EQ(
    crm.call("POST", "/api/crm/campaigns/" + id + "/start", owner).status, 409);
  EXPECT_EQ(
    crm.call("POST", "/api/crm/campaigns/" + id + "/pause", owner).status, 409);
  EXPECT_EQ(crm.call("POST", "/api/crm/campaigns/999999/start", owner).status,
            404);
}

TEST_F(CampaignsApi, RolesValidationAndTenantIsolation) {
  EXPECT_EQ(
    crm.call("POST", "/api/crm/campaigns", agent, R"({"name":"c"})").status,
    403);
  const char* bad[] = {
    R"({})",
    R"({"name":"c","max_concurrent":51})",
    R"({"name":"c","attempts":0})",
    R"({"name":"c","voicemail":"message"})",
    R"({"name":"c","lead_filter":{"ids":["x"]}})",
    R"({"name":"c","lead_filter":"all"})",
    R"([1,2])",
    R"(not json)",
  };
  for (auto b : bad) {
    auto r = crm.call("POST", "/api/crm/campaigns", owner, b);
    EXPECT_EQ(r.status, 400) << b << " " << r.body;
    EXPECT_NE(r.body.find("\"success\":false"), std::string::npos) << b;
  }
  auto id = std::to_string(
    crm.call("POST", "/api/crm/campaigns", owner, R"({"name":"c"})")
      .int_at("id"));
  auto other = crm.new_business("אחר");
  auto theirs = crm.new_token(other, "owner").token;
  // The other office's lead ids in a filter pick nothing of theirs.
  auto mine = lead("א", "050-100-0001");
  auto r = crm.call("POST", "/api/crm/campaigns", theirs,
                    R"({"name":"x","lead_filter":{"ids":[)"
                      + std::to_string(mine) + "]}}");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(crm.sql("SELECT count(*) FROM campaign_leads WHERE campaign_id = "
                    + std::to_string(r.int_at("id"))),
            "0");
  for (auto [m, path] :
       {std::pair{"GET", "/api/crm/campaigns/" + id},
        std::pair{"POST", "/api/crm/campaigns/" + id + "/start"},
        std::pair{"POST", "/api/crm/campaigns/" + id + "/pause"}})
    EXPECT_EQ(crm.call(m, path, theirs).status, 404) << path;
  auto list = crm.call("GET", "/api/crm/campaigns", theirs);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.items().size(), 1u);
  EXPECT_EQ(crm.call("GET", "/api/crm/campaigns/abc", owner).status, 404);
}

// -- dialing through the fake Calls API -------------------------------------

/// enqueue_speed_to_lead in a store job, as intake and WhatsApp run it.
std::int64_t enqueue(crm_app& crm, std::int64_t lead, const std::string& e164) {
  auto p = std::make_shared<std::promise<std::int64_t>>();
  auto id = std::make_shared<std::int64_t>(0);
  crm.app().svc().db.run(
    [id, lead, e164](db_tx& tx) {
      *id = enqueue_speed_to_lead(tx, 1, lead, e164);
    },
    [p, id](const db_error& err) {
      if (!err.empty())
        p->set_exception(std::make_exception_ptr(std::runtime_error(err)));
      else
        p->set_value(*id);
    });
  return p->get_future().get();
}

class CampaignDialing : public ::testing::Test {
protected:
  CampaignDialing()
    : crm(dial_config(twilio.server.base_url())) {}
  void SetUp() override {
    owner = crm.new_token(1, "owner").token;
    ASSERT_EQ(crm
                .call("PATCH", "/api/admin/businesses/1", admin_token,
                      R"({"phone_numbers":["+97235550000"]})")
                .status,
              200);
  }
  void make_leads(int n) {
    for (int i = 0; i < n; ++i)
      crm.new_lead(owner, R"({"name":"ליד","phone":"+9725000)"
                            + std::to_string(10000 + i) + "\"}");
  }
  /// Ends every outstanding call as the status callback would.
  int end_outstanding(const std::string& outcome) {
    auto sids = twilio.outstanding();
    for (auto& sid : sids) {
      // The sid is stored on the row once the dial helper's job commits.
      if (!eventually([&] {
            return crm.sql("SELECT count(*) FROM campaign_leads WHERE"
                           " call_sid = '"
                           + sid + "'")
                   == "1";
          }))
        ADD_FAILURE() << "no row for " << sid;
      twilio.end(sid); // before the slot is free again
      auto campaign = crm.sql(
        "UPDATE campaign_leads SET outcome = '" + outcome
        + "', lease_owner = NULL, lease_until = NULL WHERE call_sid = '" + sid
        + "' RETURNING campaign_id");
      wake_campaigns(std::stoll(campaign));
    }
    return static_cast<int>(sids.size());
  }
  fake_calls_api twilio; // first: outlives the app
  crm_app crm;
  std::string owner;
};

TEST_F(CampaignDialing, TwentyLeadsThreeAtATimeUntilCompleted) {
  make_leads(20);
  auto id = std::to_string(crm
                             .call("POST", "/api/crm/campaigns", owner,
                                   R"({"name":"c","max_concurrent":3})")
                             .int_at("id"));
  ASSERT_EQ(
    crm.call("POST", "/api/crm/campaigns/" + id + "/start", owner).status, 200);
  int ended = 0;
  while (ended < 20) {
    ASSERT_TRUE(eventually([&] { return twilio.count() > ended; }, 10s))
      << "stuck after " << ended;
    ended += end_outstanding("completed");
  }
  EXPECT_TRUE(eventually([&] {
    return crm.sql("SELECT state FROM campaigns WHERE id = " + id)
           == "completed";
  }));
  EXPECT_EQ(twilio.count(), 20);
  EXPECT_LE(twilio.max_outstanding, 3);
  EXPECT_EQ(twilio.max_per_number(), 1);
  auto g = crm.call("GET", "/api/crm/campaigns/" + id, owner);
  EXPECT_EQ(g.obj().at("totals").at("completed").as_int64(), 20);
  EXPECT_EQ(crm.sql("SELECT count(*) FROM calls WHERE direction ="
                    " 'outbound'"),
            "20");
}

TEST_F(CampaignDialing, TwoInstancesNeverDialALeadTwice) {
  running_app second{crm.cfg()}; // the same database
  make_leads(12);
  auto id = std::to_string(crm
                             .call("POST", "/api/crm/campaigns", owner,
                                   R"({"name":"c","max_concurrent":4})")
                             .int_at("id"));
  ASSERT_EQ(
    crm.call("POST", "/api/crm/campaigns/" + id + "/start", owner).status, 200);
  int ended = 0;
  int round = 0;
  while (ended < 12) {
    ASSERT_TRUE(eventually([&] { return twilio.count() > ended; }, 10s));
    ended += end_outstanding(round++ % 2 ? "completed" : "voicemail");
    // Halfway, the instance holding the campaign lets it go as a dead one
    // would (its lease expires); the other takes over.
    if (round == 2)
      crm.sql("UPDATE campaigns SET lease_until = now() - interval"
              " '1 second' WHERE id = "
              + id);
  }
  EXPECT_TRUE(eventually([&] {
    return crm.sql("SELECT state FROM campaigns WHERE id = " + id)
           == "completed";
  }));
  EXPECT_EQ(twilio.count(), 12);
  EXPECT_EQ(twilio.max_per_number(), 1);
  EXPECT_LE(twilio.max_outstanding, 4);
}

TEST_F(CampaignDialing, SpeedToLeadDialsANewLeadWithinATick) {
  crm.sql("UPDATE businesses SET auto_call_new_leads = TRUE WHERE id = 1");
  auto lead = crm.new_lead(owner, R"({"name":"חדש","phone":"050-777-0001"})");
  auto campaign = enqueue(crm, lead, "+972507770001");
  ASSERT_GT(campaign, 0);
  ASSERT_TRUE(eventually([&] { return twilio.count() == 1; }, 10s));
  EXPECT_EQ(twilio.created[0].second, "+972507770001");
  EXPECT_EQ(crm.sql("SELECT kind || ':' || state || ':' || attempts || ':'"
                    " || retry_after_min FROM campaigns WHERE id = "
                    + std::to_string(campaign)),
            "speed_to_lead:running:2:10");
  EXPECT_EQ(crm.sql("SELECT first_dial_at >= lead_created_at FROM"
                    " campaign_leads WHERE lead_id = "
                    + std::to_string(lead)),
            "t");
  // A second lead joins the same campaign; off means nothing is queued.
  crm.sql("UPDATE businesses SET auto_call_new_leads = FALSE WHERE id = 1");
  EXPECT_EQ(enqueue(crm, lead, "+972507770001"), 0);
  end_outstanding("completed");
  // Speed-to-lead never completes: it stays running for the next lead.
  ASSERT_TRUE(eventually([&] {
    return crm.sql("SELECT outcome FROM campaign_leads WHERE lead_id = "
                   + std::to_string(lead))
           == "completed";
  }));
  EXPECT_EQ(crm.sql("SELECT state FROM campaigns WHERE id = "
                    + std::to_string(campaign)),
            "running");
  EXPECT_NE(
    crm.app().svc().m.serialize().find("al_speed_to_lead_seconds_count 1"),
    std::string::npos);
}

} // namespace
} // namespace al::test
