// The WebSocket side of the foundation on /ws/twilio-media over real
// sockets: subprotocol negotiation, ping cadence, idle close, and graceful
// shutdown (1001 to open sockets, in-flight requests finish, readyz 503).
#include "tests/support/app_fixture.hpp"
#include "tests/support/media_client.hpp"

#include "actors/call.hpp"
#include "actors/supervisor.hpp"
#include "transport/dispatcher.hpp"
#include "transport/server.hpp"
#include "transport/services.hpp"
#include "transport/websocket_session.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <future>
#include <thread>

namespace al::test {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

TEST(websocket, subprotocol_echoed_only_when_offered) {
  running_app app;
  {
    media_client c;
    auto h = c.connect(app.port(), "/ws/twilio-media", "audio.twilio.com");
    ASSERT_TRUE(h.ok) << h.error;
    EXPECT_EQ(h.subprotocol, "audio.twilio.com");
  }
  {
    media_client c;
    auto h = c.connect(app.port(), "/ws/twilio-media", "");
    ASSERT_TRUE(h.ok) << h.error;
    EXPECT_EQ(h.subprotocol, "");
  }
  {
    media_client c;
    auto h = c.connect(app.port(), "/ws/twilio-media/",
                       "chat, audio.twilio.com");
    ASSERT_TRUE(h.ok) << h.error;
    EXPECT_EQ(h.subprotocol, "audio.twilio.com");
  }
  {
    // Offered something else only: no subprotocol in the answer.
    media_client c;
    auto h = c.connect(app.port(), "/ws/twilio-media", "chat");
    if (h.ok) {
      EXPECT_EQ(h.subprotocol, "");
    }
  }
  {
    // A near-miss is not a match.
    media_client c;
    auto h = c.connect(app.port(), "/ws/twilio-media", "audio.twilio.com2");
    if (h.ok) {
      EXPECT_EQ(h.subprotocol, "");
    }
  }
  {
    // Upgrades elsewhere are refused like any unknown path.
    media_client c;
    auto h = c.connect(app.port(), "/ws/other");
    EXPECT_FALSE(h.ok);
    EXPECT_EQ(h.status, 404);
  }
  EXPECT_EQ(http_call(app.port(), "GET", "/healthz").status, 200);
}

TEST(websocket, pings_at_the_configured_interval) {
  auto cfg = test_config();
  cfg.ws_ping_interval = 1s;
  cfg.ws_idle_timeout = 60s;
  running_app app{cfg};
  media_client c;
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.connect(app.port(), "/ws/twilio-media").ok);
  EXPECT_TRUE(eventually([&] { return c.pings() >= 2; }, 2500ms))
    << "pings: " << c.pings();
  auto elapsed = std::chrono::steady_clock::now() - started;
  // Not early: two pings take about two intervals.
  EXPECT_GE(elapsed, 1800ms);
  EXPECT_LE(c.pings(), 3u);
  EXPECT_FALSE(c.closed());
}

TEST(websocket, idle_socket_is_closed) {
  auto cfg = test_config();
  cfg.ws_ping_interval = 25s; // longer than the idle timeout on purpose
  cfg.ws_idle_timeout = 2s;
  running_app app{cfg};

  media_client idle;
  media_client busy;
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(idle.connect(app.port(), "/ws/twilio-media").ok);
  ASSERT_TRUE(busy.connect(app.port(), "/ws/twilio-media").ok);
  // The busy client sends a frame every 500 ms until the idle one, which
  // sends nothing, is closed (the event ends the wait, not a sleep).
  bool idle_closed = false;
  for (int i = 0; i < 12 && !idle_closed; ++i) {
    busy.send_connected();
    idle_closed = idle.wait_closed(500ms);
  }
  EXPECT_TRUE(idle_closed);
  auto elapsed = std::chrono::steady_clock::now() - started;
  // Not before the idle timeout (wait_closed bounds the other side).
  EXPECT_GE(elapsed, 1900ms);
  EXPECT_EQ(idle.close_code(), 1001);
  EXPECT_FALSE(busy.closed());
}

