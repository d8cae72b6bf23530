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
  /// Sessions ticked before the pass yields to the io thread's other work
  /// (a new stream's `start`, its first frames): a pass over 1000 calls is
  /// several milliseconds of writes, and a greeting posted meanwhile
  /// should not wait for all of it.
  static constexpr std::size_t slice = 64;

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
  /// Ticks the next slice of the current pass; posts itself for the rest.
  void run_slice();

  net::steady_timer timer_;
  std::vector<std::weak_ptr<websocket_session>> sessions_;
  bool armed_ = false;
  bool in_pass_ = false;
  /// "Now" for the sessions of the current slice: read again at every
  /// slice, so a session ticked late in a stretched pass still sends what
  /// is due by then instead of waiting for the next pass.
  std::chrono::steady_clock::time_point slice_now_;
  std::size_t cursor_ = 0; // next session of the pass
  std::size_t keep_ = 0;   // sessions kept so far (compacted in place)
};

} // namespace al
