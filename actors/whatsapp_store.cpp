#include "actors/whatsapp_store.hpp"

#include "actors/campaign_store.hpp"
#include "actors/dnc.hpp"
#include "actors/leads.hpp"
#include "actors/secret_columns.hpp"
#include "actors/sql.hpp"
#include "actors/webhook_outbox.hpp"
#include "actors/whatsapp_media.hpp"
#include "core/phone.hpp"

#include <pqxx/pqxx>

#include <algorithm>

namespace al {

namespace {

// -- SQL, next to its use
// ------------------------------------------------------

constexpr sql_statement select_business_by_number{
  "SELECT b.id, coalesce(b.twilio_auth_token, ''), b.working_hours::text,"
  " coalesce(b.after_hours_reply, '') FROM businesses b WHERE b.id ="
  " coalesce((SELECT business_id FROM phone_numbers WHERE number = $1),"
  "          (SELECT id FROM businesses WHERE whatsapp_from IN ($1, $2)"
  "           ORDER BY id LIMIT 1),"
  "          $3)"};

constexpr sql_statement select_business{
  "SELECT id, coalesce(twilio_auth_token, ''), working_hours::text,"
  " coalesce(after_hours_reply, '') FROM businesses WHERE id = $1"};

constexpr sql_statement select_sender{
  "SELECT id, coalesce(whatsapp_provider, ''), coalesce(whatsapp_from, ''),"
  " coalesce(twilio_account_sid, ''), coalesce(twilio_auth_token, '')"
  " FROM businesses WHERE id = $1"};

// Both inserts first take their conversation's row lock and next sequence
// number (schemas/0011): messages of one conversation are numbered, and get
// their ids, in commit order whichever instance stores them. A redelivered
// inbound message (same sid) stores nothing and leaves a gap in the numbers.
#define AL_NEXT_CONVERSATION_SEQ(peer)                                         \
  "WITH c AS (INSERT INTO wa_conversations AS w (business_id, peer, last_seq)" \
  " VALUES ($1, " peer ", 1) ON CONFLICT (business_id, peer) DO UPDATE"        \
  " SET last_seq = w.last_seq + 1, last_message_at = now()"                    \
  " RETURNING last_seq) "

// An inbound message also opens the conversation's 24-hour window
// (last_inbound_at, schemas/0021; a redelivery refreshes it, harmlessly).
constexpr sql_statement insert_inbound{
  "WITH c AS (INSERT INTO wa_conversations AS w (business_id, peer, last_seq,"
  " last_inbound_at) VALUES ($1, $4, 1, now()) ON CONFLICT (business_id, peer)"
  " DO UPDATE SET last_seq = w.last_seq + 1, last_message_at = now(),"
  " last_inbound_at = now() RETURNING last_seq) "
  "INSERT INTO messages (business_id, direction, provider, provider_sid,"
  " from_address, to_address, body, media_urls, status, conversation_seq)"
  " SELECT $1, 'in', $2, $3, $4, $5, $6, $7::text[], 'received', "
  "c.last_seq"
  " FROM c ON CONFLICT (provider_sid) DO NOTHING RETURNING id"};

constexpr sql_statement set_message_lead{
  "UPDATE messages SET lead_id = $3 WHERE id = $1 AND business_id = $2"};

constexpr sql_statement select_by_sid_for_update{
  "SELECT id, business_id, status FROM messages WHERE provider_sid = $1"
  " FOR UPDATE"};

constexpr sql_statement select_business_by_sid{
  "SELECT business_id FROM messages WHERE provider_sid = $1"};

constexpr sql_statement update_status{
  "UPDATE messages SET status = $3,"
  " error_code = coalesce(nullif($4, ''), error_code),"
  " error = coalesce(nullif($5, ''), error), updated_at = now()"
  " WHERE id = $1 AND business_id = $2"};

constexpr sql_statement insert_outbound{AL_NEXT_CONVERSATION_SEQ(
  "$5") "INSERT INTO messages (business_id, lead_id, direction, provider,"
        " from_address, to_address, body, status, auto_reply, conversation_seq)"
        " SELECT $1, $2, 'out', $3, $4, $5, $6, 'queued', $7, c.last_seq FROM c"
        " RETURNING id"};

#undef AL_NEXT_CONVERSATION_SEQ

constexpr sql_statement select_status_for_update{
  "SELECT status FROM messages WHERE id = $1 AND business_id = $2"
  " FOR UPDATE"};

constexpr sql_statement update_sent{
  "UPDATE messages SET provider_sid = $3, status = $4, updated_at = now()"
  " WHERE id = $1 AND business_id = $2"};

constexpr sql_statement update_failed{
  "UPDATE messages SET status = 'failed', error = $3,"
  " error_code = nullif($4, ''), updated_at = now()"
  " WHERE id = $1 AND business_id = $2"};

constexpr sql_statement update_media_url{
  "UPDATE messages SET media_url = $3 WHERE id = $1 AND business_id = $2"};

constexpr sql_statement select_last_auto_reply{
  "SELECT coalesce(extract(epoch FROM max(created_at))::bigint, 0)"
  " FROM messages WHERE business_id = $1 AND to_address = $2"
  " AND auto_reply"};

/// A PostgreSQL array literal of text values, passed as one parameter
/// (quoted and escaped per the array input syntax; never part of the SQL).
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i)
      out.push_back(',');
    out.push_back('"');
    for (char c : items[i]) {
      if (c == '"' || c == '\\')
        out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

wa_business business_from_row(const pqxx::row& row) {
  wa_business b;
  b.id = row[0].as<std::int64_t>();
  b.twilio_auth_token = secret_or_empty(row[1], "twilio_auth_token");
  b.working_hours = row[2].c_str();
  b.after_hours_reply = row[3].c_str();
  return b;
}

} // namespace

wa_business find_wa_business(db_tx& tx, const std::string& e164) {
  auto r = exec(tx, select_business_by_number, e164,
                e164.empty() ? std::string{} : whatsapp_address(e164),
                default_business_id);
  return r.empty() ? wa_business{} : business_from_row(r[0]);
}

wa_business load_wa_business(db_tx& tx, std::int64_t id) {
  auto r = exec(tx, select_business, id);
  if (r.empty()) {
    wa_business b;
    b.id = id;
    return b;
  }
  return business_from_row(r[0]);
}

std::optional<wa_sender> load_wa_sender(db_tx& tx, std::int64_t business) {
  auto r = exec(tx, select_sender, business);
  if (r.empty())
    return std::nullopt;
  wa_sender s;
  s.business_id = r[0][0].as<std::int64_t>();
  s.provider = r[0][1].c_str();
  s.from = r[0][2].c_str();
  s.account_sid = r[0][3].c_str();
  s.auth_token = secret_or_empty(r[0][4], "twilio_auth_token");
  return s;
}

std::optional<wa_stored_inbound>
store_wa_inbound(db_tx& tx, std::int64_t business, const wa_inbound& in) {
  auto r = exec(tx, insert_inbound, business, in.provider, in.sid,
                whatsapp_address(in.from),
                in.to.empty() ? std::string{} : whatsapp_address(in.to),
                in.body, text_array(in.media));
  if (r.empty())
    return std::nullopt; // stored before: a redelivery
  wa_stored_inbound out;
  out.message_id = r[0][0].as<std::int64_t>();
  out.lead_id = upsert_lead_by_phone(tx, business, in.from, "whatsapp",
                                     in.profile_name);
  set_wa_message_lead(tx, business, out.message_id, out.lead_id);
  insert_wa_media(tx, business, out.message_id, in.attachments);
  out.media = std::min(in.attachments.size(), wa_max_media_items);
  // הסר / STOP: on the list in the same transaction as the message, so a
  // follow-up that checks the list after this commit never reaches them.
  if (wa_is_opt_out(in.body)) {
    out.opted_out = true;
    out.newly_opted_out = dnc_add(tx, business, in.from, dnc_source::whatsapp);
  }
  // A sender new to the office is called back (auto_call_new_leads).
  enqueue_speed_to_lead_if_new(tx, business, out.lead_id, in.from);
  enqueue_message_received(tx, business, out.message_id);
  return out;
}

void set_wa_message_lead(db_tx& tx, std::int64_t business,
                         std::int64_t message_id, std::int64_t lead_id) {
  exec(tx, set_message_lead, message_id, business, lead_id);
}

std::optional<std::int64_t> apply_wa_status(db_tx& tx,
                                            const wa_status_event& ev) {
  auto r = exec(tx, select_by_sid_for_update, ev.sid);
  if (r.empty())
    return std::nullopt;
  auto id = r[0][0].as<std::int64_t>();
  auto business = r[0][1].as<std::int64_t>();
  std::string current = r[0][2].c_str();
  if (wa_status_advances(current, ev.status))
    exec(tx, update_status, id, business, ev.status, ev.error_code, ev.error);
  else if (current == ev.status && !ev.error_code.empty())
    exec(tx, update_status, id, business, current, ev.error_code, ev.error);
  return business;
}

std::optional<std::int64_t> wa_message_business(db_tx& tx,
                                                const std::string& sid) {
  auto r = exec(tx, select_business_by_sid, sid);
  if (r.empty())
    return std::nullopt;
  return r[0][0].as<std::int64_t>();
}

std::int64_t insert_wa_outbound(db_tx& tx, std::int64_t business,
                                std::optional<std::int64_t> lead_id,
                                const std::string& provider,
                                const std::string& from, const std::string& to,
                                const std::string& body, bool auto_reply) {
  return exec(tx, insert_outbound, business, lead_id, provider, from, to, body,
              auto_reply)[0][0]
    .as<std::int64_t>();
}

void set_wa_message_media_url(db_tx& tx, std::int64_t business,
                              std::int64_t message_id, const std::string& url) {
  exec(tx, update_media_url, message_id, business, url);
}

bool wa_follow_up_refused(db_tx& tx, std::int64_t business,
                          const std::string& e164,
                          const std::string& fallback_purpose,
                          const std::string& template_purpose) {
  if (fallback_purpose != "follow_up" && template_purpose != "follow_up")
    return false;
  return dnc_contains(tx, business, e164);
}

void finish_wa_outbound(db_tx& tx, std::int64_t business,
                        std::int64_t message_id, const wa_send_outcome& out) {
  if (!out.ok) {
    exec(tx, update_failed, message_id, business, out.error, out.error_code);
    return;
  }
  auto r = exec(tx, select_status_for_update, message_id, business);
  if (r.empty())
    return;
  std::string status = r[0][0].c_str();
  if (wa_status_advances(status, "sent"))
    status = "sent";
  exec(tx, update_sent, message_id, business, out.sid, status);
}

std::int64_t last_wa_auto_reply(db_tx& tx, std::int64_t business,
                                const std::string& to_address) {
  return exec(tx, select_last_auto_reply, business, to_address)[0][0]
    .as<std::int64_t>();
}

} // namespace al
