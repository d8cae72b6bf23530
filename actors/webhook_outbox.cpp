#include "actors/webhook_outbox.hpp"

#include "actors/sql.hpp"
#include "actors/sql_fields.hpp"
#include "core/crypto.hpp"
#include "core/money.hpp"

#include <boost/json/serialize.hpp>
#include <openssl/rand.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <mutex>
#include <stdexcept>

namespace al {

namespace json = boost::json;

namespace {

// -- SQL, next to its use
// -------------------------------------------------------

// The event's created_at comes from the database (the transaction's time),
// so the body and the row agree.
constexpr sql_statement select_webhook_target{
  "SELECT iso_utc(now()) FROM businesses"
  " WHERE id = $1 AND coalesce(webhook_url, '') <> ''"};

constexpr sql_statement insert_event{
  "INSERT INTO webhook_outbox (id, business_id, event, body, created_at,"
  " window_from, next_attempt_at) VALUES ($1, $2, $3, $4, now(), now(), "
  "now())"};

constexpr sql_statement select_lead_data{
  "SELECT id, name, phone, source, status, iso_utc(created_at) FROM leads"
  " WHERE business_id = $1 AND id = $2"};

constexpr sql_statement select_message_data{
  "SELECT id, lead_id, regexp_replace(from_address, '^whatsapp:', ''), body,"
  " provider, iso_utc(created_at) FROM messages"
  " WHERE business_id = $1 AND id = $2"};

constexpr sql_statement select_payment_data{
  "SELECT id, lead_id, amount_minor, currency, provider, status,"
  " iso_utc(updated_at) FROM payments WHERE business_id = $1 AND id = $2"};

// $2: status filter or NULL.
constexpr sql_statement count_deliveries{
  "SELECT count(*) FROM webhook_outbox WHERE business_id = $1"
  " AND ($2::text IS NULL OR status = $2)"};

constexpr sql_statement select_deliveries{
  "SELECT id, event, status, attempts, last_status, last_error,"
  " iso_utc(created_at), iso_utc(next_attempt_at), iso_utc(delivered_at)"
  " FROM webhook_outbox WHERE business_id = $1"
  " AND ($2::text IS NULL OR status = $2)"
  " ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"};

constexpr sql_statement select_delivery_status{
  "SELECT status FROM webhook_outbox WHERE business_id = $1 AND id = $2"
  " FOR UPDATE"};

constexpr sql_statement requeue_delivery{
  "UPDATE webhook_outbox SET status = 'pending', next_attempt_at = now(),"
  " window_from = now(), lease_until = NULL"
  " WHERE business_id = $1 AND id = $2 AND status = 'failed'"};

/// "evt_" + 24 random hex digits (96 bits).
std::string new_event_id() {
  unsigned char raw[12];
  if (RAND_bytes(raw, sizeof raw) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return "evt_"
         + crypto::to_hex(
           std::string_view{reinterpret_cast<char*>(raw), sizeof raw});
}

// -- wakers -------------------------------------------------------------------

std::mutex& wakers_mtx() {
  static std::mutex m;
  return m;
}

std::map<int, std::function<void()>>& wakers() {
  static std::map<int, std::function<void()>> w;
  return w;
}

int next_waker = 0;

} // namespace

int add_webhook_waker(std::function<void()> wake) {
  std::lock_guard<std::mutex> g{wakers_mtx()};
  auto h = ++next_waker;
  wakers().emplace(h, std::move(wake));
  return h;
}

void remove_webhook_waker(int handle) {
  std::lock_guard<std::mutex> g{wakers_mtx()};
  wakers().erase(handle);
}

void wake_webhook_deliverers() {
  std::vector<std::function<void()>> copy;
  {
    std::lock_guard<std::mutex> g{wakers_mtx()};
    for (auto& [h, w] : wakers())
      copy.push_back(w);
  }
  for (auto& w : copy)
    try {
      w();
    } catch (...) {
      // A wake-up is an optimisation: the poll finds the row anyway.
    }
}

bool webhook_configured(db_tx& tx, std::int64_t business) {
  return !exec(tx, select_webhook_target, business).empty();
}

std::string enqueue_webhook(db_tx& tx, std::int64_t business,
                            std::string_view event, const json::object& data) {
  auto r = exec(tx, select_webhook_target, business);
  if (r.empty())
    return {};
  auto id = new_event_id();
  json::object body;
  body["id"] = id;
  body["event"] = event;
  body["business_id"] = business;
  body["created_at"] = r[0][0].c_str();
  body["data"] = data;
  exec(tx, insert_event, id, business, std::string{event},
       json::serialize(body));
  wake_webhook_deliverers();
  return id;
}

std::string enqueue_lead_created(db_tx& tx, std::int64_t business,
                                 std::int64_t lead) {
  if (!webhook_configured(tx, business))
    return {};
  auto r = exec(tx, select_lead_data, business, lead);
  if (r.empty())
    return {};
  auto row = r[0];
  json::object data{
    {"id", row[0].as<std::int64_t>()}, {"name", row[1].c_str()},
    {"phone", text_or_null(row[2])},   {"source", row[3].c_str()},
    {"status", row[4].c_str()},        {"created_at", row[5].c_str()}};
  return enqueue_webhook(tx, business, "lead.created", data);
}

std::string enqueue_message_received(db_tx& tx, std::int64_t business,
                                     std::int64_t message) {
  if (!webhook_configured(tx, business))
    return {};
  auto r = exec(tx, select_message_data, business, message);
  if (r.empty())
    return {};
  auto row = r[0];
  json::object data{
    {"id", row[0].as<std::int64_t>()}, {"lead_id", int_or_null(row[1])},
    {"from", row[2].c_str()},          {"body", row[3].c_str()},
    {"provider", row[4].c_str()},      {"received_at", row[5].c_str()}};
  return enqueue_webhook(tx, business, "message.received", data);
}

std::string enqueue_payment_paid(db_tx& tx, std::int64_t business,
                                 std::int64_t payment) {
  if (!webhook_configured(tx, business))
    return {};
  auto r = exec(tx, select_payment_data, business, payment);
  if (r.empty())
    return {};
  auto row = r[0];
  json::object data{{"id", row[0].as<std::int64_t>()},
                    {"lead_id", int_or_null(row[1])},
                    {"amount", format_amount(row[2].as<std::int64_t>())},
                    {"currency", row[3].c_str()},
                    {"provider", row[4].c_str()},
                    {"status", row[5].c_str()},
                    {"paid_at", row[6].c_str()}};
  return enqueue_webhook(tx, business, "payment.paid", data);
}

json::object list_webhook_deliveries(db_tx& tx, std::int64_t business,
                                     const std::optional<std::string>& status,
                                     std::int64_t page, std::int64_t per_page) {
  auto total
    = exec(tx, count_deliveries, business, status)[0][0].as<std::int64_t>();
  json::array items;
  for (auto row : exec(tx, select_deliveries, business, status, per_page,
                       (page - 1) * per_page))
    items.push_back(json::object{{"id", row[0].c_str()},
                                 {"event", row[1].c_str()},
                                 {"status", row[2].c_str()},
                                 {"attempts", row[3].as<std::int64_t>()},
                                 {"last_status", int_or_null(row[4])},
                                 {"last_error", text_or_null(row[5])},
                                 {"created_at", row[6].c_str()},
                                 {"next_attempt_at", text_or_null(row[7])},
                                 {"delivered_at", text_or_null(row[8])}});
  return json::object{{"items", std::move(items)},
                      {"page", page},
                      {"per_page", per_page},
                      {"total", total}};
}

webhook_retry_result retry_webhook(db_tx& tx, std::int64_t business,
                                   const std::string& id) {
  auto r = exec(tx, select_delivery_status, business, id);
  if (r.empty())
    return webhook_retry_result::missing;
  if (std::string_view{r[0][0].c_str()} != "failed")
    return webhook_retry_result::not_failed;
  exec(tx, requeue_delivery, business, id);
  wake_webhook_deliverers();
  return webhook_retry_result::queued;
}

} // namespace al
