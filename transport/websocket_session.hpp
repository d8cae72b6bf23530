#pragma once

// A server WebSocket connection: accepts the upgrade (echoing an offered
// subprotocol only when it is one we speak), reads text messages into a
// handler, pings every `ping_interval`, closes after `idle_timeout` without
// any inbound frame, and writes through a bounded queue. Everything runs on
// the io_context that owns the socket; other threads reach it only through
// `post()`.

#include "transport/http_types.hpp"
#include "transport/session_registry.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace al {

class websocket_session;

/// Per-connection logic. Every call happens on the session's io thread.
class websocket_handler {
public:
  virtual ~websocket_handler() = default;

  /// The handshake completed.
  virtual void on_open(websocket_session&) {}

  /// One complete text (or binary) message. At least
  /// websocket_session::read_padding readable bytes follow `data` (in the
  /// session's read buffer), so that JSON can be parsed in place.
  virtual void
  on_message(websocket_session&, std::string_view data, bool is_text)
    = 0;

  /// The connection ended; called exactly once after on_open.
  virtual void on_close(websocket_session&, std::string_view reason) {}
};

struct websocket_options {
  std::string subprotocol; // echoed when the client offers it
  std::chrono::seconds ping_interval{25};
  std::chrono::seconds idle_timeout{60};
  std::size_t max_message = 64 * 1024;
  std::size_t queue_limit = 1024; // outbound messages
};

class websocket_session
  : public drainable,
    public std::enable_shared_from_this<websocket_session> {
public:
  websocket_session(beast::tcp_stream&& stream, http_request upgrade,
                    websocket_options opts, session_registry& registry,
                    std::unique_ptr<websocket_handler> handler);
  ~websocket_session() override;

  /// Bytes readable past the end of every message given to on_message
  /// (simdjson::SIMDJSON_PADDING; checked where it is relied on).
  static constexpr std::size_t read_padding = 64;

  /// Accepts the upgrade and starts reading. Call once.
  void run();

  /// Queues a text message (io thread only). Returns false when the queue
  /// is full or the session is closing; the message is dropped.
  bool send(std::string text);

  /// Same, for a message that `fill(std::string&)` appends to an empty
  /// buffer recycled from earlier writes: once warm, a message costs no
  /// allocation (the media path sends one every 20 ms per call).
  template <class Fill>
  bool send_with(Fill&& fill) {
    if (!can_queue())
      return false;
    std::string& slot = push_slot();
    fill(slot);
    if (!writing_)
      do_write();
    return true;
  }

  /// Messages queued and not yet written (the one being written included).
  std::size_t queued() const noexcept {
    return count_ + (writing_ ? 1 : 0);
  }

  /// Closes with `code` (io thread only).
  void close(websocket::close_code code, std::string_view reason);

  /// Runs `fn` on this session's io thread (any thread may call).
  void post(std::function<void(websocket_session&)> fn);

  /// The executor of the owning io_context.
  net::any_io_executor executor() {
    return ws_.get_executor();
  }

  bool open() const noexcept {
    return open_ && !closing_;
  }

  const http_request& upgrade_request() const noexcept {
    return upgrade_;
  }

  /// Graceful shutdown: close with 1001.
  void drain() override;

  /// Frames read / written so far.
  std::uint64_t frames_in() const noexcept {
    return frames_in_;
  }
  std::uint64_t frames_out() const noexcept {
    return frames_out_;
  }

  websocket_handler& handler() noexcept {
    return *handler_;
  }

private:
  void on_accept(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void do_write();
  void on_write(beast::error_code ec, std::size_t bytes);
  void do_ping_timer();
  void on_ping_timer(beast::error_code ec);
  void finish(std::string_view reason);
  void drop_queued();
  bool can_queue() const noexcept {
    return open_ && !closing_ && queued() < opts_.queue_limit;
  }
  std::string& push_slot();
  void trim_ring();

  websocket::stream<beast::tcp_stream> ws_;
  http_request upgrade_;
  websocket_options opts_;
  session_registry& registry_;
  std::unique_ptr<websocket_handler> handler_;
  beast::flat_buffer buffer_;
  // The outbound queue: a ring of strings that keep their capacity, so
  // messages are built in recycled buffers. The front moves to `writing_buf_`
  // (a member, so that growing the ring never moves what Beast is writing).
  std::vector<std::string> ring_;
  std::size_t head_ = 0;  // index of the oldest queued message
  std::size_t count_ = 0; // queued, not counting writing_buf_
  std::string writing_buf_;
  net::steady_timer ping_timer_;
  std::chrono::steady_clock::time_point last_inbound_;
  std::chrono::steady_clock::time_point last_ping_;
  std::uint64_t frames_in_ = 0;
  std::uint64_t frames_out_ = 0;
  bool writing_ = false;
  bool pinging_ = false;
  bool open_ = false;
  bool closing_ = false;
  bool finished_ = false;
};

/// True when the comma-separated Sec-WebSocket-Protocol `offered` contains
/// `wanted` (case-sensitive token match, whitespace tolerant).
bool offers_subprotocol(std::string_view offered, std::string_view wanted);

} // namespace al
