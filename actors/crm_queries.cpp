#include "actors/crm_queries.hpp"

#include "actors/businesses.hpp"
#include "actors/sql.hpp"
#include "actors/sql_fields.hpp"
#include "actors/webhook_outbox.hpp"
#include "actors/whatsapp_media.hpp"

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

#define AL_LEAD_COLUMNS                                                        \
  "id, name, phone, source, status, deal, city, rooms::float8, budget_min,"    \
  " budget_max, notes, array_to_json(tags)::text, callback_at,"                \
  " iso_utc(created_at), iso_utc(updated_at)"

// $1 business, $2 status, $3 source, $4 tag, $5 ILIKE pattern, $6 E.164
#define AL_LEAD_FILTER                                                         \
  " FROM leads WHERE business_id = $1"                                         \
  " AND ($2::text IS NULL OR status = $2::text)"                               \
  " AND ($3::text IS NULL OR source = $3::text)"                               \
  " AND ($4::text IS NULL OR $4::text = ANY(tags))"                            \
  " AND ($5::text IS NULL OR name ILIKE $5::text OR phone ILIKE $5::text"      \
  "      OR notes ILIKE $5::text OR phone = $6::text)"

constexpr sql_statement count_leads{"SELECT count(*)" AL_LEAD_FILTER};

// One page of leads, $7 limit, $8 offset. The page is cut first and only
// its rows are rendered; each order is its own statement so that the
// (business_id, created_at|updated_at) indexes serve it.
#define AL_LEAD_PAGE(order)                                                    \
  "SELECT " AL_LEAD_COLUMNS " FROM (SELECT *" AL_LEAD_FILTER                   \
  " ORDER BY " order " LIMIT $7 OFFSET $8) leads ORDER BY " order

// [sort_updated][ascending]
constexpr sql_statement select_leads[2][2] = {
  {sql_statement{AL_LEAD_PAGE("created_at DESC, id DESC")},
   sql_statement{AL_LEAD_PAGE("created_at, id")}},
  {sql_statement{AL_LEAD_PAGE("updated_at DESC, id DESC")},
   sql_statement{AL_LEAD_PAGE("updated_at, id")}},
};

constexpr sql_statement select_lead{
  "SELECT " AL_LEAD_COLUMNS " FROM leads WHERE business_id = $1 AND id = $2"};

constexpr sql_statement lock_lead{
  "SELECT status, budget_min, budget_max, phone FROM leads"
  " WHERE business_id = $1 AND id = $2 FOR UPDATE"};

constexpr sql_statement select_lead_exists{
  "SELECT 1 FROM leads WHERE business_id = $1 AND id = $2"};

constexpr sql_statement select_lead_by_phone{
  "SELECT id FROM leads WHERE business_id = $1 AND phone = $2 AND id <> $3"};

// Serialises lead status writes against a pipeline change (PUT takes
// FOR NO KEY UPDATE on the same row).
constexpr sql_statement share_business{
  "SELECT 1 FROM businesses WHERE id = $1 FOR SHARE"};

constexpr sql_statement insert_lead{
  "INSERT INTO leads (business_id, name, phone, source, status, deal, city,"
  " rooms, budget_min, budget_max, notes, tags, callback_at)"
  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::numeric, $9, $10, $11,"
  " ARRAY(SELECT jsonb_array_elements_text($12::jsonb)), $13)"
  " RETURNING id"};

// Patch fields come as (given, value) pairs so that null can clear.
constexpr sql_statement update_lead_sql{
  "UPDATE leads SET"
  " name = coalesce($3::text, name),"
  " phone = CASE WHEN $4::boolean THEN $5::text ELSE phone END,"
  " source = coalesce($6::text, source),"
  " status = coalesce($7::text, status),"
  " deal = CASE WHEN $8::boolean THEN $9::text ELSE deal END,"
  " city = CASE WHEN $10::boolean THEN $11::text ELSE city END,"
  " rooms = CASE WHEN $12::boolean THEN $13::numeric ELSE rooms END,"
  " budget_min = CASE WHEN $14::boolean THEN $15::bigint"
  "              ELSE budget_min END,"
  " budget_max = CASE WHEN $16::boolean THEN $17::bigint"
  "              ELSE budget_max END,"
  " notes = coalesce($18::text, notes),"
  " tags = CASE WHEN $19::text IS NULL THEN tags"
  "        ELSE ARRAY(SELECT jsonb_array_elements_text($19::jsonb)) END,"
  " callback_at = CASE WHEN $20::boolean THEN $21::text"
  "               ELSE callback_at END,"
  " updated_at = now()"
  " WHERE business_id = $1 AND id = $2"};