/// A keep-alive HTTP connection for requests during shutdown.
class persistent_connection {
public:
  explicit persistent_connection(std::uint16_t port)
    : stream_(ioc_) {
    stream_.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
  }

  http::response<http::string_body> get(const std::string& target) {
    stream_.expires_after(5s);
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "t");
    http::write(stream_, req);
    http::response<http::string_body> res;
    http::read(stream_, buf_, res);
    return res;
  }

private:
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
};

TEST(websocket, graceful_shutdown) {
  auto cfg = test_config();
  cfg.drain_timeout = 2s;
  cfg.start_timeout = 60s; // the call below outlives the drain
  auto app = std::make_unique<running_app>(cfg);
  auto port = app->port();
  auto& svc = app->svc();

  media_client ws;
  ASSERT_TRUE(ws.connect(port, "/ws/twilio-media").ok);
  persistent_connection keep{port};
  ASSERT_EQ(keep.get("/healthz").result_int(), 200);

  // A "live call" (its TwiML served, its stream not yet started): the
  // drain waits for it up to drain_timeout.
  auto cp = std::make_shared<call_checkpoint>();
  cp->info.call_sid = "CAdrain";
  cp->loaded = true;
  caf::actor call;
  {
    caf::scoped_actor self{svc.sys};
    self->request(svc.call_manager, 5s, spawn_atom_v, cp)
      .receive([&](caf::actor& a) { call = std::move(a); }, [](caf::error&) {});
  }
  ASSERT_TRUE(call);
  ASSERT_EQ(svc.call_stats.live.load(), 1);

  // A slow request: PATCH waits on a row lock the test holds.
  pqxx::connection locker{cfg.database_url};
  pqxx::work lock_tx{locker};
  lock_tx.exec("SELECT 1 FROM businesses WHERE id = 1 FOR UPDATE");
  auto slow = std::async(std::launch::async, [port] {
    return api_call(port, "PATCH", "/api/admin/businesses/1", "test-admin",
                    R"({"greeting":"after the drain"})");
  });
  ASSERT_TRUE(eventually([&] {
    return sql_value(cfg, "SELECT count(*) FROM pg_locks WHERE NOT granted")
           != "0";
  }))
    << "the PATCH never reached the lock";

  auto shutdown_started = std::chrono::steady_clock::now();
  auto stopping = std::async(std::launch::async,
                             [&] { app->app().shutdown(); });
  ASSERT_TRUE(eventually([&] { return svc.draining.load(); }));

  // While draining: readyz 503 on a connection that is still open ...
  auto ready = keep.get("/readyz");
  EXPECT_EQ(ready.result_int(), 503);
  EXPECT_NE(ready.body().find("draining"), std::string::npos) << ready.body();
  // ... and no new connections.
  EXPECT_TRUE(eventually([&] {
    try {
      http_call(port, "GET", "/healthz");
      return false;
    } catch (const std::exception&) {
      return true;
    }
  }));

  // After the drain timeout the WebSocket is closed with 1001.
  ASSERT_TRUE(ws.wait_closed(10s));
  EXPECT_EQ(ws.close_code(), 1001);
  EXPECT_GE(std::chrono::steady_clock::now() - shutdown_started, 1900ms);
  // The in-flight request is still running; let it finish.
  EXPECT_EQ(slow.wait_for(200ms), std::future_status::timeout);
  lock_tx.commit();
  ASSERT_EQ(slow.wait_for(10s), std::future_status::ready);
  auto res = slow.get();
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(stopping.wait_for(15s), std::future_status::ready);
  EXPECT_EQ(sql_value(cfg, "SELECT greeting FROM businesses WHERE id = 1"),
            "after the drain");
  app.reset();
}

// -- the session alone, on a bare server (no database) ------------------------

/// Queues many large messages, then closes while the first is being written.
class flood_handler : public websocket_handler {
public:
  void on_message(websocket_session& ws, std::string_view, bool) override {
    for (int i = 0; i < 64; ++i)
      ws.send(std::string(256 * 1024, static_cast<char>('a' + i % 26)));
    ws.close(websocket::close_code::normal, "flooded");
  }
};

