// https_client against the loopback fake_http_server (plain HTTP), plus the
// failure paths: timeout, refused, reset, bad URL, TLS to a plain port.

#include "tests/support/closed_port.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/support/test_cert.hpp"
#include "transport/https_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace al {
namespace {

using request = fake_http_server::request;
using response = fake_http_server::response;

std::string header(const outbound_response& r, std::string_view name) {
  for (auto const& [k, v] : r.headers)
    if (beast::iequals(k, name))
      return v;
  return {};
}

// -- a raw TCP server that answers however a test scripts it ------------------

// Accepts one connection at a time on its own thread, reads the request head
// and hands the socket to `script` (which writes whatever it likes: a
// trickled body, half a response, a reset).
class raw_server {
public:
  using script_fn = std::function<void(tcp::socket&)>;
  explicit raw_server(script_fn script)
    : script_(std::move(script))
    , acceptor_(ioc_, {net::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { serve(); });
  }
  ~raw_server() {
    stop_ = true;
    beast::error_code ec;
    // Wakes accept() with a connection of our own.
    tcp::socket poke{ioc_};
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  std::string base_url() const {
    return "http://127.0.0.1:"
           + std::to_string(acceptor_.local_endpoint().port());
  }

private:
  void serve() {
    while (!stop_) {
      beast::error_code ec;
      tcp::socket s{ioc_};
      acceptor_.accept(s, ec);
      if (ec || stop_)
        return;
      std::string head;
      char c;
      while (head.find("\r\n\r\n") == std::string::npos
             && s.read_some(net::buffer(&c, 1), ec) == 1)
        head.push_back(c);
      if (!ec)
        script_(s);
    }
  }

  script_fn script_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// -- TLS: a self-signed certificate and a tiny HTTPS server -----------------

using test::make_cert; // tests/support/test_cert.hpp
using test::test_cert;

// Answers every request with 200 "tls ok"; records SNI names and counts
// connections. Runs on its own thread.
class tls_server {
public:
  explicit tls_server(const test_cert& cert) {
    ctx_.use_certificate_chain(net::buffer(cert.cert_pem));
    ctx_.use_private_key(net::buffer(cert.key_pem), ssl::context::pem);
    tcp::endpoint ep{net::ip::make_address("127.0.0.1"), 0};
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    do_accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~tls_server() {
    ioc_.stop();
    thread_.join();
  }

  unsigned short port() const {
    return acceptor_.local_endpoint().port();
  }
  std::size_t connections() const {
    return connections_;
  }
  std::size_t requests() const {
    return requests_;
  }
  std::vector<std::string> server_names() const {
    std::lock_guard lock{mu_};
    return names_;
  }
  // Drops every connection once it has no request in progress (no
  // close_notify, as a crashed or impolite server would).
  void drop_idle() {
    auto done = std::make_shared<std::promise<void>>();
    auto closed = done->get_future();
    net::post(ioc_, [this, done] {
      for (auto& w : sessions_)
        if (auto s = w.lock(); s && s->waiting)
          beast::get_lowest_layer(s->stream).close();
        else if (s)
          s->closing = true; // still finishing a response
      done->set_value();
    });
    closed.wait_for(5s);
  }

private:
  struct session {
    explicit session(tcp::socket s, ssl::context& ctx)
      : stream(std::move(s), ctx) {}
    beast::ssl_stream<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
    bool waiting = false;
    bool closing = false;
  };

  void do_accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket sock) {
      if (ec)
        return;
      ++connections_;
      auto s = std::make_shared<session>(std::move(sock), ctx_);
      sessions_.push_back(s);
      s->stream.async_handshake(
        ssl::stream_base::server, [this, s](beast::error_code ec) {
          if (ec)
            return;
          auto* sni = SSL_get_servername(s->stream.native_handle(),
                                         TLSEXT_NAMETYPE_host_name);
          std::lock_guard lock{mu_};
          names_.push_back(sni ? sni : "");
          do_read(s);
        });
      do_accept();
    });
  }

