#pragma once

// A tiny HTTP/1.1 server for tests (fake Twilio, PayPal, Meta, ...): bound
// to 127.0.0.1 on an ephemeral port, served by its own thread, keep-alive
// supported. Every request is recorded; the handler builds the response
// (version, keep-alive and Content-Length are filled in for it; a response
// carrying "Connection: close" closes the connection after it is written).

#include "transport/net.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace al {

class fake_http_server {
public:
  using request = http::request<http::string_body>;
  using response = http::response<http::string_body>;
  // Runs on the server thread; an exception becomes a 500 with its what().
  using handler = std::function<response(const request&)>;

  // `port` 0 = an ephemeral port (tests); a fixed one for the standalone
  // fake_providers binary. Throws when the port cannot be bound.
  explicit fake_http_server(handler h, unsigned short port = 0);
  ~fake_http_server(); // stops the thread, drops every connection
  fake_http_server(const fake_http_server&) = delete;
  fake_http_server& operator=(const fake_http_server&) = delete;

  unsigned short port() const;
  std::string base_url() const; // "http://127.0.0.1:PORT"

  // Thread-safe snapshots.
  std::vector<request> requests() const;
  std::size_t request_count() const;
  std::size_t connection_count() const; // connections accepted so far

  // Wait this long after reading a request before answering it.
  void set_delay(std::chrono::milliseconds d);
  // Read (and record) each request, then close without answering.
  void set_close_without_response(bool on);
  // Close every connection as soon as it has no request in progress (now,
  // if it is waiting for the next one), as a server's idle timeout would.
  // Returns once the idle ones are closed.
  void close_idle_connections();

  // A response with a body and Content-Type, for handlers.
  static response reply(http::status status, std::string body = {},
                        std::string content_type = "application/json");

  struct impl; // public only for the .cpp's session class

private:
  std::unique_ptr<impl> impl_;
};

} // namespace al