constexpr sql_statement delete_lead_sql{
  "DELETE FROM leads WHERE business_id = $1 AND id = $2 RETURNING id"};

// Erasure of a lead (Israel's Privacy Protection Law): what its calls said
// goes with it -- the audio, the transcript lines, the summaries -- and the
// file paths earlier versions kept (so that the import never brings their
// audio back). The calls themselves stay (counts, billing), without it.
constexpr sql_statement erase_lead_call_audio{
  "DELETE FROM call_audio a USING calls c WHERE c.business_id = $1"
  " AND c.lead_id = $2 AND a.business_id = c.business_id"
  " AND a.call_sid = c.call_sid"};

constexpr sql_statement erase_lead_transcripts{
  "DELETE FROM call_events e USING calls c WHERE c.business_id = $1"
  " AND c.lead_id = $2 AND e.business_id = c.business_id"
  " AND e.call_sid = c.call_sid"
  " AND e.kind IN ('transcript', 'transcript_gap')"};

constexpr sql_statement erase_lead_segment_paths{
  "DELETE FROM call_segments s USING calls c WHERE c.business_id = $1"
  " AND c.lead_id = $2 AND s.business_id = c.business_id"
  " AND s.call_sid = c.call_sid"};

constexpr sql_statement erase_lead_call_summaries{
  "UPDATE calls SET summary = NULL, summary_fields = NULL,"
  " recording_path = NULL, updated_at = now()"
  " WHERE business_id = $1 AND lead_id = $2"};

// An erased lead's calls get no new transcript or summary: their pending or
// running after-call jobs end here (a running one then finds its lease
// gone and writes nothing).
constexpr sql_statement end_lead_after_call_jobs{
  "UPDATE after_call_jobs j SET status = 'done', lease_token = NULL,"
  " lease_until = NULL, last_error = 'lead erased', updated_at = now()"
  " FROM calls c WHERE c.business_id = $1 AND c.lead_id = $2"
  " AND j.call_sid = c.call_sid AND j.status IN ('pending', 'running')"};

// The webhook events that carry the lead's data (its calls' transcripts
// and summaries, its messages, payments, the lead itself) leave the outbox
// too: a copy kept for retries or shown in the deliveries list would
// outlive the erasure. (What a receiver already got is the receiver's.)
constexpr sql_statement erase_lead_webhook_events{
  "DELETE FROM webhook_outbox WHERE business_id = $1"
  " AND (body::jsonb -> 'data' ->> 'lead_id' = $2::bigint::text"
  "  OR (event = 'lead.created'"
  "      AND body::jsonb -> 'data' ->> 'id' = $2::bigint::text))"};

// GET /api/crm/calls/{sid}: the after-call job and the summary's fields.
constexpr sql_statement select_call_after{
  "SELECT c.summary_fields::text, j.status, j.attempts, j.last_error"
  " FROM calls c LEFT JOIN after_call_jobs j ON j.call_sid = c.call_sid"
  " WHERE c.business_id = $1 AND c.call_sid = $2"};

constexpr sql_statement insert_status_change{
  "INSERT INTO lead_history (business_id, lead_id, field, old_value,"
  " new_value, actor) VALUES ($1, $2, 'status', $3, $4, $5)"};

constexpr sql_statement select_lead_history{
  "SELECT field, old_value, new_value, actor, iso_utc(created_at)"
  " FROM lead_history WHERE business_id = $1 AND lead_id = $2 ORDER BY id"};

constexpr sql_statement count_lead_messages{
  "SELECT count(*) FROM messages WHERE business_id = $1 AND lead_id = $2"};

constexpr sql_statement select_lead_messages{
  "SELECT id, direction, provider, provider_sid, from_address, to_address,"
  " body, array_to_json(media_urls)::text, status, error_code, error,"
  " iso_utc(created_at), iso_utc(updated_at), conversation_seq"
  " FROM messages WHERE business_id = $1 AND lead_id = $2"
  " ORDER BY id DESC LIMIT $3 OFFSET $4"};

constexpr sql_statement count_notes{
  "SELECT count(*) FROM lead_notes WHERE business_id = $1 AND lead_id = $2"};

