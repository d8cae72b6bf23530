#pragma once

// A domain manager (call_manager, whatsapp_manager, payment_manager): spawns
// keyed children, monitors them, and restarts a child that died abnormally
// from its factory (which rebuilds it from its checkpoint). More than
// `max_restarts` within `window` ends that child for good and runs its
// `on_give_up` (e.g. the caller hears the fallback). A normal exit simply
// removes the child.

#include "actors/type_ids.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>

namespace al {

struct metrics;

/// What an operator sees per domain (/api/admin/supervisors, /metrics).
struct supervision_stats {
  explicit supervision_stats(std::string d)
    : domain(std::move(d)) {}

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

/// A manager's protocol, checked by the compiler:
///   (spawn_atom, child_spec) -> caf::actor   start (or find) a child
///   (spawn_atom, child_spec, caf::message) -> caf::actor   the same, then
///                                   delivers the message to the child
///   (lookup_atom, std::string key) -> caf::actor  (invalid when none)
///   (stop_atom, std::string key)   stop a child normally
/// Children are of any type (each domain's own typed handle, actor_cast
/// to caf::actor by its spec's factory).
using supervisor_actor = caf::typed_actor<
  caf::replies_to<spawn_atom, child_spec, caf::message>::with<caf::actor>,
  caf::replies_to<spawn_atom, child_spec>::with<caf::actor>,
  caf::replies_to<lookup_atom, std::string>::with<caf::actor>,
  caf::reacts_to<stop_atom, std::string>>;

/// Spawns a manager. Its restart window is measured on the actor clock
/// (tests drive it with the test coordinator).
supervisor_actor spawn_supervisor(caf::actor_system& sys,
                                  supervision_stats& stats, metrics* m,
                                  supervisor_options opts = {});

/// Synchronously spawns a child through `manager` from a non-actor thread
/// (tests and start-up only; never from an io thread's hot path).
caf::actor supervise_blocking(caf::actor_system& sys,
                              const supervisor_actor& manager, child_spec spec);

} // namespace al

#include <caf/allowed_unsafe_message_type.hpp>
// A child's recipe: the factories the manager runs to (re)build it and the
// give-up and restart callbacks. Functions of this process, never
// serialisable; it reaches only the manager, never a domain actor.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(al::child_spec)
