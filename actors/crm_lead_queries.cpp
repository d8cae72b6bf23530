// The lead queries of /api/crm (actors/crm_queries.hpp): leads, their
// notes and messages, erasure.
#include "actors/crm_queries.hpp"

#include "actors/crm_query_support.hpp"
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
using namespace crm_detail;

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

// -- rendering ---------------------------------------------------------------

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

json::object note_row(const pqxx::row& r) {
  return json::object{
    {"id", r[0].as<std::int64_t>()}, {"lead_id", r[1].as<std::int64_t>()},
    {"body", r[2].c_str()},          {"author", r[3].c_str()},
    {"created_at", r[4].c_str()},
  };
}

std::optional<std::string> tags_json(const lead_input& in) {
  if (!in.tags)
    return std::nullopt;
  json::array a;
  for (auto& t : *in.tags)
    a.emplace_back(t);
  return json::serialize(a);
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
    item.as_object()["media"] = it == media.end() ? json::array{}
                                                  : std::move(it->second);
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

} // namespace al