TEST(websocket_session, close_with_queued_writes_keeps_the_frame_intact) {
  router r;
  r.add(http::verb::get, "/plain", [](request_ptr, responder res) {
    res(json_response(http::status::ok, "{}"));
  });
  dispatcher d{std::move(r), nullptr};
  d.add_websocket("/flood", [](beast::tcp_stream stream, http_request req,
                               session_registry& registry) {
    std::make_shared<websocket_session>(std::move(stream), std::move(req),
                                        websocket_options{}, registry,
                                        std::make_unique<flood_handler>())
      ->run();
  });
  auto srv = std::make_unique<server>(d, 1);
  auto port = srv->listen("127.0.0.1", 0);
  srv->start();

  media_client c;
  ASSERT_TRUE(c.connect(port, "/flood", "").ok);
  c.send("go");
  ASSERT_TRUE(c.wait_closed(10s));
  EXPECT_EQ(c.close_code(), 1000);
  // Whatever was written before the close arrived whole and unaltered.
  auto got = c.messages();
  EXPECT_LE(got.size(), 1u);
  for (auto& m : got) {
    ASSERT_EQ(m.text.size(), 256u * 1024u);
    EXPECT_EQ(m.text.find_first_not_of(m.text.front()), std::string::npos);
  }

  // The server goes away with a keep-alive connection still open: its
  // session unregisters itself while the io_context is destroyed.
  persistent_connection idle{port};
  EXPECT_EQ(idle.get("/plain").result_int(), 200);
  srv->stop_accepting();
  srv->stop();
  srv.reset();
}

/// Answers each message "N" with N messages of varied sizes (tiny ones that
/// fit in a string's own storage, media-sized, large), half through send()
/// and half built in place by send_with(), then echoes whether the bytes
/// after the message it read were the zeroed padding.
class burst_handler : public websocket_handler {
public:
  void on_message(websocket_session& ws, std::string_view data, bool) override {
    bool padded = true;
    for (std::size_t i = 0; i < websocket_session::read_padding; ++i)
      padded = padded && data.data()[data.size() + i] == '\0';
    ws.send(padded ? "padded" : "not padded");
    int n = std::stoi(std::string{data});
    for (int i = 0; i < n; ++i) {
      auto body = burst_message(i);
      if (i % 2 == 0)
        ws.send(body);
      else
        ws.send_with([&](std::string& out) {
          EXPECT_TRUE(out.empty());
          out += body;
        });
    }
  }

  static std::string burst_message(int i) {
    static const std::size_t sizes[] = {1, 7, 15, 16, 250, 300, 4000, 20000};
    auto size = sizes[static_cast<std::size_t>(i) % std::size(sizes)];
    auto s = std::to_string(i) + ":";
    s.resize(std::max(size, s.size()), static_cast<char>('a' + i % 26));
    return s;
  }
};

TEST(websocket_session, queued_messages_arrive_whole_and_in_order) {
  router r;
  dispatcher d{std::move(r), nullptr};
  d.add_websocket("/burst", [](beast::tcp_stream stream, http_request req,
                               session_registry& registry) {
    std::make_shared<websocket_session>(std::move(stream), std::move(req),
                                        websocket_options{}, registry,
                                        std::make_unique<burst_handler>())
      ->run();
  });
  auto srv = std::make_unique<server>(d, 1);
  auto port = srv->listen("127.0.0.1", 0);
  srv->start();

  media_client c;
  ASSERT_TRUE(c.connect(port, "/burst", "").ok);
  // Bursts deeper than the ring (it grows), then small ones (it wraps
  // around, reusing buffers that held larger messages).
  std::vector<std::string> want;
  for (int n : {3, 200, 1, 5, 40}) {
    c.send(std::to_string(n));
    want.push_back("padded");
    for (int i = 0; i < n; ++i)
      want.push_back(burst_handler::burst_message(i));
    ASSERT_TRUE(c.wait_for(
      [&](const std::vector<server_message>& got) {
        return got.size() >= want.size();
      },
      10s));
  }
  auto got = c.messages();
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    ASSERT_EQ(got[i].text, want[i]) << "message " << i;
  c.close();
  srv->stop_accepting();
  srv->stop();
}

} // namespace
} // namespace al::test
