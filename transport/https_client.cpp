#include "transport/https_client.hpp"

#include "transport/url_target.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <variant>

namespace al {
namespace detail {
namespace {

using clock = std::chrono::steady_clock;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;
using done_fn = std::function<void(outbound_response)>;

constexpr std::size_t header_limit = 64 * 1024;

using target = url_target;

bool is_idempotent(http::verb v) {
  switch (v) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::put:
    case http::verb::delete_:
    case http::verb::options:
    case http::verb::trace:
      return true;
    default:
      return false;
  }
}

// Errors that mean "the peer went away", as a stale pooled connection does.
bool is_stale(beast::error_code ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof
         || ec == net::error::connection_reset
         || ec == net::error::connection_aborted
         || ec == net::error::broken_pipe || ec == net::error::not_connected
         || ec == net::error::bad_descriptor
         || ec == ssl::error::stream_truncated;
}

std::string describe(beast::error_code ec) {
  if (ec == net::error::connection_refused)
    return "connection refused";
  if (ec == net::error::connection_reset)
    return "connection reset";
  if (is_stale(ec))
    return "connection closed";
  if (ec == http::error::body_limit)
    return "response body too large";
  if (ec == http::error::header_limit)
    return "response header too large";
  if (ec.category() == net::error::get_ssl_category())
    return "tls: " + ec.message();
  return ec.message();
}

outbound_response failure(std::string error) {
  outbound_response r;
  r.error = std::move(error);
  return r;
}

// Delivers a failure on an io thread; falls back to inline if posting fails.
void post_failure(net::io_context& ioc, done_fn done, std::string error) {
  if (!done)
    return;
  auto shared = std::make_shared<done_fn>(std::move(done));
  try {
    net::post(ioc, [shared, error] { (*shared)(failure(error)); });
  } catch (...) {
    (*shared)(failure(std::move(error)));
  }
}

// The request message: defaults first, the caller's headers override.
http::request<http::string_body>
make_message(const target& t, outbound_request& req, const std::string& agent) {
  auto verb = http::string_to_verb(req.method);
  if (verb == http::verb::unknown)
    throw std::invalid_argument("bad method");
  http::request<http::string_body> m{verb, t.path, 11};
  m.set(http::field::host, t.host_header);
  m.set(http::field::user_agent, agent);
  std::vector<std::string> overridden;
  for (auto& [name, value] : req.headers) {
    if (name.empty() || has_crlf(name) || has_crlf(value)
        || name.find(':') != std::string::npos)
      throw std::invalid_argument("bad header");
    auto f = http::string_to_field(name);
    if (f == http::field::content_length || f == http::field::transfer_encoding)
      continue; // computed below
    bool seen = false;
    for (auto& o : overridden)
      seen = seen || beast::iequals(o, name);
    if (!seen) {
      m.erase(name);
      overridden.push_back(name);
    }
    m.insert(name, value);
  }
  m.body() = std::move(req.body);
  m.prepare_payload();
  return m;
}

// One kept-alive connection: a plain or TLS stream and its read buffer.
// All of its I/O runs on the strand it was created with.
struct connection {
  std::variant<beast::tcp_stream, tls_stream> stream;
  beast::flat_buffer buffer;
  clock::time_point idle_since{};

  explicit connection(net::any_io_executor ex)
    : stream(std::in_place_index<0>, ex) {}
  connection(net::any_io_executor ex, ssl::context& ctx)
    : stream(std::in_place_index<1>, ex, ctx) {}

  beast::tcp_stream& lowest() {
    if (auto* s = std::get_if<beast::tcp_stream>(&stream))
      return *s;
    return beast::get_lowest_layer(std::get<tls_stream>(stream));
  }
  net::any_io_executor executor() {
    return lowest().get_executor();
  }
  void close() {
    beast::error_code ec;
    lowest().socket().close(ec);
  }
  // An idle connection is usable if the peer neither closed it nor sent
  // anything (a close_notify, a stray byte) since the last response.
  bool looks_alive() {
    auto& s = lowest().socket();
    if (!s.is_open() || buffer.size() != 0)
      return false;
    char byte;
    auto n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
};

} // namespace

// Shared by the client and its in-flight exchanges (which may outlive it).
struct https_client_state {
  https_client_options opts;
  ssl::context tls{ssl::context::tls_client};
  mutable std::mutex mu;
  bool shut_down = false;
  std::unordered_map<std::string, std::deque<std::shared_ptr<connection>>>
    idle; // per pool key, most recently used at the back

  explicit https_client_state(https_client_options o)
    : opts(std::move(o)) {
    tls.set_default_verify_paths();
    tls.set_verify_mode(ssl::verify_peer);
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
    if (!opts.extra_ca_pem.empty())
      tls.add_certificate_authority(net::buffer(opts.extra_ca_pem));
  }

