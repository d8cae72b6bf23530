#pragma once

// Businesses in the database: the public view (secrets only as "is set"),
// saving a validated create/patch body, and phone-number claims. Used by
// /api/admin/businesses and /api/crm/business. Pure DB functions.

#include "actors/store.hpp"
#include "core/business_input.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace al {

struct audit_who;

/// True when business `id` exists.
bool business_exists(db_tx& tx, std::int64_t id);

/// The public view of business `id` (empty object when there is none):
/// secrets are never returned, only whether they are set.
boost::json::object business_view(db_tx& tx, std::int64_t id);

/// Stores (or with nullopt removes) the business's uploaded greeting, 8 kHz
/// mu-law; false for an unknown business. `changed`: whether a recording
/// was stored or removed.
bool set_greeting_audio(db_tx& tx, std::int64_t id,
                        const std::optional<std::string>& mulaw,
                        bool* changed = nullptr);

/// Applies `in` to business `id`; fields not given keep their value.
/// Replaces the phone numbers when given (check claimed_elsewhere first).
/// Secrets are sealed with the process's key (core/secret_box.hpp).
void save_business(db_tx& tx, std::int64_t id, const business_input& in);

/// save_business plus its audit row (`action`: "business.create",
/// "business.update", "settings.update"): the view's fields that changed,
/// and which secrets were given (never their values).
void save_business_audited(db_tx& tx, std::int64_t id, const business_input& in,
                           const audit_who& who, const std::string& action);

/// The numbers in `in` already claimed by a business other than `id`
/// (locks the rows it finds).
std::vector<std::string> claimed_elsewhere(db_tx& tx, std::int64_t id,
                                           const business_input& in);

/// A new, empty business; returns its id (save_business fills it in).
std::int64_t create_business(db_tx& tx);

/// Every business id, in order.
std::vector<std::int64_t> business_ids(db_tx& tx);

/// Locks business `id` for an update; false when it does not exist.
bool lock_business(db_tx& tx, std::int64_t id);

// -- API tokens (stored as hashes only) ---------------------------------------

/// A new token of `business` with `role`; returns its id.
std::int64_t insert_api_token(db_tx& tx, std::int64_t business,
                              const std::string& role, const std::string& name,
                              const std::string& token_hash);

/// Revokes token `id`; its business, or nullopt when there is no such live
/// token.
std::optional<std::int64_t> revoke_api_token(db_tx& tx, std::int64_t id);

struct api_token_row {
  std::int64_t id = 0;
  std::int64_t business_id = 0;
  std::string role;
};

/// The live token with this hash, if any.
std::optional<api_token_row> find_api_token(db_tx& tx,
                                            const std::string& token_hash);

} // namespace al
