// actors/whatsapp_conversation: the conversation actor, its requesters and
// the inbound notifier under CAF's deterministic test coordinator,
// supervised by a real manager (spawn_whatsapp_manager), against a real
// migrated database through store::direct (each store job runs at once on the
// caller's thread) and a fake Twilio: an http_send_fn that records the
// Body of every Messages API request and answers at once or holds the
// request until the test answers it.
//
// Only sched.run() delivers messages: the fixture's run() also fires every
// pending timer, which would skip the clock ahead. The rate limit, the
// queue deadline, the idle timeout and the gap between automatic replies
// run on the actor clock: a test advances it.
#define CAF_SUITE whatsapp_actor

#include "actors/store.hpp"
#include "actors/supervisor.hpp"
#include "actors/type_ids.hpp"
#include "actors/whatsapp_conversation.hpp"
#include "actors/whatsapp_protocol.hpp"
#include "actors/whatsapp_store.hpp"
#include "core/form.hpp"
#include "tests/support/actor_config.hpp"
#include "tests/support/app_fixture.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/test/dsl.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace al;
using namespace std::chrono_literals;

using strings = std::vector<std::string>;

using test_config = al::test::actor_config;

constexpr auto number = "+972501234567";

/// A fake Twilio Messages API: records the Body of every request, in
/// order; answers 201 with a new sid at once, or holds the request until
/// answer() (a provider call still under way).
struct fake_twilio {
  struct held_call {
    outbound_request req;
    std::function<void(outbound_response)> done;
  };

  bool hold = false;
  strings bodies;
  std::vector<held_call> held;

  void send(outbound_request req, std::function<void(outbound_response)> done) {
    auto form = parse_form(req.body);
    bodies.push_back(form ? form->value_or("Body") : std::string{"?"});
    if (hold) {
      held.push_back(held_call{std::move(req), std::move(done)});
      return;
    }
    done(accepted());
  }

  outbound_response accepted() const {
    outbound_response r;
    r.status = 201;
    r.body = R"({"sid":"SM)" + std::to_string(bodies.size())
             + R"(","status":"queued"})";
    return r;
  }

  /// Answers the oldest held request (accepted).
  void answer() {
    CAF_REQUIRE(!held.empty());
    auto c = std::move(held.front());
    held.erase(held.begin());
    c.done(accepted());
  }
};

/// What a requester answered, with the text it was asked to send.
struct outcome {
  std::string body;
  wa_send_result result;
};

struct fixture : test_coordinator_fixture<test_config> {
  std::shared_ptr<fake_twilio> twilio = std::make_shared<fake_twilio>();
  std::shared_ptr<std::vector<outcome>> results
    = std::make_shared<std::vector<outcome>>();
  std::shared_ptr<whatsapp_context> ctx = std::make_shared<whatsapp_context>();
  supervision_stats stats{"whatsapp"};
  whatsapp_manager_actor sup;

  fixture() {
    spdlog::set_level(spdlog::level::err);
    ctx->db = store::direct(al::test::migrated_database());
    ctx->http = [t = twilio](outbound_request r,
                             std::function<void(outbound_response)> done) {
      t->send(std::move(r), std::move(done));
    };
    auto& s = ctx->settings;
    s.default_provider = "twilio";
    s.twilio_api_base = "https://api.twilio.test";
    s.twilio_account_sid = "ACtest";
    s.twilio_auth_token = "test-auth-token";
    s.status_callback_url = "";
    sup = spawn_whatsapp_manager(sys, stats, nullptr, ctx); // sets manager
    sched.run();
    // The number wrote in: free-form sends are inside the 24-hour window.
    wa_inbound in;
    in.provider = "twilio";
    in.sid = "SMinbound";
    in.from = number;
    in.to = "+97231234567";
    in.body = "שלום";
    ctx->db.run(
      [in](db_tx& tx) { store_wa_inbound(tx, default_business_id, in); },
      [](const db_error& e) {
        if (!e.empty())
          throw std::runtime_error("inbound: " + e);
      });
  }

