#include "actors/call_rows.hpp"

#include "actors/after_call.hpp"
#include "actors/secret_columns.hpp"
#include "actors/sql.hpp"
#include "actors/sql_fields.hpp"

#include <boost/json/object.hpp>

namespace al {

boost::json::object call_head_json(const pqxx::row& r) {
  return boost::json::object{
    {"sid", r[0].c_str()},
    {"from", r[1].c_str()},
    {"to", r[2].c_str()},
    {"status", r[3].c_str()},
    {"engine", r[4].c_str()},
    {"lead_id", int_or_null(r[5])},
    {"ended_normally", r[6].as<bool>()},
  };
}

namespace {

#define AL_BUSINESS_COLUMNS                                                    \
  "SELECT b.id, b.twilio_account_sid, b.twilio_auth_token,"                    \
  " coalesce(b.greeting, ''), b.max_live_calls,"                               \
  " (SELECT count(*) FROM calls c WHERE c.business_id = b.id"                  \
  "   AND c.status = 'in-progress'"                                            \
  "   AND c.updated_at > now() - interval '2 hours'),"                         \
  " b.voice_engine, coalesce(b.voice, ''), b.greeting_rev,"                    \
  " b.transfer ? 'numbers' AND jsonb_array_length(b.transfer->'numbers') > 0," \
  " b.name, b.record_calls FROM businesses b"

constexpr sql_statement select_incoming_business{
  AL_BUSINESS_COLUMNS
  " WHERE b.id = coalesce((SELECT business_id FROM phone_numbers"
  "                        WHERE number = $1), 1)"};

constexpr sql_statement select_business_by_id{AL_BUSINESS_COLUMNS
                                              " WHERE b.id = $1"};
#undef AL_BUSINESS_COLUMNS

constexpr sql_statement insert_ringing{
  "INSERT INTO calls(business_id, call_sid, from_number, to_number, status)"
  " VALUES ($1, $2, $3, $4, 'ringing') ON CONFLICT (call_sid) DO NOTHING"};

constexpr sql_statement insert_ringing_for_number{
  "INSERT INTO calls(business_id, call_sid, from_number, to_number, status)"
  " VALUES (coalesce((SELECT business_id FROM phone_numbers"
  " WHERE number = $3), 1), $1, $2, $3, 'ringing')"
  " ON CONFLICT (call_sid) DO NOTHING"};

constexpr sql_statement select_call_account{
  "SELECT b.twilio_account_sid, b.twilio_auth_token FROM calls c"
  " JOIN businesses b ON b.id = c.business_id WHERE c.call_sid = $1"};

constexpr sql_statement select_business_account{
  "SELECT twilio_account_sid, twilio_auth_token FROM businesses"
  " WHERE id = $1"};

constexpr sql_statement select_greeting_audio{
  "SELECT greeting_audio FROM businesses WHERE id = $1"
  " AND greeting_audio IS NOT NULL"};

constexpr sql_statement select_rendered_speech{
  "SELECT audio FROM rendered_speech WHERE key = $1"};

constexpr sql_statement select_call_row{
  "SELECT c.business_id, c.from_number, c.to_number,"
  " coalesce(b.greeting, ''), b.record_calls FROM calls c"
  " JOIN businesses b ON b.id = c.business_id WHERE c.call_sid = $1"};

constexpr sql_statement update_streaming{
  "UPDATE calls SET status = 'in-progress', stream_sid = $2,"
  " started_at = coalesce(started_at, now()), updated_at = now()"
  " WHERE call_sid = $1 RETURNING business_id"};

constexpr sql_statement update_lead{
  "UPDATE calls SET lead_id = $2 WHERE call_sid = $1"};

constexpr sql_statement update_engine{
  "UPDATE calls SET engine = $2, updated_at = now() WHERE call_sid = $1"};

constexpr sql_statement update_completed{
  "UPDATE calls SET ended_normally = TRUE, status = 'completed',"
  " end_reason = $2, ended_at = now(), updated_at = now()"
  " WHERE call_sid = $1"};

constexpr sql_statement update_lead_from_call{
  "UPDATE leads SET deal = coalesce(nullif($2, ''), deal),"
  " callback_at = coalesce(nullif($3, ''), callback_at), updated_at = now()"
  " WHERE id = (SELECT lead_id FROM calls WHERE call_sid = $1)"};

constexpr sql_statement update_ended_early{
  "UPDATE calls SET status = $2, end_reason = $3,"
  " ended_at = coalesce(ended_at, now()), updated_at = now()"
  " WHERE call_sid = $1 AND NOT ended_normally"};

constexpr sql_statement update_unfinished{
  "UPDATE calls SET status = $2, end_reason = $3, updated_at = now()"
  " WHERE call_sid = $1 AND NOT ended_normally"};

constexpr sql_statement select_ended_normally{
  "SELECT ended_normally FROM calls WHERE call_sid = $1"};

constexpr sql_statement select_transfer{
  "SELECT transfer::text, from_number, to_number FROM calls"
  " WHERE call_sid = $1 AND ended_normally AND transfer IS NOT NULL"
  " AND transfer_status IS NULL"};

constexpr sql_statement update_transfer{
  "UPDATE calls SET transfer = $2::jsonb, ended_normally = TRUE,"
  " status = 'transferring', end_reason = 'transfer', updated_at = now()"
  " WHERE call_sid = $1"};

constexpr sql_statement update_transfer_status{
  "UPDATE calls SET transfer_status = $2, status = CASE WHEN $2 IN"
  " ('completed', 'answered') THEN 'completed' ELSE 'transfer_missed' END,"
  " ended_at = CASE WHEN $2 IN ('completed', 'answered')"
  " THEN coalesce(ended_at, now()) ELSE ended_at END, updated_at = now()"
  " WHERE call_sid = $1 RETURNING transfer_status"};

constexpr sql_statement update_fallback{
  "UPDATE calls SET status = 'fallback', updated_at = now()"
  " WHERE call_sid = $1 AND NOT ended_normally"};

constexpr sql_statement update_status{
  "UPDATE calls SET status = CASE WHEN status IN ('completed',"
  " 'dropped', 'fallback', 'failed') AND $2 = 'in-progress'"
  " THEN status WHEN status = 'transfer_missed'"
  " AND $2 IN ('in-progress', 'completed') THEN status ELSE $2 END,"
  " ended_at = CASE WHEN $2 IN ('completed', 'busy', 'failed',"
  " 'no-answer', 'canceled') THEN coalesce(ended_at, now())"
  " ELSE ended_at END, updated_at = now() WHERE call_sid = $1"};

constexpr sql_statement update_recording_url{
  "UPDATE calls SET recording_url = $2, updated_at = now()"
  " WHERE call_sid = $1 RETURNING (SELECT twilio_account_sid"
  " FROM businesses WHERE id = business_id), (SELECT"
  " twilio_auth_token FROM businesses WHERE id = business_id)"};

constexpr sql_statement update_recording_path{
  "UPDATE calls SET recording_path = $2, updated_at = now()"
  " WHERE call_sid = $1"};

constexpr sql_statement insert_event{
  "INSERT INTO call_events(business_id, call_sid, seq, kind, detail)"
  " SELECT business_id, call_sid, $2, $3, $4::jsonb FROM calls"
  " WHERE call_sid = $1 ON CONFLICT DO NOTHING"};

constexpr sql_statement insert_stream_status{
  "INSERT INTO call_events(business_id, call_sid, seq, kind, detail)"
  " SELECT business_id, call_sid, 100000 + (SELECT count(*) FROM call_events"
  " WHERE call_sid = $1), 'stream_status', $2::jsonb FROM calls"
  " WHERE call_sid = $1 ON CONFLICT DO NOTHING"};

constexpr sql_statement insert_segment{
  "INSERT INTO call_segments(business_id, call_sid, seq, path, duration_ms)"
  " SELECT business_id, call_sid, $2, $3, $4 FROM calls WHERE call_sid = $1"
  " ON CONFLICT DO NOTHING"};

call_twilio_account account_of(const pqxx::row& r) {
  return {text_or_empty(r[0]), secret_or_empty(r[1], "twilio_auth_token")};
}

} // namespace

static std::optional<incoming_business> business_of(const pqxx::result& r) {
  if (r.empty())
    return std::nullopt;
  auto row = r[0];
  incoming_business b;
  b.id = row[0].as<std::int64_t>();
  b.twilio = {text_or_empty(row[1]),
              secret_or_empty(row[2], "twilio_auth_token")};
  b.greeting = row[3].c_str();
  if (!row[4].is_null())
    b.max_live_calls = row[4].as<long>();
  b.live_calls = row[5].as<long>();
  b.voice_engine = row[6].c_str();
  b.voice = row[7].c_str();
  b.greeting_rev = row[8].as<std::int64_t>();
  b.has_transfer = row[9].as<bool>();
  b.name = row[10].c_str();
  b.record_calls = row[11].as<bool>();
  return b;
}

std::optional<incoming_business> find_incoming_business(db_tx& tx,
                                                        const std::string& to) {
  return business_of(exec(tx, select_incoming_business, to));
}

std::optional<incoming_business> find_business_by_id(db_tx& tx,
                                                     std::int64_t id) {
  return business_of(exec(tx, select_business_by_id, id));
}

void insert_ringing_call(db_tx& tx, std::int64_t business,
                         const std::string& call_sid, const std::string& from,
                         const std::string& to) {
  exec(tx, insert_ringing, business, call_sid, from, to);
}

void insert_ringing_call_for_number(db_tx& tx, const std::string& call_sid,
                                    const std::string& from,
                                    const std::string& to) {
  exec(tx, insert_ringing_for_number, call_sid, from, to);
}

std::optional<call_twilio_account> call_account(db_tx& tx,
                                                const std::string& call_sid) {
  auto r = exec(tx, select_call_account, call_sid);
  if (r.empty())
    return std::nullopt;
  return account_of(r[0]);
}

std::optional<std::string> uploaded_greeting(db_tx& tx, std::int64_t business) {
  auto r = exec(tx, select_greeting_audio, business);
  if (r.empty())
    return std::nullopt;
  pqxx::binarystring bytes{r[0][0]};
  return std::string{bytes.str()};
}

std::optional<std::string> rendered_speech(db_tx& tx, const std::string& key) {
  auto r = exec(tx, select_rendered_speech, key);
  if (r.empty())
    return std::nullopt;
  pqxx::binarystring bytes{r[0][0]};
  return std::string{bytes.str()};
}

std::optional<call_twilio_account> business_account(db_tx& tx,
                                                    std::int64_t business) {
  auto r = exec(tx, select_business_account, business);
  if (r.empty())
    return std::nullopt;
  return account_of(r[0]);
}

std::optional<call_row_info> load_call_row(db_tx& tx,
                                           const std::string& call_sid) {
  auto r = exec(tx, select_call_row, call_sid);
  if (r.empty())
    return std::nullopt;
  return call_row_info{r[0][0].as<std::int64_t>(), r[0][1].c_str(),
                       r[0][2].c_str(), r[0][3].c_str(), r[0][4].as<bool>()};
}

std::optional<std::int64_t> mark_call_streaming(db_tx& tx,
                                                const std::string& call_sid,
                                                const std::string& stream_sid) {
  auto r = exec(tx, update_streaming, call_sid, stream_sid);
  if (r.empty())
    return std::nullopt;
  return r[0][0].as<std::int64_t>();
}

void set_call_lead(db_tx& tx, const std::string& call_sid,
                   std::int64_t lead_id) {
  exec(tx, update_lead, call_sid, lead_id);
}

void set_call_engine(db_tx& tx, const std::string& call_sid,
                     const std::string& engine) {
  exec(tx, update_engine, call_sid, engine);
}

void mark_call_completed(db_tx& tx, const std::string& call_sid,
                         const std::string& reason, const std::string& deal,
                         const std::string& callback) {
  exec(tx, update_completed, call_sid, reason);
  exec(tx, update_lead_from_call, call_sid, deal, callback);
  queue_after_call(tx, call_sid);
}

void mark_call_ended_early(db_tx& tx, const std::string& call_sid,
                           const std::string& status, const std::string& reason,
                           const std::string& deal) {
  exec(tx, update_ended_early, call_sid, status, reason);
  if (!deal.empty())
    exec(tx, update_lead_from_call, call_sid, deal, std::string{});
  queue_after_call(tx, call_sid);
}

void mark_call_unfinished(db_tx& tx, const std::string& call_sid,
                          const std::string& status,
                          const std::string& reason) {
  exec(tx, update_unfinished, call_sid, status, reason);
  queue_after_call(tx, call_sid);
}

bool call_ended_normally(db_tx& tx, const std::string& call_sid) {
  auto r = exec(tx, select_ended_normally, call_sid);
  return !r.empty() && r[0][0].as<bool>();
}

std::optional<pending_transfer>
call_pending_transfer(db_tx& tx, const std::string& call_sid) {
  auto r = exec(tx, select_transfer, call_sid);
  if (r.empty())
    return std::nullopt;
  return pending_transfer{r[0][0].c_str(), r[0][1].c_str(), r[0][2].c_str()};
}

void mark_call_transfer(db_tx& tx, const std::string& call_sid,
                        const std::string& transfer_json) {
  exec(tx, update_transfer, call_sid, transfer_json);
}

void set_call_transfer_status(db_tx& tx, const std::string& call_sid,
                              const std::string& status) {
  exec(tx, update_transfer_status, call_sid, status);
  queue_after_call(tx, call_sid);
}

void mark_call_fallback(db_tx& tx, const std::string& call_sid) {
  exec(tx, update_fallback, call_sid);
  queue_after_call(tx, call_sid);
}

void apply_call_status(db_tx& tx, const std::string& call_sid,
                       const std::string& status) {
  exec(tx, update_status, call_sid, status);
  // A final status: the call is over (nothing when its job exists).
  if (status == "completed" || status == "busy" || status == "failed"
      || status == "no-answer" || status == "canceled")
    queue_after_call(tx, call_sid);
}

std::optional<call_twilio_account>
set_call_recording_url(db_tx& tx, const std::string& call_sid,
                       const std::string& url) {
  auto r = exec(tx, update_recording_url, call_sid, url);
  if (r.empty())
    return std::nullopt;
  return account_of(r[0]);
}

void set_call_recording_path(db_tx& tx, const std::string& call_sid,
                             const std::string& path) {
  exec(tx, update_recording_path, call_sid, path);
}

void insert_call_event(db_tx& tx, const std::string& call_sid, std::int64_t seq,
                       const std::string& kind, const std::string& detail) {
  exec(tx, insert_event, call_sid, seq, kind, detail);
}

void insert_stream_status_event(db_tx& tx, const std::string& call_sid,
                                const std::string& detail) {
  exec(tx, insert_stream_status, call_sid, detail);
}

void insert_call_segment(db_tx& tx, const std::string& call_sid,
                         std::int64_t seq, const std::string& path,
                         int duration_ms) {
  exec(tx, insert_segment, call_sid, seq, path, duration_ms);
}

} // namespace al
