#include "tests/support/fake_realtime_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>

#include <deque>
#include <mutex>
#include <thread>

namespace al::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

std::string type_of(const std::string& text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object())
    return {};
  if (auto* t = v.as_object().if_contains("type"))
    if (auto* s = t->if_string())
      return std::string{*s};
  return {};
}

namespace {

class session;

} // namespace

struct fake_realtime_server::impl
  : std::enable_shared_from_this<fake_realtime_server::impl> {
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::thread thread;
  handler on_message;
  fake_realtime_server* owner = nullptr;

  mutable std::mutex mtx;
  std::chrono::milliseconds upgrade_delay{0};
  int upgrade_status = 0;
  std::size_t upgrades = 0;
  std::size_t ended = 0;
  std::string last_target;
  std::map<std::string, std::string> last_headers;
  std::vector<std::string> messages;
  http_handler on_http;
  std::vector<http_exchange> http_log;
  std::vector<std::shared_ptr<session>> sessions; // io thread only

  void do_accept();
};

namespace {

class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket s, std::shared_ptr<fake_realtime_server::impl> srv)
    : ws_(std::move(s))
    , srv_(std::move(srv))
    , timer_(srv_->ioc) {}

  void run() {
    http::async_read(ws_.next_layer(), buffer_, req_,
                     [self = shared_from_this()](beast::error_code ec,
                                                 std::size_t) {
                       if (!ec)
                         self->on_request();
                     });
  }

  void send(std::string text) {
    if (!open_)
      return;
    out_.push_back(std::move(text));
    do_write();
  }

  void close() {
    if (!open_)
      return;
    open_ = false;
    ws_.async_close(websocket::close_code::normal,
                    [self = shared_from_this()](beast::error_code) {});
  }

  void stop() {
    open_ = false;
    timer_.cancel();
    beast::error_code ec;
    ws_.next_layer().socket().close(ec);
  }

private:
  void on_request() {
    if (!websocket::is_upgrade(req_))
      return on_http();
    std::chrono::milliseconds delay;
    int status;
    {
      std::lock_guard<std::mutex> lock{srv_->mtx};
      ++srv_->upgrades;
      srv_->last_target = std::string{req_.target()};
      srv_->last_headers.clear();
      for (auto& f : req_) {
        std::string name{f.name_string()};
        for (auto& c : name)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        srv_->last_headers[name] = std::string{f.value()};
      }
      delay = srv_->upgrade_delay;
      status = srv_->upgrade_status;
    }
    timer_.expires_after(delay);
    timer_.async_wait([self = shared_from_this(), status](beast::error_code) {
      if (status != 0)
        return self->refuse(status);
      self->accept();
    });
  }

  void on_http() {
    fake_realtime_server::http_exchange x{
      std::string{req_.method_string()}, std::string{req_.target()},
      std::string{req_[http::field::authorization]}, req_.body()};
    http_handler h;
    {
      std::lock_guard<std::mutex> lock{srv_->mtx};
      srv_->http_log.push_back(x);
      h = srv_->on_http;
    }
    auto [status, body] = h ? h(x) : std::pair<int, std::string>{404, "{}"};
    auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(status), 11);
    res->set(http::field::content_type, "application/json");
    res->body() = std::move(body);
    res->prepare_payload();
    res->keep_alive(false);
    http::async_write(ws_.next_layer(), *res,
                      [self = shared_from_this(),
                       res](beast::error_code, std::size_t) { self->stop(); });
  }

  using http_handler = fake_realtime_server::http_handler;

  void refuse(int status) {
    auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(status), 11);
    res->body() = R"({"error":{"message":"refused"}})";
    res->prepare_payload();
    res->keep_alive(false);
    http::async_write(ws_.next_layer(), *res,
                      [self = shared_from_this(),
                       res](beast::error_code, std::size_t) { self->stop(); });
  }

  void accept() {
    ws_.async_accept(req_, [self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return;
      self->open_ = true;
      self->do_read();
      self->do_write();
    });
  }

  void do_read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec,
                                                        std::size_t) {
      if (ec) {
        self->open_ = false;
        std::lock_guard<std::mutex> lock{self->srv_->mtx};
        ++self->srv_->ended;
        return;
      }
      auto text = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      {
        std::lock_guard<std::mutex> lock{self->srv_->mtx};
        self->srv_->messages.push_back(text);
      }
      if (self->srv_->on_message)
        self->srv_->on_message(*self->srv_->owner, text);
      self->do_read();
    });
  }

  void do_write() {
    if (writing_ || out_.empty() || !open_)
      return;
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(out_.front()),
                    [self = shared_from_this()](beast::error_code ec,
                                                std::size_t) {
                      self->writing_ = false;
                      self->out_.pop_front();
                      if (!ec)
                        self->do_write();
                    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  std::shared_ptr<fake_realtime_server::impl> srv_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  std::deque<std::string> out_;
  bool open_ = false;
  bool writing_ = false;
};

} // namespace

