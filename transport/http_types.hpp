#pragma once

// The types a route handler sees: an owned, parsed request, a response, and a
// responder that may be called from any thread (it posts to the connection's
// io_context). Handlers are asynchronous: they answer through the responder,
// exactly once, possibly after an actor or database round trip.

#include "transport/net.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace al {

using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

/// A request as the router hands it to a handler.
struct request {
  http_request msg;
  std::string path;  // decoded target path, without the query
  std::string query; // raw query string, without '?'
  std::vector<std::string> path_params; // the {x} segments of the route
  std::string id;    // X-Request-Id
  std::string remote;

  std::string_view header(http::field f) const;
  std::string_view header(std::string_view name) const;
  const std::string& body() const {
    return msg.body();
  }
};

using request_ptr = std::shared_ptr<request>;

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
