// actors/store: migrations, transactional jobs, the ordered write queue, and
// a real database outage: the test cluster is stopped under a running
// service and started again (RUN_SERIAL: every other DB test would notice).
//
// The outage test needs the variables deploy/test.sh exports:
// AL_TEST_PG_CTL, AL_TEST_PG_DATADIR, AL_TEST_PG_LOG, AL_TEST_PG_USER.
#include "tests/support/app_fixture.hpp"
#include "tests/support/media_client.hpp"

#include "actors/store.hpp"
#include "transport/services.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <pwd.h>
#include <thread>
#include <unistd.h>

namespace al::test {
namespace {

namespace fs = std::filesystem;

const std::string schemas = AL_SOURCE_DIR "/schemas";

std::size_t migration_files() {
  std::size_t n = 0;
  for (auto& e : fs::directory_iterator(schemas))
    n += e.path().extension() == ".sql";
  return n;
}

std::string query(const std::string& url, const std::string& sql) {
  pqxx::connection conn{url};
  pqxx::nontransaction nt{conn};
  auto r = nt.exec(sql);
  if (r.empty() || r[0][0].is_null())
    return {};
  return r[0][0].c_str();
}

// -- migrations ---------------------------------------------------------------

TEST(migrations, applying_twice_records_each_version_once) {
  auto url = fresh_database();
  ASSERT_EQ(apply_migrations(url, schemas), "");
  auto first = query(url, "SELECT string_agg(version || '@' || applied_at,"
                          " ',' ORDER BY version) FROM schema_migrations");
  ASSERT_EQ(apply_migrations(url, schemas), "");
  EXPECT_EQ(query(url, "SELECT count(*) FROM schema_migrations"),
            std::to_string(migration_files()));
  EXPECT_EQ(query(url, "SELECT count(DISTINCT version) FROM schema_migrations"),
            std::to_string(migration_files()));
  // Nothing was re-applied: same rows, same timestamps, one default business.
  EXPECT_EQ(query(url, "SELECT string_agg(version || '@' || applied_at,"
                       " ',' ORDER BY version) FROM schema_migrations"),
            first);
  EXPECT_EQ(query(url, "SELECT count(*) FROM businesses"), "1");
  EXPECT_EQ(query(url, "SELECT name FROM businesses WHERE id = 1"), "Default");
}

TEST(migrations, a_failing_migration_is_reported_and_not_recorded) {
  auto url = fresh_database();
  auto dir = fs::temp_directory_path()
             / ("al_migr_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream{dir / "0001_ok.sql"} << "CREATE TABLE t1 (x INT);";
  std::ofstream{dir / "0002_bad.sql"}
    << "CREATE TABLE t2 (x INT); SELECT no_such_function();";
  auto err = apply_migrations(url, dir.string());
  EXPECT_NE(err.find("migrations failed"), std::string::npos) << err;
  EXPECT_EQ(query(url,
                  "SELECT string_agg(version, ',') FROM schema_migrations"),
            "0001_ok.sql");
  // The failed file left nothing behind (its own transaction).
  EXPECT_EQ(query(url, "SELECT to_regclass('t2')::text"), "");
  EXPECT_EQ(query(url, "SELECT to_regclass('t1')::text"), "t1");
  // Empty directory: an error, not a silent success.
  fs::remove_all(dir);
  fs::create_directories(dir);
  EXPECT_NE(apply_migrations(url, dir.string()), "");
  fs::remove_all(dir);
  EXPECT_NE(apply_migrations("postgresql://nobody@127.0.0.1:1/x", schemas), "");
}

TEST(migrations, with_timeouts_adds_connect_timeout) {
  EXPECT_EQ(with_timeouts("postgresql://u@h/db"),
            "postgresql://u@h/db?connect_timeout=3");
  EXPECT_EQ(with_timeouts("postgresql://u@h/db?sslmode=disable"),
            "postgresql://u@h/db?sslmode=disable&connect_timeout=3");
  EXPECT_EQ(with_timeouts("host=h dbname=d"),
            "host=h dbname=d connect_timeout=3");
  EXPECT_EQ(with_timeouts("postgresql://u@h/db?connect_timeout=9"),
            "postgresql://u@h/db?connect_timeout=9");
}

// -- the store on its own -----------------------------------------------------

/// An actor system with a store on a fresh, migrated database.
struct store_fixture : ::testing::Test {
  store_fixture()
    : sys(cfg) {}

  void SetUp() override {
    url = fresh_database();
    ASSERT_EQ(apply_migrations(url, schemas), "");
    query(url, "CREATE TABLE store_probe (id BIGSERIAL PRIMARY KEY,"
               " n INT NOT NULL UNIQUE)");
    db = store::start(sys, store_options{url, 2}, nullptr);
  }

  void TearDown() override {
    if (db)
      db.shutdown(std::chrono::seconds(2));
  }

  /// Runs `job` and waits for its outcome.
  db_error run_sync(std::function<void(db_tx&)> job) {
    auto done = std::make_shared<std::promise<db_error>>();
    auto f = done->get_future();
    db.run(std::move(job), [done](const db_error& e) { done->set_value(e); });
    if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
      return "test: no completion within 10 s";
    return f.get();
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  std::string url;
  store db;
};

TEST_F(store_fixture, run_commits_on_success) {
  EXPECT_EQ(run_sync([](db_tx& tx) {
              tx.exec("INSERT INTO store_probe(n) VALUES (1), (2)");
            }),
            "");
  EXPECT_EQ(query(url, "SELECT count(*) FROM store_probe"), "2");
  EXPECT_TRUE(db.health().reachable.load());
  EXPECT_EQ(db.health().in_use.load(), 0);
}

TEST_F(store_fixture, run_rolls_back_on_sql_error_and_on_throw) {
  auto err = run_sync([](db_tx& tx) {
    tx.exec("INSERT INTO store_probe(n) VALUES (10)");
    tx.exec("INSERT INTO store_probe(n) VALUES (10)"); // unique violation
  });
  EXPECT_FALSE(err.empty());
  EXPECT_NE(err, "database unavailable");
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  err = run_sync([](db_tx& tx) {
    tx.exec("INSERT INTO store_probe(n) VALUES (11)");
    throw std::runtime_error("job gave up");
  });
  EXPECT_EQ(err, "job gave up");
  EXPECT_EQ(query(url, "SELECT count(*) FROM store_probe"), "0");
  // The connection is still good afterwards.
  EXPECT_EQ(run_sync([](db_tx& tx) { tx.exec("SELECT 1"); }), "");
}

TEST_F(store_fixture, many_concurrent_jobs_all_complete) {
  std::vector<std::future<db_error>> all;
  for (int i = 0; i < 50; ++i) {
    auto p = std::make_shared<std::promise<db_error>>();
    all.push_back(p->get_future());
    db.run(
      [i](db_tx& tx) {
        tx.exec_params("INSERT INTO store_probe(n) VALUES ($1)", i);
      },
      [p](const db_error& e) { p->set_value(e); });
  }
  for (auto& f : all) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    EXPECT_EQ(f.get(), "");
  }
  EXPECT_EQ(query(url, "SELECT count(*) FROM store_probe"), "50");
}

TEST_F(store_fixture, a_slow_job_holds_only_its_own_connection) {
  // Pool of 2. While one job sleeps in PostgreSQL, jobs sent one after the
  // other all run on the other connection (dispatching round-robin would put
  // every second one behind the sleeper).
  auto slow = std::make_shared<std::promise<db_error>>();
  auto slow_done = slow->get_future();
  db.run([](db_tx& tx) { tx.exec("SELECT pg_sleep(4)"); },
         [slow](const db_error& e) { slow->set_value(e); });
  ASSERT_TRUE(eventually([&] { return db.health().in_use.load() == 1; }));
  for (int i = 0; i < 6; ++i)
    ASSERT_EQ(run_sync([i](db_tx& tx) {
                tx.exec_params("INSERT INTO store_probe(n) VALUES ($1)", i);
              }),
              "");
  EXPECT_EQ(slow_done.wait_for(std::chrono::seconds(0)),
            std::future_status::timeout)
    << "the quick jobs waited for the slow one";
  EXPECT_EQ(query(url, "SELECT count(*) FROM store_probe"), "6");
  ASSERT_EQ(slow_done.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  EXPECT_EQ(slow_done.get(), "");
}

TEST_F(store_fixture, writes_land_in_order) {
  for (int i = 1; i <= 100; ++i)
    ASSERT_TRUE(db.write("probe", [i](db_tx& tx) {
      tx.exec_params("INSERT INTO store_probe(n) VALUES ($1)"
                     " ON CONFLICT DO NOTHING",
                     i);
    }));
  ASSERT_TRUE(eventually(
    [&] { return query(url, "SELECT count(*) FROM store_probe") == "100"; }));
  // In order: ids grow with n.
  EXPECT_EQ(query(url, "SELECT count(*) FROM store_probe a JOIN store_probe b"
                       " ON a.id < b.id AND a.n > b.n"),
            "0");
  EXPECT_TRUE(eventually([&] { return db.health().queued_writes == 0; }));
  // A failing write is dropped (logged), the next ones still land.
  db.write("bad", [](db_tx& tx) { tx.exec("SELECT no_such_function()"); });
  db.write("good", [](db_tx& tx) {
    tx.exec("INSERT INTO store_probe(n) VALUES (1000)");
  });
  EXPECT_TRUE(eventually([&] {
    return query(url, "SELECT count(*) FROM store_probe WHERE n = 1000") == "1";
  }));
  EXPECT_TRUE(eventually([&] { return db.health().queued_writes == 0; }));
}

TEST(store_unreachable, fails_fast_and_bounds_the_queue) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  // Nothing listens on port 1.
  auto db = store::start(sys,
                         store_options{"postgresql://nobody@127.0.0.1:1/x", 1,
                                       2, std::chrono::milliseconds(100)},
                         nullptr);
  auto done = std::make_shared<std::promise<db_error>>();
  auto f = done->get_future();
  auto started = std::chrono::steady_clock::now();
  db.run([](db_tx& tx) { tx.exec("SELECT 1"); },
         [done](const db_error& e) { done->set_value(e); });
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(f.get(), "database unavailable");
  EXPECT_LT(std::chrono::steady_clock::now() - started,
            std::chrono::seconds(4));
  EXPECT_FALSE(db.health().reachable.load());
  // The write queue holds two, refuses the third.
  EXPECT_TRUE(db.write("a", [](db_tx&) {}));
  EXPECT_TRUE(db.write("b", [](db_tx&) {}));
  EXPECT_FALSE(db.write("c", [](db_tx&) {}));
  EXPECT_EQ(db.health().queued_writes.load(), 2u);
  db.shutdown(std::chrono::milliseconds(200));
}

// -- database outage under the running service --------------------------------

std::string env_or_empty(const char* name) {
  auto v = std::getenv(name);
  return v ? v : "";
}

/// pg_ctl for the test cluster, as its OS user.
class test_cluster {
public:
  test_cluster()
    : ctl_(env_or_empty("AL_TEST_PG_CTL"))
    , data_(env_or_empty("AL_TEST_PG_DATADIR"))
    , log_(env_or_empty("AL_TEST_PG_LOG"))
    , user_(env_or_empty("AL_TEST_PG_USER")) {}

  /// Empty when usable, else what is missing.
  std::string missing() const {
    std::string out;
    for (auto [name, v] : {std::pair{"AL_TEST_PG_CTL", &ctl_},
                           std::pair{"AL_TEST_PG_DATADIR", &data_},
                           std::pair{"AL_TEST_PG_LOG", &log_},
                           std::pair{"AL_TEST_PG_USER", &user_}})
      if (v->empty())
        out += std::string{out.empty() ? "" : ", "} + name;
    return out;
  }

  bool stop() {
    return pg_ctl("-D '" + data_ + "' -m fast -w -t 60 stop");
  }

  bool start() {
    return pg_ctl("-D '" + data_ + "' -l '" + log_ + "' -w -t 60 start");
  }

private:
  bool pg_ctl(const std::string& args) {
    auto* pw = ::getpwuid(::geteuid());
    std::string me = pw ? pw->pw_name : "";
    std::string cmd = "cd / && ";
    if (user_ != me)
      cmd += "runuser -u '" + user_ + "' -- ";
    cmd += "'" + ctl_ + "' " + args + " >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  }

  std::string ctl_, data_, log_, user_;
};

/// Restarts the cluster when the test leaves, whatever happened.
struct restart_guard {
  test_cluster& cluster;
  bool stopped = false;
  ~restart_guard() {
    if (stopped && !cluster.start())
      ADD_FAILURE() << "could not restart the test cluster";
  }
};

std::int64_t metric_value(const std::string& text, const std::string& name) {
  auto at = text.find("\n" + name + " ");
  if (at == std::string::npos)
    return -1;
  return static_cast<std::int64_t>(
    std::stod(text.substr(at + name.size() + 2)));
}

TEST(db_outage, readyz_503_then_queued_writes_land_once) {
  test_cluster cluster;
  ASSERT_EQ(cluster.missing(), "")
    << "set by deploy/test.sh; set them by hand for your own cluster";
  running_app app;
  auto& cfg = app.cfg();
  sql_value(cfg, "INSERT INTO calls(business_id, call_sid, from_number)"
                 " VALUES (1, 'CAoutage', '+972501112233')");
  ASSERT_EQ(http_call(app.port(), "GET", "/readyz").status, 200);

  restart_guard guard{cluster};
  ASSERT_TRUE(cluster.stop());
  guard.stopped = true;

  // Not ready, with the reason; alive all the same.
  http_result ready;
  EXPECT_TRUE(eventually(
    [&] {
      ready = http_call(app.port(), "GET", "/readyz");
      return ready.status == 503;
    },
    std::chrono::seconds(10)));
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("database"), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find("reason"), std::string::npos) << ready.body;
  EXPECT_EQ(http_call(app.port(), "GET", "/healthz").status, 200);
  // Routes that need the database answer 503, never 500.
  auto r = api_call(app.port(), "GET", "/api/admin/businesses", "test-admin");
  EXPECT_EQ(r.status, 503) << r.body;
  r = api_call(app.port(), "GET", "/api/crm/leads", "some-api-token");
  EXPECT_EQ(r.status, 503) << r.body;

  // Writes queue up meanwhile: three status callbacks (204 at once) and
  // five direct writes.
  for (auto event : {"stream-started", "stream-media", "stream-stopped"}) {
    auto s = http_call(app.port(), "POST", "/webhook/stream_status",
                       std::string{"CallSid=CAoutage&StreamSid=MZ1&"
                                   "StreamEvent="}
                         + event,
                       {{"Content-Type", "application/x-www-form-urlencoded"}});
    EXPECT_EQ(s.status, 204);
  }
  for (int i = 1; i <= 5; ++i)
    ASSERT_TRUE(app.svc().db.write("outage_probe", [i](db_tx& tx) {
      tx.exec_params("INSERT INTO call_events(business_id, call_sid, seq,"
                     " kind) VALUES (1, 'CAoutage', $1, 'outage_probe')"
                     " ON CONFLICT DO NOTHING",
                     i);
    }));
  EXPECT_TRUE(
    eventually([&] { return app.svc().db.health().queued_writes >= 8; }));
  auto metrics = http_call(app.port(), "GET", "/metrics").body;
  EXPECT_GE(metric_value(metrics, "al_db_write_queue_depth"), 8) << metrics;

  ASSERT_TRUE(cluster.start());
  guard.stopped = false;

  EXPECT_TRUE(eventually(
    [&] { return http_call(app.port(), "GET", "/readyz").status == 200; },
    std::chrono::seconds(20)));
  EXPECT_TRUE(
    eventually([&] { return app.svc().db.health().queued_writes == 0; },
               std::chrono::seconds(20)));
  // Exactly once each, in order.
  EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM call_events WHERE call_sid ="
                           " 'CAoutage' AND kind = 'outage_probe'"),
            "5");
  EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM call_events WHERE call_sid ="
                           " 'CAoutage' AND kind = 'stream_status'"),
            "3");
  EXPECT_EQ(sql_value(cfg, "SELECT string_agg(detail->>'event', ',' ORDER BY"
                           " id) FROM call_events WHERE call_sid = 'CAoutage'"
                           " AND kind = 'stream_status'"),
            "stream-started,stream-media,stream-stopped");
  metrics = http_call(app.port(), "GET", "/metrics").body;
  EXPECT_EQ(metric_value(metrics, "al_db_write_queue_depth"), 0);
  // The API works again.
  EXPECT_EQ(
    api_call(app.port(), "GET", "/api/admin/businesses", "test-admin").status,
    200);
}