  void do_read(std::shared_ptr<session> s) {
    s->req = {};
    s->waiting = true;
    http::async_read(s->stream, s->buffer, s->req,
                     [this, s](beast::error_code ec, std::size_t) {
                       s->waiting = false;
                       if (ec)
                         return;
                       ++requests_;
                       s->res = fake_http_server::reply(http::status::ok,
                                                        "tls ok", "text/plain");
                       s->res.keep_alive(s->req.keep_alive());
                       http::async_write(
                         s->stream, s->res,
                         [this, s](beast::error_code ec, std::size_t) {
                           if (s->closing)
                             beast::get_lowest_layer(s->stream).close();
                           else if (!ec && s->res.keep_alive())
                             do_read(s);
                         });
                     });
  }

  net::io_context ioc_{1};
  ssl::context ctx_{ssl::context::tls_server};
  tcp::acceptor acceptor_{ioc_};
  std::vector<std::weak_ptr<session>> sessions_;
  std::atomic<std::size_t> connections_{0};
  std::atomic<std::size_t> requests_{0};
  mutable std::mutex mu_;
  std::vector<std::string> names_;
  std::thread thread_;
};

class https_client_test : public ::testing::Test {
protected:
  static constexpr int io_threads = 2;

  void SetUp() override {
    for (int i = 0; i < io_threads; ++i) {
      std::promise<void> exited;
      io_exits_.push_back(exited.get_future());
      io_threads_.emplace_back([this, p = std::move(exited)]() mutable {
        ioc_.run();
        p.set_value();
      });
    }
    client_ = std::make_unique<https_client>(ioc_);
  }

  void TearDown() override {
    drain();
    for (auto const& n : calls_)
      EXPECT_EQ(n->load(), 1) << "done must run exactly once";
  }

  // Lets every pending operation finish (bounded), then stops the io threads.
  void drain() {
    if (io_threads_.empty())
      return;
    client_->shutdown();
    work_.reset();
    for (auto& f : io_exits_)
      if (f.wait_for(5s) != std::future_status::ready) {
        ADD_FAILURE() << "io_context did not run out of work";
        ioc_.stop();
      }
    for (auto& t : io_threads_)
      t.join();
    io_threads_.clear();
  }

  // A counter of `done` calls that TearDown checks.
  std::shared_ptr<std::atomic<int>> count_calls() {
    auto calls = std::make_shared<std::atomic<int>>(0);
    std::lock_guard lock{calls_mu_};
    calls_.push_back(calls);
    return calls;
  }

  // Sends, counts calls of `done`, returns a future for the first answer.
  std::future<outbound_response> start(https_client& c, outbound_request r) {
    auto calls = count_calls();
    auto p = std::make_shared<std::promise<outbound_response>>();
    auto f = p->get_future();
    c.send(std::move(r), [calls, p](outbound_response res) {
      if (calls->fetch_add(1) == 0)
        p->set_value(std::move(res));
    });
    return f;
  }

  // Sends and waits (bounded) for the answer.
  outbound_response call(outbound_request r, https_client* c = nullptr) {
    auto f = start(c ? *c : *client_, std::move(r));
    if (f.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "no answer within 10 s";
      return outbound_response{0, {}, {}, "test: no answer"};
    }
    return f.get();
  }

  outbound_response get(const std::string& url) {
    outbound_request r;
    r.url = url;
    return call(std::move(r));
  }

  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_{
    ioc_.get_executor()};
  std::vector<std::thread> io_threads_;
  std::vector<std::future<void>> io_exits_;
  std::mutex calls_mu_;
  std::vector<std::shared_ptr<std::atomic<int>>> calls_;
  std::unique_ptr<https_client> client_;
};

TEST_F(https_client_test, get_with_query_and_headers) {
  fake_http_server fake{[](const request& req) {
    auto res = fake_http_server::reply(http::status::ok, R"({"hello":1})");
    res.set("X-Request-Id", "abc123");
    return res;
  }};
  outbound_request r;
  r.url = fake.base_url() + "/v1/things?x=1&y=two%20words";
  r.headers = {{"Authorization", "Bearer tok"}, {"Accept", "application/json"}};
  auto res = call(r);

  EXPECT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, R"({"hello":1})");
  EXPECT_EQ(header(res, "x-request-id"), "abc123");
  EXPECT_EQ(header(res, "Content-Type"), "application/json");

