#include "actors/lead_intake.hpp"

#include "actors/campaign_store.hpp"
#include "actors/leads.hpp"
#include "actors/log.hpp"
#include "actors/sql.hpp"
#include "actors/webhook_outbox.hpp"

#include <stdexcept>

namespace al {

namespace {

constexpr sql_statement select_lead_by_phone{
  "SELECT id FROM leads WHERE business_id = $1 AND phone = $2 FOR UPDATE"};

// A concurrent intake of the same phone inserts nothing here and takes the
// existing row on the second look.
constexpr sql_statement insert_intake_lead{
  "INSERT INTO leads (business_id, phone, source, name, status, notes)"
  " VALUES ($1, $2, $3, $4, $5, $6)"
  " ON CONFLICT (business_id, phone) WHERE phone IS NOT NULL DO NOTHING"
  " RETURNING id"};

constexpr sql_statement append_intake_note{
  "UPDATE leads SET notes = CASE WHEN notes = '' THEN $3"
  "  ELSE notes || E'\\n' || $3 END,"
  " name = CASE WHEN name = '' THEN $4 ELSE name END, updated_at = now()"
  " WHERE business_id = $1 AND id = $2"};

constexpr sql_statement touch_lead{
  "UPDATE leads SET name = CASE WHEN name = '' THEN $3 ELSE name END,"
  " updated_at = now() WHERE business_id = $1 AND id = $2"};

constexpr sql_statement insert_history{
  "INSERT INTO lead_history (business_id, lead_id, field, old_value,"
  " new_value, actor) VALUES ($1, $2, $3, NULL, $4, 'intake')"};

constexpr sql_statement select_listing_by_ref{
  "SELECT id FROM listings WHERE business_id = $1 AND external_ref = $2"
  " AND deleted_at IS NULL"};

constexpr sql_statement select_business_by_key{
  "SELECT id FROM businesses WHERE intake_key = $1"};

constexpr sql_statement select_intake_key{
  "SELECT intake_key FROM businesses WHERE id = $1"};

constexpr sql_statement update_intake_key{
  "UPDATE businesses SET intake_key = $2, updated_at = now() WHERE id = $1"};

} // namespace

intake_result intake_lead(db_tx& tx, std::int64_t business,
                          const intake_input& in) {
  std::string listing;
  if (!in.listing_ref.empty()) {
    auto r = exec(tx, select_listing_by_ref, business, in.listing_ref);
    listing = r.empty()
                ? "listing_ref " + in.listing_ref + " (לא נמצא)"
                : "נכס " + in.listing_ref + " #" + std::string{r[0][0].c_str()};
  }
  auto note = intake_note(in, listing);
  intake_result out;
  auto status = initial_lead_status(tx, business);
  auto ins = exec(tx, insert_intake_lead, business, in.phone,
                  std::string{intake_lead_source(in.source)}, in.name, status,
                  note);
  if (!ins.empty()) {
    out.lead_id = ins[0][0].as<std::int64_t>();
    out.created = true;
    exec(tx, insert_history, business, out.lead_id, std::string{"status"},
         status);
    if (!note.empty())
      exec(tx, insert_history, business, out.lead_id, std::string{"intake"},
           note);
    enqueue_lead_created(tx, business, out.lead_id);
    return out;
  }
  auto r = exec(tx, select_lead_by_phone, business, in.phone);
  if (r.empty())
    throw std::runtime_error("intake: lead vanished");
  out.lead_id = r[0][0].as<std::int64_t>();
  if (note.empty()) {
    exec(tx, touch_lead, business, out.lead_id, in.name);
    return out;
  }
  exec(tx, append_intake_note, business, out.lead_id, note, in.name);
  exec(tx, insert_history, business, out.lead_id, std::string{"intake"}, note);
  return out;
}

std::int64_t intake_speed_to_lead(db_tx& tx, std::int64_t business,
                                  std::int64_t lead_id,
                                  const std::string& phone) {
  try {
    pqxx::subtransaction sub{tx, "speed_to_lead"};
    auto campaign = enqueue_speed_to_lead(sub, business, lead_id, phone);
    sub.commit();
    return campaign;
  } catch (const std::exception& e) {
    log_safe(spdlog::level::err,
             "intake: lead {} of business {} not queued for speed-to-lead:"
             " {}",
             lead_id, business, e.what());
    return 0;
  }
}

std::optional<std::int64_t> business_by_intake_key(db_tx& tx,
                                                   const std::string& key) {
  if (key.empty())
    return std::nullopt;
  auto r = exec(tx, select_business_by_key, key);
  if (r.empty())
    return std::nullopt;
  return r[0][0].as<std::int64_t>();
}

std::optional<std::string> intake_key_of(db_tx& tx, std::int64_t business) {
  auto r = exec(tx, select_intake_key, business);
  if (r.empty() || r[0][0].is_null())
    return std::nullopt;
  return std::string{r[0][0].c_str()};
}

void set_intake_key(db_tx& tx, std::int64_t business, const std::string& key) {
  exec(tx, update_intake_key, business, key);
}

} // namespace al
