#include "actors/listings.hpp"

#include "actors/sql.hpp"
#include "actors/webhook_outbox.hpp"
#include "core/csv.hpp"
#include "core/csv_import.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <pqxx/pqxx>

#include <boost/json/value_from.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace al {

namespace json = boost::json;

namespace {

// One listing as JSON, built by PostgreSQL (the shape of SPEC §7).
#define AL_LISTING_JSON                                                        \
  "jsonb_build_object('id', l.id, 'title', l.title, 'deal', l.deal,"           \
  " 'property_type', l.property_type, 'city', l.city, 'neighborhood',"         \
  " l.neighborhood, 'street', l.street, 'rooms', l.rooms::float8, 'floor',"    \
  " l.floor, 'size_sqm', l.size_sqm, 'price', l.price, 'status', l.status,"    \
  " 'description', l.description, 'features', to_jsonb(l.features),"           \
  " 'photos', to_jsonb(l.photos), 'external_ref', l.external_ref,"             \
  " 'tracking_number', l.tracking_number, 'created_at',"                       \
  " iso_utc(l.created_at), 'updated_at', iso_utc(l.updated_at))::text"

// The text the trigram index covers (the same expression as in
// schemas/0013_listings.sql, so the index serves it).
#define AL_LISTING_TEXT                                                        \
  "(coalesce(l.title, '') || ' ' || coalesce(l.city, '') || ' ' ||"            \
  " coalesce(l.neighborhood, '') || ' ' || coalesce(l.street, '') || ' ' ||"   \
  " coalesce(l.description, '') || ' ' || coalesce(l.external_ref, ''))"

// Filters of GET /api/crm/listings ($2..$8; $8 = ILIKE patterns, every one
// must match).
#define AL_LISTING_WHERE                                                       \
  " FROM listings l WHERE l.business_id = $1 AND l.deleted_at IS NULL"         \
  " AND ($2::text IS NULL OR l.deal = $2)"                                     \
  " AND ($3::text IS NULL OR lower(l.city) = lower($3))"                       \
  " AND ($4::float8 IS NULL OR l.rooms >= $4)"                                 \
  " AND ($5::float8 IS NULL OR l.rooms <= $5)"                                 \
  " AND ($6::bigint IS NULL OR l.price <= $6)"                                 \
  " AND ($7::text IS NULL OR l.status = $7)"                                   \
  " AND ($8::text IS NULL OR " AL_LISTING_TEXT                                 \
  " ILIKE ALL (SELECT jsonb_array_elements_text($8::jsonb)))"

// The page is chosen first and only its rows are turned into JSON
// (PostgreSQL would otherwise build the JSON of every match before sorting).
constexpr sql_statement select_listings{
  "SELECT " AL_LISTING_JSON " FROM (SELECT l.id, l.updated_at" AL_LISTING_WHERE
  " ORDER BY l.updated_at DESC, l.id DESC LIMIT $9 OFFSET $10)"
  " page JOIN listings l ON l.id = page.id"
  " ORDER BY page.updated_at DESC, page.id DESC"};

constexpr sql_statement count_listings{"SELECT count(*)" AL_LISTING_WHERE};

constexpr sql_statement select_listings_export{
  "SELECT l.title, l.deal, coalesce(l.property_type, ''),"
  " coalesce(l.city, ''), coalesce(l.neighborhood, ''),"
  " coalesce(l.street, ''), coalesce(l.rooms::float8::text, ''),"
  " coalesce(l.floor::text, ''), coalesce(l.size_sqm::text, ''),"
  " coalesce(l.price::text, ''), l.status, l.description,"
  " array_to_string(l.features, ';'), array_to_string(l.photos, ';'),"
  " coalesce(l.external_ref, ''), coalesce(l.tracking_number, "
  "'')" AL_LISTING_WHERE " ORDER BY l.id"};

constexpr sql_statement select_listing{
  "SELECT " AL_LISTING_JSON
  " FROM listings l WHERE l.business_id = $1 AND l.id = $2"
  " AND l.deleted_at IS NULL"};

constexpr sql_statement insert_listing{
  "INSERT INTO listings (business_id, title, deal, property_type, city,"
  " neighborhood, street, rooms, floor, size_sqm, price, status, description,"
  " features, photos, external_ref, tracking_number)"
  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::numeric, $9, $10, $11,"
  " coalesce($12, 'available'), coalesce($13, ''),"
  " ARRAY(SELECT jsonb_array_elements_text(coalesce($14, '[]')::jsonb)),"
  " ARRAY(SELECT jsonb_array_elements_text(coalesce($15, '[]')::jsonb)),"
  " $16, $17) RETURNING id"};

// A tracking number must be one of the business's own numbers (the admin
// assigns them): calls are routed by phone_numbers, never by a listing.
constexpr sql_statement select_own_numbers{
  "SELECT number FROM phone_numbers WHERE business_id = $1"};

constexpr sql_statement update_listing{
  "UPDATE listings SET"
  " title = coalesce($3::text, title),"
  " deal = coalesce($4::text, deal),"
  " property_type = CASE WHEN $5::boolean THEN $6::text ELSE property_type END,"
  " city = CASE WHEN $7::boolean THEN $8::text ELSE city END,"
  " neighborhood = CASE WHEN $9::boolean THEN $10::text ELSE neighborhood END,"
  " street = CASE WHEN $11::boolean THEN $12::text ELSE street END,"
  " rooms = CASE WHEN $13::boolean THEN $14::numeric ELSE rooms END,"
  " floor = CASE WHEN $15::boolean THEN $16::integer ELSE floor END,"
  " size_sqm = CASE WHEN $17::boolean THEN $18::integer ELSE size_sqm END,"
  " price = CASE WHEN $19::boolean THEN $20::bigint ELSE price END,"
  " status = coalesce($21::text, status),"
  " description = coalesce($22::text, description),"
  " features = CASE WHEN $23::text IS NULL THEN features"
  "   ELSE ARRAY(SELECT jsonb_array_elements_text($23::jsonb)) END,"
  " photos = CASE WHEN $24::text IS NULL THEN photos"
  "   ELSE ARRAY(SELECT jsonb_array_elements_text($24::jsonb)) END,"
  " external_ref = CASE WHEN $25::boolean THEN $26::text ELSE external_ref END,"
  " tracking_number = CASE WHEN $27::boolean THEN $28::text"
  "   ELSE tracking_number END,"
  " updated_at = now()"
  " WHERE business_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING id"};

constexpr sql_statement soft_delete_listing{
  "UPDATE listings SET deleted_at = now(), updated_at = now()"
  " WHERE business_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING id"};

// Leads a listing fits: the same rules as lead_matches, from the other side.
constexpr sql_statement count_fitting_leads{
  "SELECT count(*) FROM listings l JOIN leads d ON d.business_id ="
  " l.business_id WHERE l.business_id = $1 AND l.id = $2"
  " AND (d.deal IS NULL OR d.deal = l.deal)"
  " AND (d.deal IS NOT NULL OR d.city IS NOT NULL OR d.rooms IS NOT NULL"
  "   OR d.budget_max IS NOT NULL)"
  " AND (d.city IS NULL OR lower(d.city) = lower(l.city))"
  " AND (d.rooms IS NULL OR l.rooms IS NULL"
  "   OR l.rooms BETWEEN d.rooms - 0.5 AND d.rooms + 1)"
  " AND (d.budget_max IS NULL OR l.price IS NULL"
  "   OR l.price <= d.budget_max * 1.1)"
  " AND (d.budget_min IS NULL OR l.price IS NULL"
  "   OR l.price >= d.budget_min * 0.8)"};

// Available listings for a lead, scored 0..1: city 0.4, rooms 0.3 (1 at the
// wanted count, 0 two rooms away), price 0.3 (1 inside the budget, falling
// to 0 at 10 % over), best first.
constexpr sql_statement select_matches{
  "SELECT " AL_LISTING_JSON ", m.score FROM leads d"
  " JOIN listings l ON l.business_id = d.business_id"
  " CROSS JOIN LATERAL (SELECT round(("
  "   0.4 * (CASE WHEN d.city IS NULL THEN 0.5"
  "          WHEN lower(d.city) = lower(l.city) THEN 1 ELSE 0 END)"
  " + 0.3 * (CASE WHEN d.rooms IS NULL OR l.rooms IS NULL THEN 0.5"
  "          ELSE greatest(0, 1 - abs(l.rooms - d.rooms) / 2) END)"
  " + 0.3 * (CASE WHEN d.budget_max IS NULL OR l.price IS NULL THEN 0.5"
  "          WHEN l.price <= d.budget_max THEN 1"
  "          ELSE greatest(0, 1 - (l.price - d.budget_max)::float8"
  "               / greatest(d.budget_max * 0.1, 1)) END))::numeric, 3)"
  "   AS score) m"
  " WHERE d.business_id = $1 AND d.id = $2 AND l.deleted_at IS NULL"
  " AND l.status = 'available'"
  " AND (d.deal IS NULL OR d.deal = l.deal)"
  " AND (d.city IS NULL OR lower(d.city) = lower(l.city))"
  " AND (d.rooms IS NULL OR l.rooms IS NULL"
  "   OR l.rooms BETWEEN d.rooms - 0.5 AND d.rooms + 1)"
  " AND (d.budget_max IS NULL OR l.price IS NULL"
  "   OR l.price <= d.budget_max * 1.1)"
  " AND (d.budget_min IS NULL OR l.price IS NULL"
  "   OR l.price >= d.budget_min * 0.8)"
  " ORDER BY m.score DESC, l.updated_at DESC LIMIT 20"};

constexpr sql_statement select_lead_prefs{
  "SELECT deal, city, rooms::float8, budget_max FROM leads"
  " WHERE business_id = $1 AND id = $2"};

// The AI's search: available only, compact, at most 5.
constexpr sql_statement select_for_ai{
  "SELECT l.id, jsonb_strip_nulls(jsonb_build_object('id', l.id, 'title',"
  " l.title, 'deal', l.deal, 'type', l.property_type, 'city', l.city,"
  " 'neighborhood', l.neighborhood, 'street', l.street, 'rooms',"
  " l.rooms::float8, 'floor', l.floor, 'sqm', l.size_sqm, 'price', l.price,"
  " 'features', to_jsonb(l.features)))::text"
  " FROM (SELECT l.id, l.updated_at FROM listings l"
  " WHERE l.business_id = $1 AND l.deleted_at IS NULL"
  " AND l.status = 'available'"
  " AND ($2::text IS NULL OR l.deal = $2)"
  " AND ($3::text IS NULL OR lower(l.city) = lower($3))"
  " AND ($4::text IS NULL OR l.neighborhood ILIKE '%' || $4 || '%')"
  " AND ($5::float8 IS NULL OR l.rooms >= $5)"
  " AND ($6::float8 IS NULL OR l.rooms <= $6)"
  " AND ($7::bigint IS NULL OR l.price <= $7)"
  " ORDER BY l.updated_at DESC, l.id DESC LIMIT 5) hit"
  " JOIN listings l ON l.id = hit.id ORDER BY hit.updated_at DESC, hit.id "
  "DESC"};

constexpr sql_statement insert_mention{
  "INSERT INTO listing_mentions (business_id, listing_id, call_sid)"
  " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"};

constexpr sql_statement select_tracked{
  "SELECT jsonb_strip_nulls(jsonb_build_object('id', l.id, 'title', l.title,"
  " 'deal', l.deal, 'city', l.city, 'neighborhood', l.neighborhood,"
  " 'street', l.street, 'rooms', l.rooms::float8, 'floor', l.floor, 'sqm',"
  " l.size_sqm, 'price', l.price, 'status', l.status, 'features',"
  " to_jsonb(l.features), 'description', left(l.description, 600)))::text"
  " FROM listings l WHERE l.business_id = $1 AND l.tracking_number = $2"
  " AND l.deleted_at IS NULL"};

// The bulk upsert of an import: every valid row in one statement. A row
// with an external_ref replaces the live listing that has it.
constexpr sql_statement upsert_listings{
  "INSERT INTO listings AS l (business_id, title, deal, property_type, city,"
  " neighborhood, street, rooms, floor, size_sqm, price, status, description,"
  " features, photos, external_ref, tracking_number)"
  " SELECT $1, r.title, r.deal, r.property_type, r.city, r.neighborhood,"
  " r.street, r.rooms, r.floor, r.size_sqm, r.price,"
  " coalesce(r.status, 'available'), coalesce(r.description, ''),"
  " coalesce(r.features, '{}'), coalesce(r.photos, '{}'), r.external_ref,"
  " r.tracking_number"
  " FROM jsonb_to_recordset($2::jsonb) AS r(title text, deal text,"
  " property_type text, city text, neighborhood text, street text,"
  " rooms numeric, floor integer, size_sqm integer, price bigint, status text,"
  " description text, features text[], photos text[], external_ref text,"
  " tracking_number text)"
  " ON CONFLICT (business_id, external_ref)"
  " WHERE external_ref IS NOT NULL AND deleted_at IS NULL DO UPDATE SET"
  " title = excluded.title, deal = excluded.deal,"
  " property_type = coalesce(excluded.property_type, l.property_type),"
  " city = coalesce(excluded.city, l.city),"
  " neighborhood = coalesce(excluded.neighborhood, l.neighborhood),"
  " street = coalesce(excluded.street, l.street),"
  " rooms = coalesce(excluded.rooms, l.rooms),"
  " floor = coalesce(excluded.floor, l.floor),"
  " size_sqm = coalesce(excluded.size_sqm, l.size_sqm),"
  " price = coalesce(excluded.price, l.price),"
  " status = CASE WHEN $3::jsonb ? excluded.external_ref"
  "   THEN excluded.status ELSE l.status END,"
  " description = CASE WHEN excluded.description = '' THEN l.description"
  "   ELSE excluded.description END,"
  " features = CASE WHEN cardinality(excluded.features) = 0 THEN l.features"
  "   ELSE excluded.features END,"
  " photos = CASE WHEN cardinality(excluded.photos) = 0 THEN l.photos"
  "   ELSE excluded.photos END,"
  " tracking_number = coalesce(excluded.tracking_number, l.tracking_number),"
  " updated_at = now()"
  " RETURNING (xmax = 0)"};

// Leads: upsert by phone; only the given fields change an existing lead.
constexpr sql_statement upsert_leads{
  "INSERT INTO leads AS d (business_id, name, phone, source, status, deal,"
  " city, rooms, budget_min, budget_max, notes, tags)"
  " SELECT $1, coalesce(r.name, ''), r.phone, coalesce(r.source, 'import'),"
  " coalesce(r.status, $3), r.deal, r.city, r.rooms, r.budget_min,"
  " r.budget_max, coalesce(r.notes, ''), coalesce(r.tags, '{}')"
  " FROM jsonb_to_recordset($2::jsonb) AS r(name text, phone text,"
  " source text, status text, deal text, city text, rooms numeric,"
  " budget_min bigint, budget_max bigint, notes text, tags text[])"
  " ON CONFLICT (business_id, phone) WHERE phone IS NOT NULL DO UPDATE SET"
  " name = CASE WHEN excluded.name = '' THEN d.name ELSE excluded.name END,"
  " status = CASE WHEN $4::jsonb ? (excluded.phone) THEN excluded.status"
  "   ELSE d.status END,"
  " deal = coalesce(excluded.deal, d.deal),"
  " city = coalesce(excluded.city, d.city),"
  " rooms = coalesce(excluded.rooms, d.rooms),"
  " budget_min = coalesce(excluded.budget_min, d.budget_min),"
  " budget_max = coalesce(excluded.budget_max, d.budget_max),"
  " notes = CASE WHEN excluded.notes = '' THEN d.notes"
  "   WHEN d.notes = '' THEN excluded.notes"
  "   WHEN position(excluded.notes IN d.notes) > 0 THEN d.notes"
  "   ELSE d.notes || E'\\n' || excluded.notes END,"
  " tags = ARRAY(SELECT DISTINCT unnest(d.tags || excluded.tags)),"
  " updated_at = now()"
  " RETURNING (xmax = 0), id"};

constexpr sql_statement select_pipeline_keys{
  "SELECT key FROM pipeline_statuses WHERE business_id = $1"
  " ORDER BY position"};

constexpr sql_statement select_leads_export{
  "SELECT name, coalesce(phone, ''), coalesce(deal, ''), coalesce(city, ''),"
  " coalesce(rooms::float8::text, ''), coalesce(budget_min::text, ''),"
  " coalesce(budget_max::text, ''), status, source, notes,"
  " array_to_string(tags, ';')"
  " FROM leads WHERE business_id = $1 ORDER BY created_at DESC, id DESC"};

#undef AL_LISTING_WHERE
#undef AL_LISTING_TEXT
#undef AL_LISTING_JSON

std::optional<std::string>
json_strings(const std::optional<std::vector<std::string>>& v) {
  if (!v)
    return std::nullopt;
  json::array a;
  for (auto& s : *v)
    a.emplace_back(s);
  return json::serialize(a);
}

/// The new description of a PATCH (null clears it to ""), or nullopt.
std::optional<std::string> description_patch(const listing_input& in) {
  if (!given(in.description))
    return std::nullopt;
  return flat(in.description).value_or("");
}

crm_reply ok_reply(json::value v, crm_code code = crm_code::ok) {
  return crm_reply{code, std::move(v)};
}

std::set<std::string> own_numbers(db_tx& tx, std::int64_t business) {
  std::set<std::string> out;
  for (auto r : exec(tx, select_own_numbers, business))
    out.emplace(r[0].c_str());
  return out;
}

const char* const not_own_number
  = "tracking_number must be one of the business's phone numbers";

/// A 400 when the listing names a tracking number the business does not own.
std::optional<crm_reply> foreign_tracking_number(db_tx& tx,
                                                 std::int64_t business,
                                                 const listing_input& in) {
  auto n = flat(in.tracking_number);
  if (!n || own_numbers(tx, business).count(*n))
    return std::nullopt;
  return crm_fail(crm_code::bad_request, not_own_number);
}

crm_reply no_listing() {
  return crm_fail(crm_code::not_found, "No such listing");
}

/// The ILIKE patterns of ?q=: each word must appear.
std::optional<std::string> word_patterns(const std::optional<std::string>& q) {
  if (!q)
    return std::nullopt;
  json::array a;
  std::string word;
  auto flush = [&] {
    if (!word.empty())
      a.emplace_back(ilike_contains(word));
    word.clear();
  };
  for (char c : *q) {
    if (c == ' ' || c == '\t' || c == ',')
      flush();
    else
      word.push_back(c);
  }
  flush();
  if (a.empty())
    return std::nullopt;
  return json::serialize(a);
}

std::optional<double> opt_double(const std::optional<double>& v) {
  return v;
}

json::object listing_view(db_tx& tx, std::int64_t business, std::int64_t id) {
  auto r = exec(tx, select_listing, business, id);
  if (r.empty())
    return {};
  auto o = json::parse(r[0][0].c_str()).as_object();
  o["matching_leads"]
    = exec(tx, count_fitting_leads, business, id)[0][0].as<std::int64_t>();
  return o;
}

/// A 409 for a unique index the listing ran into.
crm_reply taken(const pqxx::unique_violation& e) {
  std::string what = e.what();
  if (what.find("tracking_number") != std::string::npos)
    return crm_fail(crm_code::conflict,
                    "tracking_number is already used by another listing");
  return crm_fail(crm_code::conflict,
                  "external_ref is already used by another listing");
}

std::string fields_json(const listing_input& in) {
  // The row of a bulk upsert, in jsonb_to_recordset's column names.
  json::object o;
  auto put = [&o](const char* k, const auto& v) {
    if (v)
      o[k] = *v;
  };
  put("title", in.title);
  put("deal", in.deal);
  put("property_type", flat(in.property_type));
  put("city", flat(in.city));
  put("neighborhood", flat(in.neighborhood));
  put("street", flat(in.street));
  put("rooms", flat(in.rooms));
  put("floor", flat(in.floor));
  put("size_sqm", flat(in.size_sqm));
  put("price", flat(in.price));
  put("status", in.status);
  put("description", flat(in.description));
  if (in.features)
    o["features"] = json::value_from(*in.features);
  if (in.photos)
    o["photos"] = json::value_from(*in.photos);
  put("external_ref", flat(in.external_ref));
  put("tracking_number", flat(in.tracking_number));
  return json::serialize(o);
}

json::object
import_result(std::int64_t created, std::int64_t updated, json::array errors,
              const std::vector<std::string>& ignored, bool dry_run) {
  json::array ign;
  for (auto& c : ignored)
    ign.emplace_back(c);
  json::object o{{"created", created},
                 {"updated", updated},
                 {"errors", std::move(errors)},
                 {"ignored_columns", std::move(ign)}};
  if (dry_run)
    o["dry_run"] = true;
  return o;
}

using column_mapper = csv_columns (*)(const csv_record&, std::string&,
                                      std::vector<std::string>&);

/// Reads an import file and maps its header row; a 400 for a malformed
/// file, an empty one, or a header the mapper refuses.
std::optional<crm_reply> read_import(std::string_view csv, column_mapper map,
                                     std::vector<csv_record>& records,
                                     csv_columns& cols,
                                     std::vector<std::string>& ignored) {
  if (auto err = parse_csv(csv, records))
    return crm_fail(crm_code::bad_request,
                    "line " + std::to_string(err->line) + ": " + err->message);
  if (records.empty())
    return crm_fail(crm_code::bad_request, "the file is empty");
  std::string error;
  cols = map(records.front(), error, ignored);
  if (!error.empty())
    return crm_fail(crm_code::bad_request, error);
  return std::nullopt;
}

void add_error(json::array& errors, std::size_t line, std::string_view msg) {
  if (errors.size() < 1000)
    errors.push_back(json::object{{"line", line}, {"error", msg}});
}

} // namespace

