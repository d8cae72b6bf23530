#pragma once

// Outbound WebSockets for the `openai` voice engine (actors/engine.hpp's
// realtime_link): wss:// over OpenSSL (system CAs plus optional extra PEM,
// SNI and host name verification, TLS >= 1.2) or plain ws:// (local fakes
// in tests). One link per call, all of its I/O on a strand of the outbound
// io_context; a bounded write queue; pings while idle. Headers given by the
// caller (Authorization, OpenAI-Beta) are sent on the upgrade and never
// logged.

// Before net.hpp: its aliases need these namespaces declared.
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/websocket/error.hpp>

#include "actors/engine.hpp"
#include "transport/net.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace al {

struct realtime_client_options {
  /// PEM certificates trusted in addition to the system CAs (tests,
  /// private CAs); a malformed one makes the constructor throw.
  std::string extra_ca_pem;
  std::size_t max_message = 16 * 1024 * 1024; // inbound, bytes
  std::size_t queue_limit = 4096;             // outbound messages
  /// Without any inbound frame this long, the link pings and, after as
  /// long again, reports the connection closed.
  std::chrono::seconds idle_timeout{20};
  std::string user_agent = "agentlocator/0.1";
};

namespace detail {
struct realtime_client_state;
}

class realtime_client {
public:
  explicit realtime_client(net::io_context& ioc,
                           realtime_client_options opts = {});
  ~realtime_client();
  realtime_client(const realtime_client&) = delete;
  realtime_client& operator=(const realtime_client&) = delete;

  /// Starts connecting to `req.url` and returns the link at once. Thread-
  /// safe, never blocks, never throws; a bad URL or header is reported
  /// through `cb.on_closed` like any failure to connect.
  realtime_link_ptr connect(realtime_connect_request req,
                            realtime_callbacks cb);

  /// connect() as a function for call_env (keeps the client's state alive).
  realtime_connect_fn connector();

private:
  std::shared_ptr<detail::realtime_client_state> state_;
};

} // namespace al