  auto seen = fake.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method(), http::verb::get);
  EXPECT_EQ(seen[0].target(), "/v1/things?x=1&y=two%20words");
  EXPECT_EQ(seen[0][http::field::authorization], "Bearer tok");
  EXPECT_EQ(seen[0][http::field::accept], "application/json");
  EXPECT_EQ(seen[0][http::field::host],
            "127.0.0.1:" + std::to_string(fake.port()));
  EXPECT_EQ(seen[0][http::field::user_agent], "agentlocator/0.1");
  EXPECT_EQ(seen[0].version(), 11u);
}

TEST_F(https_client_test, post_with_body_and_headers) {
  fake_http_server fake{[](const request& req) {
    return fake_http_server::reply(http::status::created, "echo:" + req.body(),
                                   "text/plain");
  }};
  outbound_request r;
  r.method = "POST";
  r.url = fake.base_url() + "/2010-04-01/Accounts/AC1/Messages.json";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
               {"User-Agent", "custom/9"}};
  r.body = "To=%2B972&Body=hi";
  auto res = call(r);

  EXPECT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.status, 201);
  EXPECT_EQ(res.body, "echo:To=%2B972&Body=hi");

  auto seen = fake.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method(), http::verb::post);
  EXPECT_EQ(seen[0].target(), "/2010-04-01/Accounts/AC1/Messages.json");
  EXPECT_EQ(seen[0].body(), "To=%2B972&Body=hi");
  EXPECT_EQ(seen[0][http::field::content_length], "17");
  EXPECT_EQ(seen[0][http::field::content_type],
            "application/x-www-form-urlencoded");
  EXPECT_EQ(seen[0][http::field::user_agent], "custom/9"); // overridden
  EXPECT_EQ(seen[0].count(http::field::user_agent), 1u);
}

TEST_F(https_client_test, error_statuses_pass_through_with_body) {
  fake_http_server fake{[](const request& req) {
    if (req.target() == "/missing")
      return fake_http_server::reply(http::status::not_found,
                                     R"({"error":"nope"})");
    return fake_http_server::reply(http::status::service_unavailable,
                                   "try later", "text/plain");
  }};
  auto a = get(fake.base_url() + "/missing");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body, R"({"error":"nope"})");
  EXPECT_TRUE(a.error.empty()) << a.error;
  EXPECT_FALSE(a.ok());

  auto b = get(fake.base_url() + "/down");
  EXPECT_EQ(b.status, 503);
  EXPECT_EQ(b.body, "try later");
  EXPECT_TRUE(b.error.empty()) << b.error;
  EXPECT_FALSE(b.ok());
}

TEST_F(https_client_test, keep_alive_reuses_one_connection) {
  fake_http_server fake{nullptr};
  for (int i = 0; i < 5; ++i) {
    outbound_request r;
    r.method = i % 2 ? "POST" : "GET";
    r.url = fake.base_url() + "/n/" + std::to_string(i);
    r.body = i % 2 ? "x" : "";
    auto res = call(r);
    EXPECT_TRUE(res.ok()) << i << ": " << res.error;
  }
  EXPECT_EQ(fake.request_count(), 5u);
  EXPECT_EQ(fake.connection_count(), 1u);
  EXPECT_EQ(client_->idle_connections(), 1u);
  client_->shutdown();
  EXPECT_EQ(client_->idle_connections(), 0u);
}

TEST_F(https_client_test, connection_close_response_is_not_pooled) {
  fake_http_server fake{[](const request&) {
    auto res = fake_http_server::reply(http::status::ok, "bye");
    res.set(http::field::connection, "close");
    return res;
  }};
  EXPECT_TRUE(get(fake.base_url() + "/").ok());
  EXPECT_TRUE(get(fake.base_url() + "/").ok());
  EXPECT_EQ(fake.connection_count(), 2u);
  EXPECT_EQ(client_->idle_connections(), 0u);
}

TEST_F(https_client_test, timeout_reports_once) {
  fake_http_server fake{nullptr};
  fake.set_delay(2s);
  outbound_request r;
  r.url = fake.base_url() + "/slow";
  r.timeout = 200ms;
  auto t0 = std::chrono::steady_clock::now();
  auto res = call(r);
  auto took = std::chrono::steady_clock::now() - t0;

  EXPECT_EQ(res.error, "timeout");
  EXPECT_EQ(res.status, 0);
  EXPECT_FALSE(res.ok());
  // Not early; and not late either: the fake answers 200 after 2 s, so
  // "timeout" itself shows the 200 ms budget ended the exchange (no upper
  // bound on the wall clock, which a loaded machine would break).
  EXPECT_GE(took, 150ms);
  drain(); // the aborted read completes too; TearDown checks the count
}