  ~fixture() override {
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// Asks for a send of `body` (whatsapp_send, as the API does); the
  /// answer lands in `results`. Delivers nothing yet.
  void ask(const std::string& body) {
    wa_send_request req;
    req.to = number;
    req.body = body;
    whatsapp_send(sys, sup, ctx, std::move(req),
                  [out = results, body](wa_send_result r) {
                    out->push_back(outcome{body, std::move(r)});
                  });
  }

  /// ask(), then delivers what follows.
  void send(const std::string& body) {
    ask(body);
    sched.run();
  }

  /// An inbound message was stored (as the webhooks tell it): after
  /// hours, with "closed-now" as the after-hours text.
  void inbound() {
    wa_inbound_event ev;
    ev.message_id = 1;
    ev.working_hours = R"({"closed":true})"; // no day listed: always closed
    ev.after_hours_reply = "closed-now";
    whatsapp_notify_inbound(sys, sup, ctx, default_business_id, number, ev);
    sched.run();
  }

  /// Moves the simulated clock and delivers what fell due.
  void elapse(caf::timespan d) {
    advance_time(d);
    sched.run();
  }

  strings answered() const {
    strings out;
    for (auto& o : *results)
      out.push_back(o.body + ":" + to_string(o.result.status));
    return out;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(whatsapp_actor_tests, fixture)

// (a) Three sends to one number reach the provider in arrival order, one
// provider call at a time.
CAF_TEST(sends_reach_the_provider_in_order_one_at_a_time) {
  twilio->hold = true;
  ask("one");
  ask("two");
  ask("three");
  sched.run();
  CAF_CHECK_EQUAL(twilio->bodies, (strings{"one"}));
  CAF_CHECK_EQUAL(answered(), strings{});
  twilio->answer();
  sched.run();
  CAF_CHECK_EQUAL(twilio->bodies, (strings{"one", "two"}));
  CAF_CHECK_EQUAL(answered(), (strings{"one:sent"}));
  twilio->answer();
  sched.run();
  CAF_CHECK_EQUAL(twilio->bodies, (strings{"one", "two", "three"}));
  CAF_CHECK_EQUAL(answered(), (strings{"one:sent", "two:sent"}));
  twilio->answer();
  sched.run();
  CAF_CHECK_EQUAL(answered(), (strings{"one:sent", "two:sent", "three:sent"}));
  CAF_REQUIRE_EQUAL(results->size(), 3u);
  CAF_CHECK_EQUAL(results->at(0).result.sid, "SM1");
  CAF_CHECK_EQUAL(results->at(2).result.sid, "SM3");
  CAF_CHECK(results->at(0).result.message_id > 0);
  CAF_CHECK(results->at(0).result.message_id
            < results->at(1).result.message_id);
  CAF_CHECK(results->at(1).result.message_id
            < results->at(2).result.message_id);
  CAF_CHECK(twilio->held.empty());
  CAF_CHECK_EQUAL(stats.spawned.load(), 1); // one conversation for them all
}

// (b) rate_per_minute = 2: the third send within the minute is refused
// and nothing goes out; once the actor clock moved on, a send goes again.
CAF_TEST(the_rate_limit_refuses_then_refills_on_the_actor_clock) {
  ctx->settings.rate_per_minute = 2;
  send("r1");
  send("r2");
  send("r3");
  CAF_CHECK_EQUAL(twilio->bodies, (strings{"r1", "r2"}));
  CAF_REQUIRE_EQUAL(answered(),
                    (strings{"r1:sent", "r2:sent", "r3:rate_limited"}));
  CAF_CHECK_EQUAL(results->back().result.message_id, 0);
  CAF_CHECK_EQUAL(results->back().result.error,
                  "Too many messages to this number; retry later");
  elapse(29s); // not yet one token (2 per minute)
  send("r4");
  CAF_CHECK_EQUAL(twilio->bodies, (strings{"r1", "r2"}));
  CAF_CHECK_EQUAL(results->back().body + ":"
                    + to_string(results->back().result.status),
                  "r4:rate_limited");
  elapse(31s);
  send("r5");
  CAF_CHECK_EQUAL(twilio->bodies, (strings{"r1", "r2", "r5"}));
  CAF_CHECK_EQUAL(results->back().body + ":"
                    + to_string(results->back().result.status),
                  "r5:sent");
}

// (c) A send waiting behind a provider call that does not answer gets
// `timeout` after queue_timeout on the actor clock, and is never sent.
CAF_TEST(a_waiting_send_times_out_after_queue_timeout) {
  ctx->settings.queue_timeout = 20s;
  twilio->hold = true;
  send("c1");
  send("c2");
  CAF_CHECK_EQUAL(twilio->bodies, (strings{"c1"}));
  elapse(20s - 1ms);
  CAF_CHECK_EQUAL(answered(), strings{});
  elapse(1ms);
  CAF_REQUIRE_EQUAL(answered(), (strings{"c2:timeout"}));
  CAF_CHECK_EQUAL(results->back().result.error,
                  "WhatsApp send waited too long for its turn");
  CAF_CHECK_EQUAL(results->back().result.message_id, 0);
  // The provider answers the first at last; the second was dropped.
  twilio->answer();
  sched.run();
  CAF_CHECK_EQUAL(answered(), (strings{"c2:timeout", "c1:sent"}));
  CAF_CHECK_EQUAL(twilio->bodies, (strings{"c1"}));
  elapse(60s);
  CAF_CHECK_EQUAL(twilio->bodies, (strings{"c1"}));
  CAF_CHECK_EQUAL(results->size(), 2u);
}

// (d) After hours, one automatic reply per auto_reply_gap, not one per
// inbound message.
CAF_TEST(the_after_hours_reply_goes_once_per_gap) {
  ctx->settings.auto_reply_gap = 3600s;
  ctx->settings.idle_timeout = 4h; // one incarnation throughout
  inbound();
  CAF_CHECK_EQUAL(twilio->bodies, (strings{"closed-now"}));
  elapse(10min);
  inbound();
  elapse(49min + 59s); // 3599 s after the reply
  inbound();
  CAF_CHECK_EQUAL(twilio->bodies, (strings{"closed-now"}));
  elapse(1s); // the gap is over
  inbound();
  CAF_CHECK_EQUAL(twilio->bodies, (strings{"closed-now", "closed-now"}));
  inbound();
  CAF_CHECK_EQUAL(twilio->bodies.size(), 2u);
  CAF_CHECK_EQUAL(stats.spawned.load(), 1);
  CAF_CHECK(results->empty()); // nobody waits for an automatic reply
}

// (e) Idle for idle_timeout on the actor clock, the conversation stops
// (normally: the manager forgets it); a new send starts it again.
CAF_TEST(an_idle_conversation_stops_and_a_send_revives_it) {
  ctx->settings.idle_timeout = 60s;
  send("e1");
  CAF_CHECK_EQUAL(answered(), (strings{"e1:sent"}));
  CAF_CHECK_EQUAL(stats.live.load(), 1);
  elapse(60s - 1ms);
  CAF_CHECK_EQUAL(stats.live.load(), 1);
  elapse(1ms);
  CAF_CHECK_EQUAL(stats.live.load(), 0);
  CAF_CHECK_EQUAL(stats.restarts.load(), 0); // a normal exit
  send("e2");
  CAF_CHECK_EQUAL(answered(), (strings{"e1:sent", "e2:sent"}));
  CAF_CHECK_EQUAL(twilio->bodies, (strings{"e1", "e2"}));
  CAF_CHECK_EQUAL(stats.spawned.load(), 2);
  CAF_CHECK_EQUAL(stats.live.load(), 1);
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(message_types_print_by_name) {
  wa_send_result r;
  r.status = wa_send_status::rate_limited;
  r.error = "slow down";
  auto text = caf::deep_to_string(r);
  CAF_CHECK(text.find("wa_send_result") != std::string::npos);
  CAF_CHECK(text.find("rate_limited") != std::string::npos);
  CAF_CHECK(text.find("slow down") != std::string::npos);
  CAF_CHECK_EQUAL(to_string(wa_send_status::timeout), "timeout");
}

// CAF's test runner provides main().
#include <caf/test/unit_test_impl.hpp>
