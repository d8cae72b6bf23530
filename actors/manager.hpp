#pragma once

// spawn_manager: a domain manager (actors/supervisor.hpp's manager_actor)
// built at start-up with the recipe that turns its spawn requests (values)
// into children. Include only where a manager is spawned (app/, the
// domain's own .cpp, tests): it pulls in CAF's actor implementation.

#include "actors/supervisor.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <functional>
#include <utility>

namespace al {

/// Builds a child's recipe from a spawn request.
template <class Request>
using child_recipe = std::function<child_spec(Request&)>;

namespace detail {

template <class Request>
typename manager_actor<Request>::behavior_type manager_behavior(
  typename manager_actor<Request>::template stateful_pointer<supervisor_core>
    self,
  supervision_stats* stats, metrics* m, supervisor_options opts,
  child_recipe<Request> recipe) {
  self->state.init(self, stats, m, opts);
  return {
    [self, recipe](spawn_atom, Request& r, caf::message& then) -> caf::actor {
      return self->state.find_or_start(recipe(r), std::move(then));
    },
    [self, recipe](spawn_atom, Request& r) -> caf::actor {
      return self->state.find_or_start(recipe(r), caf::message{});
    },
    [self](lookup_atom, const std::string& key) -> caf::actor {
      return self->state.lookup(key);
    },
    [self](stop_atom, const std::string& key) { self->state.stop(key); },
  };
}

} // namespace detail

/// Spawns a manager for `Request`s; `recipe` runs in the manager for each
/// spawn request (and must not block). Its restart window is measured on
/// the actor clock.
template <class Request>
manager_actor<Request>
spawn_manager(caf::actor_system& sys, supervision_stats& stats, metrics* m,
              child_recipe<Request> recipe, supervisor_options opts = {}) {
  return sys.spawn(detail::manager_behavior<Request>, &stats, m, opts,
                   std::move(recipe));
}

} // namespace al
