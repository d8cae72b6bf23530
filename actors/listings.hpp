#pragma once

// Listings (SPEC §7 "Listings"): the office's properties. CRUD with soft
// delete (a deleted listing stays on the calls and messages that mentioned
// it), filters and Hebrew free-text search (pg_trgm), CSV import (one
// transaction, one bulk upsert) and export for listings and leads, lead
// matching both ways, and the AI's search_listings. Functions run inside a
// store job; replies are crm_reply like actors/crm_queries.hpp.

#include "actors/crm_queries.hpp"
#include "actors/store.hpp"
#include "core/crm_input.hpp"
#include "core/listing_input.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace al {

/// 201 with the listing (and how many leads it fits); 409 when its
/// external_ref or tracking_number is taken.
crm_reply create_listing(db_tx& tx, std::int64_t business,
                         const listing_input& in);

crm_reply get_listing(db_tx& tx, std::int64_t business, std::int64_t id);

crm_reply patch_listing(db_tx& tx, std::int64_t business, std::int64_t id,
                        const listing_input& in);

/// Soft delete: gone from lists and searches, kept for mentions.
crm_reply delete_listing(db_tx& tx, std::int64_t business, std::int64_t id);

crm_reply list_listings(db_tx& tx, std::int64_t business,
                        const listing_filter& f);

/// The listings that `f` selects (every page), as CSV with a BOM.
std::string listings_csv(db_tx& tx, std::int64_t business,
                         const listing_filter& f);

/// The business's leads as CSV with a BOM (newest first).
std::string leads_csv(db_tx& tx, std::int64_t business);

/// POST /api/crm/listings/import: valid rows upserted by external_ref in
/// one statement; invalid rows reported by line. 400 for a malformed file.
/// `dry_run`: validate only.
crm_reply import_listings(db_tx& tx, std::int64_t business,
                          std::string_view csv, bool dry_run);

/// POST /api/crm/leads/import: upsert by phone (given fields only).
crm_reply import_leads(db_tx& tx, std::int64_t business, std::string_view csv,
                       bool dry_run);

/// Available listings that fit lead `lead` (deal, city, rooms range, budget
/// with a tolerance), best first; 404 for an unknown lead.
crm_reply lead_matches(db_tx& tx, std::int64_t business, std::int64_t lead);

/// What the AI asks for (search_listings); unset fields come from the
/// caller's lead when known.
struct listing_query {
  std::optional<std::string> deal, city, neighborhood;
  std::optional<double> rooms_min, rooms_max;
  std::optional<std::int64_t> price_max;
};

/// At most 5 available listings, compact, for the model:
/// {"ok":true,"count":N,"listings":[{...}]}. Records them as mentioned on
/// `call_sid` when it is not empty.
std::string search_listings_for_ai(db_tx& tx, std::int64_t business,
                                   listing_query q, std::int64_t lead,
                                   const std::string& call_sid);

/// The listing whose tracking number is `to` (E.164), compact, for the
/// AI's instructions; "" when none.
std::string tracked_listing_text(db_tx& tx, std::int64_t business,
                                 const std::string& to);

} // namespace al