TEST_F(https_client_test, slow_body_times_out) {
  // Headers at once, then one byte of the body every 100 ms: the timeout
  // covers the whole exchange, not each read.
  raw_server srv{[](tcp::socket& s) {
    beast::error_code ec;
    net::write(s,
               net::buffer(
                 std::string{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"}),
               ec);
    for (int i = 0; i < 30 && !ec; ++i) {
      std::this_thread::sleep_for(100ms);
      net::write(s, net::buffer("x", 1), ec);
    }
  }};
  outbound_request r;
  r.url = srv.base_url() + "/slow-body";
  r.timeout = 300ms;
  auto t0 = std::chrono::steady_clock::now();
  auto res = call(r);
  auto took = std::chrono::steady_clock::now() - t0;
  // The body would end with the server's close after 3 s ("eof"), so
  // "timeout" shows the budget covered the whole exchange.
  EXPECT_EQ(res.error, "timeout");
  EXPECT_EQ(res.status, 0);
  EXPECT_GE(took, 250ms);
  drain();
}

TEST_F(https_client_test, reset_in_the_middle_of_the_body) {
  raw_server srv{[](tcp::socket& s) {
    beast::error_code ec;
    net::write(s,
               net::buffer(std::string{
                 "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf"}),
               ec);
    std::this_thread::sleep_for(50ms);
    s.set_option(net::socket_base::linger{true, 0}, ec); // close = RST
    s.close(ec);
  }};
  outbound_request r;
  r.url = srv.base_url() + "/reset";
  auto res = call(r);
  EXPECT_FALSE(res.error.empty());
  EXPECT_EQ(res.status, 0); // half a body is no answer
  EXPECT_TRUE(res.body.empty());
}

TEST_F(https_client_test, connection_refused) {
  test::closed_port dead;
  auto res = get("http://" + dead.host_port() + "/");
  EXPECT_EQ(res.error, "connection refused");
  EXPECT_EQ(res.status, 0);
}

TEST_F(https_client_test, server_closes_without_response) {
  fake_http_server fake{nullptr};
  fake.set_close_without_response(true);
  outbound_request r;
  r.url = fake.base_url() + "/x";
  auto res = call(r);
  EXPECT_FALSE(res.error.empty());
  EXPECT_EQ(res.status, 0);
  EXPECT_EQ(fake.request_count(), 1u); // fresh connection: no retry
}

TEST_F(https_client_test, stale_pooled_connection_is_replaced) {
  fake_http_server fake{nullptr};
  ASSERT_TRUE(get(fake.base_url() + "/a").ok());
  fake.close_idle_connections(); // as a server's idle timeout would
  auto res = get(fake.base_url() + "/b");
  EXPECT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(fake.connection_count(), 2u);
  EXPECT_EQ(fake.request_count(), 2u);
}

TEST_F(https_client_test, idempotent_request_retried_once_on_dead_reuse) {
  fake_http_server fake{nullptr};
  ASSERT_TRUE(get(fake.base_url() + "/warm").ok());
  fake.set_close_without_response(true);
  auto res = get(fake.base_url() + "/again");
  EXPECT_FALSE(res.error.empty());
  // Pooled attempt plus exactly one retry on a fresh connection.
  EXPECT_EQ(fake.request_count(), 3u);
  EXPECT_EQ(fake.connection_count(), 2u);
}

TEST_F(https_client_test, sent_post_not_retried_on_dead_reuse) {
  fake_http_server fake{nullptr};
  ASSERT_TRUE(get(fake.base_url() + "/warm").ok());
  fake.set_close_without_response(true);
  outbound_request r;
  r.method = "POST";
  r.url = fake.base_url() + "/pay";
  r.body = "{}";
  auto res = call(r);
  EXPECT_FALSE(res.error.empty());
  EXPECT_EQ(fake.request_count(), 2u);
  EXPECT_EQ(fake.connection_count(), 1u);
}

TEST_F(https_client_test, bad_urls) {
  auto test_thread = std::this_thread::get_id();
  for (std::string url :
       {"", "not a url", "ftp://127.0.0.1/", "http://", "http:///path",
        "http://user:pw@127.0.0.1/", "http://127.0.0.1:99999/",
        "http://127.0.0.1:0/", "//127.0.0.1/"}) {
    auto calls = count_calls();
    std::promise<std::pair<outbound_response, std::thread::id>> p;
    auto f = p.get_future();
    outbound_request r;
    r.url = url;
    client_->send(r, [&p, calls](outbound_response res) {
      if (calls->fetch_add(1) == 0)
        p.set_value({std::move(res), std::this_thread::get_id()});
    });
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready) << url;
    auto [res, thread] = f.get();
    EXPECT_EQ(res.error, "bad url") << url;
    EXPECT_EQ(res.status, 0);
    EXPECT_NE(thread, test_thread) << "done must run on an io thread";
  }
  drain(); // before the promises go out of scope
}

TEST_F(https_client_test, bad_header_is_rejected) {
  fake_http_server fake{nullptr};
  outbound_request r;
  r.url = fake.base_url() + "/";
  r.headers = {{"X-Evil", "a\r\nHost: other"}};
  auto res = call(r);
  EXPECT_EQ(res.error, "bad header");
  EXPECT_EQ(fake.request_count(), 0u);
}

TEST_F(https_client_test, unknown_method_is_rejected) {
  fake_http_server fake{nullptr};
  outbound_request r;
  r.url = fake.base_url() + "/";
  r.method = "post"; // methods are upper case, as on the wire
  auto res = call(r);
  EXPECT_EQ(res.error, "bad method");
  EXPECT_EQ(fake.request_count(), 0u);
}

TEST_F(https_client_test, resolve_failure) {
  outbound_request r;
  r.url = "http://no-such-host.invalid/";
  r.timeout = 3s;
  auto res = call(r);
  EXPECT_EQ(res.status, 0);
  EXPECT_FALSE(res.error.empty());
  EXPECT_TRUE(res.error.rfind("resolve: ", 0) == 0 || res.error == "timeout")
    << res.error;
}

TEST_F(https_client_test, https_to_plain_port_is_a_tls_error) {
  fake_http_server fake{nullptr};
  auto res = get("https://127.0.0.1:" + std::to_string(fake.port()) + "/");
  EXPECT_EQ(res.status, 0);
  EXPECT_EQ(res.error.rfind("tls: ", 0), 0u) << res.error;
}

TEST_F(https_client_test, https_by_name_to_plain_port_is_a_tls_error) {
  fake_http_server fake{nullptr};
  auto res = get("https://localhost:" + std::to_string(fake.port()) + "/");
  EXPECT_EQ(res.status, 0);
  // localhost may resolve to ::1 first, where nothing listens.
  EXPECT_TRUE(res.error.rfind("tls: ", 0) == 0
              || res.error == "connection refused")
    << res.error;
}

TEST_F(https_client_test, response_body_limit) {
  fake_http_server fake{[](const request&) {
    return fake_http_server::reply(http::status::ok, std::string(4096, 'x'));
  }};
  https_client_options opts;
  opts.body_limit = 1024;
  https_client small{ioc_, opts};
  outbound_request r;
  r.url = fake.base_url() + "/big";
  auto res = call(r, &small);
  EXPECT_EQ(res.error, "response body too large");
  EXPECT_EQ(res.status, 0);
  EXPECT_TRUE(get(fake.base_url() + "/big").ok()); // default 8 MiB
}

TEST_F(https_client_test, head_response_has_no_body) {
  fake_http_server fake{[](const request&) {
    return fake_http_server::reply(http::status::ok, "0123456789");
  }};
  outbound_request r;
  r.method = "HEAD";
  r.url = fake.base_url() + "/";
  auto res = call(r);
  EXPECT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.body, "");
  EXPECT_EQ(header(res, "Content-Length"), "10");
  EXPECT_TRUE(get(fake.base_url() + "/").ok()); // connection still in sync
  EXPECT_EQ(fake.connection_count(), 1u);
}

