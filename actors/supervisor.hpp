#pragma once

// A domain manager (call_manager, whatsapp_manager, payment_manager): spawns
// keyed children, monitors them, and restarts a child that died abnormally
// from its factory (which rebuilds it from its checkpoint). More than
// `max_restarts` within `window` ends that child for good and runs its
// `on_give_up` (e.g. the caller hears the fallback). A normal exit simply
// removes the child.

#include "actors/type_ids.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_clock.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

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

/// A manager's protocol, one per domain, checked by the compiler:
///   (spawn_atom, Request) -> caf::actor   start (or find) the child that
///                                         serves Request
///   (spawn_atom, Request, caf::message) -> caf::actor   the same, then
///                                   delivers the message to the child
///   (lookup_atom, std::string key) -> caf::actor  (invalid when none)
///   (stop_atom, std::string key)   stop a child normally
/// A Request is a value (a call's checkpoint, a payment to create, a
/// WhatsApp conversation's number): the manager turns it into its child's
/// recipe with the function it was built with at start-up (spawn_manager in
/// actors/manager.hpp), so no closure travels on the request path.
/// Children are of any type (each domain's own typed handle, actor_cast to
/// caf::actor by the recipe's factory).
template <class Request>
using manager_actor = caf::typed_actor<
  typename caf::replies_to<spawn_atom, Request,
                           caf::message>::template with<caf::actor>,
  typename caf::replies_to<spawn_atom, Request>::template with<caf::actor>,
  caf::replies_to<lookup_atom, std::string>::with<caf::actor>,
  caf::reacts_to<stop_atom, std::string>>;

/// The background job manager (after-call, campaigns, audio, webhook
/// delivery, media fetcher): its singletons are started once at start-up,
/// each with its own recipe (a child_spec message; never on a request path).
using supervisor_actor = manager_actor<child_spec>;

/// The restart logic every manager shares (the per-domain glue is
/// spawn_manager in actors/manager.hpp). It is the manager's state: `init`
/// installs its down and exit handlers on the manager.
class supervisor_core {
public:
  void init(caf::scheduled_actor* self, supervision_stats* stats, metrics* m,
            supervisor_options opts);
  /// The child under spec.key, started from `spec` when there is none;
  /// then `then` (when not empty) goes to it with the manager as sender.
  /// Invalid when the factory failed.
  caf::actor find_or_start(child_spec spec, caf::message then);
  caf::actor lookup(const std::string& key) const;
  /// Stops the child under `key` normally (no restart).
  void stop(const std::string& key);

private:
  struct child {
    child_spec spec;
    caf::actor handle;
    std::deque<caf::actor_clock::time_point> restarts;
  };
  bool start_child(child& c);
  void give_up(const std::string& key);
  void on_down(caf::down_msg& dm);
  void on_exit(caf::exit_msg& msg);

  caf::scheduled_actor* self_ = nullptr;
  supervision_stats* stats_ = nullptr;
  metrics* m_ = nullptr;
  supervisor_options opts_;
  std::unordered_map<std::string, child> children_;
  std::unordered_map<caf::actor_addr, std::string> by_addr_;
};

/// Spawns the background job manager. Its restart window is measured on
/// the actor clock (tests drive it with the test coordinator).
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
// serialisable. Only the background job manager receives one as a message,
// at start-up; the domain managers build theirs from value requests.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(al::child_spec)