constexpr sql_statement select_notes{
  "SELECT id, lead_id, body, author, iso_utc(created_at) FROM lead_notes"
  " WHERE business_id = $1 AND lead_id = $2"
  " ORDER BY id DESC LIMIT $3 OFFSET $4"};

constexpr sql_statement insert_note{
  "INSERT INTO lead_notes (business_id, lead_id, body, author)"
  " VALUES ($1, $2, $3, $4)"
  " RETURNING id, lead_id, body, author, iso_utc(created_at)"};

#define AL_CALL_COLUMNS                                                        \
  "call_sid, from_number, to_number, status, engine, lead_id,"                 \
  " ended_normally, end_reason, summary, EXISTS (SELECT 1 FROM call_audio a"  \
  " WHERE a.business_id = calls.business_id AND a.call_sid = calls.call_sid"   \
  " AND a.kind IN ('call', 'recording') AND a.complete),"                      \
  " iso_utc(created_at), iso_utc(started_at), iso_utc(ended_at),"              \
  " extract(epoch FROM (ended_at - coalesce(started_at, created_at)))::float8"

// $1 business, $2 status, $3 from (E.164), $4 lead
#define AL_CALL_FILTER                                                         \
  " FROM calls WHERE business_id = $1"                                         \
  " AND ($2::text IS NULL OR status = $2::text)"                               \
  " AND ($3::text IS NULL OR from_number = $3::text)"                          \
  " AND ($4::bigint IS NULL OR lead_id = $4::bigint)"

constexpr sql_statement count_calls{"SELECT count(*)" AL_CALL_FILTER};

constexpr sql_statement select_calls{
  "SELECT " AL_CALL_COLUMNS " FROM (SELECT *" AL_CALL_FILTER
  " ORDER BY created_at DESC, id DESC LIMIT $5 OFFSET $6) calls"
  " ORDER BY created_at DESC, id DESC"};

constexpr sql_statement select_call{
  "SELECT " AL_CALL_COLUMNS
  " FROM calls WHERE business_id = $1 AND call_sid = $2"};

constexpr sql_statement select_call_events{
  "SELECT seq, kind, detail::text, iso_utc(created_at) FROM call_events"
  " WHERE business_id = $1 AND call_sid = $2 ORDER BY seq, id"};

// The listings the AI offered on the call (deleted ones too: the call
// happened).
constexpr sql_statement select_call_listings{
  "SELECT l.id, l.title, l.deleted_at IS NOT NULL FROM listing_mentions m"
  " JOIN listings l ON l.id = m.listing_id WHERE m.business_id = $1"
  " AND m.call_sid = $2 ORDER BY m.id"};

// The caller's turns kept in the database (schemas/0017_audio.sql).
constexpr sql_statement select_call_segments{
  "SELECT seq, duration_ms, iso_utc(created_at) FROM call_audio"
  " WHERE business_id = $1 AND call_sid = $2 AND kind = 'segment'"
  " AND complete ORDER BY seq"};

#define AL_APPOINTMENT_COLUMNS                                                 \
  "a.id, a.lead_id, (SELECT l.name FROM leads l WHERE l.id = a.lead_id"        \
  " AND l.business_id = a.business_id), iso_utc(a.starts_at), a.address,"      \
  " a.notes, a.status, iso_utc(a.created_at), iso_utc(a.updated_at)"

// $1 business, $2/$3 from (timestamptz/date), $4/$5 to, $6 status, $7 lead.
// Dates are days in Asia/Jerusalem, both ends inclusive.
#define AL_APPOINTMENT_FILTER                                                  \
  " FROM appointments a WHERE a.business_id = $1"                              \
  " AND ($2::timestamptz IS NULL OR a.starts_at >= $2::timestamptz)"           \
  " AND ($3::date IS NULL OR a.starts_at >="                                   \
  "      ($3::date)::timestamp AT TIME ZONE 'Asia/Jerusalem')"                 \
  " AND ($4::timestamptz IS NULL OR a.starts_at <= $4::timestamptz)"           \
  " AND ($5::date IS NULL OR a.starts_at <"                                    \
  "      ($5::date + 1)::timestamp AT TIME ZONE 'Asia/Jerusalem')"             \
  " AND ($6::text IS NULL OR a.status = $6::text)"                             \
  " AND ($7::bigint IS NULL OR a.lead_id = $7::bigint)"

constexpr sql_statement count_appointments{
  "SELECT count(*)" AL_APPOINTMENT_FILTER};