  std::shared_ptr<connection> acquire(const std::string& key) {
    std::vector<std::shared_ptr<connection>> dead;
    std::shared_ptr<connection> found;
    {
      std::lock_guard lock{mu};
      auto it = idle.find(key);
      if (it == idle.end())
        return nullptr;
      auto& q = it->second;
      auto cutoff = clock::now() - opts.idle_timeout;
      while (!q.empty() && !found) {
        auto c = std::move(q.back());
        q.pop_back();
        if (c->idle_since >= cutoff && c->looks_alive())
          found = std::move(c);
        else
          dead.push_back(std::move(c));
      }
      if (q.empty())
        idle.erase(it);
    }
    for (auto& c : dead)
      c->close();
    return found;
  }

  void release(const std::string& key, std::shared_ptr<connection> c) {
    std::vector<std::shared_ptr<connection>> dead;
    {
      std::lock_guard lock{mu};
      if (shut_down || opts.max_idle_per_host == 0) {
        dead.push_back(std::move(c));
      } else {
        auto& q = idle[key];
        auto now = clock::now();
        while (!q.empty()
               && (q.size() >= opts.max_idle_per_host
                   || q.front()->idle_since < now - opts.idle_timeout)) {
          dead.push_back(std::move(q.front()));
          q.pop_front();
        }
        c->idle_since = now;
        q.push_back(std::move(c));
      }
    }
    for (auto& d : dead)
      d->close();
  }

  void close_idle(bool final) {
    decltype(idle) all;
    {
      std::lock_guard lock{mu};
      shut_down = shut_down || final;
      all.swap(idle);
    }
    for (auto& [key, q] : all)
      for (auto& c : q)
        c->close();
  }
};

namespace {

// One request/response exchange, start to `done`, on one strand.
class exchange : public std::enable_shared_from_this<exchange> {
public:
  exchange(std::shared_ptr<https_client_state> state, net::any_io_executor ex,
           target t, http::request<http::string_body> msg,
           std::chrono::milliseconds timeout,
           std::shared_ptr<connection> pooled, done_fn& done)
    : state_(std::move(state))
    , ex_(std::move(ex))
    , target_(std::move(t))
    , msg_(std::move(msg))
    , timeout_(timeout)
    , resolver_(ex_)
    , timer_(ex_)
    , conn_(std::move(pooled)) {
    reused_ = conn_ != nullptr;
    done_ = std::move(done); // last: nothing below may throw
  }

  done_fn take_done() {
    return std::move(done_);
  }

  // The request's own response body limit (0 = the client's).
  std::size_t body_limit = 0;

  // Runs on the strand: arm the deadline, then reuse or connect.
  void start() {
    guard([&] {
      timer_.expires_after(timeout_);
      timer_.async_wait(
        beast::bind_front_handler(&exchange::on_timeout, shared_from_this()));
      if (conn_)
        do_write();
      else
        do_resolve();
    });
  }

private:
  // Look up the host.
  void do_resolve() {
    guard([&] {
      resolver_.async_resolve(target_.host, target_.port,
                              beast::bind_front_handler(&exchange::on_resolve,
                                                        shared_from_this()));
    });
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (finished_)
      return;
    if (ec)
      return finish(failure("resolve: " + ec.message()));
    do_connect(results);
  }

  // Open a fresh connection (plain or TLS) to one of the addresses.
  void do_connect(const tcp::resolver::results_type& results) {
    guard([&] {
      if (target_.tls) {
        conn_ = std::make_shared<connection>(ex_, state_->tls);
        auto& s = std::get<tls_stream>(conn_->stream);
        if (!target_.ip_literal
            && !SSL_set_tlsext_host_name(s.native_handle(),
                                         target_.host.c_str()))
          return finish(failure("tls: cannot set SNI host name"));
        s.set_verify_callback(ssl::host_name_verification(target_.host));
      } else {
        conn_ = std::make_shared<connection>(ex_);
      }
      conn_->lowest().async_connect(
        results,
        beast::bind_front_handler(&exchange::on_connect, shared_from_this()));
    });
  }

  void on_connect(beast::error_code ec, tcp::endpoint) {
    if (finished_)
      return;
    if (ec)
      return fail(ec);
    beast::error_code ignored;
    conn_->lowest().socket().set_option(tcp::no_delay(true), ignored);
    if (target_.tls)
      do_handshake();
    else
      do_write();
  }

  // TLS handshake, verifying the certificate chain and the host name.
  void do_handshake() {
    guard([&] {
      std::get<tls_stream>(conn_->stream)
        .async_handshake(ssl::stream_base::client,
                         beast::bind_front_handler(&exchange::on_handshake,
                                                   shared_from_this()));
    });
  }

  void on_handshake(beast::error_code ec) {
    if (finished_)
      return;
    if (ec) {
      conn_->close();
      conn_.reset();
      return finish(failure("tls: " + ec.message()));
    }
    do_write();
  }

  // Send the request.
  void do_write() {
    guard([&] {
      std::visit(
        [&](auto& s) {
          http::async_write(s, msg_,
                            beast::bind_front_handler(&exchange::on_write,
                                                      shared_from_this()));
        },
        conn_->stream);
    });
  }

  void on_write(beast::error_code ec, std::size_t n) {
    if (finished_)
      return;
    if (ec)
      return fail(ec, /*nothing_sent=*/n == 0, /*got_some=*/false);
    do_read();
  }

