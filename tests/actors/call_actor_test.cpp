// actors/call: the call actor's dialogue under CAF's deterministic test
// coordinator. A fake media sink records what the actor asks of the socket,
// an offline store records the names of the writes it queues (no database),
// and every timer (start watchdog, silence) runs on the simulated actor
// clock: time moves only when a test advances it, nothing sleeps.
//
// Only sched.run() is used to deliver messages: the fixture's run() also
// fires every pending timer, which would skip the clock ahead.
#define CAF_SUITE call_actor

#include "actors/call.hpp"
#include "actors/call_protocol.hpp"
#include "actors/type_ids.hpp"
#include "tests/support/actor_config.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/test/dsl.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace al;
using namespace std::chrono_literals;

using strings = std::vector<std::string>;

using test_config = al::test::actor_config;

/// Records, in order, what the call actor asks of its socket: "bind",
/// "play <prompt> <mark>", "clear", "close", "want_all_audio <0|1>".
class fake_sink final : public media_sink {
public:
  std::vector<std::string> events;
  caf::actor_addr bound; // weak: the checkpoint holds this sink
  std::map<audio_ptr, std::string> names;

  void bind(call_actor call) override {
    bound = call.address();
    events.emplace_back("bind");
  }
  void play(audio_ptr audio, std::string mark) override {
    auto i = names.find(audio);
    events.push_back("play " + (i == names.end() ? "?" : i->second) + " "
                     + mark);
  }
  void clear() override {
    events.emplace_back("clear");
  }
  void close() override {
    events.emplace_back("close");
  }
  void want_all_audio(bool on) override {
    events.push_back(std::string{"want_all_audio "} + (on ? "1" : "0"));
  }
};

/// How an actor ended (attach_functor): set once it terminated.
struct ending {
  bool ended = false;
  caf::error reason;
};

constexpr auto start_timeout = 8000ms;
constexpr auto silence_reprompt = 6000ms;

struct fixture : test_coordinator_fixture<test_config> {
  std::shared_ptr<strings> writes = std::make_shared<strings>();
  std::shared_ptr<strings> redirects = std::make_shared<strings>();
  std::shared_ptr<fake_sink> sink = std::make_shared<fake_sink>();
  call_checkpoint_ptr cp = std::make_shared<call_checkpoint>();
  child_spec spec;
  call_actor call;
  std::shared_ptr<ending> end;

  fixture() {
    // The offline store makes finish() log "end not stored": expected here.
    spdlog::set_level(spdlog::level::off);
    auto voice = std::make_shared<voice_pack>();
    voice->greeting_text = "שלום";
    char byte = 0x10;
    auto prompt = [&](audio_ptr& slot, const char* name) {
      slot = std::make_shared<const std::string>(320, byte++); // 40 ms mu-law
      sink->names[slot] = name;
    };
    prompt(voice->greeting, "greeting");
    prompt(voice->ask_callback, "ask_callback");
    prompt(voice->goodbye, "goodbye");
    prompt(voice->didnt_hear, "didnt_hear");
    prompt(voice->still_there, "still_there");
    prompt(voice->silent_goodbye, "silent_goodbye");
    prompt(voice->transferring, "transferring");
    prompt(voice->recording_notice, "recording_notice");
    cp->info.call_sid = "CA00000000000000000000000000000016";
    cp->info.business_id = 1;
    cp->info.from = "+972501234567";
    cp->info.to = "+97231234567";
    cp->info.voice = voice;
    cp->info.record_calls = false;
    cp->loaded = true;
    auto env = std::make_shared<call_env>();
    env->db = store::offline(writes);
    env->start_timeout = start_timeout;
    env->silence_reprompt = silence_reprompt;
    env->redirect_to_fallback = [r = redirects](const call_info& info) {
      r->push_back(info.call_sid);
    };
    spec = make_call_spec(cp, env);
    call = start();
  }

