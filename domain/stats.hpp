#pragma once

// The owner's overview (GET /api/crm/stats) as a use case: the range is
// parsed by transport (core/stats_input.hpp); actors/stats.cpp computes
// every number in one transaction.

#include "actors/domain.hpp"
#include "core/stats_input.hpp"

namespace al::domain::stats {

/// {"from","to","calls":{...},"leads":{...},"appointments":{...},
/// "payments":{...},"speed_to_lead":null} for `range` (docs/api.md).
void overview(const store& db, scope s, stats_range range, reply_fn done);

} // namespace al::domain::stats
