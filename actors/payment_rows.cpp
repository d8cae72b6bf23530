#include "actors/payment_rows.hpp"

#include "actors/secret_columns.hpp"
#include "actors/sql.hpp"
#include "actors/sql_fields.hpp"
#include "actors/webhook_outbox.hpp"
#include "core/money.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

namespace al {

namespace json = boost::json;

namespace {

#define AL_PAYMENT_COLUMNS                                                     \
  "id, business_id, lead_id, provider, amount_minor, currency, description,"   \
  " status, provider_ref, pay_url, failure_reason, idempotency_key,"           \
  " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')," \
  " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

constexpr sql_statement select_business_payments{
  "SELECT name, payments_enabled, payments_provider, paypal_client_id,"
  " paypal_secret, tranzila_terminal FROM businesses WHERE id = $1"};

constexpr sql_statement select_next_id{
  "SELECT nextval(pg_get_serial_sequence('payments', 'id'))"};

constexpr sql_statement insert_payment{
  "INSERT INTO payments (id, business_id, lead_id, provider, amount_minor,"
  " currency, description, idempotency_key)"
  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING"
  " RETURNING id"};

constexpr sql_statement insert_created_event{
  "INSERT INTO payment_events (business_id, payment_id, event_key,"
  " from_status, to_status) VALUES ($1, $2, 'created', NULL, 'pending')"
  " ON CONFLICT (payment_id, event_key) DO NOTHING"};

constexpr sql_statement select_payment{
  "SELECT " AL_PAYMENT_COLUMNS
  " FROM payments WHERE business_id = $1 AND id = $2"};

constexpr sql_statement select_payment_for_update{
  "SELECT " AL_PAYMENT_COLUMNS
  " FROM payments WHERE business_id = $1 AND id = $2 FOR UPDATE"};

constexpr sql_statement select_payment_by_key{
  "SELECT " AL_PAYMENT_COLUMNS
  " FROM payments WHERE business_id = $1 AND idempotency_key = $2"};

// Provider callbacks: the id is bound to an HMAC token (Tranzila) or taken
// from our own custom_id (PayPal, verified first); see the header.
constexpr sql_statement select_payment_any{"SELECT " AL_PAYMENT_COLUMNS
                                           " FROM payments WHERE id = $1"};

constexpr sql_statement select_payment_by_ref{
  "SELECT " AL_PAYMENT_COLUMNS
  " FROM payments WHERE provider = $1 AND provider_ref = $2"};

constexpr sql_statement update_link{
  "UPDATE payments SET provider_ref = $3, pay_url = $4, updated_at = now()"
  " WHERE business_id = $1 AND id = $2 AND status = 'pending'"
  " AND pay_url IS NULL RETURNING id"};

constexpr sql_statement insert_event{
  "INSERT INTO payment_events (business_id, payment_id, event_key,"
  " from_status, to_status, detail) VALUES ($1, $2, $3, $4, $5, $6::jsonb)"
  " ON CONFLICT (payment_id, event_key) DO NOTHING RETURNING id"};

constexpr sql_statement update_status{
  "UPDATE payments SET status = $3,"
  " failure_reason = CASE WHEN $3 = 'failed' THEN $4 ELSE failure_reason END,"
  " updated_at = now()"
  " WHERE business_id = $1 AND id = $2 AND status = 'pending'"};

constexpr sql_statement select_events{
  "SELECT event_key, from_status, to_status, detail::text,"
  " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
  " FROM payment_events WHERE business_id = $1 AND payment_id = $2"
  " ORDER BY id"};

// $2/$3 are NULL when the filter is not given.
constexpr sql_statement count_payments{
  "SELECT count(*) FROM payments WHERE business_id = $1"
  " AND ($2::text IS NULL OR status = $2)"
  " AND ($3::bigint IS NULL OR lead_id = $3)"};

constexpr sql_statement select_payments{
  "SELECT " AL_PAYMENT_COLUMNS " FROM payments WHERE business_id = $1"
  " AND ($2::text IS NULL OR status = $2)"
  " AND ($3::bigint IS NULL OR lead_id = $3)"
  " ORDER BY id DESC LIMIT $4 OFFSET $5"};

constexpr sql_statement select_lead{
  "SELECT coalesce(phone, '') FROM leads WHERE business_id = $1"
  " AND id = $2"};

#undef AL_PAYMENT_COLUMNS

payment_row to_row(const pqxx::row& r) {
  payment_row p;
  p.id = r[0].as<std::int64_t>();
  p.business_id = r[1].as<std::int64_t>();
  if (!r[2].is_null())
    p.lead_id = r[2].as<std::int64_t>();
  // The CHECK constraints admit no other names.
  p.provider = parse_payment_provider(r[3].c_str()).value();
  p.amount_minor = r[4].as<std::int64_t>();
  p.currency = r[5].c_str();
  p.description = r[6].c_str();
  p.status = parse_payment_status(r[7].c_str()).value();
  p.provider_ref = opt_text(r[8]);
  p.pay_url = opt_text(r[9]);
  p.failure_reason = opt_text(r[10]);
  p.idempotency_key = opt_text(r[11]);
  p.created_at = r[12].c_str();
  p.updated_at = r[13].c_str();
  return p;
}

std::optional<payment_row> first(const pqxx::result& r) {
  if (r.empty())
    return std::nullopt;
  return to_row(r[0]);
}

json::value text_or_null(const std::optional<std::string>& s) {
  if (!s)
    return nullptr;
  return json::string{*s};
}

} // namespace

std::int64_t next_payment_id(db_tx& tx) {
  return exec(tx, select_next_id)[0][0].as<std::int64_t>();
}

bool insert_pending(db_tx& tx, const payment_draft& d) {
  auto r = exec(tx, insert_payment, d.id, d.business_id, d.lead_id,
                std::string{to_string(d.provider)}, d.amount_minor, d.currency,
                d.description, d.idempotency_key);
  if (r.empty())
    return false;
  exec(tx, insert_created_event, d.business_id, d.id);
  return true;
}

std::optional<payment_row> load_payment(db_tx& tx, std::int64_t business_id,
                                        std::int64_t id, bool for_update) {
  return first(exec(tx, for_update ? select_payment_for_update : select_payment,
                    business_id, id));
}

std::optional<payment_row>
load_payment_by_key(db_tx& tx, std::int64_t business_id, std::string_view key) {
  return first(exec(tx, select_payment_by_key, business_id, std::string{key}));
}

std::optional<payment_row> find_payment(db_tx& tx, std::int64_t id) {
  return first(exec(tx, select_payment_any, id));
}

std::optional<payment_row> find_payment_by_ref(db_tx& tx,
                                               payment_provider provider,
                                               std::string_view ref) {
  return first(exec(tx, select_payment_by_ref, std::string{to_string(provider)},
                    std::string{ref}));
}

bool store_link(db_tx& tx, std::int64_t business_id, std::int64_t id,
                const std::optional<std::string>& provider_ref,
                const std::string& pay_url) {
  return !exec(tx, update_link, business_id, id, provider_ref, pay_url).empty();
}

transition_result
transition_payment(db_tx& tx, std::int64_t business_id, std::int64_t id,
                   payment_status to, std::string_view event_key,
                   std::string_view reason, std::string_view detail) {
  auto row = load_payment(tx, business_id, id, true);
  if (!row)
    return transition_result::missing;
  if (row->status != payment_status::pending)
    return transition_result::not_pending;
  auto ev = exec(tx, insert_event, business_id, id, std::string{event_key},
                 std::string{to_string(row->status)},
                 std::string{to_string(to)}, std::string{detail});
  if (ev.empty())
    return transition_result::duplicate;
  exec(tx, update_status, business_id, id, std::string{to_string(to)},
       std::string{reason});
  if (to == payment_status::paid) // only from pending: once per payment
    enqueue_payment_paid(tx, business_id, id);
  return transition_result::changed;
}

json::object payment_json(const payment_row& p) {
  json::object o{{"id", p.id},
                 {"business_id", p.business_id},
                 {"provider", to_string(p.provider)},
                 {"amount", format_amount(p.amount_minor)},
                 {"amount_minor", p.amount_minor},
                 {"currency", p.currency},
                 {"description", p.description},
                 {"status", to_string(p.status)},
                 {"provider_ref", text_or_null(p.provider_ref)},
                 {"pay_url", text_or_null(p.pay_url)},
                 {"failure_reason", text_or_null(p.failure_reason)},
                 {"created_at", p.created_at},
                 {"updated_at", p.updated_at}};
  o["lead_id"] = p.lead_id ? json::value(*p.lead_id) : json::value(nullptr);
  return o;
}

json::array payment_events_json(db_tx& tx, std::int64_t business_id,
                                std::int64_t id) {
  json::array out;
  for (auto r : exec(tx, select_events, business_id, id)) {
    json::object e{{"event_key", r[0].c_str()},
                   {"from_status", r[1].is_null() ? json::value(nullptr)
                                                  : json::value(r[1].c_str())},
                   {"to_status", r[2].c_str()},
                   {"created_at", r[4].c_str()}};
    boost::system::error_code ec;
    auto detail = json::parse(r[3].c_str(), ec);
    e["detail"] = ec ? json::value(json::object{}) : std::move(detail);
    out.push_back(std::move(e));
  }
  return out;
}

json::object list_payments(db_tx& tx, std::int64_t business_id,
                           const payment_filter& f) {
  std::optional<std::string> status;
  if (f.status)
    status = std::string{to_string(*f.status)};
  auto total = exec(tx, count_payments, business_id, status, f.lead_id)[0][0]
                 .as<std::int64_t>();
  json::array items;
  auto offset = (f.page - 1) * f.per_page;
  for (auto r : exec(tx, select_payments, business_id, status, f.lead_id,
                     f.per_page, offset))
    items.push_back(payment_json(to_row(r)));
  return json::object{{"items", std::move(items)},
                      {"page", f.page},
                      {"per_page", f.per_page},
                      {"total", total}};
}

std::optional<std::string> lead_phone(db_tx& tx, std::int64_t business_id,
                                      std::int64_t lead_id) {
  auto r = exec(tx, select_lead, business_id, lead_id);
  if (r.empty())
    return std::nullopt;
  return std::string{r[0][0].c_str()};
}

std::optional<business_payments_row> load_business_payments(db_tx& tx,
                                                            std::int64_t id) {
  auto r = exec(tx, select_business_payments, id);
  if (r.empty())
    return std::nullopt;
  business_payments_row b;
  b.name = r[0][0].c_str();
  b.enabled = r[0][1].as<bool>();
  if (auto p = opt_text(r[0][2])) // CHECKed: paypal or tranzila
    b.default_provider = parse_payment_provider(*p);
  b.paypal_client_id = text_or_empty(r[0][3]);
  b.paypal_secret = secret_or_empty(r[0][4], "paypal_secret");
  b.tranzila_terminal = text_or_empty(r[0][5]);
  return b;
}

} // namespace al
