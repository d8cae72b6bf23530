#pragma once

// Use cases of follow-up call campaigns (/api/crm/campaigns, SPEC §7
// "Follow-up calls"). Input is parsed and authorised by transport; each use
// case runs in one transaction (actors/campaign_store.hpp) and answers once
// through `done`. The dialing itself is actors/campaign.hpp's.

#include "actors/domain.hpp"
#include "core/campaign_input.hpp"
#include "core/crm_input.hpp"

#include <cstdint>

namespace al::domain::campaigns {

/// {"items":[...],"page","per_page","total"}, newest first.
void list(const store& db, scope s, page_params pg, reply_fn done);

/// 201 {"id":N} with the matching leads materialised; audited as
/// "campaign.create".
void create(const store& db, scope s, audit_who who, campaign_input in,
            reply_fn done);

/// The campaign with its totals and one page of its leads; 404 for another
/// business's campaign.
void get(const store& db, scope s, std::int64_t id, page_params pg,
         reply_fn done);

/// {"id","state"}: to running (start) or paused (pause); 409 when the
/// change is not allowed, 404 for another business's campaign. Audited as
/// "campaign.start" / "campaign.pause".
void start(const store& db, scope s, audit_who who, std::int64_t id,
           reply_fn done);
void pause(const store& db, scope s, audit_who who, std::int64_t id,
           reply_fn done);

} // namespace al::domain::campaigns
