#pragma once

// Use cases of the dashboard's live events (/api/crm/events): whether a
// principal may still open a stream. Input is parsed and authorised by
// transport; the check runs in one transaction and answers once through
// `done`, from a store thread.

#include "actors/domain.hpp"
#include "actors/store.hpp"

#include <cstdint>
#include <functional>

namespace al::domain::events {

/// ok when the stream of `business` may open: an API token (`token_id`) is
/// not revoked and is of that business (else unauthorized "Invalid
/// token": a ticket outlives nothing), the administrator's business exists
/// (else not_found "No such business").
void streamable(const store& db, std::int64_t business, std::int64_t token_id,
                bool admin, std::function<void(domain_status)> done);

} // namespace al::domain::events
