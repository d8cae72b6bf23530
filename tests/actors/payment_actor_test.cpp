// actors/payment: the payment actor under CAF's deterministic test
// coordinator, supervised by a real manager (spawn_payment_manager), against a
// real migrated database through store::direct (each store job runs at
// once on the caller's thread) and a fake PayPal: an http_send_fn that
// records every request and answers like the OAuth token endpoint and
// Orders v2 create, fails, or holds the request (no answer: the provider
// timed out, or answers later, after the actor is gone).
//
// Only sched.run() delivers messages: the fixture's run() also fires every
// pending timer, which would skip the clock ahead. The provider timeout
// runs on the actor clock: a test advances it.
#define CAF_SUITE payment_actor

#include "actors/payment.hpp"
#include "actors/payment_protocol.hpp"
#include "actors/payment_rows.hpp"
#include "actors/store.hpp"
#include "actors/supervisor.hpp"
#include "actors/type_ids.hpp"
#include "tests/support/actor_config.hpp"
#include "tests/support/app_fixture.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>
#include <caf/test/dsl.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace al;
using namespace std::chrono_literals;

using test_config = al::test::actor_config;

constexpr auto provider_timeout = 5000ms;
constexpr auto api_base = "https://api.paypal.test";

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size()
         && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string header_of(const outbound_request& r, const std::string& name) {
  for (auto& [k, v] : r.headers)
    if (k == name)
      return v;
  return {};
}

/// A fake PayPal: OAuth token and Orders v2 create. The same
/// PayPal-Request-Id gets the same order, as PayPal does.
struct fake_paypal {
  enum class mode { answer, fail, hold };

  struct held_call {
    outbound_request req;
    std::function<void(outbound_response)> done;
  };

  mode token_mode = mode::answer;
  mode order_mode = mode::answer;
  std::vector<outbound_request> tokens; // token requests, in order
  std::vector<outbound_request> orders; // create requests, in order
  std::vector<held_call> held;
  std::map<std::string, std::string> order_of_request; // Request-Id -> id

  void send(outbound_request req, std::function<void(outbound_response)> done) {
    bool is_token = ends_with(req.url, "/v1/oauth2/token");
    if (is_token)
      tokens.push_back(req);
    else
      orders.push_back(req);
    auto m = is_token ? token_mode : order_mode;
    if (m == mode::hold) {
      held.push_back(held_call{std::move(req), std::move(done)});
      return;
    }
    done(respond(req, m == mode::fail));
  }

  outbound_response respond(const outbound_request& req, bool fail) {
    outbound_response r;
    if (fail) {
      r.status = 500;
      r.body = R"({"name":"INTERNAL_SERVICE_ERROR","message":"boom"})";
      return r;
    }
    if (ends_with(req.url, "/v1/oauth2/token")) {
      r.status = 200;
      r.body = R"({"scope":"x","access_token":"tok-1","token_type":"Bearer",)"
               R"("app_id":"APP-1","expires_in":32400,"nonce":"n"})";
      return r;
    }
    auto rid = header_of(req, "PayPal-Request-Id");
    auto& id = order_of_request[rid];
    if (id.empty())
      id = "ORD" + std::to_string(order_of_request.size());
    r.status = 201;
    r.body = R"({"id":")" + id
             + R"(","status":"PAYER_ACTION_REQUIRED","links":[)"
               R"({"href":"https://api.paypal.test/v2/checkout/orders/)"
             + id
             + R"(","rel":"self","method":"GET"},)"
               R"({"href":"https://www.paypal.test/checkoutnow?token=)"
             + id + R"(","rel":"payer-action","method":"GET"}]})";
    return r;
  }

  /// Answers every held request (successfully) now.
  void release() {
    auto calls = std::move(held);
    held.clear();
    for (auto& c : calls)
      c.done(respond(c.req, false));
  }
};

/// Stands in for request_payment's one-shot requester: keeps every answer.
payment_requester_actor::behavior_type
collect(payment_requester_actor::pointer,
        std::shared_ptr<std::vector<payment_reply>> out) {
  return {
    [out](const payment_reply& r) { out->push_back(r); },
  };
}

caf::error crash_reason() {
  return caf::make_error(caf::sec::runtime_error);
}

struct fixture : test_coordinator_fixture<test_config> {
  std::shared_ptr<fake_paypal> paypal = std::make_shared<fake_paypal>();
  std::shared_ptr<std::vector<payment_reply>> replies
    = std::make_shared<std::vector<payment_reply>>();
  std::shared_ptr<payment_env> env = std::make_shared<payment_env>();
  supervision_stats stats{"payments"};
  payment_manager_actor sup;
  payment_requester_actor requester;

