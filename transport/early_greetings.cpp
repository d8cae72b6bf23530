#include "transport/early_greetings.hpp"

namespace al {

void early_greetings::put(const std::string& call_sid, voice_ptr voice,
                          clock::time_point now) {
  if (!voice)
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  expire(now);
  if (by_sid_.size() >= max_entries_)
    return; // full of streams that never came: greeted by the actor
  by_sid_[call_sid] = entry{std::move(voice), now};
  order_.emplace_back(now, call_sid);
}

early_greetings::voice_ptr early_greetings::take(const std::string& call_sid) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = by_sid_.find(call_sid);
  if (i == by_sid_.end())
    return nullptr;
  auto voice = std::move(i->second.voice);
  by_sid_.erase(i);
  return voice;
}

std::size_t early_greetings::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return by_sid_.size();
}

// The queue holds every put in time order; an entry already taken (or
// replaced by a later put of the same sid) is skipped.
void early_greetings::expire(clock::time_point now) {
  while (!order_.empty() && now - order_.front().first > ttl_) {
    auto& [at, sid] = order_.front();
    if (auto i = by_sid_.find(sid); i != by_sid_.end() && i->second.at == at)
      by_sid_.erase(i);
    order_.pop_front();
  }
  // Taken entries leave their slot in the queue behind: when those
  // outnumber the live ones, the queue is rebuilt from the live ones
  // (amortised O(1) per put).
  if (order_.size() > 2 * by_sid_.size() + 64) {
    std::deque<std::pair<clock::time_point, std::string>> live;
    for (auto& [at, sid] : order_)
      if (auto i = by_sid_.find(sid); i != by_sid_.end() && i->second.at == at)
        live.emplace_back(at, std::move(sid));
    order_.swap(live);
  }
}

} // namespace al
