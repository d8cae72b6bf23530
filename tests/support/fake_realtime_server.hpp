#pragma once

// A local fake of the OpenAI Realtime WebSocket for tests: plain ws:// on
// 127.0.0.1 (ephemeral port), its own thread. It records every upgrade
// request and every client message, and lets each test script the server:
// a handler called (on the server thread) for every client message, events
// sent at any time with send(), a delayed or refused upgrade, a close.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace al::test {

class fake_realtime_server {
public:
  /// Called on the server thread for each client message (text).
  using handler
    = std::function<void(fake_realtime_server&, const std::string& message)>;

  explicit fake_realtime_server(handler on_message = {});
  ~fake_realtime_server(); // closes every connection, stops the thread
  fake_realtime_server(const fake_realtime_server&) = delete;
  fake_realtime_server& operator=(const fake_realtime_server&) = delete;

  unsigned short port() const;
  /// "ws://127.0.0.1:PORT/v1/realtime"
  std::string url() const;

  /// Answer the upgrade only after `d` (the TCP connection is accepted).
  void set_upgrade_delay(std::chrono::milliseconds d);
  /// Refuse the upgrade with this HTTP status (0 = accept).
  void set_upgrade_status(int status);

  /// Plain HTTP requests (the REST API beside the WebSocket, e.g. POST
  /// /v1/chat/completions) are answered by `h` (status, JSON body); 404
  /// without one. Called on the server thread.
  struct http_exchange {
    std::string method;
    std::string target;
    std::string authorization;
    std::string body;
  };
  using http_handler
    = std::function<std::pair<int, std::string>(const http_exchange& request)>;
  void set_http_handler(http_handler h);
  std::vector<http_exchange> http_requests() const;

  /// Sends a text message on the newest connection (any thread).
  void send(const std::string& text);
  /// Closes the newest connection with a normal close frame (any thread).
  void close();

  /// Thread-safe snapshots.
  std::size_t connections() const; // upgrades received
  std::size_t disconnects() const; // accepted connections that ended
  std::string target() const;      // of the newest upgrade request
  std::map<std::string, std::string> headers() const; // lower-case names
  std::vector<std::string> received() const;
  /// Client messages whose "type" is `type`.
  std::vector<std::string> received(const std::string& type) const;
  std::size_t count(const std::string& type) const;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

/// The "type" of a JSON event ("" when it has none).
std::string type_of(const std::string& json);

} // namespace al::test