void fake_realtime_server::impl::do_accept() {
  acceptor.async_accept(
    [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      if (ec)
        return;
      auto sess = std::make_shared<session>(std::move(s), self);
      self->sessions.push_back(sess);
      sess->run();
      self->do_accept();
    });
}

fake_realtime_server::fake_realtime_server(handler on_message)
  : impl_(std::make_shared<impl>()) {
  impl_->on_message = std::move(on_message);
  impl_->owner = this;
  tcp::endpoint ep{net::ip::make_address("127.0.0.1"), 0};
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(net::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->do_accept();
  impl_->thread = std::thread([i = impl_] { i->ioc.run(); });
}

fake_realtime_server::~fake_realtime_server() {
  net::post(impl_->ioc, [i = impl_] {
    beast::error_code ec;
    i->acceptor.close(ec);
    for (auto& s : i->sessions)
      s->stop();
    i->sessions.clear();
  });
  // With the acceptor and every socket closed, run() runs out of work.
  if (impl_->thread.joinable())
    impl_->thread.join();
}

unsigned short fake_realtime_server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

std::string fake_realtime_server::url() const {
  return "ws://127.0.0.1:" + std::to_string(port()) + "/v1/realtime";
}

void fake_realtime_server::set_upgrade_delay(std::chrono::milliseconds d) {
  std::lock_guard<std::mutex> lock{impl_->mtx};
  impl_->upgrade_delay = d;
}

void fake_realtime_server::set_upgrade_status(int status) {
  std::lock_guard<std::mutex> lock{impl_->mtx};
  impl_->upgrade_status = status;
}

void fake_realtime_server::send(const std::string& text) {
  net::post(impl_->ioc, [i = impl_, text] {
    if (!i->sessions.empty())
      i->sessions.back()->send(text);
  });
}

void fake_realtime_server::close() {
  net::post(impl_->ioc, [i = impl_] {
    if (!i->sessions.empty())
      i->sessions.back()->close();
  });
}

std::size_t fake_realtime_server::connections() const {
  std::lock_guard<std::mutex> lock{impl_->mtx};
  return impl_->upgrades;
}

void fake_realtime_server::set_http_handler(http_handler h) {
  std::lock_guard<std::mutex> lock{impl_->mtx};
  impl_->on_http = std::move(h);
}

std::vector<fake_realtime_server::http_exchange>
fake_realtime_server::http_requests() const {
  std::lock_guard<std::mutex> lock{impl_->mtx};
  return impl_->http_log;
}

std::size_t fake_realtime_server::disconnects() const {
  std::lock_guard<std::mutex> lock{impl_->mtx};
  return impl_->ended;
}

std::string fake_realtime_server::target() const {
  std::lock_guard<std::mutex> lock{impl_->mtx};
  return impl_->last_target;
}

std::map<std::string, std::string> fake_realtime_server::headers() const {
  std::lock_guard<std::mutex> lock{impl_->mtx};
  return impl_->last_headers;
}

std::vector<std::string> fake_realtime_server::received() const {
  std::lock_guard<std::mutex> lock{impl_->mtx};
  return impl_->messages;
}

std::vector<std::string>
fake_realtime_server::received(const std::string& type) const {
  std::vector<std::string> out;
  for (auto& m : received())
    if (type_of(m) == type)
      out.push_back(m);
  return out;
}

std::size_t fake_realtime_server::count(const std::string& type) const {
  return received(type).size();
}

} // namespace al::test
