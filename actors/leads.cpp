#include "actors/leads.hpp"

#include "actors/sql.hpp"
#include "actors/webhook_outbox.hpp"

#include <pqxx/pqxx>

#include <stdexcept>

namespace al {

namespace {

constexpr sql_statement select_initial_status{
  "SELECT key FROM pipeline_statuses WHERE business_id = $1"
  " ORDER BY position, key LIMIT 1"};

// xmax = 0 only for a freshly inserted row: tells insert from update.
constexpr sql_statement upsert_lead{
  "INSERT INTO leads (business_id, phone, source, name, status)"
  " VALUES ($1, $2, $3, $4, $5)"
  " ON CONFLICT (business_id, phone) WHERE phone IS NOT NULL DO UPDATE SET"
  "  name = CASE WHEN leads.name = '' THEN EXCLUDED.name ELSE leads.name END,"
  "  updated_at = now()"
  " RETURNING id, (xmax = 0) AS inserted"};

constexpr sql_statement insert_status_history{
  "INSERT INTO lead_history (business_id, lead_id, field, old_value,"
  " new_value, actor) VALUES ($1, $2, 'status', NULL, $3, $4)"};

} // namespace

std::string initial_lead_status(db_tx& tx, std::int64_t business) {
  auto r = exec(tx, select_initial_status, business);
  return r.empty() ? std::string{"new"} : std::string{r[0][0].c_str()};
}

std::int64_t
upsert_lead_by_phone(db_tx& tx, std::int64_t business, const std::string& e164,
                     std::string_view source, std::string_view name_if_empty) {
  if (source != "call" && source != "whatsapp" && source != "manual")
    throw std::invalid_argument("upsert_lead_by_phone: bad source");
  if (e164.size() < 2 || e164.front() != '+')
    throw std::invalid_argument("upsert_lead_by_phone: phone not E.164");
  auto status = initial_lead_status(tx, business);
  auto r = exec(tx, upsert_lead, business, e164, std::string{source},
                std::string{name_if_empty}, status);
  auto id = r[0][0].as<std::int64_t>();
  if (r[0][1].as<bool>()) {
    exec(tx, insert_status_history, business, id, status, "system");
    enqueue_lead_created(tx, business, id);
  }
  return id;
}

} // namespace al
