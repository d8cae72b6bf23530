#include "transport/media_pacer.hpp"

#include "transport/media_session.hpp"
#include "transport/websocket_session.hpp"

namespace al {

media_pacer& media_pacer::local(const net::any_io_executor& ex) {
  thread_local std::unique_ptr<media_pacer> instance;
  if (!instance)
    instance = std::make_unique<media_pacer>(ex);
  return *instance;
}

media_pacer::media_pacer(const net::any_io_executor& ex)
  : timer_(ex) {}

void media_pacer::add(const std::shared_ptr<websocket_session>& ws) {
  sessions_.push_back(ws);
  if (!armed_ && !in_pass_) {
    timer_.expires_after(period);
    arm();
  }
}

// Wait for the next 20 ms boundary (absolute deadlines: no drift).
void media_pacer::arm() {
  armed_ = true;
  timer_.async_wait([this](beast::error_code ec) { on_tick(ec); });
}

void media_pacer::on_tick(beast::error_code ec) {
  armed_ = false;
  if (ec)
    return;
  in_pass_ = true;
  cursor_ = 0;
  keep_ = 0;
  run_slice();
}

// One pass ticks every session, in slices; between slices, handlers
// already queued on this io thread run (a session added meanwhile is
// appended and ticked later in the same pass: what its lead did not send
// is due from its run start on, like any other session's). Each slice reads
// the clock: a pass stretched by that work must not leave the sessions
// at its end a whole period behind (a 40 ms gap the caller's buffer has to
// cover).
void media_pacer::run_slice() {
  slice_now_ = std::chrono::steady_clock::now();
  auto end = std::min(sessions_.size(), cursor_ + slice);
  for (; cursor_ < end; ++cursor_) {
    auto ws = sessions_[cursor_].lock();
    if (!ws || !ws->open())
      continue;
    auto& media = static_cast<media_session&>(ws->handler());
    if (media.tick(*ws, slice_now_))
      sessions_[keep_++] = sessions_[cursor_];
  }
  if (cursor_ < sessions_.size()) {
    net::post(timer_.get_executor(), [this] { run_slice(); });
    return;
  }
  sessions_.resize(keep_);
  in_pass_ = false;
  if (sessions_.empty())
    return;
  auto now = std::chrono::steady_clock::now();
  auto next = timer_.expiry() + period;
  if (next < now) // we fell behind a whole period: resynchronise
    next = now + period;
  timer_.expires_at(next);
  arm();
}

} // namespace al
