#pragma once

// One 20 ms timer per io thread that drives every media session of that
// thread which has audio queued (instead of one timer per call: timers and
// thread hand-offs dominate the media path's CPU, see PERFORMANCE.md).

#include "transport/net.hpp"

#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <vector>

namespace al {

class websocket_session;

class media_pacer {
public:
  static constexpr std::chrono::milliseconds period{20};

  /// The pacer of the calling io thread (created on first use).
  static media_pacer& local(const net::any_io_executor& ex);

  explicit media_pacer(const net::any_io_executor& ex);

  /// Drives `ws` (a media session) until its queue is empty.
  void add(const std::shared_ptr<websocket_session>& ws);

  std::size_t active() const noexcept {
    return sessions_.size();
  }

private:
  void arm();
  void on_tick(beast::error_code ec);

  net::steady_timer timer_;
  std::vector<std::weak_ptr<websocket_session>> sessions_;
  bool armed_ = false;
};

} // namespace al
