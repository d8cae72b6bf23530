// realtime_client (the outbound WebSocket of the openai voice engine):
// plain ws:// against the fake Realtime server, wss:// against a loopback
// TLS WebSocket server (trusted, untrusted, wrong name; SNI), and every way
// a link ends.

#include "tests/support/app_fixture.hpp"
#include "tests/support/closed_port.hpp"
#include "tests/support/fake_realtime_server.hpp"
#include "tests/support/test_cert.hpp"
#include "transport/realtime_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

using namespace std::chrono_literals;

namespace al {
namespace {

/// What a link reported.
struct recorder : std::enable_shared_from_this<recorder> {
  std::mutex mu;
  std::condition_variable cv;
  int opens = 0;
  int closes = 0;
  std::string reason;
  std::vector<std::string> messages;

  realtime_callbacks callbacks() {
    realtime_callbacks cb;
    auto self = shared_from_this();
    cb.on_open = [self] { self->update([&] { ++self->opens; }); };
    cb.on_message = [self](std::string m) {
      self->update([&] { self->messages.push_back(std::move(m)); });
    };
    cb.on_closed = [self](std::string r) {
      self->update([&] {
        ++self->closes;
        self->reason = std::move(r);
      });
    };
    return cb;
  }

  template <class F>
  void update(F f) {
    std::lock_guard<std::mutex> lock{mu};
    f();
    cv.notify_all();
  }

  template <class P>
  bool wait(P pred, std::chrono::milliseconds t = 5s) {
    std::unique_lock<std::mutex> lock{mu};
    return cv.wait_for(lock, t, pred);
  }
};

/// A loopback wss:// server: TLS (recording the SNI name), the upgrade,
/// then "echo:" + every message.
class tls_ws_server {
public:
  explicit tls_ws_server(const test::test_cert& cert) {
    ctx_.use_certificate_chain(net::buffer(cert.cert_pem));
    ctx_.use_private_key(net::buffer(cert.key_pem), ssl::context::pem);
    tcp::endpoint ep{net::ip::make_address("127.0.0.1"), 0};
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    do_accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~tls_ws_server() {
    ioc_.stop();
    thread_.join();
  }

  unsigned short port() const {
    return acceptor_.local_endpoint().port();
  }
  std::vector<std::string> server_names() const {
    std::lock_guard<std::mutex> lock{mu_};
    return names_;
  }
  std::size_t upgrades() const {
    std::lock_guard<std::mutex> lock{mu_};
    return upgrades_;
  }

private:
  using stream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
  struct session {
    session(tcp::socket s, ssl::context& ctx)
      : ws(std::move(s), ctx) {}
    stream ws;
    beast::flat_buffer buffer;
    std::string out;
  };

  void do_accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket sock) {
      if (ec)
        return;
      auto s = std::make_shared<session>(std::move(sock), ctx_);
      s->ws.next_layer().async_handshake(
        ssl::stream_base::server, [this, s](beast::error_code ec) {
          if (ec)
            return;
          auto* sni = SSL_get_servername(s->ws.next_layer().native_handle(),
                                         TLSEXT_NAMETYPE_host_name);
          {
            std::lock_guard<std::mutex> lock{mu_};
            names_.push_back(sni ? sni : "");
          }
          s->ws.async_accept([this, s](beast::error_code ec) {
            if (ec)
              return;
            {
              std::lock_guard<std::mutex> lock{mu_};
              ++upgrades_;
            }
            do_read(s);
          });
        });
      do_accept();
    });
  }

  void do_read(std::shared_ptr<session> s) {
    s->ws.async_read(s->buffer, [this, s](beast::error_code ec, std::size_t) {
      if (ec)
        return;
      s->out = "echo:" + beast::buffers_to_string(s->buffer.data());
      s->buffer.consume(s->buffer.size());
      s->ws.text(true);
      s->ws.async_write(net::buffer(s->out),
                        [this, s](beast::error_code ec, std::size_t) {
                          if (!ec)
                            do_read(s);
                        });
    });
  }