crm_reply create_listing(db_tx& tx, std::int64_t business,
                         const listing_input& in) {
  if (auto bad = foreign_tracking_number(tx, business, in))
    return *bad;
  std::int64_t id = 0;
  try {
    pqxx::subtransaction sub{tx, "create_listing"};
    id = exec(sub, insert_listing, business, in.title.value_or(""),
              in.deal.value_or("buy"), flat(in.property_type), flat(in.city),
              flat(in.neighborhood), flat(in.street), flat(in.rooms),
              flat(in.floor), flat(in.size_sqm), flat(in.price), in.status,
              flat(in.description), json_strings(in.features),
              json_strings(in.photos), flat(in.external_ref),
              flat(in.tracking_number))[0][0]
           .as<std::int64_t>();
    sub.commit();
  } catch (const pqxx::unique_violation& e) {
    return taken(e);
  }
  return ok_reply(listing_view(tx, business, id), crm_code::created);
}

crm_reply get_listing(db_tx& tx, std::int64_t business, std::int64_t id) {
  auto o = listing_view(tx, business, id);
  if (o.empty())
    return no_listing();
  return ok_reply(std::move(o));
}

crm_reply patch_listing(db_tx& tx, std::int64_t business, std::int64_t id,
                        const listing_input& in) {
  if (auto bad = foreign_tracking_number(tx, business, in))
    return *bad;
  try {
    pqxx::subtransaction sub{tx, "patch_listing"};
    auto r = exec(sub, update_listing, business, id, in.title, in.deal,
                  given(in.property_type), flat(in.property_type),
                  given(in.city), flat(in.city), given(in.neighborhood),
                  flat(in.neighborhood), given(in.street), flat(in.street),
                  given(in.rooms), flat(in.rooms), given(in.floor),
                  flat(in.floor), given(in.size_sqm), flat(in.size_sqm),
                  given(in.price), flat(in.price), in.status,
                  description_patch(in), json_strings(in.features),
                  json_strings(in.photos), given(in.external_ref),
                  flat(in.external_ref), given(in.tracking_number),
                  flat(in.tracking_number));
    sub.commit();
    if (r.empty())
      return no_listing();
  } catch (const pqxx::unique_violation& e) {
    return taken(e);
  }
  return ok_reply(listing_view(tx, business, id));
}