constexpr sql_statement select_appointments{
  "SELECT " AL_APPOINTMENT_COLUMNS " FROM (SELECT a.*" AL_APPOINTMENT_FILTER
  " ORDER BY a.starts_at, a.id LIMIT $8 OFFSET $9) a"
  " ORDER BY a.starts_at, a.id"};

constexpr sql_statement select_appointment{
  "SELECT " AL_APPOINTMENT_COLUMNS
  " FROM appointments a WHERE a.business_id = $1 AND a.id = $2"};

constexpr sql_statement insert_appointment{
  "INSERT INTO appointments (business_id, lead_id, starts_at, address,"
  " notes, status) VALUES ($1, $2, $3::timestamptz, coalesce($4, ''),"
  " coalesce($5, ''), coalesce($6, 'scheduled')) RETURNING id"};

constexpr sql_statement update_appointment_sql{
  "UPDATE appointments SET"
  " lead_id = CASE WHEN $3::boolean THEN $4::bigint ELSE lead_id END,"
  " starts_at = coalesce($5::timestamptz, starts_at),"
  " address = coalesce($6::text, address),"
  " notes = coalesce($7::text, notes),"
  " status = coalesce($8::text, status),"
  " updated_at = now()"
  " WHERE business_id = $1 AND id = $2 RETURNING id"};

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

#define AL_TASK_COLUMNS                                                        \
  "id, lead_id, title, iso_utc(due_at), done, iso_utc(created_at),"            \
  " iso_utc(updated_at)"

// $1 business, $2 lead, $3 done
#define AL_TASK_FILTER                                                         \
  " FROM tasks WHERE business_id = $1"                                         \
  " AND ($2::bigint IS NULL OR lead_id = $2::bigint)"                          \
  " AND ($3::boolean IS NULL OR done = $3::boolean)"

constexpr sql_statement count_tasks{"SELECT count(*)" AL_TASK_FILTER};

constexpr sql_statement select_tasks{
  "SELECT " AL_TASK_COLUMNS " FROM (SELECT *" AL_TASK_FILTER
  " ORDER BY done, due_at NULLS LAST, id LIMIT $4 OFFSET $5) tasks"
  " ORDER BY done, due_at NULLS LAST, id"};

constexpr sql_statement select_task{
  "SELECT " AL_TASK_COLUMNS " FROM tasks WHERE business_id = $1 AND id = $2"};

constexpr sql_statement insert_task{
  "INSERT INTO tasks (business_id, lead_id, title, due_at, done)"
  " VALUES ($1, $2, $3, $4::timestamptz, coalesce($5, false)) RETURNING id"};

constexpr sql_statement update_task_sql{
  "UPDATE tasks SET"
  " lead_id = CASE WHEN $3::boolean THEN $4::bigint ELSE lead_id END,"
  " title = coalesce($5::text, title),"
  " due_at = CASE WHEN $6::boolean THEN $7::timestamptz ELSE due_at END,"
  " done = coalesce($8::boolean, done),"
  " updated_at = now()"
  " WHERE business_id = $1 AND id = $2 RETURNING id"};

// -- rendering ---------------------------------------------------------------

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

json::object lead_row(const pqxx::row& r) {
  return json::object{
    {"id", r[0].as<std::int64_t>()},
    {"name", r[1].c_str()},
    {"phone", text_or_null(r[2])},
    {"source", r[3].c_str()},
    {"status", r[4].c_str()},
    {"deal", text_or_null(r[5])},
    {"city", text_or_null(r[6])},
    {"rooms", double_or_null(r[7])},
    {"budget_min", int_or_null(r[8])},
    {"budget_max", int_or_null(r[9])},
    {"notes", r[10].c_str()},
    {"tags", json_or_null(r[11])},
    {"callback_at", text_or_null(r[12])},
    {"created_at", r[13].c_str()},
    {"updated_at", r[14].c_str()},
  };
}

json::object call_row(const pqxx::row& r) {
  std::string sid = r[0].c_str();
  json::object o{
    {"sid", sid},
    {"from", r[1].c_str()},
    {"to", r[2].c_str()},
    {"status", r[3].c_str()},
    {"engine", r[4].c_str()},
    {"lead_id", int_or_null(r[5])},
    {"ended_normally", r[6].as<bool>()},
    {"end_reason", text_or_null(r[7])},
    {"summary", text_or_null(r[8])},
    {"created_at", r[10].c_str()},
    {"started_at", text_or_null(r[11])},
    {"ended_at", text_or_null(r[12])},
    {"duration_s", double_or_null(r[13])},
  };
  o["recording_url"] = r[9].as<bool>()
                         ? json::value("/api/crm/calls/" + sid + "/recording")
                         : json::value(nullptr);
  return o;
}

