// The scheduling queries of /api/crm (actors/crm_queries.hpp):
// appointments and tasks.
#include "actors/crm_queries.hpp"

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

} // namespace

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

} // namespace al