crm_reply delete_listing(db_tx& tx, std::int64_t business, std::int64_t id) {
  if (exec(tx, soft_delete_listing, business, id).empty())
    return no_listing();
  return ok_reply(json::object{{"success", true}});
}

crm_reply list_listings(db_tx& tx, std::int64_t business,
                        const listing_filter& f) {
  auto words = word_patterns(f.q);
  json::array items;
  for (auto row : exec(tx, select_listings, business, f.deal, f.city,
                       opt_double(f.rooms_min), opt_double(f.rooms_max),
                       f.price_max, f.status, words, f.paging.per_page,
                       (f.paging.page - 1) * f.paging.per_page))
    items.push_back(json::parse(row[0].c_str()));
  auto total = exec(tx, count_listings, business, f.deal, f.city,
                    opt_double(f.rooms_min), opt_double(f.rooms_max),
                    f.price_max, f.status, words)[0][0]
                 .as<std::int64_t>();
  return ok_reply(page_of(std::move(items), f.paging, total));
}

std::string listings_csv(db_tx& tx, std::int64_t business,
                         const listing_filter& f) {
  std::string out = csv_bom();
  csv_append_row(out, listing_csv_header());
  std::vector<std::string> fields;
  for (auto row : exec(tx, select_listings_export, business, f.deal, f.city,
                       opt_double(f.rooms_min), opt_double(f.rooms_max),
                       f.price_max, f.status, word_patterns(f.q))) {
    fields.clear();
    for (auto field : row)
      fields.emplace_back(field.c_str());
    csv_append_row(out, fields);
  }
  return out;
}

