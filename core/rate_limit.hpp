#pragma once

// A token bucket: at most `capacity` events at once, refilled continuously
// at `capacity` per `period`. The caller passes the time, so it is a pure
// value type (tests drive the clock; actors pass steady_clock::now()).

#include <algorithm>
#include <chrono>

namespace al {

class token_bucket {
public:
  using clock = std::chrono::steady_clock;

  token_bucket(double capacity, std::chrono::milliseconds period)
    : capacity_(capacity > 0 ? capacity : 1)
    , per_ms_(capacity_
              / static_cast<double>(std::max<long long>(1, period.count())))
    , tokens_(capacity_) {}

  /// Takes one token if there is one at `now`.
  bool try_take(clock::time_point now) {
    refill(now);
    if (tokens_ < 1.0)
      return false;
    tokens_ -= 1.0;
    return true;
  }

  /// Tokens available at `now` (for tests and metrics).
  double available(clock::time_point now) {
    refill(now);
    return tokens_;
  }

private:
  void refill(clock::time_point now) {
    if (!started_) {
      started_ = true;
      last_ = now;
      return;
    }
    if (now <= last_)
      return;
    auto ms = std::chrono::duration<double, std::milli>(now - last_).count();
    tokens_ = std::min(capacity_, tokens_ + ms * per_ms_);
    last_ = now;
  }

  double capacity_;
  double per_ms_;
  double tokens_;
  bool started_ = false;
  clock::time_point last_{};
};

} // namespace al
