#pragma once

// A domain manager (call_manager, whatsapp_manager, payment_manager): spawns
// keyed children, monitors them, and restarts a child that died abnormally
// from its factory (which rebuilds it from its checkpoint). More than
// `max_restarts` within `window` ends that child for good and runs its
// `on_give_up` (e.g. the caller hears the fallback). A normal exit simply
// removes the child.

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>

namespace al {

struct metrics;

/// What an operator sees per domain (/api/admin/supervisors, /metrics).
struct supervision_stats {
  explicit supervision_stats(std::string d) : domain(std::move(d)) {
  }

  const std::string domain;
  std::atomic<long> live{0};
  std::atomic<long> spawned{0};
  std::atomic<long> restarts{0};
  std::atomic<long> given_up{0};

  void set_last_failure(std::string what);
  std::string last_failure() const;
  std::string last_failure_at() const;

private:
  mutable std::mutex mtx_;
  std::string last_failure_;
  std::string last_failure_at_;
};

/// How to (re)build one child.
struct child_spec {
  std::string key;
  /// Spawns the child; called again on each restart (same spec object).
  std::function<caf::actor(caf::actor_system&)> spawn;
  /// Called once when the child is abandoned after too many restarts.
  std::function<void()> on_give_up;
  /// Called after each restart with the new handle.
  std::function<void(const caf::actor&)> on_restart;
};

struct supervisor_options {
  int max_restarts = 5;
  std::chrono::milliseconds window{10000};
};

/// Spawns a manager. Messages it understands:
///   (spawn_atom, child_spec)  -> caf::actor   start (or find) a child
///   (spawn_atom, child_spec, caf::message) -> caf::actor   the same, then
///                                   delivers the message to the child
///   (lookup_atom, std::string key) -> caf::actor  (invalid when none)
///   (stop_atom, std::string key)   stop a child normally
caf::actor spawn_supervisor(caf::actor_system& sys, supervision_stats& stats,
                            metrics* m, supervisor_options opts = {});

/// Synchronously spawns a child through `manager` from a non-actor thread
/// (tests and start-up only; never from an io thread's hot path).
caf::actor supervise_blocking(caf::actor_system& sys, const caf::actor& manager,
                              child_spec spec);

} // namespace al

#include <caf/allowed_unsafe_message_type.hpp>
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(al::child_spec)