std::string leads_csv(db_tx& tx, std::int64_t business) {
  std::string out = csv_bom();
  csv_append_row(out, lead_csv_header());
  std::vector<std::string> fields;
  for (auto row : exec(tx, select_leads_export, business)) {
    fields.clear();
    for (auto field : row)
      fields.emplace_back(field.c_str());
    csv_append_row(out, fields);
  }
  return out;
}

crm_reply import_listings(db_tx& tx, std::int64_t business,
                          std::string_view csv, bool dry_run) {
  std::vector<csv_record> records;
  csv_columns cols;
  std::vector<std::string> ignored;
  if (auto bad = read_import(csv, map_listing_columns, records, cols, ignored))
    return *bad;
  json::array errors;
  // Valid rows, the last one of a repeated external_ref winning.
  std::vector<std::string> rows;
  std::map<std::string, std::pair<std::size_t, std::size_t>> by_ref;
  std::set<std::string> tracking;
  auto own = own_numbers(tx, business);
  json::object status_given; // external refs whose status the file sets
  for (std::size_t i = 1; i < records.size(); ++i) {
    listing_input in;
    if (auto err = listing_from_csv(cols, records[i], in); !err.empty()) {
      add_error(errors, records[i].line, err);
      continue;
    }
    if (auto n = flat(in.tracking_number); n && !own.count(*n)) {
      add_error(errors, records[i].line, not_own_number);
      continue;
    }
    if (auto n = flat(in.tracking_number); n && !tracking.insert(*n).second) {
      add_error(errors, records[i].line,
                "tracking_number " + *n + " appears twice in the file");
      continue;
    }
    if (auto ref = flat(in.external_ref)) {
      if (in.status)
        status_given[*ref] = true;
      else
        status_given.erase(*ref); // the later line decides
      auto [it, fresh]
        = by_ref.emplace(*ref, std::pair{rows.size(), records[i].line});
      if (!fresh) {
        add_error(errors, it->second.second,
                  "external_ref " + *ref + " appears again on line "
                    + std::to_string(records[i].line) + ": that one is kept");
        rows[it->second.first] = fields_json(in);
        it->second.second = records[i].line;
        continue;
      }
    }
    rows.push_back(fields_json(in));
  }
  std::int64_t created = 0, updated = 0;
  if (!dry_run && !rows.empty()) {
    std::string array = "[";
    for (std::size_t i = 0; i < rows.size(); ++i)
      array += (i ? "," : "") + rows[i];
    array += "]";
    try {
      pqxx::subtransaction sub{tx, "import_listings"};
      for (auto r : exec(sub, upsert_listings, business, array,
                         json::serialize(status_given)))
        (r[0].as<bool>() ? created : updated) += 1;
      sub.commit();
    } catch (const pqxx::unique_violation& e) {
      return crm_fail(crm_code::conflict,
                      std::string{"nothing imported: "}
                        + (std::string{e.what()}.find("tracking_number")
                               != std::string::npos
                             ? "a tracking_number in the file is already used"
                               " by another listing"
                             : "an external_ref clashes with a listing"));
    }
  } else if (dry_run) {
    created = static_cast<std::int64_t>(rows.size());
  }
  return ok_reply(
    import_result(created, updated, std::move(errors), ignored, dry_run));
}