TEST(db_outage, quick_restart_costs_no_request) {
  // The server restarts while the pool is idle: its connections are dead
  // but nobody noticed. The next requests must still be served.
  test_cluster cluster;
  ASSERT_EQ(cluster.missing(), "")
    << "set by deploy/test.sh; set them by hand for your own cluster";
  auto cfg = test_config();
  cfg.db_pool_size = 2;
  running_app app{cfg};
  // Both pool connections open and idle.
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(http_call(app.port(), "GET", "/readyz").status, 200);
  {
    restart_guard guard{cluster};
    ASSERT_TRUE(cluster.stop());
    guard.stopped = true;
    ASSERT_TRUE(cluster.start());
    guard.stopped = false;
  }
  for (int i = 0; i < 4; ++i) {
    auto r = api_call(app.port(), "GET", "/api/admin/businesses", "test-admin");
    EXPECT_EQ(r.status, 200) << "request " << i << ": " << r.body;
  }
  EXPECT_EQ(http_call(app.port(), "GET", "/readyz").status, 200);
}

// SPEC §5: PostgreSQL away for 30 s while calls come in. Every caller is
// answered with the cached greeting at once; each call's rows are queued and
// land exactly once when the database returns.
TEST(db_outage, calls_get_the_greeting_during_a_30_second_outage) {
  using namespace std::chrono_literals;
  test_cluster cluster;
  ASSERT_EQ(cluster.missing(), "")
    << "set by deploy/test.sh; set them by hand for your own cluster";
  running_app app;
  auto& cfg = app.cfg();
  ASSERT_EQ(http_call(app.port(), "GET", "/readyz").status, 200);

  restart_guard guard{cluster};
  ASSERT_TRUE(cluster.stop());
  guard.stopped = true;
  auto stopped_at = std::chrono::steady_clock::now();

  int answered = 0;
  int calls = 0;
  while (std::chrono::steady_clock::now() - stopped_at < 30s) {
    auto sid = "CAdown" + std::to_string(++calls);
    auto twiml = twilio_post(app.port(), cfg.public_base_url,
                             cfg.twilio_auth_token, "/webhook/incoming_call",
                             {{"CallSid", sid},
                              {"From", "+972501234567"},
                              {"To", "+97231234567"},
                              {"CallStatus", "ringing"}});
    EXPECT_EQ(twiml.status, 200) << twiml.body;
    auto at = twiml.body.find("name=\"call_token\" value=\"");
    ASSERT_NE(at, std::string::npos) << twiml.body;
    at += std::string{"name=\"call_token\" value=\""}.size();
    auto token = twiml.body.substr(at, twiml.body.find('"', at) - at);
    media_client ws;
    ASSERT_TRUE(ws.connect(app.port(), "/ws/twilio-media").ok);
    ws.send_connected();
    ws.send_start("MZdown" + std::to_string(calls), sid,
                  {{"call_token", token}});
    answered += ws.wait_for(
      [](const std::vector<server_message>& msgs) {
        for (auto& m : msgs)
          if (event_of(m.text) == "media")
            return true;
        return false;
      },
      2s);
    ws.send_stop("MZdown" + std::to_string(calls), sid);
    ws.close();
    std::this_thread::sleep_for(2s);
  }
  EXPECT_EQ(answered, calls) << "every caller hears the greeting";
  EXPECT_GE(calls, 5);
  EXPECT_EQ(http_call(app.port(), "GET", "/readyz").status, 503);

  ASSERT_TRUE(cluster.start());
  guard.stopped = false;
  EXPECT_TRUE(eventually(
    [&] { return http_call(app.port(), "GET", "/readyz").status == 200; },
    20s));
  EXPECT_TRUE(
    eventually([&] { return app.svc().db.health().queued_writes == 0; }, 20s));
  EXPECT_EQ(sql_value(cfg, "SELECT count(*) FROM calls WHERE call_sid LIKE"
                           " 'CAdown%'"),
            std::to_string(calls));
  EXPECT_EQ(sql_value(cfg, "SELECT count(DISTINCT call_sid) FROM call_events"
                           " WHERE call_sid LIKE 'CAdown%'"
                           " AND kind = 'stream_start'"),
            std::to_string(calls));
}

} // namespace
} // namespace al::test
