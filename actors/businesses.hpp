#pragma once

// Businesses in the database: the public view (secrets only as "is set"),
// saving a validated create/patch body, and phone-number claims. Used by
// /api/admin/businesses and /api/crm/business. Pure DB functions.

#include "actors/store.hpp"
#include "core/business_input.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace al {

/// True when business `id` exists.
bool business_exists(db_tx& tx, std::int64_t id);

/// The public view of business `id` (empty object when there is none):
/// secrets are never returned, only whether they are set.
boost::json::object business_view(db_tx& tx, std::int64_t id);

/// Applies `in` to business `id`; fields not given keep their value.
/// Replaces the phone numbers when given (check claimed_elsewhere first).
void save_business(db_tx& tx, std::int64_t id, const business_input& in);

/// The numbers in `in` already claimed by a business other than `id`
/// (locks the rows it finds).
std::vector<std::string> claimed_elsewhere(db_tx& tx, std::int64_t id,
                                           const business_input& in);

} // namespace al
