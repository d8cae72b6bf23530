#pragma once

// What the CRM query files (actors/crm_*_queries.cpp, crm_queries.cpp)
// share: JSON from PostgreSQL fields, the reply helpers and the lead
// checks. Internal to those files; the API is actors/crm_queries.hpp.

#include "actors/crm_queries.hpp"
#include "actors/store.hpp"

#include <boost/json/value.hpp>

#include <cstdint>

namespace pqxx {
class field;
class result;
} // namespace pqxx

namespace al::crm_detail {

/// A float8 column, null as JSON null.
boost::json::value double_or_null(const pqxx::field& f);

/// JSON text produced by PostgreSQL (jsonb/array_to_json) as a value.
boost::json::value json_or_null(const pqxx::field& f);

/// A successful reply.
crm_reply ok(boost::json::value v, crm_code code = crm_code::ok);

/// The single count(*) of `r`.
std::int64_t count_of(const pqxx::result& r);

/// The lead `id` is one of the business's.
bool lead_exists(db_tx& tx, std::int64_t business, std::int64_t id);

/// 404 "No such lead".
crm_reply no_lead();

} // namespace al::crm_detail