TEST_F(https_client_test, client_destroyed_with_request_in_flight) {
  fake_http_server fake{nullptr};
  fake.set_delay(200ms);
  auto c = std::make_unique<https_client>(ioc_);
  outbound_request r;
  r.url = fake.base_url() + "/";
  auto f = start(*c, r);
  c.reset();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(f.get().ok());
}

TEST_F(https_client_test, hundred_concurrent_requests) {
  fake_http_server fake{[](const request& req) {
    return fake_http_server::reply(http::status::ok, std::string(req.target()),
                                   "text/plain");
  }};
  constexpr int n = 100;
  std::vector<std::future<outbound_response>> answers;
  std::vector<std::thread> senders;
  std::mutex mu;
  // Sent from 4 threads at once: send() is thread-safe.
  for (int t = 0; t < 4; ++t)
    senders.emplace_back([&, t] {
      for (int i = t; i < n; i += 4) {
        outbound_request r;
        r.url = fake.base_url() + "/r/" + std::to_string(i);
        r.timeout = 20s;
        auto f = start(*client_, r);
        std::lock_guard lock{mu};
        answers.push_back(std::move(f));
      }
    });
  for (auto& s : senders)
    s.join();
  ASSERT_EQ(answers.size(), std::size_t(n));
  std::set<std::string> bodies;
  for (auto& f : answers) {
    ASSERT_EQ(f.wait_for(20s), std::future_status::ready);
    auto res = f.get();
    EXPECT_TRUE(res.ok()) << res.error;
    bodies.insert(res.body);
  }
  EXPECT_EQ(bodies.size(), std::size_t(n));
  EXPECT_EQ(fake.request_count(), std::size_t(n));
  EXPECT_LE(client_->idle_connections(), 8u);
  // A second wave reuses the pooled connections.
  auto before = fake.connection_count();
  EXPECT_TRUE(get(fake.base_url() + "/again").ok());
  EXPECT_EQ(fake.connection_count(), before);
}

