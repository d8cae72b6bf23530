#pragma once

// Outbound HTTP as plain values: what a provider call needs (Twilio REST,
// WhatsApp Cloud API, PayPal, ...) and what comes back, with no Beast or
// Asio type in sight, so that core/ builds requests and parses responses as
// pure functions and actors/ can call out without depending on transport/.
// transport/https_client.hpp executes them; app/ injects it as an
// http_send_fn (dependencies point core <- actors <- transport <- app).

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace al {

struct outbound_request {
  std::string method = "GET"; // upper-case HTTP method: GET, POST, ...
  std::string url;            // http:// or https://, with path and query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{5000}; // whole exchange
  // Largest response body accepted, bytes; 0 = the client's own limit
  // (8 MiB). Media downloads raise it to WA_MEDIA_MAX_BYTES.
  std::size_t body_limit = 0;
};

struct outbound_response {
  int status = 0; // 0 when no HTTP response was received
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Non-empty on transport failure: "timeout", "connection refused",
  // "tls: ...", "bad url", "bad method", "resolve: ...", ...
  std::string error;
  bool ok() const {
    return error.empty() && status >= 200 && status < 300;
  }
};

/// Sends `req` asynchronously and calls the completion exactly once, on
/// some I/O thread, whatever happens (a failure is an outbound_response with
/// `error` set). Must never throw and never block.
using http_send_fn = std::function<void(
  outbound_request req, std::function<void(outbound_response)> done)>;

} // namespace al
