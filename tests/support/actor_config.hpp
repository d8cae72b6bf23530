#pragma once

// The CAF configuration of the actor tests (test_coordinator_fixture): every
// type-ID block of the service registered, as the application does.

#include "actors/message_types.hpp"

#include <caf/actor_system_config.hpp>

namespace al::test {

struct actor_config : caf::actor_system_config {
  actor_config() {
    al::add_message_types(*this);
  }
};

} // namespace al::test
