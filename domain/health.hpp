#pragma once

// The readiness check behind GET /readyz: whether the database answers a
// ping now.

#include "actors/domain.hpp"

#include <functional>

namespace al::domain::health {

/// ok when a trivial statement ran; else unavailable, with
/// "database: <the store's error>" as the message.
void ready(const store& db, std::function<void(domain_status)> done);

} // namespace al::domain::health