json::object appointment_row(const pqxx::row& r) {
  return json::object{
    {"id", r[0].as<std::int64_t>()},   {"lead_id", int_or_null(r[1])},
    {"lead_name", text_or_null(r[2])}, {"starts_at", r[3].c_str()},
    {"address", r[4].c_str()},         {"notes", r[5].c_str()},
    {"status", r[6].c_str()},          {"created_at", r[7].c_str()},
    {"updated_at", r[8].c_str()},
  };
}

json::object task_row(const pqxx::row& r) {
  return json::object{
    {"id", r[0].as<std::int64_t>()}, {"lead_id", int_or_null(r[1])},
    {"title", r[2].c_str()},         {"due_at", text_or_null(r[3])},
    {"done", r[4].as<bool>()},       {"created_at", r[5].c_str()},
    {"updated_at", r[6].c_str()},
  };
}

json::object note_row(const pqxx::row& r) {
  return json::object{
    {"id", r[0].as<std::int64_t>()}, {"lead_id", r[1].as<std::int64_t>()},
    {"body", r[2].c_str()},          {"author", r[3].c_str()},
    {"created_at", r[4].c_str()},
  };
}

crm_reply ok(json::value v, crm_code code = crm_code::ok) {
  return crm_reply{code, std::move(v)};
}

std::int64_t count_of(const pqxx::result& r) {
  return r[0][0].as<std::int64_t>();
}

std::optional<std::string> tags_json(const lead_input& in) {
  if (!in.tags)
    return std::nullopt;
  json::array a;
  for (auto& t : *in.tags)
    a.emplace_back(t);
  return json::serialize(a);
}

bool lead_exists(db_tx& tx, std::int64_t business, std::int64_t id) {
  return !exec(tx, select_lead_exists, business, id).empty();
}

crm_reply no_lead() {
  return crm_fail(crm_code::not_found, "No such lead");
}

/// 409 naming the lead that already has the phone.
crm_reply phone_taken(std::int64_t lead) {
  auto r = crm_fail(crm_code::conflict,
                    "Another lead of this business has this phone");
  r.body.as_object()["lead_id"] = lead;
  return r;
}

std::optional<std::int64_t> lead_with_phone(db_tx& tx, std::int64_t business,
                                            const std::string& phone,
                                            std::int64_t except) {
  auto r = exec(tx, select_lead_by_phone, business, phone, except);
  if (r.empty())
    return std::nullopt;
  return r[0][0].as<std::int64_t>();
}

/// nullopt when `status` is in the pipeline, else the 422.
std::optional<crm_reply> check_status(db_tx& tx, std::int64_t business,
                                      const std::string& status) {
  std::string keys;
  for (auto& s : pipeline_of(tx, business)) {
    if (s.key == status)
      return std::nullopt;
    keys += (keys.empty() ? "" : ", ") + s.key;
  }
  return crm_fail(crm_code::unprocessable,
                  "status must be one of the pipeline statuses: " + keys);
}

crm_reply lead_view(db_tx& tx, std::int64_t business, std::int64_t id,
                    crm_code code) {
  auto r = exec(tx, select_lead, business, id);
  if (r.empty())
    return no_lead();
  return ok(lead_row(r[0]), code);
}

} // namespace

json::object page_of(json::array items, const page_params& p,
                     std::int64_t total) {
  return json::object{{"items", std::move(items)},
                      {"page", p.page},
                      {"per_page", p.per_page},
                      {"total", total}};
}

// -- leads -------------------------------------------------------------------

crm_reply list_leads(db_tx& tx, std::int64_t business, const lead_filter& f) {
  std::optional<std::string> pattern;
  if (f.q)
    pattern = ilike_contains(*f.q);
  auto total = count_of(exec(tx, count_leads, business, f.status, f.source,
                             f.tag, pattern, f.phone));
  json::array items;
  const auto& sql = select_leads[f.sort_updated ? 1 : 0][f.ascending ? 1 : 0];
  for (auto row : exec(tx, sql, business, f.status, f.source, f.tag, pattern,
                       f.phone, f.paging.per_page, f.paging.offset()))
    items.push_back(lead_row(row));
  return ok(page_of(std::move(items), f.paging, total));
}

