#include "transport/websocket_session.hpp"

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

namespace al {

namespace {

// Outbound buffers recycled per session: bounded in number and size (a
// media frame is ~250 bytes; the queue is a few messages deep when the
// peer keeps up). Memory per live call is a target (README Performance):
// after a burst the ring shrinks back to this many slots.
constexpr std::size_t kept_slots = 4;
constexpr std::size_t max_recycled = 16 * 1024;

} // namespace

bool offers_subprotocol(std::string_view offered, std::string_view wanted) {
  while (!offered.empty()) {
    auto comma = offered.find(',');
    auto token = offered.substr(0, comma);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
      token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
      token.remove_suffix(1);
    if (token == wanted)
      return true;
    if (comma == std::string_view::npos)
      break;
    offered.remove_prefix(comma + 1);
  }
  return false;
}

websocket_session::websocket_session(beast::tcp_stream&& stream,
                                     http_request upgrade,
                                     websocket_options opts,
                                     session_registry& registry,
                                     std::unique_ptr<websocket_handler> handler)
  : ws_(std::move(stream))
  , upgrade_(std::move(upgrade))
  , opts_(std::move(opts))
  , registry_(registry)
  , handler_(std::move(handler))
  , ping_timer_(ws_.get_executor()) {}

websocket_session::~websocket_session() {
  registry_.remove(this);
}

// Accept the upgrade, echoing the subprotocol only when it was offered.
void websocket_session::run() {
  registry_.add(shared_from_this());
  auto timeouts
    = websocket::stream_base::timeout::suggested(beast::role_type::server);
  timeouts.idle_timeout = websocket::stream_base::none(); // we ping ourselves
  ws_.set_option(timeouts);
  ws_.read_message_max(opts_.max_message);
  ws_.auto_fragment(false);
  bool echo
    = !opts_.subprotocol.empty()
      && offers_subprotocol(upgrade_[http::field::sec_websocket_protocol],
                            opts_.subprotocol);
  ws_.set_option(websocket::stream_base::decorator(
    [echo, proto = opts_.subprotocol](websocket::response_type& res) {
      res.set(http::field::server, "agentlocator");
      if (echo)
        res.set(http::field::sec_websocket_protocol, proto);
    }));
  ws_.async_accept(upgrade_, [self = shared_from_this()](beast::error_code ec) {
    self->on_accept(ec);
  });
}

void websocket_session::on_accept(beast::error_code ec) {
  if (ec) {
    spdlog::warn("websocket handshake failed: {}", ec.message());
    return;
  }
  open_ = true;
  last_inbound_ = std::chrono::steady_clock::now();
  last_ping_ = last_inbound_;
  handler_->on_open(*this);
  do_ping_timer();
  do_read();
}

// Read the next complete message.
void websocket_session::do_read() {
  ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec,
                                                      std::size_t n) {
    self->on_read(ec, n);
  });
}

void websocket_session::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    if (ec == websocket::error::closed)
      return finish("closed by peer");
    if (ec == websocket::error::message_too_big)
      return finish("message too big");
    return finish(ec.message());
  }
  ++frames_in_;
  last_inbound_ = std::chrono::steady_clock::now();
  // The padding lives in the buffer's own spare capacity (prepare() moves
  // or grows it only until it fits the largest message plus the padding),
  // so the handler parses in place instead of copying every frame. Zeroed
  // so that nothing reads uninitialised memory.
  auto pad = buffer_.prepare(read_padding);
  std::memset(pad.data(), 0, pad.size());
  auto data = buffer_.cdata();
  handler_->on_message(
    *this, std::string_view{static_cast<const char*>(data.data()), data.size()},
    ws_.got_text());
  buffer_.consume(buffer_.size());
  if (!closing_)
    do_read();
}

bool websocket_session::send(std::string text) {
  if (!can_queue())
    return false;
  push_slot().swap(text);
  if (!writing_)
    do_write();
  return true;
}

// The next free slot of the ring, emptied (its capacity kept); grows the
// ring when it is full.
std::string& websocket_session::push_slot() {
  if (count_ == ring_.size()) {
    std::vector<std::string> grown(std::max<std::size_t>(4, 2 * ring_.size()));
    for (std::size_t i = 0; i < count_; ++i)
      grown[i].swap(ring_[(head_ + i) % ring_.size()]);
    ring_.swap(grown);
    head_ = 0;
  }
  auto& slot = ring_[(head_ + count_) % ring_.size()];
  ++count_;
  slot.clear();
  return slot;
}

