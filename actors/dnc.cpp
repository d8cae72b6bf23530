#include "actors/dnc.hpp"

#include "actors/sql.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace al {

namespace json = boost::json;

namespace {

constexpr sql_statement select_dnc_one{
  "SELECT 1 FROM dnc WHERE business_id = $1 AND phone = $2"};

constexpr sql_statement insert_dnc{
  "INSERT INTO dnc (business_id, phone, source, note) VALUES ($1, $2, $3, $4)"
  " ON CONFLICT (business_id, phone) DO NOTHING RETURNING 1"};

constexpr sql_statement delete_dnc{
  "DELETE FROM dnc WHERE business_id = $1 AND phone = $2 RETURNING 1"};

constexpr sql_statement select_dnc_page{
  "SELECT phone, source, note,"
  " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
  " count(*) OVER () FROM dnc WHERE business_id = $1"
  " ORDER BY created_at DESC, phone LIMIT $2 OFFSET $3"};

constexpr sql_statement count_dnc{
  "SELECT count(*) FROM dnc WHERE business_id = $1"};

} // namespace

std::string_view to_string(dnc_source s) noexcept {
  switch (s) {
    case dnc_source::agent:
      return "agent";
    case dnc_source::whatsapp:
      return "whatsapp";
    case dnc_source::dtmf:
      return "dtmf";
    case dnc_source::import:
      return "import";
    case dnc_source::api:
      return "api";
  }
  return "agent";
}

bool dnc_contains(db_tx& tx, std::int64_t business, const std::string& e164) {
  return !exec(tx, select_dnc_one, business, e164).empty();
}

bool dnc_add(db_tx& tx, std::int64_t business, const std::string& e164,
             dnc_source source, const std::string& note) {
  return !exec(tx, insert_dnc, business, e164, std::string{to_string(source)},
               note)
            .empty();
}

bool dnc_remove(db_tx& tx, std::int64_t business, const std::string& e164) {
  return !exec(tx, delete_dnc, business, e164).empty();
}

crm_reply list_dnc(db_tx& tx, std::int64_t business, const page_params& p) {
  json::array items;
  std::int64_t total = 0;
  for (auto row : exec(tx, select_dnc_page, business, p.per_page, p.offset())) {
    items.push_back(json::object{{"phone", row[0].c_str()},
                                 {"source", row[1].c_str()},
                                 {"note", row[2].c_str()},
                                 {"created_at", row[3].c_str()}});
    total = row[4].as<std::int64_t>();
  }
  if (items.empty()) // a page past the end still reports the total
    total = exec(tx, count_dnc, business)[0][0].as<std::int64_t>();
  return {crm_code::ok, page_of(std::move(items), p, total)};
}

} // namespace al
