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

media_pacer::media_pacer(const net::any_io_executor& ex) : timer_(ex) {
}

void media_pacer::add(const std::shared_ptr<websocket_session>& ws) {
  sessions_.push_back(ws);
  if (!armed_) {
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
  auto now = std::chrono::steady_clock::now();
  std::size_t keep = 0;
  for (std::size_t i = 0; i < sessions_.size(); ++i) {
    auto ws = sessions_[i].lock();
    if (!ws || !ws->open())
      continue;
    auto& media = static_cast<media_session&>(ws->handler());
    if (media.tick(*ws, now))
      sessions_[keep++] = sessions_[i];
  }
  sessions_.resize(keep);
  if (sessions_.empty())
    return;
  auto next = timer_.expiry() + period;
  if (next < now) // we fell behind a whole period: resynchronise
    next = now + period;
  timer_.expires_at(next);
  arm();
}

} // namespace al