crm_reply create_lead(db_tx& tx, std::int64_t business, const lead_input& in,
                      const std::string& actor) {
  exec(tx, share_business, business);
  std::string status;
  if (in.status) {
    if (auto bad = check_status(tx, business, *in.status))
      return *bad;
    status = *in.status;
  } else {
    status = pipeline_of(tx, business).front().key;
  }
  auto phone = flat(in.phone);
  if (phone)
    if (auto other = lead_with_phone(tx, business, *phone, 0))
      return phone_taken(*other);
  std::int64_t id = 0;
  try {
    // A savepoint: a concurrent insert of the same phone is a 409, not a
    // failed transaction.
    pqxx::subtransaction sub{tx, "create_lead"};
    id = exec(sub, insert_lead, business, in.name.value_or(""), phone,
              in.source.value_or("manual"), status, flat(in.deal),
              flat(in.city), flat(in.rooms), flat(in.budget_min),
              flat(in.budget_max), in.notes.value_or(""),
              tags_json(in).value_or("[]"), flat(in.callback_at))[0][0]
           .as<std::int64_t>();
    sub.commit();
  } catch (const pqxx::unique_violation&) {
    if (phone)
      if (auto other = lead_with_phone(tx, business, *phone, 0))
        return phone_taken(*other);
    throw;
  }
  exec(tx, insert_status_change, business, id, std::optional<std::string>{},
       status, actor);
  enqueue_lead_created(tx, business, id);
  return lead_view(tx, business, id, crm_code::created);
}

crm_reply get_lead(db_tx& tx, std::int64_t business, std::int64_t id) {
  auto r = exec(tx, select_lead, business, id);
  if (r.empty())
    return no_lead();
  auto o = lead_row(r[0]);
  json::array history;
  for (auto h : exec(tx, select_lead_history, business, id))
    history.push_back(json::object{{"field", h[0].c_str()},
                                   {"from", text_or_null(h[1])},
                                   {"to", text_or_null(h[2])},
                                   {"actor", h[3].c_str()},
                                   {"at", h[4].c_str()}});
  o["history"] = std::move(history);
  return ok(std::move(o));
}

crm_reply update_lead(db_tx& tx, std::int64_t business, std::int64_t id,
                      const lead_input& in, const std::string& actor) {
  exec(tx, share_business, business);
  auto cur = exec(tx, lock_lead, business, id);
  if (cur.empty())
    return no_lead();
  std::string old_status = cur[0][0].c_str();
  auto cur_min = cur[0][1].is_null()
                   ? std::optional<std::int64_t>{}
                   : std::optional<std::int64_t>{cur[0][1].as<std::int64_t>()};
  auto cur_max = cur[0][2].is_null()
                   ? std::optional<std::int64_t>{}
                   : std::optional<std::int64_t>{cur[0][2].as<std::int64_t>()};
  auto new_min = given(in.budget_min) ? *in.budget_min : cur_min;
  auto new_max = given(in.budget_max) ? *in.budget_max : cur_max;
  if (new_min && new_max && *new_min > *new_max)
    return crm_fail(crm_code::unprocessable,
                    "budget_min must not exceed budget_max");
  if (in.status && *in.status != old_status)
    if (auto bad = check_status(tx, business, *in.status))
      return *bad;
  auto phone = flat(in.phone);
  if (phone)
    if (auto other = lead_with_phone(tx, business, *phone, id))
      return phone_taken(*other);
  try {
    pqxx::subtransaction sub{tx, "update_lead"};
    exec(sub, update_lead_sql, business, id, in.name, given(in.phone), phone,
         in.source, in.status, given(in.deal), flat(in.deal), given(in.city),
         flat(in.city), given(in.rooms), flat(in.rooms), given(in.budget_min),
         flat(in.budget_min), given(in.budget_max), flat(in.budget_max),
         in.notes, tags_json(in), given(in.callback_at), flat(in.callback_at));
    sub.commit();
  } catch (const pqxx::unique_violation&) {
    if (phone)
      if (auto other = lead_with_phone(tx, business, *phone, id))
        return phone_taken(*other);
    throw;
  }
  if (in.status && *in.status != old_status)
    exec(tx, insert_status_change, business, id, old_status, *in.status, actor);
  return lead_view(tx, business, id, crm_code::ok);
}