crm_reply import_leads(db_tx& tx, std::int64_t business, std::string_view csv,
                       bool dry_run) {
  std::vector<csv_record> records;
  csv_columns cols;
  std::vector<std::string> ignored;
  if (auto bad = read_import(csv, map_lead_columns, records, cols, ignored))
    return *bad;
  std::vector<std::string> pipeline;
  for (auto r : exec(tx, select_pipeline_keys, business))
    pipeline.emplace_back(r[0].c_str());
  auto first_status = pipeline.empty() ? std::string{"new"} : pipeline.front();
  json::array errors;
  std::map<std::string, std::size_t> by_phone; // phone -> index in rows
  std::vector<json::object> rows;
  json::object status_given; // phones whose status the file sets
  for (std::size_t i = 1; i < records.size(); ++i) {
    lead_input in;
    if (auto err = lead_from_csv(cols, records[i], in); !err.empty()) {
      add_error(errors, records[i].line, err);
      continue;
    }
    auto phone = flat(in.phone);
    if (!phone) {
      add_error(errors, records[i].line, "phone is required");
      continue;
    }
    if (in.status && !pipeline.empty()
        && std::find(pipeline.begin(), pipeline.end(), *in.status)
             == pipeline.end()) {
      add_error(errors, records[i].line,
                "status " + *in.status + " is not in the pipeline");
      continue;
    }
    json::object o{{"phone", *phone}};
    if (in.name)
      o["name"] = *in.name;
    if (in.source)
      o["source"] = *in.source;
    if (in.status) {
      o["status"] = *in.status;
      status_given[*phone] = true;
    } else {
      status_given.erase(*phone); // a later line without one decides
    }
    if (auto v = flat(in.deal))
      o["deal"] = *v;
    if (auto v = flat(in.city))
      o["city"] = *v;
    if (auto v = flat(in.rooms))
      o["rooms"] = *v;
    if (auto v = flat(in.budget_min))
      o["budget_min"] = *v;
    if (auto v = flat(in.budget_max))
      o["budget_max"] = *v;
    if (in.notes)
      o["notes"] = *in.notes;
    if (in.tags)
      o["tags"] = json::value_from(*in.tags);
    if (auto it = by_phone.find(*phone); it != by_phone.end()) {
      rows[it->second] = std::move(o); // the later line wins
      continue;
    }
    by_phone.emplace(*phone, rows.size());
    rows.push_back(std::move(o));
  }
  std::int64_t created = 0, updated = 0;
  if (!dry_run && !rows.empty()) {
    json::array array;
    for (auto& r : rows)
      array.push_back(std::move(r));
    std::vector<std::int64_t> new_leads;
    for (auto r : exec(tx, upsert_leads, business, json::serialize(array),
                       first_status, json::serialize(status_given))) {
      (r[0].as<bool>() ? created : updated) += 1;
      if (r[0].as<bool>())
        new_leads.push_back(r[1].as<std::int64_t>());
    }
    // lead.created once per lead the file created (none for updates).
    if (!new_leads.empty() && webhook_configured(tx, business))
      for (auto id : new_leads)
        enqueue_lead_created(tx, business, id);
  } else if (dry_run) {
    created = static_cast<std::int64_t>(rows.size());
  }
  return ok_reply(
    import_result(created, updated, std::move(errors), ignored, dry_run));
}

