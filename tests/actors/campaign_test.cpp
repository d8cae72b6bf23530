// The campaign actor against the real database, with an injected dial
// function standing in for Twilio: concurrency, retries, pause, working
// hours, the do-not-contact list, and a killed actor's successor. The
// running app's own campaign manager never touches these campaigns: each
// is leased to the test's instance before it starts (and the app's scan
// is far apart). Outcomes are written the way the Twilio callbacks write
// them (SQL), followed by the same wake the callbacks send.
//
// Not on CAF's test coordinator: every step is a store job on a real
// PostgreSQL connection (detached threads), so the tests wait for
// observable events (a dial, a tick count, a row) and never sleep-then-
// assert.
#include "tests/crm/crm_support.hpp"

#include "actors/campaign.hpp"
#include "actors/campaign_store.hpp"
#include "transport/services.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>

namespace al::test {
namespace {

using namespace std::chrono_literals;

/// The injected dialer: records every dial; answers ok with a sid at once.
struct fake_dialer {
  std::mutex mtx;
  std::vector<outbound_dial> dials;
  std::map<std::int64_t, int> per_lead; // campaign_lead_id -> dials
  int outstanding = 0;                  // dialed, not yet ended by the test
  int max_outstanding = 0;
  bool fail_next = false; // answer the next dial with a retryable error

  campaign_dial_fn fn() {
    return
      [this](outbound_dial d, std::function<void(outbound_dial_result)> done) {
        outbound_dial_result r;
        {
          std::lock_guard<std::mutex> g{mtx};
          dials.push_back(d);
          ++per_lead[d.campaign_lead_id];
          if (fail_next) {
            fail_next = false;
            r.error = "HTTP 503";
            r.retryable = true;
          } else {
            ++outstanding;
            max_outstanding = std::max(max_outstanding, outstanding);
            r.ok = true;
            r.call_sid = "CA" + std::to_string(d.campaign_lead_id);
          }
        }
        done(std::move(r));
      };
  }
  int count() {
    std::lock_guard<std::mutex> g{mtx};
    return static_cast<int>(dials.size());
  }
  int max_per_lead() {
    std::lock_guard<std::mutex> g{mtx};
    int m = 0;
    for (auto& [k, v] : per_lead)
      m = std::max(m, v);
    return m;
  }
};

config engine_config() {
  auto cfg = test_config();
  cfg.campaign_scan = 600000ms; // the app's manager stays out of the way
  return cfg;
}

class CampaignEngine : public ::testing::Test {
protected:
  CampaignEngine()
    : crm(engine_config()) {}

  void SetUp() override {
    owner = crm.new_token(1, "owner").token;
    opts = std::make_shared<campaign_engine_options>();
    opts->db = crm.app().svc().jobs_db;
    opts->instance = "test-engine";
    opts->dial = dialer.fn();
    opts->tick = 50ms;
    opts->campaign_lease = 30s;
    opts->dial_lease = 120s;
    opts->global_cap = 50;
    stats = std::make_shared<campaign_engine_stats>();
  }

  void TearDown() override {
    if (actor)
      caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  }

  /// `n` leads with phones +97250000NNNN.
  void make_leads(int n, const std::string& extra = {}) {
    for (int i = 0; i < n; ++i) {
      auto phone = "+9725000" + std::to_string(10000 + i);
      crm.new_lead(owner, R"({"name":"ליד )" + std::to_string(i)
                            + R"(","phone":")" + phone + "\"" + extra + "}");
    }
  }

  /// Creates a campaign through the API, leases it to the test's
  /// instance, starts it and spawns its actor.
  std::int64_t start(const std::string& body) {
    auto r = crm.call("POST", "/api/crm/campaigns", owner, body);
    EXPECT_EQ(r.status, 201) << r.body;
    auto id = r.int_at("id");
    crm.sql("UPDATE campaigns SET lease_owner = 'test-engine', lease_until ="
            " now() + interval '1 hour' WHERE id = "
            + std::to_string(id));
    EXPECT_EQ(crm
                .call("POST",
                      "/api/crm/campaigns/" + std::to_string(id) + "/start",
                      owner)
                .status,
              200);
    spawn(id);
    return id;
  }

