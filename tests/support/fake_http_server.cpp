#include "tests/support/fake_http_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <exception>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

namespace al {

namespace {
class session;
} // namespace

struct fake_http_server::impl {
  // Declared first so that it is destroyed last (sessions die with it).
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  handler on_request;
  std::atomic<long long> delay_ms{0};
  std::atomic<bool> close_without_response{false};
  std::atomic<std::size_t> connections{0};
  mutable std::mutex mu;
  std::vector<request> received;            // guarded by mu
  std::vector<std::weak_ptr<session>> live; // server thread only
  std::thread thread;

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
};

namespace {

// One accepted connection: read a request, answer it, repeat.
class session : public std::enable_shared_from_this<session> {
public:
  session(fake_http_server::impl& server, tcp::socket socket)
    : server_(server)
    , stream_(std::move(socket))
    , timer_(stream_.get_executor()) {}

  void start() {
    do_read();
  }

  // Closes the connection now if it is between requests, else right after
  // the response in progress.
  void close_when_idle() {
    if (waiting_ && parser_ && !parser_->got_some() && buffer_.size() == 0)
      close();
    else
      closing_ = true;
  }

private:
  // Read the next request.
  void do_read() {
    parser_.emplace();
    parser_->body_limit(64 * 1024 * 1024);
    waiting_ = true;
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read,
                                               shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    waiting_ = false;
    if (ec)
      return close();
    request_ = parser_->release();
    {
      std::lock_guard lock{server_.mu};
      server_.received.push_back(request_);
    }
    if (server_.close_without_response)
      return close();
    auto delay = std::chrono::milliseconds(server_.delay_ms.load());
    if (delay.count() <= 0)
      return do_write();
    do_delay(delay);
  }

  // Wait before answering (timeout tests).
  void do_delay(std::chrono::milliseconds d) {
    timer_.expires_after(d);
    timer_.async_wait(
      beast::bind_front_handler(&session::on_delay, shared_from_this()));
  }

  void on_delay(beast::error_code ec) {
    if (ec)
      return close();
    do_write();
  }

  // Build the response with the handler and send it.
  void do_write() {
    res_ = make_response();
    http::async_write(stream_, *res_,
                      beast::bind_front_handler(&session::on_write,
                                                shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec || !keep_alive_ || closing_)
      return close();
    res_.reset();
    do_read();
  }

  fake_http_server::response make_response() {
    fake_http_server::response res;
    try {
      res = server_.on_request ? server_.on_request(request_)
                               : fake_http_server::reply(http::status::ok);
    } catch (const std::exception& e) {
      res = fake_http_server::reply(http::status::internal_server_error,
                                    e.what(), "text/plain");
    } catch (...) {
      res = fake_http_server::reply(http::status::internal_server_error,
                                    "unknown exception", "text/plain");
    }
    bool close_asked = beast::iequals(res[http::field::connection], "close");
    keep_alive_ = request_.keep_alive() && !close_asked;
    res.version(request_.version());
    res.keep_alive(keep_alive_);
    res.prepare_payload();
    if (request_.method() == http::verb::head)
      res.body().clear(); // Content-Length stays that of the full body
    return res;
  }

  void close() {
    beast::error_code ignored;
    timer_.cancel();
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  fake_http_server::impl& server_;
  beast::tcp_stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  fake_http_server::request request_;
  std::optional<fake_http_server::response> res_;
  bool keep_alive_ = true;
  bool waiting_ = false;
  bool closing_ = false;
};

} // namespace

// Accept the next connection.
void fake_http_server::impl::do_accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket s) {
    on_accept(ec, std::move(s));
  });
}

void fake_http_server::impl::on_accept(beast::error_code ec,
                                       tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor.is_open())
    return;
  if (!ec) {
    ++connections;
    auto s = std::make_shared<session>(*this, std::move(socket));
    live.erase(std::remove_if(live.begin(), live.end(),
                              [](auto& w) { return w.expired(); }),
               live.end());
    live.push_back(s);
    s->start();
  }
  do_accept();
}

fake_http_server::fake_http_server(handler h, unsigned short port)
  : impl_(new impl) {
  impl_->on_request = std::move(h);
  tcp::endpoint ep{net::ip::make_address("127.0.0.1"), port};
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(net::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen(net::socket_base::max_listen_connections);
  impl_->do_accept();
  impl_->thread = std::thread([i = impl_.get()] { i->ioc.run(); });
}

fake_http_server::~fake_http_server() {
  impl_->ioc.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

unsigned short fake_http_server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

std::string fake_http_server::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port());
}

std::vector<fake_http_server::request> fake_http_server::requests() const {
  std::lock_guard lock{impl_->mu};
  return impl_->received;
}

std::size_t fake_http_server::request_count() const {
  std::lock_guard lock{impl_->mu};
  return impl_->received.size();
}

std::size_t fake_http_server::connection_count() const {
  return impl_->connections.load();
}

void fake_http_server::set_delay(std::chrono::milliseconds d) {
  impl_->delay_ms = d.count();
}

void fake_http_server::set_close_without_response(bool on) {
  impl_->close_without_response = on;
}

void fake_http_server::close_idle_connections() {
  auto done = std::make_shared<std::promise<void>>();
  auto closed = done->get_future();
  net::post(impl_->ioc, [i = impl_.get(), done] {
    for (auto& w : i->live)
      if (auto s = w.lock())
        s->close_when_idle();
    done->set_value();
  });
  closed.wait_for(std::chrono::seconds(5));
}

fake_http_server::response fake_http_server::reply(http::status status,
                                                   std::string body,
                                                   std::string content_type) {
  response res{status, 11};
  if (!body.empty() || !content_type.empty())
    res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

} // namespace al
