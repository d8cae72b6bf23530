#pragma once

// Turns a parsed request into a response: request id, routing (404/405),
// handler invocation with exception safety, access log and per-route metrics.
// Also owns the WebSocket route table. Shared by every http_session.

#include "transport/http_types.hpp"
#include "transport/router.hpp"
#include "transport/session_registry.hpp"

#include <boost/beast/core/tcp_stream.hpp>

#include <functional>
#include <map>
#include <string>

namespace al {

struct metrics;

/// Takes over an upgraded connection (the request is the upgrade request).
using websocket_acceptor = std::function<void(
  beast::tcp_stream stream, http_request req, session_registry& registry)>;

class dispatcher {
public:
  dispatcher(router routes, metrics* m);

  /// Handles one request; `send` receives the final response on any thread.
  void dispatch(request_ptr req, responder::sink send) const;

  /// Registers a WebSocket path: exact, or "/prefix/*" for one more segment.
  void add_websocket(std::string path, websocket_acceptor acceptor);

  /// The acceptor for `path`, or nullptr.
  const websocket_acceptor* find_websocket(std::string_view path) const;

  const router& routes() const noexcept {
    return routes_;
  }

  /// Makes a fresh request id.
  static std::string next_request_id();

private:
  router routes_;
  metrics* metrics_;
  std::map<std::string, websocket_acceptor, std::less<>> websockets_;
};

} // namespace al
