#pragma once

// The types a route handler sees: an owned, parsed request, a response, and a
// responder that may be called from any thread (it posts to the connection's
// io_context). Handlers are asynchronous: they answer through the responder,
// exactly once, possibly after an actor or database round trip.

#include "transport/net.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace al {

using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

/// The body of a streamed response (server-sent events). A handler that
/// wants one sets `request::stream` to a new body_stream, then answers with
/// the response head (status 200, e.g. `text/event-stream`; its body is
/// ignored). The connection writes the head with chunked transfer encoding
/// and then, in order, every chunk pushed from any thread, until the handler
/// closes the stream (the connection is then closed) or the client goes
/// away. A reader that falls `queue_limit` bytes behind is cut off.
/// Thread-safe.
class body_stream {
public:
  static constexpr std::size_t queue_limit = 1024 * 1024;

  /// Queues `chunk`; false once the stream is closed (by either side).
  bool push(std::string chunk);

  /// Ends the response after what is queued.
  void close();

  /// True once closed by the handler or abandoned by the connection.
  bool closed() const;

  // -- the connection's side ------------------------------------------------

  /// Called (once) by the connection when it starts writing: `wake` is then
  /// invoked, from the pushing thread, whenever there is something new to
  /// take after the connection took everything (it must post, not write).
  void bind(std::function<void()> wake);

  /// Everything queued so far; `finished` is set when nothing more comes.
  std::string take(bool& finished);

  /// The connection is gone: later pushes fail.
  void abandon();

private:
  mutable std::mutex mu_;
  std::string queued_;
  std::function<void()> wake_;
  bool closed_ = false;    // no more pushes
  bool abandoned_ = false; // the connection is gone
  bool woken_ = false;     // a wake is pending: do not post another
};

/// A request as the router hands it to a handler.
struct request {
  http_request msg;
  std::string path;  // decoded target path, without the query
  std::string query; // raw query string, without '?'
  std::vector<std::string> path_params; // the {x} segments of the route
  std::string id;                       // X-Request-Id
  std::string remote;                   // the socket's peer
  std::string client; // the client's address (set by require(), see auth.hpp)
  /// Set by a handler that answers with a streamed body (see body_stream).
  std::shared_ptr<body_stream> stream;
  /// The I/O executor of the connection that sent it: where a handler's
  /// continuations run (post_to_session), never on a store or actor thread.
  /// Empty for requests built by hand (tests): continuations then run
  /// where they are called.
  net::any_io_executor executor;

  std::string_view header(http::field f) const;
  std::string_view header(std::string_view name) const;
  const std::string& body() const {
    return msg.body();
  }
};

using request_ptr = std::shared_ptr<request>;

/// Runs `fn` on the I/O thread of the connection that sent `req` (at once
/// when it has no executor).
void post_to_session(const request& req, std::function<void()> fn);

/// Wraps `fn` so that, called from any thread (a store job's completion, an
/// actor's reply), it runs on the session's I/O thread with its arguments.
template <class F>
auto on_session(request_ptr req, F fn) {
  return [req = std::move(req), fn = std::move(fn)](auto... args) {
    post_to_session(
      *req, [fn, tup = std::make_tuple(std::move(args)...)]() mutable {
        std::apply([&fn](auto&... a) { fn(std::move(a)...); }, tup);
      });
  };
}

/// Answers one request, from any thread, at most once (later calls are
/// ignored). Copyable.
class responder {
public:
  using sink = std::function<void(http_response)>;

  responder() = default;
  explicit responder(sink s);

  void operator()(http_response res) const;

  /// True once an answer was given.
  bool answered() const noexcept;

private:
  struct state {
    sink fn;
    std::atomic<bool> done{false};
  };
  std::shared_ptr<state> state_;
};

using handler = std::function<void(request_ptr, responder)>;

// -- response helpers ---------------------------------------------------------

http_response make_response(http::status status, std::string body,
                            std::string_view content_type);

inline http_response json_response(http::status status, std::string body) {
  return make_response(status, std::move(body), "application/json");
}

/// `{"success":false,"error":msg}` with `status`.
http_response error_response(http::status status, std::string_view msg);

http_response empty_response(http::status status);

inline http_response xml_response(std::string body) {
  return make_response(http::status::ok, std::move(body), "text/xml");
}

} // namespace al
