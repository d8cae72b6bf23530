#include "actors/audit.hpp"

#include "actors/crm_queries.hpp"
#include "actors/sql.hpp"
#include "actors/sql_fields.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace al {

namespace json = boost::json;

namespace {

constexpr sql_statement insert_audit{
  "INSERT INTO audit_log(business_id, actor, token_id, role, action,"
  " target_type, target_id, address, request_id, diff)"
  " VALUES ($1, $2, $3, nullif($4, ''), $5, $6, nullif($7, ''),"
  " nullif($8, ''), nullif($9, ''), $10::jsonb)"};

// $2: exact action, or a prefix ending in '.'; NULL: every action.
#define AL_AUDIT_WHERE                                                         \
  " WHERE business_id = $1 AND ($2::text IS NULL OR action = $2"               \
  " OR (right($2, 1) = '.' AND left(action, length($2)) = $2))"

constexpr sql_statement count_audit{
  "SELECT count(*) FROM audit_log" AL_AUDIT_WHERE};

constexpr sql_statement select_audit{
  "SELECT id, iso_utc(at), actor, token_id, role, action,"
  " target_type, target_id, address, request_id, diff::text"
  " FROM audit_log" AL_AUDIT_WHERE " ORDER BY id DESC LIMIT $3 OFFSET $4"};
#undef AL_AUDIT_WHERE

constexpr sql_statement purge_audit_sql{
  "WITH gone AS (DELETE FROM audit_log"
  " WHERE at < now() - make_interval(days => $1) RETURNING 1)"
  " SELECT count(*) FROM gone"};

constexpr sql_statement allow_purge{
  "SELECT set_config('agentlocator.audit_purge', 'on', true)"};

void diff_into(json::object& out, const std::string& prefix,
               const json::object& before, const json::object& after,
               bool nested) {
  auto note = [&](const std::string& key, const json::value& a,
                  const json::value& b) {
    if (nested && a.is_object() && b.is_object()) {
      diff_into(out, key + ".", a.as_object(), b.as_object(), false);
      return;
    }
    if (a != b)
      out[key] = json::object{{"from", a}, {"to", b}};
  };
  static const json::value null_value;
  for (auto& [k, v] : before) {
    auto i = after.find(k);
    note(prefix + std::string{k}, v,
         i == after.end() ? null_value : i->value());
  }
  for (auto& [k, v] : after)
    if (!before.contains(k))
      note(prefix + std::string{k}, null_value, v);
}

} // namespace

void record_audit(db_tx& tx, const audit_who& who, const audit_entry& what) {
  exec(tx, insert_audit, what.business_id, who.actor, who.token_id, who.role,
       what.action, what.target_type, what.target_id, who.address,
       who.request_id, json::serialize(what.diff));
}

json::object audit_diff(const json::object& before, const json::object& after) {
  json::object out;
  diff_into(out, "", before, after, true);
  return out;
}

json::object list_audit(db_tx& tx, std::int64_t business,
                        const std::optional<std::string>& action,
                        const page_params& paging) {
  auto total = exec(tx, count_audit, business, action)[0][0].as<std::int64_t>();
  json::array items;
  for (auto r : exec(tx, select_audit, business, action, paging.per_page,
                     paging.offset())) {
    items.push_back(json::object{
      {"id", r[0].as<std::int64_t>()},
      {"at", r[1].c_str()},
      {"actor", r[2].c_str()},
      {"token_id", r[3].is_null() ? json::value(nullptr)
                                  : json::value(r[3].as<std::int64_t>())},
      {"role", text_or_null(r[4])},
      {"action", r[5].c_str()},
      {"target_type", r[6].c_str()},
      {"target_id", text_or_null(r[7])},
      {"address", text_or_null(r[8])},
      {"request_id", text_or_null(r[9])},
      {"diff", json::parse(r[10].c_str())},
    });
  }
  return page_of(std::move(items), paging, total);
}

std::int64_t purge_audit(db_tx& tx, int days) {
  exec(tx, allow_purge);
  return exec(tx, purge_audit_sql, days)[0][0].as<std::int64_t>();
}

} // namespace al
