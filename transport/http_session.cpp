#include "transport/http_session.hpp"

#include "core/json.hpp"

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <optional>
#include <sstream>

namespace al {

namespace {

constexpr std::size_t body_limit = 1024 * 1024; // 1 MiB -> 413 above
// Routes that take an upload: a greeting recording (5 MiB), a CSV import
// (16 MiB: ~100 000 rows).
constexpr std::size_t largest_upload = 16 * 1024 * 1024;

std::size_t upload_limit(http::verb method, std::string_view path) {
  if (method == http::verb::put && path == "/api/crm/settings/greeting-audio")
    return 5 * 1024 * 1024;
  if (method == http::verb::post
      && (path == "/api/crm/listings/import"
          || path == "/api/crm/leads/import"))
    return largest_upload;
  return body_limit;
}
constexpr std::uint32_t header_limit = 16 * 1024; // -> 431 above
constexpr auto read_timeout = std::chrono::seconds(10);
constexpr auto write_timeout = std::chrono::seconds(30);
// After an error answer: how long / how much unread input is discarded.
constexpr auto linger_timeout = std::chrono::seconds(2);
constexpr std::size_t linger_limit = 8 * 1024 * 1024;

/// A request target with raw UTF-8 (curl sends Hebrew search terms as
/// typed; browsers and Twilio percent-encode): the same target with every
/// byte >= 0x80 percent-encoded. nullopt when there is none, or when the
/// bytes are not valid UTF-8.
std::optional<std::string> encode_raw_utf8(std::string_view target) {
  bool raw = false;
  for (unsigned char c : target)
    raw = raw || c >= 0x80;
  if (!raw || !valid_utf8(target))
    return std::nullopt;
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(target.size() * 2);
  for (unsigned char c : target) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    out.push_back('%');
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 0xF]);
  }
  return out;
}

} // namespace

http_session::http_session(tcp::socket&& socket, const dispatcher& d,
                           session_registry& registry)
  : stream_(std::move(socket))
  , dispatcher_(d)
  , registry_(registry) {
  beast::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec)
    remote_ = ep.address().to_string();
}

http_session::~http_session() {
  if (streaming_)
    streaming_->abandon(); // its wake posts to an executor that may be gone
  registry_.remove(this);
}

void http_session::run() {
  registry_.add(shared_from_this());
  do_read();
}

void http_session::drain() {
  draining_ = true;
  if (streaming_) {
    // An event stream: end it properly (the terminating chunk, then close);
    // the client reconnects to another instance.
    streaming_->close();
    return do_stream_write();
  }
  if (!busy_)
    do_close(); // idle keep-alive connection: close now
}

// Read the next request with a fresh parser and limits.
void http_session::do_read() {
  if (draining_)
    return do_close();
  parser_.emplace();
  // Beast checks a Content-Length against the limit as soon as the head is
  // parsed: start with the largest any route takes, then narrow it to the
  // route's own once the target is known.
  parser_->body_limit(largest_upload);
  parser_->header_limit(header_limit);
  stream_.expires_after(read_timeout);
  // The head first: an upload route may take a larger body.
  http::async_read_header(
    stream_, buffer_, *parser_,
    [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec)
        return self->on_read(ec, n);
      auto& head = self->parser_->get();
      auto target = std::string_view{head.target()};
      // Only a request that carries credentials may send an upload's size
      // (the token itself is checked by the route, after the body).
      auto limit = head.count(http::field::authorization)
                     ? upload_limit(head.method(),
                                    target.substr(0, target.find('?')))
                     : body_limit;
      auto length = self->parser_->content_length();
      if (length && *length > limit)
        return self->fail_request(http::status::payload_too_large,
                                  "Request body too large");
      self->parser_->body_limit(limit); // chunked bodies: counted as read
      if (limit > body_limit)           // a slow uplink: at least 256 KiB/s
        self->stream_.expires_after(
          read_timeout + std::chrono::seconds(limit / (256 * 1024)));
      http::async_read(self->stream_, self->buffer_, *self->parser_,
                       [self](beast::error_code ec, std::size_t n) {
                         self->on_read(ec, n);
                       });
    });
}

