#pragma once

// Sign-in failure throttle: repeated 401s (an invalid bearer token) from one
// client address, or for one token prefix (so a botnet guessing around one
// leaked prefix is caught too), first slow down and then get 429 with
// Retry-After. Pure: the caller passes the time, so tests drive the clock.
//
// Counts live in this process only (per instance, not shared between
// replicas): N instances behind a balancer give an attacker N times the
// budget. Thread-safe; every call is a hash lookup under one short lock.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace al {

struct throttle_policy {
  /// Failures inside `window` answered without delay.
  int free_failures = 5;
  /// The failure inside `window` that blocks the key; <= 0 disables.
  int block_after = 20;
  /// A key's count starts over once `window` has passed since its first
  /// failure (a fixed window from the first failure, not a sliding log).
  std::chrono::seconds window{60};
  /// How long a blocked key answers 429; afterwards it recovers fully.
  std::chrono::seconds block_for{300};
  /// Added per failure beyond `free_failures`, up to `max_delay`.
  std::chrono::milliseconds delay_step{250};
  std::chrono::milliseconds max_delay{3000};
  /// Characters of the presented token that form its prefix key.
  std::size_t prefix_chars = 8;
  /// Keys held at most (addresses and prefixes together): the memory bound.
  std::size_t max_keys = 100000;

  bool enabled() const noexcept {
    return block_after > 0;
  }
};

/// Counts invalid-token failures per client address and per token prefix.
///
/// Expected use around a bearer check:
///   1. check(address, token, now): blocked -> 429 with Retry-After, and
///      the token is not checked at all.
///   2. token invalid: failure(address, token, now): blocked -> 429, else
///      hold the 401 for `delay` (a timer, never a sleeping thread).
///   3. token valid: success(address, now).
/// An empty address or token is never counted (no key shared by everyone).
/// When `max_keys` is reached, expired keys go first, then those closest
/// to expiring (the oldest windows; blocked keys are kept longest).
class auth_throttle {
public:
  using clock = std::chrono::steady_clock;

  struct verdict {
    /// Answer 429.
    bool blocked = false;
    /// For Retry-After when blocked (>= 1 s), else zero.
    std::chrono::seconds retry_after{0};
    /// Hold the 401 this long first (zero when blocked).
    std::chrono::milliseconds delay{0};
  };

  explicit auth_throttle(throttle_policy p = {});
  ~auth_throttle();

  auth_throttle(const auth_throttle&) = delete;
  auth_throttle& operator=(const auth_throttle&) = delete;

  /// Before credentials are checked: is the address or the token prefix
  /// blocked? Never counts and never delays; forgets keys found expired.
  verdict check(std::string_view address, std::string_view token,
                clock::time_point now);

  /// A presented token was invalid: counts it for the address and for the
  /// token prefix. Returns the delay for this 401, or blocked when this
  /// failure reached `block_after` (or the key was already blocked).
  verdict failure(std::string_view address, std::string_view token,
                  clock::time_point now);

  /// A valid token from `address`: its failure count starts over (the
  /// prefix count stays). An active block is not lifted.
  void success(std::string_view address, clock::time_point now);

  /// Keys held now (for tests and a gauge).
  std::size_t tracked() const;

  /// 429s decided so far by check() and failure() (for a counter).
  std::uint64_t blocked_total() const noexcept;

  /// The policy in force, after clamping nonsensical values.
  const throttle_policy& policy() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace al
