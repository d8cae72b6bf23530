// actors/supervisor: a domain manager restarts children that die
// abnormally, forgets children that end normally, and gives up on a child
// that crash-loops (> max_restarts within the window). CAF's deterministic
// test coordinator drives every message; the restart window is
// measured on the actor clock, which the tests advance.
#define CAF_SUITE supervisor

#include "actors/supervisor.hpp"
#include "actors/type_ids.hpp"
#include "tests/support/actor_config.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>
#include <caf/test/dsl.hpp>

#include <memory>
#include <string>
#include <vector>

namespace {

using namespace al;

using test_config = al::test::actor_config;

/// A child: doubles ints, quits normally on stop_atom.
caf::behavior worker(caf::event_based_actor* self) {
  return {
    [](int x) { return x * 2; },
    [=](stop_atom) { self->quit(); },
  };
}

/// What the hooks of one child spec observed.
struct observed {
  int spawns = 0;
  int restarts = 0;
  int give_ups = 0;
  caf::actor last; // the handle on_restart received
};

caf::error crash_reason() {
  return caf::make_error(caf::sec::runtime_error);
}

struct fixture : test_coordinator_fixture<test_config> {
  supervision_stats stats{"test"};
  supervisor_actor sup;

  explicit fixture(supervisor_options opts = {}) {
    sup = spawn_supervisor(sys, stats, nullptr, opts);
    run();
  }

  ~fixture() override {
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    run();
  }

  child_spec spec(const std::string& key, std::shared_ptr<observed> seen) {
    child_spec s;
    s.key = key;
    s.spawn = [seen](caf::actor_system& sys) {
      ++seen->spawns;
      return sys.spawn(worker);
    };
    s.on_give_up = [seen] { ++seen->give_ups; };
    s.on_restart = [seen](const caf::actor& a) {
      ++seen->restarts;
      seen->last = a;
    };
    return s;
  }