  // Read the response (skipping interim 1xx ones).
  void do_read() {
    guard([&] {
      parser_.emplace();
      parser_->body_limit(body_limit ? body_limit : state_->opts.body_limit);
      parser_->header_limit(header_limit);
      if (msg_.method() == http::verb::head)
        parser_->skip(true);
      std::visit(
        [&](auto& s) {
          http::async_read(s, conn_->buffer, *parser_,
                           beast::bind_front_handler(&exchange::on_read,
                                                     shared_from_this()));
        },
        conn_->stream);
    });
  }

  void on_read(beast::error_code ec, std::size_t n) {
    if (finished_)
      return;
    if (ec)
      return fail(ec, /*nothing_sent=*/false, parser_->got_some());
    auto& m = parser_->get();
    if (m.result_int() / 100 == 1 && m.result_int() != 101)
      return do_read();
    outbound_response r;
    r.status = static_cast<int>(m.result_int());
    for (auto const& f : m)
      r.headers.emplace_back(std::string(f.name_string()),
                             std::string(f.value()));
    r.body = std::move(m.body());
    bool reusable = parser_->keep_alive() && !parser_->need_eof()
                    && msg_.keep_alive() && r.status != 101;
    if (reusable)
      state_->release(target_.key, std::move(conn_));
    finish(std::move(r));
  }

  // The whole-exchange deadline.
  void on_timeout(beast::error_code ec) {
    if (finished_ || ec == net::error::operation_aborted)
      return;
    finish(failure("timeout"));
  }

  // A failed step: retry a stale pooled connection once, else report.
  void fail(beast::error_code ec, bool nothing_sent = true,
            bool got_some = false) {
    bool retry = reused_ && !retried_ && is_stale(ec)
                 && (nothing_sent
                     || (is_idempotent(msg_.method()) && !got_some));
    if (conn_)
      conn_->close();
    conn_.reset();
    if (!retry)
      return finish(failure(describe(ec)));
    retried_ = true;
    reused_ = false;
    do_resolve();
  }

  // Exactly once: stop everything still pending and call `done`.
  void finish(outbound_response r) {
    if (finished_)
      return;
    finished_ = true;
    timer_.cancel();
    resolver_.cancel();
    // Not returned to the pool (state unknown). Kept until this exchange
    // dies: an operation still pending on it references its stream and
    // buffer, and holds this exchange alive until it completes.
    if (conn_)
      conn_->close();
    auto done = std::move(done_);
    done_ = nullptr;
    if (done)
      done(std::move(r));
  }

  template <class F>
  void guard(F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      finish(failure(std::string("internal: ") + e.what()));
    } catch (...) {
      finish(failure("internal: unknown exception"));
    }
  }

  std::shared_ptr<https_client_state> state_;
  net::any_io_executor ex_;
  target target_;
  http::request<http::string_body> msg_;
  std::chrono::milliseconds timeout_;
  tcp::resolver resolver_;
  net::steady_timer timer_;
  std::shared_ptr<connection> conn_;
  std::optional<http::response_parser<http::string_body>> parser_;
  done_fn done_;
  bool reused_ = false;
  bool retried_ = false;
  bool finished_ = false;
};

} // namespace
} // namespace detail

https_client::https_client(net::io_context& ioc, https_client_options opts)
  : ioc_(ioc)
  , state_(std::make_shared<detail::https_client_state>(std::move(opts))) {}

https_client::~https_client() {
  shutdown();
}

void https_client::send(outbound_request req,
                        std::function<void(outbound_response)> done) {
  std::shared_ptr<detail::exchange> x;
  try {
    auto t = parse_url_target(req.url, url_family::http);
    if (!t)
      return detail::post_failure(ioc_, std::move(done), "bad url");
    http::request<http::string_body> msg;
    try {
      msg = detail::make_message(*t, req, state_->opts.user_agent);
    } catch (const std::invalid_argument& e) {
      return detail::post_failure(ioc_, std::move(done), e.what());
    }
    auto conn = state_->acquire(t->key);
    auto ex = conn ? conn->executor()
                   : net::any_io_executor(net::make_strand(ioc_));
    x = std::make_shared<detail::exchange>(state_, ex, std::move(*t),
                                           std::move(msg), req.timeout,
                                           std::move(conn), done);
    x->body_limit = req.body_limit;
    net::post(ex, [x] { x->start(); });
  } catch (const std::exception& e) {
    if (x && !done)
      done = x->take_done();
    detail::post_failure(ioc_, std::move(done),
                         std::string("internal: ") + e.what());
  } catch (...) {
    if (x && !done)
      done = x->take_done();
    detail::post_failure(ioc_, std::move(done), "internal: unknown exception");
  }
}

void https_client::shutdown() {
  state_->close_idle(true);
}

std::size_t https_client::idle_connections() const {
  std::lock_guard lock{state_->mu};
  std::size_t n = 0;
  for (auto const& [key, q] : state_->idle)
    n += q.size();
  return n;
}

} // namespace al