  fixture() {
    spdlog::set_level(spdlog::level::err);
    env->db = store::direct(al::test::migrated_database());
    env->send = [p = paypal](outbound_request r,
                             std::function<void(outbound_response)> done) {
      p->send(std::move(r), std::move(done));
    };
    env->signing_key = "payment-actor-test-signing-key-0123456789";
    env->paypal_api_base = api_base;
    env->paypal = paypal_credentials{"client-1", "secret-1"};
    env->absolute = [](std::string_view path) {
      return "https://al.example.test" + std::string{path};
    };
    env->provider_timeout = provider_timeout;
    sup
      = spawn_payment_manager(sys, stats, nullptr, env,
                              supervisor_options{2, std::chrono::minutes(10)});
    requester = sys.spawn(collect, replies);
    sched.run();
  }

  ~fixture() override {
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(requester, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// A create request for a fresh payment id.
  payment_request job(std::optional<std::string> key = std::nullopt,
                      std::int64_t amount_minor = 9990) {
    payment_request req;
    auto& d = req.draft;
    env->db.run([&d](db_tx& tx) { d.id = next_payment_id(tx); },
                [](const db_error& e) {
                  if (!e.empty())
                    throw std::runtime_error("next id: " + e);
                });
    d.business_id = default_business_id;
    d.provider = payment_provider::paypal;
    d.amount_minor = amount_minor;
    d.currency = "ILS";
    d.description = "Consultation";
    d.idempotency_key = std::move(key);
    req.brand_name = "Default";
    req.paypal = *env->paypal;
    return req;
  }

  /// Starts the payment actor of `req` through the manager (a value
  /// request; its answer goes to `requester`); returns it.
  caf::actor start(const payment_request& req) {
    self->send(sup, spawn_atom_v, payment_start{req, requester});
    expect((spawn_atom, payment_start), from(self).to(sup));
    caf::actor out;
    self->receive([&](caf::actor& a) { out = std::move(a); },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    sched.run();
    return out;
  }

  /// The manager's child for payment `id` (invalid when none).
  caf::actor child_of(std::int64_t id) {
    self->send(sup, lookup_atom_v, payment_key(id));
    expect((lookup_atom, std::string), from(self).to(sup));
    caf::actor out;
    self->receive([&](caf::actor& a) { out = std::move(a); },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    return out;
  }

  /// Kills `child` abnormally, as a crash does; the manager sees it die.
  void kill(const caf::actor& child) {
    caf::anon_send(child, caf::exit_msg{caf::actor_addr{}, crash_reason()});
    expect((caf::exit_msg), to(child));
    expect((caf::down_msg), to(sup));
    sched.run();
  }

  std::optional<payment_row> row(std::int64_t id) {
    std::optional<payment_row> out;
    env->db.run(
      [&out, id](db_tx& tx) {
        out = load_payment(tx, default_business_id, id);
      },
      [](const db_error& e) {
        if (!e.empty())
          throw std::runtime_error("load: " + e);
      });
    return out;
  }

  std::vector<std::string> request_ids() const {
    std::vector<std::string> ids;
    for (auto& r : paypal->orders)
      ids.push_back(header_of(r, "PayPal-Request-Id"));
    return ids;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(payment_actor_tests, fixture)

// (a) pending -> link stored, answered once with 201 and the link.
CAF_TEST(create_stores_the_link_and_answers_once) {
  auto j = job();
  auto id = j.draft.id;
  auto child = start(j);
  CAF_REQUIRE(child);
  CAF_REQUIRE_EQUAL(replies->size(), 1u);
  auto& r = replies->front();
  CAF_CHECK(r.status.code == domain_code::created);
  CAF_CHECK_EQUAL(r.payment_id, id);
  CAF_CHECK(!r.replayed);
  CAF_CHECK(r.state == payment_status::pending);
  CAF_CHECK_EQUAL(r.pay_url, "https://www.paypal.test/checkoutnow?token=ORD1");
  auto p = row(id);
  CAF_REQUIRE(p);
  CAF_CHECK(p->status == payment_status::pending);
  CAF_CHECK(p->pay_url == r.pay_url);
  CAF_CHECK(p->provider_ref == std::string{"ORD1"});
  // One token fetch, one create, with the wire PayPal expects.
  CAF_REQUIRE_EQUAL(paypal->tokens.size(), 1u);
  CAF_REQUIRE_EQUAL(paypal->orders.size(), 1u);
  auto& o = paypal->orders.front();
  CAF_CHECK_EQUAL(o.method, "POST");
  CAF_CHECK_EQUAL(o.url, std::string{api_base} + "/v2/checkout/orders");
  CAF_CHECK_EQUAL(header_of(o, "Authorization"), "Bearer tok-1");
  CAF_CHECK(!header_of(o, "PayPal-Request-Id").empty());
  CAF_CHECK_NOT_EQUAL(o.body.find("\"custom_id\""), std::string::npos);
  // The actor is gone and the manager forgot it; the late timer changes
  // nothing.
  CAF_CHECK(!child_of(id));
  CAF_CHECK_EQUAL(stats.live.load(), 0);
  sched.advance_time(provider_timeout * 2);
  sched.run();
  CAF_CHECK_EQUAL(replies->size(), 1u);
  CAF_CHECK(row(id)->status == payment_status::pending);
}

// (b) The same Idempotency-Key answers the same payment, provider asked once.
CAF_TEST(same_idempotency_key_replays_the_payment) {
  auto first = job(std::string{"key-1"});
  start(first);
  CAF_REQUIRE_EQUAL(replies->size(), 1u);
  auto created = replies->front();
  CAF_REQUIRE(created.status.code == domain_code::created);

  auto second = job(std::string{"key-1"});
  CAF_REQUIRE_NOT_EQUAL(second.draft.id, first.draft.id);
  start(second);
  CAF_REQUIRE_EQUAL(replies->size(), 2u);
  auto& again = replies->back();
  CAF_CHECK(again.status.code == domain_code::created);
  CAF_CHECK(again.replayed);
  CAF_CHECK_EQUAL(again.payment_id, first.draft.id);
  CAF_CHECK_EQUAL(again.pay_url, created.pay_url);
  CAF_CHECK_EQUAL(paypal->orders.size(), 1u);
  CAF_CHECK_EQUAL(paypal->tokens.size(), 1u);
  // The second draft's id was never written.
  CAF_CHECK(!row(second.draft.id));

  // The key with another amount: a conflict, and still no provider call.
  auto other = job(std::string{"key-1"}, 5000);
  start(other);
  CAF_REQUIRE_EQUAL(replies->size(), 3u);
  CAF_CHECK(replies->back().status.code == domain_code::conflict);
  CAF_CHECK(!replies->back().replayed);
  CAF_CHECK_EQUAL(paypal->orders.size(), 1u);
}

// (b) A restarted actor carries on from the row and asks PayPal with the
// same PayPal-Request-Id, so PayPal returns the same order.
CAF_TEST(restart_resends_the_same_request_id) {
  paypal->order_mode = fake_paypal::mode::hold;
  auto j = job();
  auto id = j.draft.id;
  auto first = start(j);
  CAF_REQUIRE(first);
  CAF_REQUIRE_EQUAL(paypal->orders.size(), 1u);
  CAF_CHECK(replies->empty());

  paypal->order_mode = fake_paypal::mode::answer;
  kill(first);
  CAF_CHECK_EQUAL(stats.restarts.load(), 1);
  // The new incarnation re-read the pending row and asked again.
  CAF_REQUIRE_EQUAL(paypal->orders.size(), 2u);
  auto ids = request_ids();
  CAF_CHECK(!ids[0].empty());
  CAF_CHECK_EQUAL(ids[0], ids[1]);
  CAF_CHECK_EQUAL(paypal->tokens.size(), 1u); // the cached token
  CAF_REQUIRE_EQUAL(replies->size(), 1u);
  CAF_CHECK(replies->front().status.code == domain_code::created);
  CAF_CHECK_EQUAL(replies->front().pay_url,
                  "https://www.paypal.test/checkoutnow?token=ORD1");
  CAF_CHECK(row(id)->pay_url == replies->front().pay_url);

  // The first incarnation's exchange answers late: nobody listens.
  paypal->release();
  sched.run();
  sched.advance_time(provider_timeout * 2);
  sched.run();
  CAF_CHECK_EQUAL(replies->size(), 1u);
  CAF_CHECK(row(id)->status == payment_status::pending);
}

// (c) A crash loop: the manager gives up, the row ends failed and the
// requester hears bad_gateway exactly once.
CAF_TEST(crash_loop_fails_the_payment_once) {
  paypal->order_mode = fake_paypal::mode::hold;
  auto j = job();
  auto id = j.draft.id;
  auto current = start(j);
  CAF_REQUIRE(current);
  // max_restarts 2: two deaths are restarts.
  for (long i = 1; i <= 2; ++i) {
    kill(current);
    CAF_REQUIRE_EQUAL(stats.restarts.load(), i);
    current = child_of(id);
    CAF_REQUIRE(current);
    CAF_CHECK(replies->empty());
    CAF_CHECK(row(id)->status == payment_status::pending);
  }
  CAF_CHECK_EQUAL(paypal->orders.size(), 3u);
  // The third within the window: given up.
  kill(current);
  CAF_CHECK_EQUAL(stats.given_up.load(), 1);
  CAF_CHECK(!child_of(id));
  CAF_REQUIRE_EQUAL(replies->size(), 1u);
  auto& r = replies->front();
  CAF_CHECK(r.status.code == domain_code::bad_gateway);
  CAF_CHECK_EQUAL(r.payment_id, id);
  CAF_CHECK(r.state == payment_status::failed);
  auto p = row(id);
  CAF_REQUIRE(p);
  CAF_CHECK(p->status == payment_status::failed);
  CAF_CHECK(p->failure_reason
            == std::string{"payment actor crashed repeatedly"});

  // Every held exchange answers now and every timer fires: nothing answers
  // again and the row stays failed (no link stored).
  paypal->release();
  sched.run();
  sched.advance_time(provider_timeout * 2);
  sched.run();
  CAF_CHECK_EQUAL(replies->size(), 1u);
  p = row(id);
  CAF_CHECK(p->status == payment_status::failed);
  CAF_CHECK(!p->pay_url);
}

// (d) No answer within provider_timeout on the actor clock: failed, 502.
CAF_TEST(provider_timeout_fails_the_payment) {
  paypal->order_mode = fake_paypal::mode::hold;
  auto j = job();
  auto id = j.draft.id;
  start(j);
  CAF_REQUIRE_EQUAL(paypal->orders.size(), 1u);
  sched.advance_time(provider_timeout - 1ms);
  sched.run();
  CAF_CHECK(replies->empty());
  CAF_CHECK(row(id)->status == payment_status::pending);
  sched.advance_time(1ms);
  sched.run();
  CAF_REQUIRE_EQUAL(replies->size(), 1u);
  auto& r = replies->front();
  CAF_CHECK(r.status.code == domain_code::bad_gateway);
  CAF_CHECK_EQUAL(r.status.message,
                  "Payment provider error: timeout after 5000 ms");
  CAF_CHECK(r.state == payment_status::failed);
  auto p = row(id);
  CAF_CHECK(p->status == payment_status::failed);
  CAF_CHECK(p->failure_reason == std::string{"timeout after 5000 ms"});
  CAF_CHECK(!child_of(id));
  // PayPal answers after all: too late, nothing changes.
  paypal->release();
  sched.run();
  CAF_CHECK_EQUAL(replies->size(), 1u);
  CAF_CHECK(row(id)->status == payment_status::failed);
  CAF_CHECK(!row(id)->pay_url);
}

// A provider error (5xx) fails the payment with PayPal's reason.
CAF_TEST(provider_error_fails_the_payment) {
  paypal->order_mode = fake_paypal::mode::fail;
  auto j = job();
  auto id = j.draft.id;
  start(j);
  CAF_REQUIRE_EQUAL(replies->size(), 1u);
  CAF_CHECK(replies->front().status.code == domain_code::bad_gateway);
  CAF_CHECK(row(id)->status == payment_status::failed);
  CAF_CHECK_EQUAL(paypal->orders.size(), 1u);
}

// request_payment, as the API calls it: the one-shot requester hands the
// manager a value and answers once; when the manager ends (a shutdown)
// with the payment unanswered, it answers unavailable and ends, so the
// actor system does not wait for it.
CAF_TEST(the_requester_answers_once_and_ends_with_its_manager) {
  auto answers = std::make_shared<std::vector<payment_reply>>();
  auto keep = [answers](const payment_reply& r) { answers->push_back(r); };
  auto j = job();
  request_payment(sys, sup, j, keep);
  sched.run();
  CAF_REQUIRE_EQUAL(answers->size(), 1u);
  CAF_CHECK(answers->front().status.code == domain_code::created);
  CAF_CHECK_EQUAL(answers->front().payment_id, j.draft.id);

  paypal->order_mode = fake_paypal::mode::hold;
  auto held = job();
  request_payment(sys, sup, held, keep);
  sched.run();
  CAF_CHECK_EQUAL(answers->size(), 1u); // PayPal has not answered
  CAF_REQUIRE(child_of(held.draft.id));
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  sched.run();
  CAF_REQUIRE_EQUAL(answers->size(), 2u);
  CAF_CHECK(answers->back().status.code == domain_code::unavailable);
  // Without a manager at all: answered at once.
  request_payment(sys, payment_manager_actor{}, job(), keep);
  CAF_REQUIRE_EQUAL(answers->size(), 3u);
  CAF_CHECK(answers->back().status.code == domain_code::unavailable);
  // PayPal answers the held order after all: to nobody (and the fake lets
  // go of what it held).
  paypal->release();
  sched.run();
  CAF_CHECK_EQUAL(answers->size(), 3u);
}

CAF_TEST_FIXTURE_SCOPE_END()

// CAF's test runner provides main().
#include <caf/test/unit_test_impl.hpp>
