#pragma once

// Use cases of a business's pipeline (/api/crm/pipeline): the lead
// statuses in order. Input is parsed and authorised by transport
// (core/crm_input.hpp); each use case runs in one transaction and answers
// once through `done`.

#include "actors/domain.hpp"
#include "core/crm_input.hpp"

#include <vector>

namespace al::domain::pipeline {

/// The business's statuses in order (the defaults until the owner saves
/// its own).
void get(const store& db, scope s, reply_fn done);

/// Replaces the pipeline; 409 when a removed status is still used by
/// leads. Audited as "pipeline.update" with the new statuses' keys.
void put(const store& db, scope s, audit_who who,
         std::vector<pipeline_status> statuses, reply_fn done);

} // namespace al::domain::pipeline