// A request arrived (or the read failed).
void http_session::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout
      || ec == net::error::operation_aborted || ec == net::error::eof
      || ec == net::error::connection_reset)
    return do_close();
  if (ec == http::error::body_limit)
    return fail_request(http::status::payload_too_large,
                        "Request body too large");
  if (ec == http::error::header_limit)
    return fail_request(http::status::request_header_fields_too_large,
                        "Request headers too large");
  if (ec) {
    if (buffer_.size() == 0 && !parser_->got_some())
      return do_close();
    return fail_request(http::status::bad_request, "Malformed HTTP request");
  }
  auto msg = parser_->release();
  keep_alive_ = msg.keep_alive();
  // RFC 9112 6.3: a Transfer-Encoding that does not end in chunked leaves
  // the body length unknown (Beast would read none and take the body for
  // the next request: a smuggling vector behind a proxy). 400 and close.
  if (msg.count(http::field::transfer_encoding) && !msg.chunked())
    return fail_request(http::status::bad_request,
                        "Unsupported Transfer-Encoding");
  // Split the target; a target that is not a valid origin-form is a 400.
  auto target = std::string_view{msg.target()};
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) {
    // Raw UTF-8 is read as its percent-encoded form; anything else is a 400.
    auto encoded = encode_raw_utf8(target);
    if (!encoded)
      return fail_request(http::status::bad_request,
                          "Malformed request target (percent-encode"
                          " non-ASCII characters and spaces)");
    msg.target(*encoded);
    target = std::string_view{msg.target()};
    parsed = boost::urls::parse_origin_form(target);
    if (!parsed)
      return fail_request(http::status::bad_request,
                          "Malformed request target (percent-encode"
                          " non-ASCII characters and spaces)");
  }
  std::string path = parsed->path();
  std::string query{parsed->encoded_query()};

  if (beast::websocket::is_upgrade(msg)) {
    if (auto acceptor = dispatcher_.find_websocket(path)) {
      stream_.expires_never();
      registry_.remove(this);
      (*acceptor)(std::move(stream_), std::move(msg), registry_);
      return;
    }
  }

  auto req = std::make_shared<request>();
  req->msg = std::move(msg);
  req->path = std::move(path);
  req->query = std::move(query);
  req->remote = remote_;
  req->executor = stream_.get_executor();
  busy_ = true;
  stream_.expires_never(); // the handler may take a while (DB, providers)
  auto executor = stream_.get_executor();
  auto keep = shared_from_this();
  dispatcher_.dispatch(req, [executor, keep, req](http_response res) mutable {
    // The handler set req->stream (if at all) before answering, on this
    // thread. `keep` moves on: the answered responder, which may die on an
    // actor's thread, no longer holds the session.
    net::post(executor, [keep = std::move(keep), res = std::move(res),
                         body = req->stream]() mutable {
      keep->on_answer(std::move(res), std::move(body));
    });
  });
}

void http_session::on_answer(http_response res,
                             std::shared_ptr<body_stream> body) {
  if (body) {
    if (res.result() == http::status::ok && !draining_)
      return start_stream(std::move(res), std::move(body));
    body->abandon(); // an error answer instead: nothing will be streamed
  }
  res.keep_alive(!draining_ && keep_alive_);
  do_write(std::move(res));
}

void http_session::fail_request(http::status status, std::string_view msg) {
  auto res = error_response(status, msg);
  res.set("X-Request-Id", dispatcher::next_request_id());
  res.keep_alive(false);
  busy_ = true;
  linger_ = true;
  do_write(std::move(res));
}

// Write one response; keep-alive decides whether to read again.
void http_session::do_write(http_response res) {
  pending_ = std::make_shared<http_response>(std::move(res));
  bool keep_alive = pending_->keep_alive();
  stream_.expires_after(write_timeout);
  http::async_write(stream_, *pending_,
                    [self = shared_from_this(),
                     keep_alive](beast::error_code ec, std::size_t n) {
                      self->on_write(keep_alive, ec, n);
                    });
}

