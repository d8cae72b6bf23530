#pragma once

// Use cases of the administrator (/api/admin/*, ADMIN_TOKEN only):
// businesses and API tokens. Input is parsed and authorised by transport;
// each use case runs in one transaction (actors/businesses.hpp) and answers
// once through `done`.

#include "actors/domain.hpp"
#include "core/business_input.hpp"

#include <cstdint>
#include <string>

namespace al::domain::admin {

/// 201 with the new business's view; 409 "Phone number already claimed:
/// <number>". Audited as "business.create".
void create_business(const store& db, audit_who who, business_input in,
                     reply_fn done);

/// {"items":[views],"page":1,"per_page":N,"total":N}: every business.
void list_businesses(const store& db, reply_fn done);

/// The business's view (its row locked as for an update); 404 "No such
/// business".
void get_business(const store& db, std::int64_t id, reply_fn done);

/// The given fields of business `id` changed, then its view; 404 "No such
/// business", 409 "Phone number already claimed: <number>". Audited as
/// "business.update".
void update_business(const store& db, audit_who who, std::int64_t id,
                     business_input in, reply_fn done);

/// 201 {"id","token","business_id","role"}: a new API token of `business`
/// for `role` (its value shown this once, stored as a hash); 404 "No such
/// business". Audited as "token.create".
void create_token(const store& db, audit_who who, std::int64_t business,
                  std::string role, std::string name, reply_fn done);

/// {"success":true}; 404 "No such token" for no live token `id`. Audited as
/// "token.revoke".
void revoke_token(const store& db, audit_who who, std::int64_t id,
                  reply_fn done);

} // namespace al::domain::admin
