#pragma once

// The one outbound HTTP(S) client: Twilio REST, WhatsApp Cloud API, PayPal
// and OpenAI all go through it. Asynchronous, thread-safe, never throws out
// of send(); keeps a bounded keep-alive pool per (scheme, host, port).
// Production URLs are https:// (verified against the system CAs, with SNI
// and hostname verification); tests use http:// on loopback.

#include "core/outbound.hpp"
#include "transport/net.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace al {

// outbound_request / outbound_response: core/outbound.hpp (plain values,
// method as text), shared with actors/ through http_send_fn.

struct https_client_options {
  std::size_t max_idle_per_host = 8;
  std::chrono::seconds idle_timeout{30};
  std::size_t body_limit = 8 * 1024 * 1024; // response body, bytes
  std::string user_agent = "agentlocator/0.1";
  // PEM certificates trusted in addition to the system CAs (tests, private
  // CAs); a malformed one makes the constructor throw.
  std::string extra_ca_pem;
};

namespace detail {
struct https_client_state;
}

class https_client {
public:
  // Owns an ssl::context with the system CAs and verify_peer (TLS >= 1.2).
  explicit https_client(net::io_context& ioc, https_client_options opts = {});
  ~https_client(); // shutdown(); in-flight exchanges still complete
  https_client(const https_client&) = delete;
  https_client& operator=(const https_client&) = delete;

  // Thread-safe, never blocks and never throws. `done` runs on an io thread
  // of `ioc`, exactly once, whatever happens.
  void send(outbound_request req, std::function<void(outbound_response)> done);

  // Closes idle pooled connections; connections finishing later are closed
  // instead of pooled. send() keeps working (without reuse).
  void shutdown();

  // Idle pooled connections right now (all hosts); for tests and metrics.
  std::size_t idle_connections() const;

private:
  net::io_context& ioc_;
  std::shared_ptr<detail::https_client_state> state_;
};

} // namespace al