  void spawn(std::int64_t id) {
    actor = spawn_campaign_actor(crm.app().svc().sys, opts, stats, id);
  }

  /// Ends the oldest outstanding dial the way the status callback does.
  void finish(std::int64_t campaign, const std::string& outcome,
              const std::string& next = "now()") {
    outbound_dial d;
    {
      std::lock_guard<std::mutex> g{dialer.mtx};
      ASSERT_LT(finished_, dialer.dials.size());
      d = dialer.dials[finished_++];
      --dialer.outstanding;
    }
    crm.sql("UPDATE campaign_leads SET outcome = '" + outcome
            + "', lease_owner = NULL, lease_until = NULL, next_attempt_at = "
            + next + " WHERE id = " + std::to_string(d.campaign_lead_id));
    wake_campaigns(campaign);
  }

  std::string state(std::int64_t id) {
    return crm.sql("SELECT state FROM campaigns WHERE id = "
                   + std::to_string(id));
  }

  long ticks() const {
    return stats->ticks.load();
  }

  /// Waits until the actor has run `n` more ticks (an observable event:
  /// whatever it would dial, it dialed by then).
  bool more_ticks(long n) {
    auto until = ticks() + n;
    return eventually([&] { return ticks() >= until; }, 10s);
  }

  crm_app crm;
  std::string owner;
  fake_dialer dialer;
  std::shared_ptr<campaign_engine_options> opts;
  std::shared_ptr<campaign_engine_stats> stats;
  campaign_actor actor;
  std::size_t finished_ = 0;
};

TEST_F(CampaignEngine, NeverMoreThanMaxConcurrentLiveAndCompletes) {
  make_leads(20);
  auto id = start(R"({"name":"c","max_concurrent":3})");
  for (int done = 0; done < 20; ++done) {
    ASSERT_TRUE(eventually([&] { return dialer.count() > done; }, 10s))
      << "dial " << done;
    auto live = std::stoi(
      crm.sql("SELECT count(*) FROM campaign_leads WHERE outcome IN ('dialing',"
              " 'answered') AND campaign_id = "
              + std::to_string(id)));
    EXPECT_LE(live, 3);
    finish(id, done % 2 ? "completed" : "voicemail");
  }
  EXPECT_EQ(dialer.max_outstanding, 3);
  EXPECT_EQ(dialer.count(), 20);
  EXPECT_EQ(dialer.max_per_lead(), 1);
  EXPECT_TRUE(eventually([&] { return state(id) == "completed"; }, 10s));
  auto r = crm.call("GET", "/api/crm/campaigns/" + std::to_string(id), owner);
  ASSERT_EQ(r.status, 200) << r.body;
  auto& totals = r.obj().at("totals").as_object();
  EXPECT_EQ(totals.at("completed").as_int64(), 10);
  EXPECT_EQ(totals.at("voicemail").as_int64(), 10);
  EXPECT_EQ(totals.at("queued").as_int64(), 0);
  // The actor let go of the campaign when it completed.
  EXPECT_EQ(crm.sql("SELECT coalesce(lease_owner, '') FROM campaigns WHERE"
                    " id = "
                    + std::to_string(id)),
            "");
}

TEST_F(CampaignEngine, RetriesANoAnswerOnlyWhenItIsDueAgain) {
  make_leads(1);
  auto id = start(R"({"name":"c","attempts":2,"retry_after_min":60})");
  ASSERT_TRUE(eventually([&] { return dialer.count() == 1; }));
  finish(id, "no_answer", "now() + interval '60 minutes'");
  ASSERT_TRUE(more_ticks(5));
  EXPECT_EQ(dialer.count(), 1); // not due for an hour
  EXPECT_EQ(state(id), "running");
  // An hour passes (for the row).
  crm.sql("UPDATE campaign_leads SET next_attempt_at = now() - interval"
          " '1 second' WHERE campaign_id = "
          + std::to_string(id));
  wake_campaigns(id);
  ASSERT_TRUE(eventually([&] { return dialer.count() == 2; }));
  EXPECT_EQ(crm.sql("SELECT attempts_made FROM campaign_leads WHERE"
                    " campaign_id = "
                    + std::to_string(id)),
            "2");
  finish(id, "no_answer", "now() + interval '60 minutes'");
  // Attempts exhausted: nothing can become due, so the campaign is done.
  EXPECT_TRUE(eventually([&] { return state(id) == "completed"; }));
  EXPECT_EQ(dialer.count(), 2);
}

TEST_F(CampaignEngine, APlacementFailureIsRetriedAfterRetryAfterMin) {
  make_leads(1);
  dialer.fail_next = true;
  auto id = start(R"({"name":"c","attempts":3,"retry_after_min":5})");
  ASSERT_TRUE(eventually([&] {
    return crm.sql("SELECT outcome FROM campaign_leads WHERE campaign_id = "
                   + std::to_string(id))
           == "failed";
  }));
  EXPECT_EQ(crm.sql("SELECT last_error FROM campaign_leads WHERE"
                    " campaign_id = "
                    + std::to_string(id)),
            "HTTP 503");
  EXPECT_EQ(crm.sql("SELECT next_attempt_at > now() + interval '4 minutes'"
                    " FROM campaign_leads WHERE campaign_id = "
                    + std::to_string(id)),
            "t");
  ASSERT_TRUE(more_ticks(5));
  EXPECT_EQ(dialer.count(), 1);
  EXPECT_EQ(stats->dial_failures.load(), 1);
}

TEST_F(CampaignEngine, PausedDialsNothingMore) {
  make_leads(5);
  auto id = start(R"({"name":"c","max_concurrent":1})");
  ASSERT_TRUE(eventually([&] { return dialer.count() == 1; }));
  ASSERT_EQ(crm
              .call("POST",
                    "/api/crm/campaigns/" + std::to_string(id) + "/pause",
                    owner)
              .status,
            200);
  // The live call finishes after the pause: its slot is free, yet the
  // actor lets go of the paused campaign instead of dialing.
  finish(id, "completed");
  ASSERT_TRUE(eventually([&] {
    return crm.sql("SELECT coalesce(lease_owner, '') FROM campaigns WHERE"
                   " id = "
                   + std::to_string(id))
           == "";
  }));
  EXPECT_EQ(dialer.count(), 1);
  EXPECT_EQ(state(id), "paused");
  // Resumed (and leased again), it continues where it stopped.
  crm.sql("UPDATE campaigns SET lease_owner = 'test-engine', lease_until ="
          " now() + interval '1 hour' WHERE id = "
          + std::to_string(id));
  ASSERT_EQ(crm
              .call("POST",
                    "/api/crm/campaigns/" + std::to_string(id) + "/start",
                    owner)
              .status,
            200);
  spawn(id);
  EXPECT_TRUE(eventually([&] { return dialer.count() == 2; }));
}

TEST_F(CampaignEngine, OutsideWorkingHoursDialsNothing) {
  // Sunday to Thursday 09:00-18:00; the clock says Saturday 10:00 Israel
  // time (2026-12-12 08:00 UTC), later Sunday 10:00 (2026-12-13).
  crm.sql("UPDATE businesses SET working_hours = '{\"sun\":[\"09:00\","
          "\"18:00\"],\"mon\":[\"09:00\",\"18:00\"]}' WHERE id = 1");
  auto now = std::make_shared<std::atomic<std::time_t>>(1797062400);
  opts->clock = [now] { return now->load(); };
  make_leads(2);
  auto id = start(R"({"name":"c"})");
  ASSERT_TRUE(eventually([&] { return stats->closed_ticks.load() >= 5; }));
  EXPECT_EQ(dialer.count(), 0);
  EXPECT_EQ(state(id), "running");
  now->store(1797062400 + 86400);
  EXPECT_TRUE(eventually([&] { return dialer.count() == 2; }));
}

TEST_F(CampaignEngine, DoNotContactNumbersAreNeverDialed) {
  make_leads(3);
  // On the list before the campaign: opted_out at creation.
  crm.sql("INSERT INTO dnc (business_id, phone) VALUES (1, '+972500010000')");
  auto r = crm.call("POST", "/api/crm/campaigns", owner, R"({"name":"c"})");
  ASSERT_EQ(r.status, 201);
  auto id = r.int_at("id");
  EXPECT_EQ(crm.sql("SELECT outcome FROM campaign_leads WHERE phone ="
                    " '+972500010000' AND campaign_id = "
                    + std::to_string(id)),
            "opted_out");
  // Added after creation: opted_out when its turn comes.
  crm.sql("INSERT INTO dnc (business_id, phone) VALUES (1, '+972500010001')");
  crm.sql("UPDATE campaigns SET lease_owner = 'test-engine', lease_until ="
          " now() + interval '1 hour', state = 'running' WHERE id = "
          + std::to_string(id));
  spawn(id);
  ASSERT_TRUE(eventually([&] { return dialer.count() == 1; }));
  EXPECT_EQ(dialer.dials[0].to, "+972500010002");
  finish(id, "completed");
  EXPECT_TRUE(eventually([&] { return state(id) == "completed"; }));
  EXPECT_EQ(dialer.count(), 1);
  EXPECT_EQ(crm.sql("SELECT count(*) FROM campaign_leads WHERE outcome ="
                    " 'opted_out' AND campaign_id = "
                    + std::to_string(id)),
            "2");
}

TEST_F(CampaignEngine, AKilledActorsSuccessorNeverDialsALiveRowAgain) {
  make_leads(4);
  auto id = start(R"({"name":"c","max_concurrent":2})");
  ASSERT_TRUE(eventually([&] { return dialer.count() == 2; }));
  caf::anon_send_exit(actor, caf::exit_reason::kill);
  spawn(id); // what the supervisor does after a crash
  auto before = ticks();
  ASSERT_TRUE(eventually([&] { return ticks() >= before + 5; }));
  EXPECT_EQ(dialer.count(), 2); // both slots still live (their leases)
  finish(id, "completed");
  finish(id, "completed");
  ASSERT_TRUE(eventually([&] { return dialer.count() == 4; }));
  EXPECT_EQ(dialer.max_per_lead(), 1);
}

TEST_F(CampaignEngine, ADialWhoseCallbackNeverCameFailsAfterItsLease) {
  opts->dial_lease = 2s;
  make_leads(1);
  auto id = start(R"({"name":"c","attempts":2,"retry_after_min":1})");
  ASSERT_TRUE(eventually([&] { return dialer.count() == 1; }));
  ASSERT_TRUE(eventually(
    [&] {
      return crm.sql("SELECT outcome || ':' || last_error FROM campaign_leads"
                     " WHERE campaign_id = "
                     + std::to_string(id))
             == "failed:no status callback";
    },
    10s));
  EXPECT_EQ(stats->expired.load(), 1);
}

TEST_F(CampaignEngine, TheServiceWideCapHoldsAcrossCampaigns) {
  opts->global_cap = 2;
  make_leads(3, R"(,"tags":["a"])");
  auto a
    = start(R"({"name":"a","max_concurrent":5,"lead_filter":{"tags":["a"]}})");
  auto first = actor;
  ASSERT_TRUE(eventually([&] { return dialer.count() == 2; }));
  actor = nullptr;
  auto b = start(R"({"name":"b","max_concurrent":5})");
  ASSERT_TRUE(more_ticks(5));
  EXPECT_EQ(dialer.count(), 2);
  EXPECT_EQ(dialer.max_outstanding, 2);
  finish(a, "completed");
  wake_campaigns(b);
  ASSERT_TRUE(eventually([&] { return dialer.count() == 3; }));
  EXPECT_EQ(dialer.max_outstanding, 2);
  caf::anon_send_exit(first, caf::exit_reason::user_shutdown);
}

} // namespace
} // namespace al::test
