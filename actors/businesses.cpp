#include "actors/businesses.hpp"

#include "actors/audit.hpp"
#include "actors/sql.hpp"
#include "actors/sql_fields.hpp"
#include "core/secret_box.hpp"

#include <boost/json/parse.hpp>
#include <pqxx/pqxx>

namespace al {

namespace json = boost::json;

namespace {

constexpr sql_statement insert_business{
  "INSERT INTO businesses(name) VALUES ('') RETURNING id"};

constexpr sql_statement select_business_ids{
  "SELECT id FROM businesses ORDER BY id"};

constexpr sql_statement lock_business_row{
  "SELECT 1 FROM businesses WHERE id = $1 FOR UPDATE"};

constexpr sql_statement insert_token{
  "INSERT INTO api_tokens(business_id, role, name, token_hash)"
  " VALUES ($1, $2, $3, $4) RETURNING id"};

constexpr sql_statement revoke_token{
  "UPDATE api_tokens SET revoked_at = now()"
  " WHERE id = $1 AND revoked_at IS NULL RETURNING business_id"};

constexpr sql_statement select_token{
  "SELECT id, business_id, role FROM api_tokens"
  " WHERE token_hash = $1 AND revoked_at IS NULL"
  " AND (expires_at IS NULL OR expires_at > now())"};

constexpr sql_statement select_business_exists{
  "SELECT 1 FROM businesses WHERE id = $1"};

constexpr sql_statement select_business{
  "SELECT id, name, coalesce(greeting,''), coalesce(prompt,''),"
  " voice_engine, twilio_account_sid, twilio_auth_token IS NOT NULL,"
  " whatsapp_from, whatsapp_provider, payments_enabled, payments_provider,"
  " paypal_client_id IS NOT NULL AND paypal_secret IS NOT NULL,"
  " tranzila_terminal, working_hours::text, max_live_calls,"
  " coalesce(after_hours_reply,''), coalesce(voice,''), transfer::text,"
  " greeting_audio IS NOT NULL"
  " FROM businesses WHERE id = $1"};

constexpr sql_statement update_greeting_audio{
  "UPDATE businesses SET greeting_audio = $2, greeting_rev = greeting_rev + 1,"
  " updated_at = now() WHERE id = $1 RETURNING id"};

constexpr sql_statement clear_greeting_audio{
  "UPDATE businesses SET greeting_audio = NULL,"
  " greeting_rev = greeting_rev + 1, updated_at = now() WHERE id = $1"
  " AND greeting_audio IS NOT NULL RETURNING id"};

constexpr sql_statement select_business_numbers{
  "SELECT number FROM phone_numbers WHERE business_id = $1 ORDER BY 1"};

constexpr sql_statement update_business{
  "UPDATE businesses SET"
  " name = coalesce($2, name), greeting = coalesce($3, greeting),"
  " prompt = coalesce($4, prompt), voice_engine = coalesce($5, voice_engine),"
  " twilio_account_sid = coalesce($6, twilio_account_sid),"
  " twilio_auth_token = coalesce($7, twilio_auth_token),"
  " whatsapp_from = coalesce($8, whatsapp_from),"
  " whatsapp_provider = coalesce($9, whatsapp_provider),"
  " payments_enabled = coalesce($10, payments_enabled),"
  " payments_provider = coalesce($11, payments_provider),"
  " paypal_client_id = coalesce($12, paypal_client_id),"
  " paypal_secret = coalesce($13, paypal_secret),"
  " tranzila_terminal = coalesce($14, tranzila_terminal),"
  " working_hours = coalesce($15::jsonb, working_hours),"
  " max_live_calls = coalesce($16, max_live_calls),"
  " after_hours_reply = coalesce($17, after_hours_reply),"
  " voice = coalesce(nullif($18, ''), CASE WHEN $18 = '' THEN NULL"
  "   ELSE voice END),"
  " transfer = coalesce($19::jsonb, transfer),"
  " greeting_rev = greeting_rev + CASE WHEN $3 IS DISTINCT FROM NULL"
  "   OR $18 IS DISTINCT FROM NULL OR $5 IS DISTINCT FROM NULL THEN 1 ELSE 0 "
  "END,"
  " updated_at = now() WHERE id = $1"};

// Outgoing webhooks: "" clears (NULL); the secret comes sealed.
constexpr sql_statement update_business_webhook{
  "UPDATE businesses SET"
  " webhook_url = CASE WHEN $2::text IS NULL THEN webhook_url"
  "   ELSE nullif($2, '') END,"
  " webhook_secret = CASE WHEN $3::text IS NULL THEN webhook_secret"
  "   ELSE nullif($3, '') END,"
  " updated_at = now() WHERE id = $1"};

constexpr sql_statement select_business_webhook{
  "SELECT webhook_url, webhook_secret IS NOT NULL FROM businesses"
  " WHERE id = $1"};

// record_calls (schemas/0018): whole-call recording and its notice.
constexpr sql_statement update_business_record_calls{
  "UPDATE businesses SET record_calls = $2, updated_at = now()"
  " WHERE id = $1"};

constexpr sql_statement select_business_record_calls{
  "SELECT record_calls, whatsapp_ai, auto_call_new_leads FROM businesses"
  " WHERE id = $1"};

// whatsapp_ai, auto_call_new_leads (schemas/0022): NULL keeps the value.
constexpr sql_statement update_business_switches{
  "UPDATE businesses SET"
  " whatsapp_ai = coalesce($2, whatsapp_ai),"
  " auto_call_new_leads = coalesce($3, auto_call_new_leads),"
  " updated_at = now() WHERE id = $1"};

constexpr sql_statement delete_business_numbers{
  "DELETE FROM phone_numbers WHERE business_id = $1"};

constexpr sql_statement insert_business_number{
  "INSERT INTO phone_numbers(number, business_id) VALUES ($1, $2)"
  " ON CONFLICT (number) DO NOTHING"};

constexpr sql_statement select_number_owner{
  "SELECT business_id FROM phone_numbers WHERE number = $1 FOR UPDATE"};

} // namespace

std::int64_t create_business(db_tx& tx) {
  return exec(tx, insert_business)[0][0].as<std::int64_t>();
}

std::vector<std::int64_t> business_ids(db_tx& tx) {
  std::vector<std::int64_t> ids;
  for (auto row : exec(tx, select_business_ids))
    ids.push_back(row[0].as<std::int64_t>());
  return ids;
}

bool lock_business(db_tx& tx, std::int64_t id) {
  return !exec(tx, lock_business_row, id).empty();
}

std::int64_t insert_api_token(db_tx& tx, std::int64_t business,
                              const std::string& role, const std::string& name,
                              const std::string& token_hash) {
  return exec(tx, insert_token, business, role, name, token_hash)[0][0]
    .as<std::int64_t>();
}

std::optional<std::int64_t> revoke_api_token(db_tx& tx, std::int64_t id) {
  auto r = exec(tx, revoke_token, id);
  if (r.empty())
    return std::nullopt;
  return r[0][0].as<std::int64_t>();
}

std::optional<api_token_row> find_api_token(db_tx& tx,
                                            const std::string& token_hash) {
  auto r = exec(tx, select_token, token_hash);
  if (r.empty())
    return std::nullopt;
  return api_token_row{r[0][0].as<std::int64_t>(), r[0][1].as<std::int64_t>(),
                       r[0][2].c_str()};
}

bool business_exists(db_tx& tx, std::int64_t id) {
  return !exec(tx, select_business_exists, id).empty();
}

json::object business_view(db_tx& tx, std::int64_t id) {
  auto r = exec(tx, select_business, id);
  json::object o;
  if (r.empty())
    return o;
  auto row = r[0];
  o["id"] = row[0].as<std::int64_t>();
  o["name"] = row[1].c_str();
  o["greeting"] = row[2].c_str();
  o["prompt"] = row[3].c_str();
  o["voice_engine"] = row[4].c_str();
  json::array numbers;
  for (auto n : exec(tx, select_business_numbers, id))
    numbers.emplace_back(n[0].c_str());
  o["phone_numbers"] = std::move(numbers);
  o["twilio"] = {{"account_sid", text_or_null(row[5])},
                 {"auth_token_set", row[6].as<bool>()}};
  o["whatsapp"] = {{"from", text_or_null(row[7])},
                   {"provider", text_or_null(row[8])}};
  o["payments"] = {{"enabled", row[9].as<bool>()},
                   {"default_provider", text_or_null(row[10])},
                   {"paypal_configured", row[11].as<bool>()},
                   {"tranzila_terminal", text_or_null(row[12])}};
  o["working_hours"] = json::parse(row[13].c_str());
  o["max_live_calls"] = row[14].is_null()
                          ? json::value(nullptr)
                          : json::value(row[14].as<std::int64_t>());
  o["after_hours_reply"] = row[15].c_str();
  o["voice"] = row[16].c_str();
  o["transfer"] = json::parse(row[17].c_str());
  o["greeting_audio"] = row[18].as<bool>();
  if (auto rc = exec(tx, select_business_record_calls, id); !rc.empty()) {
    o["record_calls"] = rc[0][0].as<bool>();
    o["whatsapp_ai"] = rc[0][1].as<bool>();
    o["auto_call_new_leads"] = rc[0][2].as<bool>();
  }
  if (auto w = exec(tx, select_business_webhook, id); !w.empty()) {
    o["webhook_url"] = text_or_null(w[0][0]);
    o["webhook_secret_set"] = w[0][1].as<bool>();
  }
  return o;
}

bool set_greeting_audio(db_tx& tx, std::int64_t id,
                        const std::optional<std::string>& mulaw,
                        bool* changed) {
  if (!mulaw) {
    // Nothing to do without a recording.
    auto cleared = !exec(tx, clear_greeting_audio, id).empty();
    if (changed)
      *changed = cleared;
    return cleared || business_exists(tx, id);
  }
  if (changed)
    *changed = true;
  return !exec(tx, update_greeting_audio, id,
               pqxx::binarystring{mulaw->data(), mulaw->size()})
            .empty();
}

namespace {

/// A secret as stored: sealed under the current key when there is one.
std::optional<std::string> stored_secret(const std::optional<std::string>& v,
                                         std::string_view column) {
  if (!v)
    return std::nullopt;
  return secrets::seal_if_keyed(*v, column);
}

} // namespace

void save_business(db_tx& tx, std::int64_t id, const business_input& in) {
  exec(tx, update_business, id, in.name, in.greeting, in.prompt,
       in.voice_engine, in.twilio_sid,
       stored_secret(in.twilio_token, "twilio_auth_token"), in.wa_from,
       in.wa_provider, in.payments_enabled, in.payments_provider, in.paypal_id,
       stored_secret(in.paypal_secret, "paypal_secret"), in.tranzila_terminal,
       in.working_hours, in.max_live_calls, in.after_hours_reply, in.voice,
       in.transfer);
  if (in.webhook_url || in.webhook_secret) {
    std::optional<std::string> secret;
    if (in.webhook_secret)
      secret = in.webhook_secret->empty()
                 ? std::string{}
                 : secrets::seal_if_keyed(*in.webhook_secret, "webhook_secret");
    exec(tx, update_business_webhook, id, in.webhook_url, secret);
  }
  if (in.record_calls)
    exec(tx, update_business_record_calls, id, *in.record_calls);
  if (in.whatsapp_ai || in.auto_call_new_leads)
    exec(tx, update_business_switches, id, in.whatsapp_ai,
         in.auto_call_new_leads);
  if (in.phone_numbers) {
    exec(tx, delete_business_numbers, id);
    for (auto& n : *in.phone_numbers)
      exec(tx, insert_business_number, n, id);
  }
}

void save_business_audited(db_tx& tx, std::int64_t id, const business_input& in,
                           const audit_who& who, const std::string& action) {
  auto before = business_view(tx, id);
  save_business(tx, id, in);
  audit_entry e;
  e.business_id = id;
  e.action = action;
  e.target_type = "business";
  e.target_id = std::to_string(id);
  e.diff = audit_diff(before, business_view(tx, id));
  // Secrets show only as "set" flags in the view: a new value over an old
  // one is recorded as changed, never with the value.
  if (in.twilio_token)
    e.diff["twilio.auth_token"] = json::object{{"changed", true}};
  if (in.paypal_secret)
    e.diff["payments.paypal_secret"] = json::object{{"changed", true}};
  if (in.webhook_secret
      && (!in.webhook_secret->empty() || e.diff.contains("webhook_secret_set")))
    e.diff["webhook_secret"] = json::object{{"changed", true}};
  if (!e.diff.empty()
      || before.empty()) // a patch that changed nothing is no event
    record_audit(tx, who, e);
}

std::vector<std::string> claimed_elsewhere(db_tx& tx, std::int64_t id,
                                           const business_input& in) {
  std::vector<std::string> out;
  if (!in.phone_numbers)
    return out;
  for (auto& n : *in.phone_numbers) {
    auto r = exec(tx, select_number_owner, n);
    if (!r.empty() && r[0][0].as<std::int64_t>() != id)
      out.push_back(n);
  }
  return out;
}

} // namespace al
