#pragma once

// Use cases of a business's appointments (/api/crm/appointments). Input is
// parsed and authorised by transport (core/crm_input.hpp); each use case
// runs one actors/crm_queries.hpp function in one transaction and answers
// once through `done`.

#include "actors/domain.hpp"
#include "core/crm_input.hpp"

#include <cstdint>

namespace al::domain::appointments {

/// {"items":[...],"page","per_page","total"} of the appointments `f`
/// selects.
void list(const store& db, scope s, appointment_filter f, reply_fn done);

/// 201 with the appointment.
void create(const store& db, scope s, appointment_input in, reply_fn done);

/// Applies a patch to appointment `id` (404 when there is none).
void update(const store& db, scope s, std::int64_t id, appointment_input in,
            reply_fn done);

} // namespace al::domain::appointments
