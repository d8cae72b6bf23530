#pragma once

// early_greetings: the greetings an incoming_call left for its stream, so
// the media socket can start playing at `start` on its own I/O thread,
// before the call actor (on a CAF thread) has even seen the stream. The
// caller's first audio then waits for nothing but the socket (issue 22:
// first media at load). The actor is told the mark of what is already
// playing and carries on from there (barge-in and marks are unchanged).
//
// Only a call answered by this instance, with its greeting in memory and
// not recorded (a recorded call starts its recorder before the greeting,
// in the actor), is left here; every other stream is greeted by its actor
// as before. An entry is taken once; entries whose stream never came are
// dropped after `ttl`.

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace al {

struct voice_pack;

class early_greetings {
public:
  using clock = std::chrono::steady_clock;
  using voice_ptr = std::shared_ptr<const voice_pack>;

  explicit early_greetings(clock::duration ttl = std::chrono::seconds(30),
                           std::size_t max_entries = 100000)
    : ttl_(ttl)
    , max_entries_(max_entries) {}

  /// Leaves `voice` (its greeting) for the stream of `call_sid`.
  void put(const std::string& call_sid, voice_ptr voice,
           clock::time_point now = clock::now());

  /// The voice left for `call_sid` (null when none), removed.
  voice_ptr take(const std::string& call_sid);

  std::size_t size() const;

private:
  struct entry {
    voice_ptr voice;
    clock::time_point at;
  };
  void expire(clock::time_point now);

  const clock::duration ttl_;
  const std::size_t max_entries_;
  mutable std::mutex mtx_;
  std::unordered_map<std::string, entry> by_sid_;
  std::deque<std::pair<clock::time_point, std::string>> order_;
};

} // namespace al
