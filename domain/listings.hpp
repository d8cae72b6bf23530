#pragma once

// Use cases of the office's listings (/api/crm/listings*, SPEC §7
// "Listings"), the leads CSV export and import, and the listings that fit a
// lead. Input is parsed and authorised by transport; each use case runs in
// one transaction (actors/listings.hpp) and answers once through `done`.

#include "actors/domain.hpp"
#include "core/listing_input.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace al::domain::listings {

/// One page of the business's listings that `f` selects.
void list(const store& db, scope s, listing_filter f, reply_fn done);

/// 201 with the listing; 409 when its external_ref or tracking_number is
/// taken.
void create(const store& db, scope s, listing_input in, reply_fn done);

/// The listing, or 404.
void get(const store& db, scope s, std::int64_t id, reply_fn done);

/// The given fields of listing `id` changed; 404 for an unknown listing.
void patch(const store& db, scope s, std::int64_t id, listing_input in,
           reply_fn done);

/// Soft delete; audited as "listing.delete".
void remove(const store& db, scope s, audit_who who, std::int64_t id,
            reply_fn done);

/// The listings that fit lead `lead`, best first; 404 for an unknown lead.
void matches(const store& db, scope s, std::int64_t lead, reply_fn done);

/// A CSV export: the file (with a BOM), or why there is none.
struct export_result {
  domain_status status;
  std::string csv;
};
using export_fn = std::function<void(export_result)>;

/// Every listing of `business` that `f` selects, as CSV.
void export_listings(const store& db, std::int64_t business, listing_filter f,
                     export_fn done);

/// The leads of `business` as CSV, newest first.
void export_leads(const store& db, std::int64_t business, export_fn done);

/// A CSV import: {"created","updated","errors",...}; `dry_run` validates
/// only and changes nothing, else the import is audited as `listings.import`
/// or `leads.import` (with its counts). 400 for a malformed file.
void import_listings(const store& db, scope s, audit_who who, std::string csv,
                     bool dry_run, reply_fn done);
void import_leads(const store& db, scope s, audit_who who, std::string csv,
                  bool dry_run, reply_fn done);

} // namespace al::domain::listings
