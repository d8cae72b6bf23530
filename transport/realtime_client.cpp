#include "transport/realtime_client.hpp"

#include "transport/url_target.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <deque>
#include <optional>

namespace al {
namespace detail {

struct realtime_client_state {
  net::io_context& ioc;
  realtime_client_options opts;
  ssl::context tls{ssl::context::tls_client};

  realtime_client_state(net::io_context& c, realtime_client_options o)
    : ioc(c)
    , opts(std::move(o)) {
    tls.set_default_verify_paths();
    tls.set_verify_mode(ssl::verify_peer);
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
    if (!opts.extra_ca_pem.empty())
      tls.add_certificate_authority(net::buffer(opts.extra_ca_pem));
  }
};

namespace {

using tls_stream = beast::ssl_stream<beast::tcp_stream>;

using ws_target = url_target;

std::string describe(beast::error_code ec) {
  if (ec == net::error::connection_refused)
    return "connection refused";
  if (ec == net::error::connection_reset)
    return "connection reset";
  if (ec == beast::error::timeout)
    return "timeout";
  if (ec == net::error::eof || ec == ssl::error::stream_truncated)
    return "connection closed";
  if (ec.category() == net::error::get_ssl_category())
    return "tls: " + ec.message();
  return ec.message();
}

/// One link over `Stream` (beast::tcp_stream or tls_stream).
template <class Stream>
class ws_link final : public realtime_link,
                      public std::enable_shared_from_this<ws_link<Stream>> {
public:
  template <class... StreamArgs>
  ws_link(std::shared_ptr<realtime_client_state> state, net::any_io_executor ex,
          ws_target t, realtime_connect_request req, realtime_callbacks cb,
          StreamArgs&&... stream_args)
    : state_(std::move(state))
    , ex_(ex)
    , resolver_(ex)
    , ws_(ex, std::forward<StreamArgs>(stream_args)...)
    , target_(std::move(t))
    , req_(std::move(req))
    , cb_(std::move(cb)) {}

  // -- realtime_link ----------------------------------------------------------

  void send(std::string text) override {
    net::post(ex_, [self = this->shared_from_this(),
                    text = std::move(text)]() mutable {
      if (self->closing_ || self->done_)
        return;
      if (self->queue_.size() >= self->state_->opts.queue_limit)
        return self->fail("write queue full");
      self->queue_.push_back(std::move(text));
      if (self->open_)
        self->do_write();
    });
  }

  void close() override {
    net::post(ex_, [self = this->shared_from_this()] {
      if (self->closing_ || self->done_)
        return;
      self->closing_ = true;
      self->cb_ = {}; // no callback after close()
      if (!self->open_)
        return self->abort();
      if (!self->writing_)
        return self->do_close();
      // The write in flight completes, then do_write closes.
      while (self->queue_.size() > 1)
        self->queue_.pop_back();
    });
  }

  // -- connecting -------------------------------------------------------------

  // Look up the host.
  void run() {
    net::post(ex_, [self = this->shared_from_this()] {
      if (self->closing_)
        return;
      self->resolver_.async_resolve(
        self->target_.host, self->target_.port,
        beast::bind_front_handler(&ws_link::on_resolve, self));
    });
  }

private:
  auto& lowest() {
    return beast::get_lowest_layer(ws_);
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (closing_)
      return abort();
    if (ec)
      return fail("resolve: " + ec.message());
    lowest().expires_after(req_.timeout);
    lowest().async_connect(results,
                           beast::bind_front_handler(&ws_link::on_connect,
                                                     this->shared_from_this()));
  }

  // TCP is up: TLS next (with SNI and verification), or the upgrade.
  void on_connect(beast::error_code ec, tcp::endpoint) {
    if (closing_)
      return abort();
    if (ec)
      return fail(describe(ec));
    beast::error_code ignored;
    lowest().socket().set_option(tcp::no_delay(true), ignored);
    if constexpr (std::is_same_v<Stream, tls_stream>) {
      auto& s = ws_.next_layer();
      if (!target_.ip_literal
          && !SSL_set_tlsext_host_name(s.native_handle(), target_.host.c_str()))
        return fail("tls: cannot set SNI host name");
      s.set_verify_callback(ssl::host_name_verification(target_.host));
      s.async_handshake(ssl::stream_base::client,
                        beast::bind_front_handler(&ws_link::on_tls,
                                                  this->shared_from_this()));
    } else {
      do_upgrade();
    }
  }

  void on_tls(beast::error_code ec) {
    if (closing_)
      return abort();
    if (ec)
      return fail("tls: " + ec.message());
    do_upgrade();
  }

  // The WebSocket upgrade, with the caller's headers.
  void do_upgrade() {
    lowest().expires_never();
    websocket::stream_base::timeout t;
    t.handshake_timeout = req_.timeout;
    t.idle_timeout = state_->opts.idle_timeout;
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.read_message_max(state_->opts.max_message);
    for (auto& [name, value] : req_.headers)
      if (name.empty() || has_crlf(name) || has_crlf(value)
          || name.find(':') != std::string::npos)
        return fail("bad header");
    ws_.set_option(websocket::stream_base::decorator(
      [headers = req_.headers,
       agent = state_->opts.user_agent](websocket::request_type& r) {
        r.set(http::field::user_agent, agent);
        for (auto& [name, value] : headers)
          r.set(name, value);
      }));
    ws_.async_handshake(upgrade_response_, target_.host_header, target_.path,
                        beast::bind_front_handler(&ws_link::on_upgrade,
                                                  this->shared_from_this()));
  }

  void on_upgrade(beast::error_code ec) {
    req_.headers.clear(); // the key is not kept longer than needed
    if (closing_)
      return abort();
    if (ec) {
      if (ec == websocket::error::upgrade_declined)
        return fail("upgrade declined: "
                    + std::to_string(upgrade_response_.result_int()));
      return fail(describe(ec));
    }
    open_ = true;
    if (cb_.on_open)
      cb_.on_open();
    do_read();
    do_write();
  }

  // -- open -------------------------------------------------------------------

  void do_read() {
    ws_.async_read(buffer_, beast::bind_front_handler(
                              &ws_link::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec == websocket::error::closed)
        return finish("closed by the server (code "
                      + std::to_string(ws_.reason().code) + ")");
      return fail(describe(ec));
    }
    auto text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    if (cb_.on_message && !closing_)
      cb_.on_message(std::move(text));
    if (!done_)
      do_read();
  }

  void do_write() {
    if (writing_ || done_ || !open_)
      return;
    if (queue_.empty()) {
      if (closing_)
        do_close();
      return;
    }
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()),
                    beast::bind_front_handler(&ws_link::on_write,
                                              this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (ec)
      return fail(describe(ec));
    queue_.pop_front();
    do_write();
  }

  void do_close() {
    if (close_started_ || done_)
      return;
    close_started_ = true;
    queue_.clear();
    ws_.async_close(websocket::close_code::normal,
                    [self = this->shared_from_this()](beast::error_code) {
                      self->finish("closed");
                    });
  }

  // -- ending -----------------------------------------------------------------

  void abort() {
    beast::error_code ignored;
    resolver_.cancel();
    lowest().socket().close(ignored);
    finish("closed");
  }

  void fail(const std::string& reason) {
    if (done_)
      return;
    beast::error_code ignored;
    lowest().socket().close(ignored);
    finish(reason);
  }

  /// Reports the end once (unless we closed it) and drops the callbacks.
  void finish(const std::string& reason) {
    if (done_)
      return;
    done_ = true;
    open_ = false;
    if (!writing_) // else the write in flight still reads its buffer
      queue_.clear();
    auto cb = std::move(cb_);
    cb_ = {};
    if (cb.on_closed && !closing_)
      cb.on_closed(reason);
  }

  std::shared_ptr<realtime_client_state> state_;
  net::any_io_executor ex_;
  tcp::resolver resolver_;
  websocket::stream<Stream> ws_;
  ws_target target_;
  realtime_connect_request req_;
  realtime_callbacks cb_;
  websocket::response_type upgrade_response_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  bool open_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool close_started_ = false;
  bool done_ = false;
};

/// A link that failed before it started (bad URL): reports on the io thread.
class failed_link final : public realtime_link {
public:
  void send(std::string) override {}
  void close() override {}
};

} // namespace

realtime_link_ptr connect_link(std::shared_ptr<realtime_client_state> state,
                               realtime_connect_request req,
                               realtime_callbacks cb) {
  try {
    auto t = parse_url_target(req.url, url_family::websocket);
    if (!t) {
      auto shared = std::make_shared<realtime_callbacks>(std::move(cb));
      net::post(state->ioc, [shared] {
        if (shared->on_closed)
          shared->on_closed("bad url");
      });
      return std::make_shared<failed_link>();
    }
    net::any_io_executor ex = net::make_strand(state->ioc);
    if (t->tls) {
      auto& ctx = state->tls;
      auto link = std::make_shared<ws_link<tls_stream>>(std::move(state), ex,
                                                        std::move(*t),
                                                        std::move(req),
                                                        std::move(cb), ctx);
      link->run();
      return link;
    }
    auto link = std::make_shared<ws_link<beast::tcp_stream>>(
      std::move(state), ex, std::move(*t), std::move(req), std::move(cb));
    link->run();
    return link;
  } catch (...) {
    return nullptr; // the engine treats a null link as a failed connect
  }
}

} // namespace detail

realtime_client::realtime_client(net::io_context& ioc,
                                 realtime_client_options opts)
  : state_(
    std::make_shared<detail::realtime_client_state>(ioc, std::move(opts))) {}

realtime_client::~realtime_client() = default;

realtime_link_ptr realtime_client::connect(realtime_connect_request req,
                                           realtime_callbacks cb) {
  return detail::connect_link(state_, std::move(req), std::move(cb));
}

realtime_connect_fn realtime_client::connector() {
  return [state = state_](realtime_connect_request req,
                          realtime_callbacks cb) -> realtime_link_ptr {
    return detail::connect_link(state, std::move(req), std::move(cb));
  };
}

} // namespace al
