#pragma once

// Registers every type-ID block of the service (actors/type_ids.hpp) with a
// CAF configuration: the application's and each actor test's.

#include <caf/fwd.hpp>

namespace al {

void add_message_types(caf::actor_system_config& cfg);

} // namespace al