TEST_F(https_client_test, https_with_trusted_cert_and_sni) {
  auto cert = make_cert("DNS:localhost");
  tls_server server{cert};
  https_client_options opts;
  opts.extra_ca_pem = cert.cert_pem;
  https_client c{ioc_, opts};
  auto url = "https://localhost:" + std::to_string(server.port()) + "/v1/x";
  for (int i = 0; i < 3; ++i) {
    outbound_request r;
    r.url = url;
    auto res = call(r, &c);
    EXPECT_TRUE(res.ok()) << res.error;
    EXPECT_EQ(res.body, "tls ok");
  }
  EXPECT_EQ(server.connections(), 1u); // keep-alive over TLS
  EXPECT_EQ(server.requests(), 3u);
  EXPECT_EQ(server.server_names(), std::vector<std::string>{"localhost"});

  // A pooled TLS connection the server dropped is replaced transparently.
  server.drop_idle();
  outbound_request r;
  r.url = url;
  EXPECT_TRUE(call(r, &c).ok());
  EXPECT_EQ(server.connections(), 2u);
  c.shutdown();
}

TEST_F(https_client_test, https_untrusted_cert_fails_verification) {
  auto cert = make_cert("DNS:localhost");
  tls_server server{cert};
  auto res = get("https://localhost:" + std::to_string(server.port()) + "/");
  EXPECT_EQ(res.status, 0);
  EXPECT_EQ(res.error.rfind("tls: ", 0), 0u) << res.error;
  EXPECT_NE(res.error.find("certificate verify failed"), std::string::npos)
    << res.error;
  EXPECT_EQ(server.requests(), 0u);
}

TEST_F(https_client_test, https_host_name_mismatch_fails) {
  auto cert = make_cert("DNS:example.com");
  tls_server server{cert};
  https_client_options opts;
  opts.extra_ca_pem = cert.cert_pem; // trusted, but for another name
  https_client c{ioc_, opts};
  outbound_request r;
  r.url = "https://localhost:" + std::to_string(server.port()) + "/";
  auto res = call(r, &c);
  EXPECT_EQ(res.status, 0);
  EXPECT_EQ(res.error.rfind("tls: ", 0), 0u) << res.error;
  EXPECT_EQ(server.requests(), 0u);
}

} // namespace
} // namespace al
