#pragma once

// Use cases of lead intake (POST /api/leads/intake, SPEC §7 "Follow-up
// calls") and the business's intake key (/api/crm/settings/intake-key).
// Input is parsed and authorised by transport (the per-address rate limit
// of keyed intakes included); each use case runs in one transaction
// (actors/lead_intake.hpp) and answers once through `done`.

#include "actors/domain.hpp"
#include "core/intake_input.hpp"

#include <string>

namespace al::domain::intake {

/// An intake for the scope's business: 201 {"lead_id":N} for a new lead
/// (which joins speed-to-lead when the business calls new leads), 200
/// {"lead_id":N,"duplicate":true} when a lead with the phone existed.
void submit(const store& db, scope s, intake_input in, reply_fn done);

/// submit for the business whose intake key is `key`; 401 "Invalid intake
/// key" when none.
void submit_by_key(const store& db, std::string key, intake_input in,
                   reply_fn done);

/// {"intake_key": the key, or null when the business has none}.
void show_key(const store& db, scope s, reply_fn done);

/// 201 {"intake_key"}: a new random key (32 URL-safe characters); a page
/// with the old one stops working. Audited as "intake_key.rotate".
void rotate_key(const store& db, scope s, audit_who who, reply_fn done);

} // namespace al::domain::intake
