#pragma once

// The HTTP/WebSocket server: `io_threads` io_contexts, one thread each (so a
// connection never needs a strand), an acceptor that spreads connections
// over them, and a two-phase shutdown: stop accepting, then drain.

#include "transport/dispatcher.hpp"
#include "transport/session_registry.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace al {

class server {
public:
  /// One io_context and the connections it owns.
  struct io_slot {
    // Declared before ioc: destroying ioc destroys pending handlers, whose
    // sessions unregister themselves from here.
    session_registry sessions;
    net::io_context ioc{1};
    std::thread thread;
  };

  /// `thread_name` names the io threads ("al-io-0", ...). The service's
  /// main server paces audio and keeps the process's priority; any other
  /// (`media` false: the metrics listener) runs as a worker
  /// (core/thread_role.hpp).
  server(const dispatcher& d, int io_threads, std::string thread_name = "al-io",
         bool media = true);
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and listens; returns the bound port (useful with port 0).
  /// Throws std::system_error when the address cannot be bound.
  std::uint16_t listen(const std::string& address, std::uint16_t port);

  /// Starts the io threads.
  void start();

  /// Phase 1: stop accepting new connections.
  void stop_accepting();

  /// Phase 2: asks every connection to finish (HTTP idle close, WS 1001).
  void drain();

  /// Stops the io_contexts and joins the threads.
  void stop();

  /// Number of live connections (approximate, for metrics/drain).
  std::size_t connections();

  /// The io slots (e.g. for per-io_context pacers).
  std::vector<std::unique_ptr<io_slot>>& slots() noexcept {
    return slots_;
  }

  /// The slot whose io_context runs `ex`, or nullptr.
  io_slot* slot_of(const net::any_io_executor& ex);

private:
  void do_accept();
  void on_accept(io_slot* slot, beast::error_code ec, tcp::socket socket);

  const dispatcher& dispatcher_;
  std::vector<std::unique_ptr<io_slot>> slots_;
  tcp::acceptor acceptor_;
  std::size_t next_slot_ = 0;
  std::string thread_name_;
  bool media_ = true;
  std::atomic<bool> accepting_{false};
  bool started_ = false;
};

} // namespace al
