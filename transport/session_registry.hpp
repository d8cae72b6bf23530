#pragma once

// Live connections of one io_context, so that shutdown can reach them. Only
// used from that io_context's thread: no locking.

#include <cstddef>
#include <memory>
#include <unordered_map>

namespace al {

/// A connection that can be asked to finish (HTTP: close when idle;
/// WebSocket: close with 1001 "going away").
class drainable {
public:
  virtual ~drainable() = default;
  virtual void drain() = 0;
};

class session_registry {
public:
  void add(const std::shared_ptr<drainable>& s) {
    sessions_[s.get()] = s;
  }

  void remove(const drainable* s) {
    sessions_.erase(s);
  }

  /// Asks every live session to finish.
  void drain_all() {
    auto copy = sessions_;
    for (auto& [ptr, weak] : copy)
      if (auto s = weak.lock())
        s->drain();
  }

  std::size_t size() const noexcept {
    return sessions_.size();
  }

private:
  std::unordered_map<const drainable*, std::weak_ptr<drainable>> sessions_;
};

} // namespace al