crm_reply delete_lead(db_tx& tx, std::int64_t business, std::int64_t id) {
  // Before the lead row goes (its calls' lead_id is then NULL), in the
  // same transaction.
  exec(tx, erase_lead_call_audio, business, id);
  exec(tx, erase_lead_transcripts, business, id);
  exec(tx, erase_lead_segment_paths, business, id);
  exec(tx, erase_lead_call_summaries, business, id);
  exec(tx, end_lead_after_call_jobs, business, id);
  exec(tx, erase_lead_webhook_events, business, id);
  if (exec(tx, delete_lead_sql, business, id).empty())
    return no_lead();
  return ok(json::object{{"success", true}, {"id", id}});
}

crm_reply list_lead_messages(db_tx& tx, std::int64_t business,
                             std::int64_t lead, const page_params& p) {
  if (!lead_exists(tx, business, lead))
    return no_lead();
  auto total = count_of(exec(tx, count_lead_messages, business, lead));
  json::array items;
  for (auto r :
       exec(tx, select_lead_messages, business, lead, p.per_page, p.offset()))
    items.push_back(json::object{
      {"id", r[0].as<std::int64_t>()},
      {"direction", r[1].c_str()},
      {"provider", r[2].c_str()},
      {"provider_sid", text_or_null(r[3])},
      {"from", r[4].c_str()},
      {"to", r[5].c_str()},
      {"body", r[6].c_str()},
      {"media_urls", json_or_null(r[7])},
      {"status", r[8].c_str()},
      {"error_code", text_or_null(r[9])},
      {"error", text_or_null(r[10])},
      {"created_at", r[11].c_str()},
      {"updated_at", r[12].c_str()},
      {"conversation_seq", int_or_null(r[13])},
    });
  // Each message's attachments (actors/whatsapp_media.hpp), one query.
  std::vector<std::int64_t> ids;
  for (auto& item : items)
    ids.push_back(item.as_object().at("id").as_int64());
  auto media = wa_media_of(tx, business, ids);
  for (auto& item : items) {
    auto it = media.find(item.as_object().at("id").as_int64());
    item.as_object()["media"]
      = it == media.end() ? json::array{} : std::move(it->second);
  }
  return ok(page_of(std::move(items), p, total));
}

crm_reply list_notes(db_tx& tx, std::int64_t business, std::int64_t lead,
                     const page_params& p) {
  if (!lead_exists(tx, business, lead))
    return no_lead();
  auto total = count_of(exec(tx, count_notes, business, lead));
  json::array items;
  for (auto r : exec(tx, select_notes, business, lead, p.per_page, p.offset()))
    items.push_back(note_row(r));
  return ok(page_of(std::move(items), p, total));
}

crm_reply add_note(db_tx& tx, std::int64_t business, std::int64_t lead,
                   const std::string& body, const std::string& author) {
  if (!lead_exists(tx, business, lead))
    return no_lead();
  auto r = exec(tx, insert_note, business, lead, body, author);
  return ok(note_row(r[0]), crm_code::created);
}

// -- calls -------------------------------------------------------------------

crm_reply list_calls(db_tx& tx, std::int64_t business, const call_filter& f) {
  auto total
    = count_of(exec(tx, count_calls, business, f.status, f.from, f.lead_id));
  json::array items;
  for (auto r : exec(tx, select_calls, business, f.status, f.from, f.lead_id,
                     f.paging.per_page, f.paging.offset()))
    items.push_back(call_row(r));
  return ok(page_of(std::move(items), f.paging, total));
}

