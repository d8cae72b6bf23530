#pragma once

// Leads from web forms and portals (POST /api/leads/intake) and the
// business's intake key. Pure DB functions run inside a store job; every
// statement filters by business_id.

#include "actors/store.hpp"
#include "core/intake_input.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace al {

struct intake_result {
  std::int64_t lead_id = 0;
  bool created = false; // false: a lead with that phone existed
};

/// Finds the business's lead with `in.phone` or creates it (name, source
/// intake_lead_source(in.source), the initial status, a status history row
/// and lead.created). The intake's note (message, listing: "נכס <ref>"
/// when the business has such a listing, else "listing_ref <ref> (לא
/// נמצא)") is appended to the lead's notes and to its history (field
/// 'intake'). An existing lead keeps its source, status and name (a name
/// is set only when it has none).
intake_result intake_lead(db_tx& tx, std::int64_t business,
                          const intake_input& in);

/// A new lead joins the business's speed-to-lead campaign when its
/// auto_call_new_leads is on (actors/campaign_store.hpp), in a savepoint:
/// a failure there is logged and never loses the lead. Returns the
/// campaign id, 0 when none.
std::int64_t intake_speed_to_lead(db_tx& tx, std::int64_t business,
                                  std::int64_t lead_id,
                                  const std::string& phone);

/// The business whose intake key is `key`; nullopt for none.
std::optional<std::int64_t> business_by_intake_key(db_tx& tx,
                                                   const std::string& key);

/// The business's intake key, nullopt when it has none.
std::optional<std::string> intake_key_of(db_tx& tx, std::int64_t business);

/// Sets the business's intake key to `key` (the old one stops working).
void set_intake_key(db_tx& tx, std::int64_t business, const std::string& key);

} // namespace al