  /// (spawn_atom, spec) -> the child's handle.
  caf::actor start(child_spec s) {
    self->send(sup, spawn_atom_v, std::move(s));
    expect((spawn_atom, child_spec), from(self).to(sup));
    caf::actor out;
    bool replied = false;
    self->receive([&](caf::actor& a) { out = std::move(a), replied = true; },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    CAF_CHECK(replied);
    run();
    return out;
  }

  caf::actor lookup(const std::string& key) {
    self->send(sup, lookup_atom_v, key);
    expect((lookup_atom, std::string), from(self).to(sup));
    caf::actor out;
    bool replied = false;
    self->receive([&](caf::actor& a) { out = std::move(a), replied = true; },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    CAF_CHECK(replied);
    return out;
  }

  /// Kills `child` abnormally; the supervisor sees the down message.
  void kill(const caf::actor& child) {
    caf::anon_send(child, caf::exit_msg{caf::actor_addr{}, crash_reason()});
    expect((caf::exit_msg), to(child));
    expect((caf::down_msg), to(sup));
    run();
  }

  /// True when `child` answers 21 with 42.
  bool answers(const caf::actor& child) {
    self->send(child, 21);
    run();
    bool ok = false;
    self->receive([&](int x) { ok = x == 42; },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    return ok;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(supervisor_tests, fixture)

CAF_TEST(abnormal_death_restarts_the_child) {
  auto seen = std::make_shared<observed>();
  auto first = start(spec("call-1", seen));
  CAF_REQUIRE(first);
  CAF_CHECK_EQUAL(seen->spawns, 1);
  CAF_CHECK_EQUAL(stats.live.load(), 1);
  CAF_CHECK_EQUAL(stats.spawned.load(), 1);
  CAF_CHECK(answers(first));

  kill(first);
  CAF_CHECK_EQUAL(seen->spawns, 2);
  CAF_CHECK_EQUAL(seen->restarts, 1);
  CAF_REQUIRE(seen->last);
  CAF_CHECK_NOT_EQUAL(seen->last, first);
  CAF_CHECK_EQUAL(lookup("call-1"), seen->last);
  CAF_CHECK(answers(seen->last));
  CAF_CHECK_EQUAL(stats.restarts.load(), 1);
  CAF_CHECK_EQUAL(stats.live.load(), 1);
  CAF_CHECK_EQUAL(stats.spawned.load(), 1); // a restart is not a new child
  CAF_CHECK_EQUAL(stats.given_up.load(), 0);
  CAF_CHECK_NOT_EQUAL(stats.last_failure().find("call-1"), std::string::npos);
  CAF_CHECK(!stats.last_failure_at().empty());
}

CAF_TEST(same_key_finds_the_running_child) {
  auto seen = std::make_shared<observed>();
  auto a = start(spec("k", seen));
  auto again = start(spec("k", seen));
  CAF_CHECK_EQUAL(a, again);
  CAF_CHECK_EQUAL(seen->spawns, 1);
  auto b = start(spec("other", seen));
  CAF_CHECK_NOT_EQUAL(a, b);
  CAF_CHECK_EQUAL(stats.live.load(), 2);
  CAF_CHECK_EQUAL(stats.spawned.load(), 2);
  CAF_CHECK(!lookup("missing"));
}

CAF_TEST(spawn_with_message_delivers_it) {
  auto seen = std::make_shared<observed>();
  self->send(sup, spawn_atom_v, spec("m", seen), caf::make_message(21));
  expect((spawn_atom, child_spec, caf::message), from(self).to(sup));
  caf::actor child;
  self->receive([&](caf::actor& a) { child = a; },
                caf::after(std::chrono::seconds(0)) >> [] {});
  CAF_REQUIRE(child);
  expect((int), from(sup).to(child).with(21));
}

CAF_TEST(normal_exit_removes_the_child) {
  auto seen = std::make_shared<observed>();
  auto child = start(spec("n", seen));
  self->send(child, stop_atom_v);
  expect((stop_atom), from(self).to(child));
  expect((caf::down_msg), to(sup));
  run();
  CAF_CHECK_EQUAL(seen->restarts, 0);
  CAF_CHECK_EQUAL(seen->spawns, 1);
  CAF_CHECK_EQUAL(stats.live.load(), 0);
  CAF_CHECK_EQUAL(stats.restarts.load(), 0);
  CAF_CHECK(!lookup("n"));
  // The key is free again: a new child starts.
  auto fresh = start(spec("n", seen));
  CAF_CHECK(fresh);
  CAF_CHECK_NOT_EQUAL(fresh, child);
  CAF_CHECK_EQUAL(stats.live.load(), 1);
}

CAF_TEST(stop_atom_ends_the_child_without_restart) {
  auto seen = std::make_shared<observed>();
  start(spec("s", seen));
  self->send(sup, stop_atom_v, std::string{"s"});
  run();
  CAF_CHECK_EQUAL(seen->restarts, 0);
  CAF_CHECK_EQUAL(stats.live.load(), 0);
  CAF_CHECK(!lookup("s"));
}

CAF_TEST(crash_loop_gives_up_once) {
  auto seen = std::make_shared<observed>();
  auto current = start(spec("loop", seen));
  // Five abnormal deaths: five restarts.
  for (int i = 1; i <= 5; ++i) {
    kill(current);
    CAF_REQUIRE_EQUAL(seen->restarts, i);
    current = seen->last;
    CAF_REQUIRE(current);
  }
  CAF_CHECK_EQUAL(seen->give_ups, 0);
  CAF_CHECK_EQUAL(stats.live.load(), 1);
  CAF_CHECK_EQUAL(stats.restarts.load(), 5);
  // The sixth within the window: the child is abandoned.
  kill(current);
  CAF_CHECK_EQUAL(seen->give_ups, 1);
  CAF_CHECK_EQUAL(seen->restarts, 5);
  CAF_CHECK_EQUAL(seen->spawns, 6);
  CAF_CHECK_EQUAL(stats.given_up.load(), 1);
  CAF_CHECK_EQUAL(stats.restarts.load(), 5);
  CAF_CHECK_EQUAL(stats.live.load(), 0);
  CAF_CHECK(!lookup("loop"));
  // Nothing else happens afterwards.
  run();
  CAF_CHECK_EQUAL(seen->give_ups, 1);
  CAF_CHECK_EQUAL(stats.given_up.load(), 1);
}

CAF_TEST(children_crash_independently) {
  auto a_seen = std::make_shared<observed>();
  auto b_seen = std::make_shared<observed>();
  auto a = start(spec("a", a_seen));
  auto b = start(spec("b", b_seen));
  kill(a);
  CAF_CHECK_EQUAL(a_seen->restarts, 1);
  CAF_CHECK_EQUAL(b_seen->restarts, 0);
  CAF_CHECK(answers(b));
  CAF_CHECK_EQUAL(stats.live.load(), 2);
  CAF_CHECK_EQUAL(stats.restarts.load(), 1);
}

CAF_TEST(manager_exit_takes_children_without_restarts) {
  auto seen = std::make_shared<observed>();
  auto child = start(spec("x", seen));
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  CAF_CHECK_EQUAL(seen->restarts, 0);
  CAF_CHECK_EQUAL(seen->spawns, 1);
  CAF_CHECK(!answers(child));
}

CAF_TEST(failing_factory_is_a_give_up_not_a_crash) {
  auto seen = std::make_shared<observed>();
  auto s = spec("f", seen);
  auto calls = std::make_shared<int>(0);
  s.spawn = [calls](caf::actor_system& sys) -> caf::actor {
    if (++*calls == 1)
      return sys.spawn(worker);
    throw std::runtime_error("cannot rebuild");
  };
  auto child = start(s);
  CAF_REQUIRE(child);
  kill(child);
  CAF_CHECK_EQUAL(seen->give_ups, 1);
  CAF_CHECK_EQUAL(stats.live.load(), 0);
  CAF_CHECK_EQUAL(stats.given_up.load(), 1);
  // The manager itself survived and still works.
  auto other = std::make_shared<observed>();
  auto fresh = start(spec("g", other));
  CAF_CHECK(fresh);
  CAF_CHECK(answers(fresh));
  // A factory that fails at first start: no child, nothing counted live.
  auto bad = spec("h", other);
  bad.spawn = [](caf::actor_system&) -> caf::actor { return {}; };
  CAF_CHECK(!start(bad));
  CAF_CHECK_EQUAL(stats.live.load(), 1);
  CAF_CHECK(!lookup("h"));
}

CAF_TEST_FIXTURE_SCOPE_END()

// Restarts older than the window do not count towards giving up. The
// supervisor measures the window on the actor clock: the test advances it.
namespace {

struct short_window_fixture : fixture {
  short_window_fixture()
    : fixture(supervisor_options{2, std::chrono::milliseconds(100)}) {}
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(supervisor_window_tests, short_window_fixture)

CAF_TEST(old_restarts_leave_the_window) {
  auto seen = std::make_shared<observed>();
  auto current = start(spec("w", seen));
  kill(current);
  current = seen->last;
  kill(current);
  current = seen->last;
  CAF_REQUIRE_EQUAL(seen->restarts, 2);
  sched.advance_time(std::chrono::milliseconds(150));
  kill(current); // the two earlier restarts are outside the window now
  CAF_CHECK_EQUAL(seen->restarts, 3);
  CAF_CHECK_EQUAL(seen->give_ups, 0);
  current = seen->last;
  kill(current);
  current = seen->last;
  kill(current); // three within 100 ms: over max_restarts = 2
  CAF_CHECK_EQUAL(seen->give_ups, 1);
  CAF_CHECK_EQUAL(stats.given_up.load(), 1);
}

CAF_TEST_FIXTURE_SCOPE_END()

// CAF's test runner provides main().
#include <caf/test/unit_test_impl.hpp>