  net::io_context ioc_{1};
  ssl::context ctx_{ssl::context::tls_server};
  tcp::acceptor acceptor_{ioc_};
  mutable std::mutex mu_;
  std::vector<std::string> names_;
  std::size_t upgrades_ = 0;
  std::thread thread_;
};

class realtime_client_test : public ::testing::Test {
protected:
  void SetUp() override {
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    guard_.reset();
    ioc_.stop();
    thread_.join();
  }

  realtime_link_ptr connect(realtime_client& c, const std::string& url,
                            std::shared_ptr<recorder> rec,
                            std::chrono::milliseconds timeout = 3s) {
    realtime_connect_request req;
    req.url = url;
    req.headers = {{"Authorization", "Bearer sk-test"},
                   {"OpenAI-Beta", "realtime=v1"}};
    req.timeout = timeout;
    return c.connect(std::move(req), rec->callbacks());
  }

  net::io_context ioc_{1};
  net::executor_work_guard<net::io_context::executor_type> guard_{
    ioc_.get_executor()};
  std::thread thread_;
};

TEST_F(realtime_client_test, plain_ws_carries_headers_and_messages) {
  test::fake_realtime_server srv{
    [](test::fake_realtime_server& s, const std::string& m) {
      s.send("echo:" + m);
    }};
  realtime_client c{ioc_};
  auto rec = std::make_shared<recorder>();
  auto link = connect(c, srv.url() + "?model=gpt-x", rec);
  ASSERT_TRUE(rec->wait([&] { return rec->opens == 1; }));
  link->send(R"({"type":"session.update"})");
  link->send("second");
  ASSERT_TRUE(rec->wait([&] { return rec->messages.size() == 2; }));
  EXPECT_EQ(rec->messages[0], R"(echo:{"type":"session.update"})");
  EXPECT_EQ(rec->messages[1], "echo:second");
  EXPECT_EQ(srv.target(), "/v1/realtime?model=gpt-x");
  auto h = srv.headers();
  EXPECT_EQ(h["authorization"], "Bearer sk-test");
  EXPECT_EQ(h["openai-beta"], "realtime=v1");
  EXPECT_EQ(h["host"], "127.0.0.1:" + std::to_string(srv.port()));
  EXPECT_EQ(h["user-agent"], "agentlocator/0.1");
  // The server ends it: reported once, with the close code.
  srv.close();
  ASSERT_TRUE(rec->wait([&] { return rec->closes == 1; }));
  EXPECT_EQ(rec->reason, "closed by the server (code 1000)");
  link->send("after the end"); // dropped, harmless
  EXPECT_EQ(rec->opens, 1);
}

TEST_F(realtime_client_test, our_close_reports_nothing) {
  test::fake_realtime_server srv;
  realtime_client c{ioc_};
  auto rec = std::make_shared<recorder>();
  auto link = connect(c, srv.url(), rec);
  ASSERT_TRUE(rec->wait([&] { return rec->opens == 1; }));
  link->send("last words");
  link->close();
  link->close(); // idempotent
  ASSERT_TRUE(test::eventually([&] { return srv.disconnects() == 1; }));
  EXPECT_EQ(srv.received(), std::vector<std::string>{"last words"});
  std::lock_guard<std::mutex> lock{rec->mu};
  EXPECT_EQ(rec->closes, 0);
}

TEST_F(realtime_client_test, closing_while_connecting_reports_nothing) {
  test::fake_realtime_server srv;
  srv.set_upgrade_delay(2s);
  realtime_client c{ioc_};
  auto rec = std::make_shared<recorder>();
  auto link = connect(c, srv.url(), rec);
  ASSERT_TRUE(test::eventually([&] { return srv.connections() == 1; }));
  link->close();
  EXPECT_FALSE(rec->wait([&] { return rec->opens + rec->closes > 0; }, 2500ms));
}

