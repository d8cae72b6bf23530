#pragma once

// Live connections of one io_context, so that shutdown can reach them.
// Sessions add themselves on their io_context's thread, but a session is
// removed by its destructor, which runs wherever its last reference dies --
// e.g. on an actor's thread that held the request's responder (found by
// ThreadSanitizer). Hence the mutex; it is taken once per connection, never
// per frame.

#include <cstddef>
#include <memory>
#include <mutex>
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
    std::lock_guard<std::mutex> lock{mtx_};
    sessions_[s.get()] = s;
  }

  void remove(const drainable* s) {
    std::lock_guard<std::mutex> lock{mtx_};
    sessions_.erase(s);
  }

  /// Asks every live session to finish (call on the io_context's thread:
  /// drain() touches the session's socket).
  void drain_all() {
    std::unordered_map<const drainable*, std::weak_ptr<drainable>> copy;
    {
      std::lock_guard<std::mutex> lock{mtx_};
      copy = sessions_;
    }
    for (auto& [ptr, weak] : copy)
      if (auto s = weak.lock())
        s->drain();
  }

  std::size_t size() const {
    std::lock_guard<std::mutex> lock{mtx_};
    return sessions_.size();
  }

private:
  mutable std::mutex mtx_;
  std::unordered_map<const drainable*, std::weak_ptr<drainable>> sessions_;
};

} // namespace al