crm_reply lead_matches(db_tx& tx, std::int64_t business, std::int64_t lead) {
  if (exec(tx, select_lead_prefs, business, lead).empty())
    return crm_fail(crm_code::not_found, "No such lead");
  json::array items;
  for (auto row : exec(tx, select_matches, business, lead)) {
    auto o = json::parse(row[0].c_str()).as_object();
    o["score"] = row[1].as<double>();
    items.push_back(std::move(o));
  }
  return ok_reply(json::object{{"items", std::move(items)}});
}

std::string search_listings_for_ai(db_tx& tx, std::int64_t business,
                                   listing_query q, std::int64_t lead,
                                   const std::string& call_sid) {
  // What the caller already told us fills what the model left out.
  if (lead > 0) {
    auto r = exec(tx, select_lead_prefs, business, lead);
    if (!r.empty()) {
      auto row = r[0];
      if (!q.deal && !row[0].is_null()) {
        std::string deal = row[0].c_str();
        if (deal == "buy" || deal == "rent")
          q.deal = deal;
      }
      if (!q.city && !row[1].is_null())
        q.city = row[1].c_str();
      if (!q.rooms_min && !q.rooms_max && !row[2].is_null()) {
        auto rooms = row[2].as<double>();
        q.rooms_min = rooms - 0.5;
        q.rooms_max = rooms + 0.5;
      }
      if (!q.price_max && !row[3].is_null())
        q.price_max
          = static_cast<std::int64_t>(std::llround(row[3].as<double>() * 1.1));
    }
  }
  json::array found;
  for (auto row : exec(tx, select_for_ai, business, q.deal, q.city,
                       q.neighborhood, q.rooms_min, q.rooms_max, q.price_max)) {
    found.push_back(json::parse(row[1].c_str()));
    if (!call_sid.empty())
      exec(tx, insert_mention, business, row[0].as<std::int64_t>(), call_sid);
  }
  json::object criteria;
  if (q.deal)
    criteria["deal"] = *q.deal;
  if (q.city)
    criteria["city"] = *q.city;
  if (q.neighborhood)
    criteria["neighborhood"] = *q.neighborhood;
  if (q.rooms_min)
    criteria["rooms_min"] = *q.rooms_min;
  if (q.rooms_max)
    criteria["rooms_max"] = *q.rooms_max;
  if (q.price_max)
    criteria["price_max"] = *q.price_max;
  auto count = found.size();
  return json::serialize(
    json::object{{"ok", true},
                 {"count", count},
                 {"searched", std::move(criteria)},
                 {"listings", std::move(found)},
                 {"note", count ? "answer only from these listings; prices"
                                  " in shekels (rent per month)"
                                : "no listing fits: say so, never invent one,"
                                  " and offer to take the caller's details"}});
}

std::string tracked_listing_text(db_tx& tx, std::int64_t business,
                                 const std::string& to) {
  if (to.empty())
    return {};
  auto r = exec(tx, select_tracked, business, to);
  return r.empty() ? std::string{} : std::string{r[0][0].c_str()};
}

} // namespace al
