// The call queries of /api/crm (actors/crm_queries.hpp).
#include "actors/crm_queries.hpp"

#include "actors/call_rows.hpp"
#include "actors/crm_query_support.hpp"
#include "actors/sql.hpp"
#include "actors/sql_fields.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

namespace al {

namespace json = boost::json;
using namespace crm_detail;

namespace {

// -- SQL ---------------------------------------------------------------------
// Named statements, next to their use. Shared fragments are string-literal
// macros so that every statement is still one compile-time constant; every
// value travels as a parameter.

// GET /api/crm/calls/{sid}: the after-call job and the summary's fields.
constexpr sql_statement select_call_after{
  "SELECT c.summary_fields::text, j.status, j.attempts, j.last_error"
  " FROM calls c LEFT JOIN after_call_jobs j ON j.call_sid = c.call_sid"
  " WHERE c.business_id = $1 AND c.call_sid = $2"};

#define AL_CALL_COLUMNS                                                        \
  "call_sid, from_number, to_number, status, engine, lead_id,"                 \
  " ended_normally, end_reason, summary, EXISTS (SELECT 1 FROM call_audio a"   \
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

// -- rendering ---------------------------------------------------------------

json::object call_row(const pqxx::row& r) {
  std::string sid = r[0].c_str();
  auto o = call_head_json(r);
  o["end_reason"] = text_or_null(r[7]);
  o["summary"] = text_or_null(r[8]);
  o["created_at"] = r[10].c_str();
  o["started_at"] = text_or_null(r[11]);
  o["ended_at"] = text_or_null(r[12]);
  o["duration_s"] = double_or_null(r[13]);
  o["recording_url"] = r[9].as<bool>()
                         ? json::value("/api/crm/calls/" + sid + "/recording")
                         : json::value(nullptr);
  return o;
}

} // namespace

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

} // namespace al