// Write the front of the queue.
void websocket_session::do_write() {
  // What Beast writes stays in writing_buf_ until on_write; the slot takes
  // the previous buffer back for reuse. A buffer grown by an unusually big
  // message is not kept.
  auto& front = ring_[head_];
  writing_buf_.swap(front);
  if (front.capacity() > max_recycled)
    std::string{}.swap(front);
  head_ = (head_ + 1) % ring_.size();
  --count_;
  writing_ = true;
  ws_.text(true);
  ws_.async_write(net::buffer(writing_buf_),
                  [self = shared_from_this()](beast::error_code ec,
                                              std::size_t n) {
                    self->on_write(ec, n);
                  });
}

void websocket_session::on_write(beast::error_code ec, std::size_t) {
  // close()/finish() left writing_buf_ alone: Beast was still using it.
  writing_ = false;
  if (ec)
    return finish(ec.message());
  ++frames_out_;
  if (count_ > 0 && !closing_)
    return do_write();
  if (count_ == 0 && ring_.size() > kept_slots) {
    head_ = 0;
    trim_ring();
  }
}

// Drops queued messages, but never the one an async_write is still using
// (that one is in writing_buf_). A ring grown by a burst is given back.
void websocket_session::drop_queued() {
  count_ = 0;
  head_ = 0;
  trim_ring();
}

// The queue is empty: keep at most kept_slots slots, none holding a big
// buffer, so that a burst does not pin its memory for the whole call.
void websocket_session::trim_ring() {
  if (ring_.size() > kept_slots) {
    ring_.resize(kept_slots);
    ring_.shrink_to_fit();
  }
  for (auto& slot : ring_)
    if (slot.capacity() > max_recycled)
      std::string{}.swap(slot);
}

void websocket_session::close(websocket::close_code code,
                              std::string_view reason) {
  if (closing_ || !open_)
    return;
  closing_ = true;
  drop_queued();
  ping_timer_.cancel();
  websocket::close_reason cr{code, reason};
  ws_.async_close(cr, [self = shared_from_this()](beast::error_code ec) {
    self->finish(ec ? ec.message() : "closed by server");
  });
}

void websocket_session::post(std::function<void(websocket_session&)> fn) {
  net::post(ws_.get_executor(),
            [self = shared_from_this(), fn = std::move(fn)] { fn(*self); });
}

void websocket_session::drain() {
  close(websocket::close_code::going_away, "server shutting down");
}

// Ping every interval; close when nothing arrived for idle_timeout.
void websocket_session::do_ping_timer() {
  // Wake at the next ping or at the idle deadline, whichever comes first:
  // pings keep their exact cadence and idleness is noticed on time.
  ping_timer_.expires_at(std::min(last_ping_ + opts_.ping_interval,
                                  last_inbound_ + opts_.idle_timeout));
  ping_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    self->on_ping_timer(ec);
  });
}

void websocket_session::on_ping_timer(beast::error_code ec) {
  if (ec || closing_ || finished_)
    return;
  auto idle = std::chrono::steady_clock::now() - last_inbound_;
  if (idle >= opts_.idle_timeout) {
    close(websocket::close_code::going_away, "idle timeout");
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (now - last_ping_ >= opts_.ping_interval) {
    last_ping_ = now; // skipped while the previous ping is still queued
    if (!pinging_) {
      pinging_ = true;
      ws_.async_ping({}, [self = shared_from_this()](beast::error_code ec) {
        self->pinging_ = false;
        if (ec)
          self->finish(ec.message());
      });
    }
  }
  do_ping_timer();
}

void websocket_session::finish(std::string_view reason) {
  if (finished_)
    return;
  finished_ = true;
  closing_ = true;
  ping_timer_.cancel();
  drop_queued();
  registry_.remove(this);
  if (open_)
    handler_->on_close(*this, reason);
  beast::error_code ec;
  beast::get_lowest_layer(ws_).socket().close(ec);
}

} // namespace al
