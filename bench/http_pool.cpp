#include "bench/http_pool.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace al::bench {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {
constexpr auto request_timeout = std::chrono::seconds(15);
} // namespace

struct http_pool::conn : std::enable_shared_from_this<conn> {
  conn(http_pool& pool)
    : pool(pool)
    , stream(pool.ioc_) {}

  http_pool& pool;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  std::optional<http::response_parser<http::string_body>> parser;
  http_job job;
  clock::time_point began;
  bool connected = false;
  bool busy = false;
  bool retried = false;
  int served = 0; // requests answered on the current connection

  // Take a job: connect first when needed.
  void start(http_job j) {
    job = std::move(j);
    busy = true;
    retried = false;
    began = job.scheduled.value_or(clock::now());
    if (connected)
      return do_write();
    do_connect();
  }

  void do_connect() {
    served = 0;
    stream.expires_after(request_timeout);
    stream.async_connect(pool.endpoint_,
                         [self = shared_from_this()](beast::error_code ec) {
                           self->on_connect(ec);
                         });
  }

  void on_connect(beast::error_code ec) {
    if (ec)
      return finish(0, "connect: " + ec.message());
    connected = true;
    stream.socket().set_option(tcp::no_delay(true), ec);
    do_write();
  }

  void do_write() {
    if (!job.scheduled)
      began = clock::now();
    req = {};
    req.version(11);
    req.method(job.method);
    req.target(job.target);
    req.set(http::field::host, pool.host_);
    req.set(http::field::user_agent, "al-bench");
    for (auto& [k, v] : job.headers)
      req.set(k, v);
    if (!job.body.empty() || job.method == http::verb::post) {
      req.set(http::field::content_type, job.content_type);
      req.body() = job.body;
      req.prepare_payload();
    }
    req.keep_alive(true);
    stream.expires_after(request_timeout);
    http::async_write(stream, req,
                      [self = shared_from_this()](beast::error_code ec,
                                                  std::size_t) {
                        self->on_write(ec);
                      });
  }

  void on_write(beast::error_code ec) {
    if (ec)
      return retry_or_fail("write: " + ec.message());
    parser.emplace();
    parser->body_limit(4 * 1024 * 1024);
    http::async_read(stream, buffer, *parser,
                     [self = shared_from_this()](beast::error_code ec,
                                                 std::size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    if (ec)
      return retry_or_fail("read: " + ec.message());
    auto res = parser->release();
    ++served;
    if (!res.keep_alive())
      drop();
    finish(res.result_int(), {}, std::move(res.body()));
  }

  // A reused keep-alive connection may have been closed by the server
  // between requests: reconnect once and resend.
  void retry_or_fail(std::string error) {
    bool reused = served > 0;
    drop();
    if (reused && !retried && !pool.closed_) {
      retried = true;
      return do_connect();
    }
    finish(0, std::move(error));
  }

  void drop() {
    beast::error_code ec;
    stream.socket().close(ec); // async_connect reopens it
    buffer.clear();
    connected = false;
  }

  void finish(int status, std::string error, std::string body = {}) {
    http_result r;
    r.status = status;
    r.error = std::move(error);
    r.body = std::move(body);
    r.latency_us = micros(clock::now() - began);
    auto done = std::move(job.done);
    job = {};
    busy = false;
    --pool.busy_;
    if (done)
      done(r);
    pool.pump();
  }
};

http_pool::http_pool(net::io_context& ioc, tcp::endpoint endpoint,
                     int connections)
  : ioc_(ioc)
  , endpoint_(endpoint)
  , host_(endpoint.address().to_string() + ":"
          + std::to_string(endpoint.port())) {
  for (int i = 0; i < std::max(1, connections); ++i)
    conns_.push_back(std::make_shared<conn>(*this));
}

http_pool::~http_pool() {
  close();
}

void http_pool::submit(http_job job) {
  if (closed_)
    return;
  queue_.push_back(std::move(job));
  pump();
}

void http_pool::pump() {
  for (auto& c : conns_) {
    if (queue_.empty())
      return;
    if (c->busy)
      continue;
    auto job = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    c->start(std::move(job));
  }
}

void http_pool::close() {
  closed_ = true;
  queue_.clear();
  for (auto& c : conns_) {
    beast::error_code ec;
    c->stream.socket().close(ec);
  }
}

} // namespace al::bench
