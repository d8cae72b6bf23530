#pragma once

// Use cases of a business's follow-up tasks (/api/crm/tasks). Input is
// parsed and authorised by transport (core/crm_input.hpp); each use case
// runs one actors/crm_queries.hpp function in one transaction and answers
// once through `done`.

#include "actors/domain.hpp"
#include "core/crm_input.hpp"

#include <cstdint>

namespace al::domain::tasks {

/// {"items":[...],"page","per_page","total"} of the tasks `f` selects.
void list(const store& db, scope s, task_filter f, reply_fn done);

/// 201 with the task.
void create(const store& db, scope s, task_input in, reply_fn done);

/// Applies a patch to task `id` (404 when there is none).
void update(const store& db, scope s, std::int64_t id, task_input in,
            reply_fn done);

} // namespace al::domain::tasks