TEST_F(realtime_client_test, failures_to_connect_are_reported_once) {
  realtime_client c{ioc_};
  {
    auto rec = std::make_shared<recorder>();
    test::closed_port dead;
    auto link = connect(c, "ws://" + dead.host_port() + "/v1/realtime", rec);
    ASSERT_TRUE(rec->wait([&] { return rec->closes == 1; }));
    EXPECT_EQ(rec->reason, "connection refused");
    EXPECT_EQ(rec->opens, 0);
  }
  for (auto url :
       {"http://127.0.0.1/x", "not a url", "wss://", "ws://h:99999/"}) {
    auto rec = std::make_shared<recorder>();
    auto link = connect(c, url, rec);
    ASSERT_TRUE(rec->wait([&] { return rec->closes == 1; })) << url;
    EXPECT_EQ(rec->reason, "bad url") << url;
  }
  {
    test::fake_realtime_server srv;
    srv.set_upgrade_status(403);
    auto rec = std::make_shared<recorder>();
    auto link = connect(c, srv.url(), rec);
    ASSERT_TRUE(rec->wait([&] { return rec->closes == 1; }));
    EXPECT_EQ(rec->reason, "upgrade declined: 403");
  }
  {
    test::fake_realtime_server srv;
    srv.set_upgrade_delay(3s);
    auto rec = std::make_shared<recorder>();
    auto start = std::chrono::steady_clock::now();
    auto link = connect(c, srv.url(), rec, 300ms);
    ASSERT_TRUE(rec->wait([&] { return rec->closes == 1; }));
    EXPECT_EQ(rec->reason, "timeout");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  }
  {
    auto rec = std::make_shared<recorder>();
    test::fake_realtime_server srv;
    realtime_connect_request req;
    req.url = srv.url();
    req.headers = {{"X-Bad", "a\r\nInjected: 1"}};
    auto link = c.connect(std::move(req), rec->callbacks());
    ASSERT_TRUE(rec->wait([&] { return rec->closes == 1; }));
    EXPECT_EQ(rec->reason, "bad header");
  }
}

TEST_F(realtime_client_test, wss_with_a_trusted_certificate_and_sni) {
  auto cert = test::make_cert("DNS:localhost");
  tls_ws_server server{cert};
  realtime_client_options opts;
  opts.extra_ca_pem = cert.cert_pem;
  realtime_client c{ioc_, opts};
  auto rec = std::make_shared<recorder>();
  auto link = connect(
    c, "wss://localhost:" + std::to_string(server.port()) + "/v1/realtime",
    rec);
  ASSERT_TRUE(rec->wait([&] { return rec->opens == 1; })) << rec->reason;
  link->send("over tls");
  ASSERT_TRUE(rec->wait([&] { return rec->messages.size() == 1; }));
  EXPECT_EQ(rec->messages[0], "echo:over tls");
  EXPECT_EQ(server.server_names(), std::vector<std::string>{"localhost"});
  link->close();
}

TEST_F(realtime_client_test, wss_refuses_an_untrusted_certificate) {
  auto cert = test::make_cert("DNS:localhost");
  tls_ws_server server{cert};
  realtime_client c{ioc_}; // system CAs only
  auto rec = std::make_shared<recorder>();
  auto link = connect(
    c, "wss://localhost:" + std::to_string(server.port()) + "/v1/realtime",
    rec);
  ASSERT_TRUE(rec->wait([&] { return rec->closes == 1; }));
  EXPECT_EQ(rec->reason.rfind("tls: ", 0), 0u) << rec->reason;
  EXPECT_NE(rec->reason.find("certificate verify failed"), std::string::npos)
    << rec->reason;
  EXPECT_EQ(rec->opens, 0);
  EXPECT_EQ(server.upgrades(), 0u);
}

TEST_F(realtime_client_test, wss_refuses_a_certificate_for_another_name) {
  auto cert = test::make_cert("DNS:example.com");
  tls_ws_server server{cert};
  realtime_client_options opts;
  opts.extra_ca_pem = cert.cert_pem; // trusted, but for another name
  realtime_client c{ioc_, opts};
  auto rec = std::make_shared<recorder>();
  auto link = connect(
    c, "wss://localhost:" + std::to_string(server.port()) + "/v1/realtime",
    rec);
  ASSERT_TRUE(rec->wait([&] { return rec->closes == 1; }));
  EXPECT_EQ(rec->reason.rfind("tls: ", 0), 0u) << rec->reason;
  EXPECT_EQ(server.upgrades(), 0u);
}

} // namespace
} // namespace al
