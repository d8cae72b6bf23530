#include "actors/stats.hpp"

#include "actors/sql.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <map>
#include <string>

namespace al {

namespace json = boost::json;

namespace {

// -- SQL ---------------------------------------------------------------------
// $1 is always the business. Dates arrive as "YYYY-MM-DD" text already
// validated by core/stats_input; an Israel day D is the instants
// [D 00:00, D+1 00:00) in Asia/Jerusalem (23 or 25 hours on a DST switch).

// The range [$2 00:00, $3 + 1 00:00) in Israel time, as timestamptz.
#define AL_RANGE_LO "(($2::date)::timestamp AT TIME ZONE 'Asia/Jerusalem')"
#define AL_RANGE_HI "(($3::date + 1)::timestamp AT TIME ZONE 'Asia/Jerusalem')"

// One outcome per call; see actors/stats.hpp for why each arm.
#define AL_CALL_OUTCOME                                                        \
  "CASE WHEN transfer IS NOT NULL AND (transfer_status IS NULL"                \
  "   OR transfer_status IN ('completed', 'answered')) THEN 'transferred'"     \
  " WHEN recording_url IS NOT NULL OR transfer IS NOT NULL"                    \
  "   OR status IN ('fallback', 'transfer_missed', 'redirected')"              \
  "   OR (NOT ended_normally AND end_reason IS NOT NULL"                       \
  "       AND end_reason <> 'stop') THEN 'voicemail'"                          \
  " WHEN status IN ('busy', 'no-answer', 'canceled', 'failed')"                \
  "   OR started_at IS NULL THEN 'missed'"                                     \
  " ELSE 'ai_handled' END"

// Every day of the range (zeros included), with its calls by outcome. The
// calls_business_created index serves the range scan.
constexpr sql_statement select_calls_by_day{
  "WITH c AS (SELECT (created_at AT TIME ZONE 'Asia/Jerusalem')::date AS day,"
  " " AL_CALL_OUTCOME " AS outcome FROM calls WHERE business_id = $1"
  " AND created_at >= " AL_RANGE_LO " AND created_at < " AL_RANGE_HI ")"
  " SELECT to_char(d.day, 'YYYY-MM-DD'),"
  " count(c.day) FILTER (WHERE c.outcome = 'ai_handled'),"
  " count(c.day) FILTER (WHERE c.outcome = 'transferred'),"
  " count(c.day) FILTER (WHERE c.outcome = 'voicemail'),"
  " count(c.day) FILTER (WHERE c.outcome = 'missed')"
  " FROM (SELECT $2::date + i AS day"
  "       FROM generate_series(0, $3::date - $2::date) i) d"
  " LEFT JOIN c ON c.day = d.day GROUP BY d.day ORDER BY d.day"};

// Calls of the range by the Israel hour they came in, all 24 hours.
constexpr sql_statement select_calls_by_hour{
  "SELECT h, count(c.created_at) FROM generate_series(0, 23) h"
  " LEFT JOIN (SELECT created_at FROM calls WHERE business_id = $1"
  " AND created_at >= " AL_RANGE_LO " AND created_at < " AL_RANGE_HI ") c"
  " ON extract(hour FROM c.created_at AT TIME ZONE 'Asia/Jerusalem') = h"
  " GROUP BY h ORDER BY h"};

// Leads that came in during the range, by source and by current status.
constexpr sql_statement select_leads_by_source{
  "SELECT source, count(*) FROM leads WHERE business_id = $1"
  " AND created_at >= " AL_RANGE_LO " AND created_at < " AL_RANGE_HI
  " GROUP BY source"};

constexpr sql_statement select_leads_by_status{
  "SELECT status, count(*) FROM leads WHERE business_id = $1"
  " AND created_at >= " AL_RANGE_LO " AND created_at < " AL_RANGE_HI
  " GROUP BY status"};

// $2 today (Israel), $3 now (Unix seconds). This week: Sunday to Saturday
// around today, cancelled ones aside. Upcoming: scheduled from now on.
#define AL_WEEK_START "($2::date - extract(dow FROM $2::date)::int)"
constexpr sql_statement select_appointments{
  "SELECT count(*) FILTER (WHERE status <> 'cancelled'"
  "   AND starts_at >= (" AL_WEEK_START ")::timestamp"
  "       AT TIME ZONE 'Asia/Jerusalem'"
  "   AND starts_at < (" AL_WEEK_START " + 7)::timestamp"
  "       AT TIME ZONE 'Asia/Jerusalem'),"
  " count(*) FILTER (WHERE status = 'scheduled'"
  "   AND starts_at >= to_timestamp($3::bigint))"
  " FROM appointments WHERE business_id = $1"
  " AND starts_at >= least((" AL_WEEK_START ")::timestamp"
  "     AT TIME ZONE 'Asia/Jerusalem', to_timestamp($3::bigint))"};

// $2 today (Israel). Paid this month: payments in ILS whose move to
// `paid` (its payment_events row; else the last update) falls in today's
// Israel calendar month. Pending: every payment link still open.
#define AL_MONTH_START                                                         \
  "(date_trunc('month', $2::date::timestamp) AT TIME ZONE 'Asia/Jerusalem')"
#define AL_MONTH_END                                                           \
  "((date_trunc('month', $2::date::timestamp) + interval '1 month')"           \
  " AT TIME ZONE 'Asia/Jerusalem')"
constexpr sql_statement select_payments{
  "WITH p AS (SELECT status, currency, amount_minor,"
  " coalesce((SELECT min(e.created_at) FROM payment_events e"
  "   WHERE e.business_id = payments.business_id"
  "   AND e.payment_id = payments.id AND e.to_status = 'paid'),"
  "   updated_at) AS paid_at"
  " FROM payments WHERE business_id = $1 AND (status = 'pending'"
  " OR (status = 'paid' AND updated_at >= " AL_MONTH_START ")))"
  " SELECT count(*) FILTER (WHERE status = 'paid' AND currency = 'ILS'"
  "   AND paid_at >= " AL_MONTH_START " AND paid_at < " AL_MONTH_END "),"
  " coalesce(sum(amount_minor) FILTER (WHERE status = 'paid'"
  "   AND currency = 'ILS' AND paid_at >= " AL_MONTH_START
  "   AND paid_at < " AL_MONTH_END "), 0)::bigint,"
  " count(*) FILTER (WHERE status = 'pending') FROM p"};

#undef AL_RANGE_LO
#undef AL_RANGE_HI
#undef AL_CALL_OUTCOME
#undef AL_WEEK_START
#undef AL_MONTH_START
#undef AL_MONTH_END

/// Every lead source the schema allows, in the order the dashboard shows
/// them (schemas/0013 leads_source_check); each appears, zeros included.
constexpr const char* lead_sources[] = {"call",   "whatsapp", "manual",
                                        "import", "web",      "portal"};

json::object calls_part(db_tx& tx, std::int64_t business,
                        const stats_range& range) {
  json::array by_day;
  std::int64_t total = 0;
  for (const auto& r :
       exec(tx, select_calls_by_day, business, range.from, range.to)) {
    json::object day{{"day", r[0].c_str()}};
    const char* keys[] = {"ai_handled", "transferred", "voicemail", "missed"};
    for (int i = 0; i < 4; ++i) {
      auto n = r[i + 1].as<std::int64_t>();
      day[keys[i]] = n;
      total += n;
    }
    by_day.push_back(std::move(day));
  }
  json::array by_hour;
  for (const auto& r :
       exec(tx, select_calls_by_hour, business, range.from, range.to))
    by_hour.push_back(r[1].as<std::int64_t>());
  return {{"total", total},
          {"by_day", std::move(by_day)},
          {"by_hour", std::move(by_hour)}};
}

json::object leads_part(db_tx& tx, std::int64_t business,
                        const stats_range& range) {
  json::object by_source;
  for (const char* s : lead_sources)
    by_source[s] = 0;
  std::int64_t total = 0;
  for (const auto& r :
       exec(tx, select_leads_by_source, business, range.from, range.to)) {
    auto n = r[1].as<std::int64_t>();
    by_source[r[0].c_str()] = n;
    total += n;
  }
  std::map<std::string, std::int64_t> by_status;
  for (const auto& r :
       exec(tx, select_leads_by_status, business, range.from, range.to))
    by_status[r[0].c_str()] = r[1].as<std::int64_t>();
  json::array funnel;
  for (const auto& s : pipeline_of(tx, business)) {
    auto it = by_status.find(s.key);
    std::int64_t n = it == by_status.end() ? 0 : it->second;
    if (it != by_status.end())
      by_status.erase(it);
    funnel.push_back(
      json::object{{"key", s.key}, {"label", s.label}, {"leads", n}});
  }
  // A status outside the pipeline (written before a pipeline change was
  // refused for it, or by hand) still counts: after the pipeline's own.
  for (const auto& [key, n] : by_status)
    funnel.push_back(json::object{{"key", key}, {"label", key}, {"leads", n}});
  return {{"total", total},
          {"by_source", std::move(by_source)},
          {"funnel", std::move(funnel)}};
}

} // namespace

crm_reply business_stats(db_tx& tx, std::int64_t business,
                         const stats_range& range) {
  auto appts = exec(tx, select_appointments, business, range.today, range.now);
  auto pays = exec(tx, select_payments, business, range.today);
  json::object out{
    {"from", range.from},
    {"to", range.to},
    {"calls", calls_part(tx, business, range)},
    {"leads", leads_part(tx, business, range)},
    {"appointments",
     json::object{{"this_week", appts[0][0].as<std::int64_t>()},
                  {"upcoming", appts[0][1].as<std::int64_t>()}}},
    {"payments",
     json::object{{"this_month",
                   json::object{{"count", pays[0][0].as<std::int64_t>()},
                                {"paid_minor", pays[0][1].as<std::int64_t>()},
                                {"currency", "ILS"}}},
                  {"pending", pays[0][2].as<std::int64_t>()}}},
    // Minutes from a lead's arrival to the office's first follow-up: null
    // until follow-up calls are recorded (nothing to measure yet).
    {"speed_to_lead", nullptr},
  };
  return {crm_code::ok, std::move(out)};
}

} // namespace al