void http_session::on_write(bool keep_alive, beast::error_code ec,
                            std::size_t) {
  pending_.reset();
  busy_ = false;
  if (!ec && linger_)
    return do_linger();
  if (ec || !keep_alive)
    return do_close();
  do_read();
}

// The client may still be sending what we refused (e.g. the body of a 413):
// half-close, then discard its input for a while, so that closing does not
// reset the connection before the client has read the answer.
void http_session::do_linger() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.expires_after(linger_timeout);
  buffer_.clear();
  do_linger_read();
}

void http_session::do_linger_read() {
  stream_.async_read_some(buffer_.prepare(64 * 1024),
                          [self = shared_from_this()](beast::error_code ec,
                                                      std::size_t n) {
                            self->on_linger(ec, n);
                          });
}

void http_session::on_linger(beast::error_code ec, std::size_t bytes) {
  lingered_ += bytes;
  if (ec || lingered_ > linger_limit)
    return do_close();
  do_linger_read();
}

// -- streamed responses -------------------------------------------------------
// Head first (chunked, Connection: close), then each batch of pushed bytes as
// one chunk; one write in flight at a time. A read stays pending meanwhile:
// its completion (EOF, reset, or anything) means the client is gone.

void http_session::start_stream(http_response head,
                                std::shared_ptr<body_stream> body) {
  streaming_ = std::move(body);
  head.body().clear();
  head.erase(http::field::content_length);
  head.chunked(true);
  head.keep_alive(false);
  std::ostringstream os;
  os << head.base();
  stream_out_ = os.str();
  auto executor = stream_.get_executor();
  streaming_->bind([executor, weak = weak_from_this()] {
    net::post(executor, [weak] {
      if (auto self = weak.lock())
        self->do_stream_write();
    });
  });
  stream_.expires_never(); // the read below waits as long as the stream
  do_stream_read();
  stream_writing_ = true;
  stream_.expires_after(write_timeout); // the write only: a read is pending
  net::async_write(stream_, net::buffer(stream_out_),
                   [self = shared_from_this()](beast::error_code ec,
                                               std::size_t n) {
                     self->on_stream_write(ec, n);
                   });
}

// Write what was pushed since the last write, as one chunk.
void http_session::do_stream_write() {
  if (stream_writing_ || !streaming_ || stream_ended_)
    return;
  bool finished = false;
  auto data = streaming_->take(finished);
  if (data.empty() && !finished)
    return; // bind()'s wake brings us back
  stream_out_.clear();
  if (!data.empty()) {
    char size[20];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    stream_out_ += size;
    stream_out_ += data;
    stream_out_ += "\r\n";
  }
  if (finished) {
    stream_out_ += "0\r\n\r\n";
    stream_last_ = true;
  }
  stream_writing_ = true;
  stream_.expires_after(write_timeout);
  net::async_write(stream_, net::buffer(stream_out_),
                   [self = shared_from_this()](beast::error_code ec,
                                               std::size_t n) {
                     self->on_stream_write(ec, n);
                   });
}

void http_session::on_stream_write(beast::error_code ec, std::size_t) {
  stream_writing_ = false;
  if (ec || stream_last_)
    return end_stream();
  do_stream_write();
}

// Discard whatever the client sends; its end is the end of the stream.
void http_session::do_stream_read() {
  buffer_.clear();
  stream_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this()](beast::error_code ec,
                                                      std::size_t n) {
                            self->on_stream_read(ec, n);
                          });
}

void http_session::on_stream_read(beast::error_code ec, std::size_t) {
  if (ec || stream_ended_)
    return end_stream();
  do_stream_read();
}

void http_session::end_stream() {
  if (stream_ended_)
    return;
  stream_ended_ = true;
  if (streaming_)
    streaming_->abandon();
  do_close();
}

void http_session::do_close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.close();
}

} // namespace al