crm_reply get_call(db_tx& tx, std::int64_t business, const std::string& sid) {
  auto r = exec(tx, select_call, business, sid);
  if (r.empty())
    return crm_fail(crm_code::not_found, "No such call");
  auto o = call_row(r[0]);
  json::array events, transcript, segments;
  for (auto e : exec(tx, select_call_events, business, sid)) {
    auto detail = json_or_null(e[2]);
    std::string kind = e[1].c_str();
    if (kind == "transcript") {
      json::object line{{"seq", e[0].as<std::int64_t>()}, {"at", e[3].c_str()}};
      if (auto* d = detail.if_object()) {
        for (auto key : {"role", "speaker", "text"})
          if (auto* v = d->if_contains(key))
            line[key] = *v;
      }
      transcript.push_back(std::move(line));
    }
    events.push_back(json::object{{"seq", e[0].as<std::int64_t>()},
                                  {"kind", kind},
                                  {"detail", std::move(detail)},
                                  {"at", e[3].c_str()}});
  }
  for (auto s : exec(tx, select_call_segments, business, sid)) {
    auto seq = s[0].as<std::int64_t>();
    segments.push_back(json::object{
      {"seq", seq},
      {"duration_ms", s[1].as<std::int64_t>()},
      {"at", s[2].c_str()},
      {"url", "/api/crm/calls/" + sid + "/segments/" + std::to_string(seq)}});
  }
  json::array listings;
  for (auto l : exec(tx, select_call_listings, business, sid))
    listings.push_back(json::object{{"id", l[0].as<std::int64_t>()},
                                    {"title", l[1].c_str()},
                                    {"deleted", l[2].as<bool>()}});
  o["events"] = std::move(events);
  o["transcript"] = std::move(transcript);
  o["segments"] = std::move(segments);
  o["listings"] = std::move(listings);
  // "summary_fields": {...} | null; "after_call": {"status","attempts",
  // "error"} | null (no job: the call has not ended).
  o["summary_fields"] = nullptr;
  o["after_call"] = nullptr;
  if (auto a = exec(tx, select_call_after, business, sid); !a.empty()) {
    o["summary_fields"] = json_or_null(a[0][0]);
    if (!a[0][1].is_null())
      o["after_call"] = json::object{{"status", a[0][1].c_str()},
                                     {"attempts", a[0][2].as<std::int64_t>()},
                                     {"error", text_or_null(a[0][3])}};
  }
  return ok(std::move(o));
}

// -- appointments ------------------------------------------------------------

crm_reply list_appointments(db_tx& tx, std::int64_t business,
                            const appointment_filter& f) {
  auto total
    = count_of(exec(tx, count_appointments, business, f.from_ts, f.from_date,
                    f.to_ts, f.to_date, f.status, f.lead_id));
  json::array items;
  for (auto r : exec(tx, select_appointments, business, f.from_ts, f.from_date,
                     f.to_ts, f.to_date, f.status, f.lead_id, f.paging.per_page,
                     f.paging.offset()))
    items.push_back(appointment_row(r));
  return ok(page_of(std::move(items), f.paging, total));
}

crm_reply create_appointment(db_tx& tx, std::int64_t business,
                             const appointment_input& in) {
  auto lead = flat(in.lead_id);
  if (lead && !lead_exists(tx, business, *lead))
    return no_lead();
  auto id = exec(tx, insert_appointment, business, lead, *in.starts_at,
                 in.address, in.notes, in.status)[0][0]
              .as<std::int64_t>();
  return ok(appointment_row(exec(tx, select_appointment, business, id)[0]),
            crm_code::created);
}

crm_reply update_appointment(db_tx& tx, std::int64_t business, std::int64_t id,
                             const appointment_input& in) {
  auto lead = flat(in.lead_id);
  if (lead && !lead_exists(tx, business, *lead))
    return no_lead();
  auto r = exec(tx, update_appointment_sql, business, id, given(in.lead_id),
                lead, in.starts_at, in.address, in.notes, in.status);
  if (r.empty())
    return crm_fail(crm_code::not_found, "No such appointment");
  return ok(appointment_row(exec(tx, select_appointment, business, id)[0]));
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

// -- tasks -------------------------------------------------------------------

crm_reply list_tasks(db_tx& tx, std::int64_t business, const task_filter& f) {
  auto total = count_of(exec(tx, count_tasks, business, f.lead_id, f.done));
  json::array items;
  for (auto r : exec(tx, select_tasks, business, f.lead_id, f.done,
                     f.paging.per_page, f.paging.offset()))
    items.push_back(task_row(r));
  return ok(page_of(std::move(items), f.paging, total));
}

crm_reply create_task(db_tx& tx, std::int64_t business, const task_input& in) {
  auto lead = flat(in.lead_id);
  if (lead && !lead_exists(tx, business, *lead))
    return no_lead();
  auto id = exec(tx, insert_task, business, lead, *in.title, flat(in.due_at),
                 in.done)[0][0]
              .as<std::int64_t>();
  return ok(task_row(exec(tx, select_task, business, id)[0]),
            crm_code::created);
}

crm_reply update_task(db_tx& tx, std::int64_t business, std::int64_t id,
                      const task_input& in) {
  auto lead = flat(in.lead_id);
  if (lead && !lead_exists(tx, business, *lead))
    return no_lead();
  auto r = exec(tx, update_task_sql, business, id, given(in.lead_id), lead,
                in.title, given(in.due_at), flat(in.due_at), in.done);
  if (r.empty())
    return crm_fail(crm_code::not_found, "No such task");
  return ok(task_row(exec(tx, select_task, business, id)[0]));
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