  ~fixture() override {
    if (!end->ended)
      caf::anon_send_exit(call, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// Spawns the call actor from the spec (as the call_manager does) and
  /// lets it initialise.
  call_actor start() {
    auto a = caf::actor_cast<call_actor>(spec.spawn(sys));
    end = std::make_shared<ending>();
    a->attach_functor([e = end](const caf::error& reason) {
      e->ended = true;
      e->reason = reason;
    });
    sched.run();
    return a;
  }

  template <class... Ts>
  void tell(Ts&&... xs) {
    self->send(call, std::forward<Ts>(xs)...);
    sched.run();
  }

  /// `greeting_mark`: the socket already plays the greeting (the early
  /// greeting of transport/early_greetings.hpp).
  void attach(std::string greeting_mark = {}) {
    tell(attach_atom_v, std::string{"MZ0016"}, media_sink_ptr{sink},
         std::move(greeting_mark));
  }
  void mark(const std::string& name) {
    tell(mark_atom_v, name);
  }
  void dtmf(const std::string& digit) {
    tell(dtmf_atom_v, digit);
  }
  void speech(bool started) {
    tell(speech_atom_v, started);
  }
  void hangup(const std::string& reason) {
    tell(hangup_atom_v, reason);
  }

  /// Moves the simulated clock and delivers what fell due.
  void elapse(caf::timespan d) {
    advance_time(d);
    sched.run();
  }

  strings take_events() {
    auto out = std::move(sink->events);
    sink->events.clear();
    return out;
  }
  strings take_writes() {
    auto out = std::move(*writes);
    writes->clear();
    return out;
  }
};

// The sink's events and the store's writes since the last check, exactly.
#define CHECK_EVENTS(...) CAF_CHECK_EQUAL(take_events(), (strings{__VA_ARGS__}))
#define CHECK_WRITES(...) CAF_CHECK_EQUAL(take_writes(), (strings{__VA_ARGS__}))

} // namespace

CAF_TEST(offline_store_fails_fast_and_queues_nothing) {
  auto names = std::make_shared<strings>();
  auto db = store::offline(names);
  CAF_CHECK(!db);
  std::optional<db_error> outcome;
  bool job_ran = false;
  db.run([&](db_tx&) { job_ran = true; },
         [&](const db_error& err) { outcome = err; });
  CAF_REQUIRE(outcome); // at once, on this thread
  CAF_CHECK_EQUAL(*outcome, "database unavailable");
  CAF_CHECK(!job_ran);
  CAF_CHECK(!db.write("first", [&](db_tx&) { job_ran = true; }));
  CAF_CHECK(!db.write("second", [](db_tx&) {}));
  CAF_CHECK_EQUAL(*names, (strings{"first", "second"}));
  CAF_CHECK(!job_ran);
  CAF_CHECK(!db.health().reachable.load());
  CAF_CHECK_EQUAL(db.health().queued_writes.load(), 0u);
  // A store that was never started behaves the same (no writes kept).
  store none;
  outcome.reset();
  none.run([&](db_tx&) { job_ran = true; },
           [&](const db_error& err) { outcome = err; });
  CAF_REQUIRE(outcome);
  CAF_CHECK_EQUAL(*outcome, "database unavailable");
  CAF_CHECK(!none.write("x", [&](db_tx&) { job_ran = true; }));
  CAF_CHECK(!job_ran);
  none.run([](db_tx&) {}, nullptr); // no completion: nothing to call
}

CAF_TEST_FIXTURE_SCOPE(call_actor_tests, fixture)

CAF_TEST(attach_binds_the_socket_and_plays_the_greeting) {
  CHECK_EVENTS();
  CHECK_WRITES();
  attach();
  CHECK_EVENTS("bind", "play greeting u1");
  CAF_CHECK_EQUAL(sink->bound, call.address());
  CHECK_WRITES("call_event", "call_start", "call_event");
  CAF_CHECK(cp->attached);
  CAF_CHECK(cp->step == call_step::greeting);
  CAF_CHECK_EQUAL(cp->stream_sid, "MZ0016");
  CAF_CHECK(cp->playing);
  CAF_CHECK_EQUAL(cp->playing_mark, "u1");
  // A duplicate start re-binds but does not greet again.
  attach();
  CHECK_EVENTS("bind");
  CHECK_WRITES();
  // The stream started: the watchdog stands down; the greeting has not been
  // heard yet, so no silence is counted either.
  elapse(start_timeout);
  elapse(start_timeout);
  CHECK_EVENTS();
  CHECK_WRITES();
  CAF_CHECK(redirects->empty());
  CAF_CHECK(!end->ended);
}

// The socket started the greeting itself at `start`: the actor does not
// play it again but treats it as its first utterance (marks, barge-in and
// the numbering of what follows are unchanged).
CAF_TEST(a_greeting_the_socket_started_is_not_played_again) {
  attach(first_utterance_mark);
  CHECK_EVENTS("bind");
  CHECK_WRITES("call_event", "call_start", "call_event");
  CAF_CHECK(cp->step == call_step::greeting);
  CAF_CHECK(cp->playing);
  CAF_CHECK_EQUAL(cp->playing_mark, "u1");
  // The caller talks over it: cleared at the socket like any utterance.
  speech(true);
  CHECK_EVENTS("clear");
  CAF_CHECK(!cp->playing);
  // What the actor says next is its second utterance.
  speech(false);
  auto events = take_events();
  if (events.empty()) {
    dtmf("2");
    events = take_events();
  }
  auto first_play = std::find_if(events.begin(), events.end(),
                                 [](const std::string& e) {
                                   return e.rfind("play ", 0) == 0;
                                 });
  CAF_REQUIRE(first_play != events.end());
  CAF_CHECK_EQUAL(first_play->substr(first_play->rfind(' ') + 1), "u2");
}

CAF_TEST(dtmf_dialogue_runs_to_the_goodbye_and_closes) {
  attach();
  take_events();
  take_writes();
  mark("u1"); // the greeting was heard
  CHECK_EVENTS();
  CHECK_WRITES();
  CAF_CHECK(!cp->playing);
  dtmf("2"); // rent
  CHECK_EVENTS("play ask_callback u2");
  CHECK_WRITES("call_event", "call_event"); // dtmf, utterance
  CAF_CHECK(cp->step == call_step::ask_callback);
  CAF_CHECK_EQUAL(cp->deal, "rent");
  mark("u2");
  dtmf("5");
  CHECK_EVENTS("play goodbye u3");
  CHECK_WRITES("call_event", "call_event");
  CAF_CHECK(cp->step == call_step::goodbye);
  CAF_CHECK_EQUAL(cp->callback, "dtmf:5");
  // Keys during the goodbye are recorded, and change nothing.
  dtmf("7");
  CHECK_EVENTS();
  CHECK_WRITES("call_event");
  mark("u3"); // the goodbye was heard: the outcome, then the stream ends
  CHECK_EVENTS("close");
  CHECK_WRITES("call_event"); // finished (the row itself is a store job)
  CAF_CHECK(cp->step == call_step::done);
  CAF_CHECK(!end->ended); // until the stream's stop arrives
  hangup("stop");
  CHECK_EVENTS();
  // A completed call is not "ended early": no call_end row.
  CHECK_WRITES("after_call_ready");
  CAF_CHECK(end->ended);
  CAF_CHECK(!cp->sink);
  CAF_CHECK(redirects->empty());
}

CAF_TEST(hangup_before_the_end_writes_call_end) {
  attach();
  take_events();
  take_writes();
  hangup("stop");
  CHECK_EVENTS();
  CHECK_WRITES("call_event", "call_end", "after_call_ready");
  CAF_CHECK(end->ended);
  CAF_CHECK(cp->step == call_step::greeting);
}

CAF_TEST(barge_in_clears_and_ignores_the_late_mark) {
  attach();
  take_events();
  take_writes();
  speech(true); // the caller talks over the greeting
  CHECK_EVENTS("clear");
  CHECK_WRITES("call_event"); // barge_in
  CAF_CHECK(!cp->playing);
  mark("u1"); // Twilio echoes the cleared utterance's mark late
  CHECK_EVENTS();
  CHECK_WRITES();
  CAF_CHECK(cp->step == call_step::greeting);
  speech(false); // the caller's turn ends: the dialogue moves on
  CHECK_EVENTS("play ask_callback u2");
  CHECK_WRITES("call_event", "call_event"); // caller_turn, utterance
  CAF_CHECK(cp->step == call_step::ask_callback);
  CAF_CHECK_EQUAL(cp->deal, "");
  // Another late echo of the greeting's mark while u2 plays: u2 is still
  // playing, so no silence is counted.
  mark("u1");
  CAF_CHECK(cp->playing);
  elapse(silence_reprompt * 2);
  CHECK_EVENTS();
  CHECK_WRITES();
  mark("u2");
  dtmf("3");
  CHECK_EVENTS("play goodbye u3");
  take_writes();
  speech(true); // the goodbye is not interrupted
  CHECK_EVENTS();
  CHECK_WRITES();
  CAF_CHECK(cp->playing);
}

CAF_TEST(silence_reprompts_once_then_says_goodbye) {
  attach();
  mark("u1");
  take_events();
  take_writes();
  elapse(silence_reprompt - 1ms);
  CHECK_EVENTS();
  elapse(1ms);
  CHECK_EVENTS("play still_there u2");
  CHECK_WRITES("call_event", "call_event"); // silence_reprompt, utterance
  CAF_CHECK(cp->step == call_step::greeting);
  // While the reprompt plays, no silence is counted.
  elapse(silence_reprompt * 2);
  CHECK_EVENTS();
  mark("u2");
  elapse(silence_reprompt - 1ms);
  CHECK_EVENTS();
  elapse(1ms);
  CHECK_EVENTS("play silent_goodbye u3");
  CHECK_WRITES("call_event", "call_event"); // silence_goodbye, utterance
  CAF_CHECK(cp->step == call_step::goodbye);
  CAF_CHECK_EQUAL(cp->end_reason, "silence");
  mark("u3");
  CHECK_EVENTS("close");
  elapse(silence_reprompt * 2);
  CHECK_EVENTS();
}

CAF_TEST(caller_activity_cancels_the_silence_count) {
  attach();
  mark("u1");
  elapse(silence_reprompt);
  mark("u2"); // the one reprompt was said
  CHECK_EVENTS("bind", "play greeting u1", "play still_there u2");
  take_writes();
  elapse(silence_reprompt - 1ms);
  dtmf("7"); // just in time; not a deal type, so the dialogue stays
  CHECK_WRITES("call_event");
  elapse(1ms);
  CHECK_EVENTS(); // the running count was cancelled: no silent goodbye
  CAF_CHECK(cp->step == call_step::greeting);
  speech(true);
  speech(false);
  CHECK_EVENTS("play ask_callback u3");
  mark("u3");
  // The caller spoke since the reprompt: this silence reprompts again
  // instead of saying goodbye.
  elapse(silence_reprompt);
  CHECK_EVENTS("play still_there u4");
  CAF_CHECK(cp->step == call_step::ask_callback);
}

CAF_TEST(a_key_that_is_no_deal_answer_counts_the_silence_again) {
  attach();
  mark("u1"); // the greeting was heard: the silence count starts
  take_events();
  take_writes();
  elapse(silence_reprompt - 1ms);
  dtmf("7"); // not a deal type: the dialogue stays, nothing is said
  CHECK_EVENTS();
  CHECK_WRITES("call_event"); // dtmf
  CAF_CHECK(cp->step == call_step::greeting);
  elapse(1ms);
  CHECK_EVENTS(); // the count before the key was cancelled
  // The caller stays silent after the key: the count started again.
  elapse(silence_reprompt - 2ms);
  CHECK_EVENTS();
  elapse(1ms);
  CHECK_EVENTS("play still_there u2");
  CHECK_WRITES("call_event", "call_event"); // silence_reprompt, utterance
  CAF_CHECK(cp->step == call_step::greeting);
  CAF_CHECK_EQUAL(cp->reprompts, 1);
}

CAF_TEST(a_key_that_cuts_the_greeting_short_counts_the_silence) {
  attach();
  take_events();
  take_writes();
  dtmf("4"); // during the greeting: it stops, and the dialogue stays
  CHECK_EVENTS("clear");
  CAF_CHECK(!cp->playing);
  mark("u1"); // Twilio echoes the cleared greeting's mark late
  CHECK_EVENTS();
  take_writes();
  elapse(silence_reprompt - 1ms);
  CHECK_EVENTS();
  elapse(1ms);
  CHECK_EVENTS("play still_there u2");
  CAF_CHECK(cp->step == call_step::greeting);
}

CAF_TEST(zero_without_the_settings_still_counts_the_silence) {
  attach();
  mark("u1");
  take_events();
  take_writes();
  // DTMF 0 asks for the business's settings first; with no database they
  // never come, and the caller is not left in silence.
  dtmf("0");
  CHECK_EVENTS();
  CAF_CHECK(cp->transfer_wanted);
  CAF_CHECK(!cp->transferring);
  elapse(silence_reprompt);
  CHECK_EVENTS("play still_there u2");
  CAF_CHECK(cp->step == call_step::greeting);
}

CAF_TEST(watchdog_redirects_when_no_stream_starts) {
  for (int i = 0; i < 7; ++i)
    elapse(1000ms);
  elapse(999ms); // just before the deadline
  CAF_CHECK(redirects->empty());
  CAF_CHECK(!end->ended);
  CHECK_WRITES();
  elapse(1ms);
  CAF_CHECK_EQUAL(*redirects, (strings{cp->info.call_sid}));
  CHECK_WRITES("call_event", "call_watchdog");
  CAF_CHECK(end->ended);
  elapse(start_timeout * 2);
  CAF_CHECK_EQUAL(redirects->size(), 1u);
  CHECK_EVENTS();
}

CAF_TEST(watchdog_deadline_holds_across_one_long_jump) {
  elapse(start_timeout - 1ms); // only the first step falls due
  CAF_CHECK(redirects->empty());
  elapse(1ms);
  CAF_CHECK_EQUAL(redirects->size(), 1u);
  CAF_CHECK(end->ended);
}

CAF_TEST(restarted_actor_continues_from_the_checkpoint) {
  attach();
  mark("u1");
  dtmf("1"); // buy
  CHECK_EVENTS("bind", "play greeting u1", "play ask_callback u2");
  CAF_CHECK(cp->step == call_step::ask_callback);
  take_writes();
  auto first = call;
  caf::anon_send_exit(first, caf::exit_reason::kill);
  sched.run();
  CAF_REQUIRE(end->ended);
  CAF_CHECK_EQUAL(end->reason, caf::exit_reason::kill);
  call = start(); // what the call_manager does after an abnormal exit
  CAF_REQUIRE_NOT_EQUAL(call, first);
  CHECK_EVENTS("bind"); // the same socket, routed to the new actor
  CAF_CHECK_EQUAL(sink->bound, call.address());
  CHECK_WRITES(); // no second call_start, no greeting
  mark("u2");     // the ask_callback's mark reaches the new actor
  CHECK_EVENTS();
  dtmf("5");
  CHECK_EVENTS("play goodbye u3");
  CAF_CHECK_EQUAL(cp->deal, "buy");
  CAF_CHECK_EQUAL(cp->callback, "dtmf:5");
  mark("u3");
  CHECK_EVENTS("close");
  // An attached call has no watchdog after a restart either.
  elapse(start_timeout * 2);
  CAF_CHECK(redirects->empty());
}

CAF_TEST_FIXTURE_SCOPE_END()

// CAF's test runner provides main().
#include <caf/test/unit_test_impl.hpp>
