// The shared part of the /api/crm queries (actors/crm_query_support.hpp),
// paging, the pipeline and the business itself. Leads, calls and the
// schedule have files of their own (actors/crm_*_queries.cpp).
#include "actors/crm_queries.hpp"

#include "actors/businesses.hpp"
#include "actors/crm_query_support.hpp"
#include "actors/sql.hpp"
#include "actors/sql_fields.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <set>

namespace al {

namespace json = boost::json;

namespace {

// -- SQL ---------------------------------------------------------------------
// Named statements, next to their use. Shared fragments are string-literal
// macros so that every statement is still one compile-time constant; every
// value travels as a parameter.

constexpr sql_statement select_lead_exists{
  "SELECT 1 FROM leads WHERE business_id = $1 AND id = $2"};

constexpr sql_statement select_pipeline{
  "SELECT key, label FROM pipeline_statuses WHERE business_id = $1"
  " ORDER BY position, key"};

constexpr sql_statement count_leads_by_status{
  "SELECT status, count(*) FROM leads WHERE business_id = $1"
  " GROUP BY status"};

constexpr sql_statement lock_business_pipeline{
  "SELECT 1 FROM businesses WHERE id = $1 FOR NO KEY UPDATE"};

constexpr sql_statement delete_pipeline{
  "DELETE FROM pipeline_statuses WHERE business_id = $1"};

constexpr sql_statement insert_pipeline_status{
  "INSERT INTO pipeline_statuses (business_id, key, label, position)"
  " VALUES ($1, $2, $3, $4)"};

} // namespace

namespace crm_detail {

json::value double_or_null(const pqxx::field& f) {
  if (f.is_null())
    return nullptr;
  return f.as<double>();
}

/// JSON text produced by PostgreSQL (jsonb/array_to_json) as a value.
json::value json_or_null(const pqxx::field& f) {
  if (f.is_null())
    return nullptr;
  json::error_code ec;
  auto v = json::parse(f.c_str(), ec);
  if (ec)
    return json::string{f.c_str()};
  return v;
}

crm_reply ok(json::value v, crm_code code) {
  return crm_reply{code, std::move(v)};
}

std::int64_t count_of(const pqxx::result& r) {
  return r[0][0].as<std::int64_t>();
}

bool lead_exists(db_tx& tx, std::int64_t business, std::int64_t id) {
  return !exec(tx, select_lead_exists, business, id).empty();
}

crm_reply no_lead() {
  return crm_fail(crm_code::not_found, "No such lead");
}

} // namespace crm_detail

using namespace crm_detail;

json::object page_of(json::array items, const page_params& p,
                     std::int64_t total) {
  return json::object{{"items", std::move(items)},
                      {"page", p.page},
                      {"per_page", p.per_page},
                      {"total", total}};
}

// -- pipeline ----------------------------------------------------------------

std::vector<pipeline_status> pipeline_of(db_tx& tx, std::int64_t business) {
  std::vector<pipeline_status> out;
  for (auto r : exec(tx, select_pipeline, business))
    out.push_back({r[0].c_str(), r[1].c_str()});
  if (out.empty())
    out = default_pipeline();
  return out;
}

crm_reply get_pipeline(db_tx& tx, std::int64_t business) {
  std::map<std::string, std::int64_t> counts;
  for (auto r : exec(tx, count_leads_by_status, business))
    counts[r[0].c_str()] = r[1].as<std::int64_t>();
  auto statuses = pipeline_of(tx, business);
  json::array items;
  std::int64_t position = 0;
  for (auto& s : statuses) {
    auto i = counts.find(s.key);
    items.push_back(json::object{{"key", s.key},
                                 {"label", s.label},
                                 {"position", position++},
                                 {"leads", i == counts.end() ? 0 : i->second}});
  }
  page_params all;
  all.per_page = static_cast<std::int64_t>(statuses.size());
  return ok(page_of(std::move(items), all, all.per_page));
}

crm_reply put_pipeline(db_tx& tx, std::int64_t business,
                       const std::vector<pipeline_status>& statuses) {
  exec(tx, lock_business_pipeline, business);
  std::set<std::string> keep;
  for (auto& s : statuses)
    keep.insert(s.key);
  for (auto r : exec(tx, count_leads_by_status, business)) {
    std::string key = r[0].c_str();
    if (!keep.count(key)) {
      auto body = crm_fail(crm_code::conflict,
                           "Status '" + key + "' is used by " + r[1].c_str()
                             + " lead(s); move them first");
      body.body.as_object()["status"] = key;
      body.body.as_object()["leads"] = r[1].as<std::int64_t>();
      return body;
    }
  }
  exec(tx, delete_pipeline, business);
  std::int64_t position = 0;
  for (auto& s : statuses)
    exec(tx, insert_pipeline_status, business, s.key, s.label, position++);
  return get_pipeline(tx, business);
}

// -- the business itself -----------------------------------------------------

crm_reply get_business(db_tx& tx, std::int64_t business) {
  auto v = business_view(tx, business);
  if (v.empty())
    return crm_fail(crm_code::not_found, "No such business");
  return ok(std::move(v));
}

crm_reply patch_business(db_tx& tx, std::int64_t business,
                         const business_input& in, const audit_who& who) {
  if (!business_exists(tx, business))
    return crm_fail(crm_code::not_found, "No such business");
  auto clash = claimed_elsewhere(tx, business, in);
  if (!clash.empty())
    return crm_fail(crm_code::conflict,
                    "Phone number already claimed: " + clash.front());
  save_business_audited(tx, business, in, who, "settings.update");
  return ok(business_view(tx, business));
}

} // namespace al
