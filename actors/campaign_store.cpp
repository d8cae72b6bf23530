#include "actors/campaign_store.hpp"

#include "actors/sql.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <map>
#include <mutex>

namespace al {

namespace json = boost::json;

namespace {

// -- speed-to-lead -----------------------------------------------------------

constexpr sql_statement select_auto_call{
  "SELECT auto_call_new_leads FROM businesses WHERE id = $1"};

// The default prompt is bound as $2; the unique index
// campaigns_speed_to_lead makes a concurrent first use meet on one row.
constexpr sql_statement upsert_speed_campaign{
  "INSERT INTO campaigns (business_id, name, kind, prompt, attempts,"
  " retry_after_min, voicemail, state, started_at)"
  " VALUES ($1, 'חזרה ללידים חדשים', 'speed_to_lead', $2, 2, 10, 'hangup',"
  " 'running', now())"
  " ON CONFLICT (business_id) WHERE kind = 'speed_to_lead'"
  " DO UPDATE SET kind = EXCLUDED.kind RETURNING id"};

constexpr sql_statement select_lead_is_new{
  "SELECT 1 FROM leads WHERE business_id = $1 AND id = $2"
  " AND created_at = now()"};

constexpr sql_statement insert_speed_lead{
  "INSERT INTO campaign_leads (campaign_id, business_id, lead_id, phone,"
  " outcome, lead_created_at)"
  " SELECT $1::bigint, l.business_id, l.id, $3::text,"
  "  CASE WHEN EXISTS (SELECT 1 FROM dnc d WHERE d.business_id ="
  "   l.business_id AND d.phone = $3::text) THEN 'opted_out'"
  "  ELSE 'queued' END,"
  "  l.created_at"
  " FROM leads l WHERE l.business_id = $2 AND l.id = $4"
  " ON CONFLICT (campaign_id, lead_id) DO NOTHING"};

// -- the REST API ------------------------------------------------------------

constexpr sql_statement insert_campaign{
  "INSERT INTO campaigns (business_id, name, lead_filter, prompt,"
  " max_concurrent, attempts, retry_after_min, voicemail, voicemail_text)"
  " VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9) RETURNING id"};

// $3 status, $4 source, $5 tags (JSON array), $6 ids (JSON array or NULL).
constexpr sql_statement materialise_leads{
  "INSERT INTO campaign_leads (campaign_id, business_id, lead_id, phone,"
  " outcome)"
  " SELECT $1::bigint, l.business_id, l.id, l.phone,"
  "  CASE WHEN EXISTS (SELECT 1 FROM dnc d WHERE d.business_id ="
  "   l.business_id AND d.phone = l.phone) THEN 'opted_out' ELSE 'queued' END"
  " FROM leads l WHERE l.business_id = $2"
  "  AND l.phone IS NOT NULL AND l.phone <> ''"
  "  AND ($3::text IS NULL OR l.status = $3::text)"
  "  AND ($4::text IS NULL OR l.source = $4::text)"
  "  AND l.tags @> ARRAY(SELECT jsonb_array_elements_text($5::jsonb))"
  "  AND ($6::jsonb IS NULL OR l.id IN"
  "   (SELECT jsonb_array_elements_text($6::jsonb)::bigint))"
  " ORDER BY l.id"
  " ON CONFLICT (campaign_id, lead_id) DO NOTHING"};

#define AL_CAMPAIGN_COLUMNS                                                    \
  "k.id, k.name, k.kind, k.state, k.max_concurrent, k.attempts,"               \
  " k.retry_after_min, k.voicemail, k.voicemail_text, k.prompt,"               \
  " k.lead_filter::text,"                                                      \
  " to_char(k.created_at AT TIME ZONE 'UTC',"                                  \
  "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"                                       \
  " to_char(k.started_at AT TIME ZONE 'UTC',"                                  \
  "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"                                       \
  " to_char(k.completed_at AT TIME ZONE 'UTC',"                                \
  "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"                                       \
  " (SELECT coalesce(json_object_agg(t.outcome, t.n), '{}')::text FROM"        \
  "  (SELECT outcome, count(*) AS n FROM campaign_leads c"                     \
  "   WHERE c.campaign_id = k.id GROUP BY outcome) t)"

constexpr sql_statement select_campaign_page{
  "SELECT " AL_CAMPAIGN_COLUMNS ", count(*) OVER ()"
  " FROM campaigns k WHERE k.business_id = $1"
  " ORDER BY k.id DESC LIMIT $2 OFFSET $3"};

constexpr sql_statement count_campaigns{
  "SELECT count(*) FROM campaigns WHERE business_id = $1"};

constexpr sql_statement select_campaign{
  "SELECT " AL_CAMPAIGN_COLUMNS
  " FROM campaigns k WHERE k.business_id = $1 AND k.id = $2"};

#undef AL_CAMPAIGN_COLUMNS

constexpr sql_statement select_campaign_leads{
  "SELECT c.lead_id, l.name, c.phone, c.outcome, c.attempts_made,"
  " CASE WHEN c.outcome IN ('queued', 'no_answer', 'busy', 'failed')"
  "  AND c.next_attempt_at <> 'infinity' AND c.attempts_made < k.attempts"
  "  THEN to_char(c.next_attempt_at AT TIME ZONE 'UTC',"
  "   'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') END,"
  " c.answered_by, c.last_error"
  " FROM campaign_leads c JOIN campaigns k ON k.id = c.campaign_id"
  " JOIN leads l ON l.id = c.lead_id"
  " WHERE c.business_id = $1 AND c.campaign_id = $2"
  " ORDER BY c.id LIMIT $3 OFFSET $4"};

constexpr sql_statement count_campaign_leads{
  "SELECT count(*) FROM campaign_leads WHERE business_id = $1"
  " AND campaign_id = $2"};

constexpr sql_statement select_state_for_update{
  "SELECT state, kind FROM campaigns WHERE business_id = $1 AND id = $2"
  " FOR UPDATE"};

constexpr sql_statement update_state{
  "UPDATE campaigns SET state = $3::text,"
  " started_at = CASE WHEN $3::text = 'running'"
  "  THEN coalesce(started_at, now())"
  "  ELSE started_at END"
  " WHERE business_id = $1 AND id = $2"};

// -- the engine --------------------------------------------------------------

constexpr sql_statement take_leases{
  "WITH free AS (SELECT id FROM campaigns WHERE state = 'running'"
  "  AND (lease_owner IS NULL OR lease_until < now() OR lease_owner = $1)"
  "  ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)"
  " UPDATE campaigns k SET lease_owner = $1,"
  "  lease_until = now() + $2::int * interval '1 second'"
  " FROM free WHERE k.id = free.id RETURNING k.id"};

constexpr sql_statement renew_lease{
  "UPDATE campaigns k SET lease_until = now() + $3::int * interval '1 second'"
  " FROM businesses b WHERE k.id = $1 AND k.lease_owner = $2"
  "  AND b.id = k.business_id"
  " RETURNING k.id, k.business_id, k.kind, k.state, k.max_concurrent,"
  "  k.attempts, k.retry_after_min, b.working_hours::text"};

constexpr sql_statement release_lease{
  "UPDATE campaigns SET lease_owner = NULL, lease_until = NULL"
  " WHERE id = $1 AND lease_owner = $2"};

constexpr sql_statement expire_dials{
  "UPDATE campaign_leads SET outcome = 'failed',"
  " last_error = 'no status callback', lease_owner = NULL,"
  " lease_until = NULL, updated_at = now(),"
  " next_attempt_at = now() + $3::int * interval '1 minute'"
  " WHERE campaign_id = $1 AND business_id = $2"
  "  AND ((outcome = 'dialing' AND lease_until < now())"
  "   OR (outcome = 'answered' AND lease_until < now() - interval '1 hour'))"};

// Serialises every claim of the service (a transaction-scoped advisory
// lock): the counts and the claim then see each other across instances.
constexpr sql_statement dispatch_lock{
  "SELECT pg_advisory_xact_lock(hashtext('al_campaign_dispatch'))"};

constexpr sql_statement count_live_rows{
  "SELECT count(*) FILTER (WHERE campaign_id = $1), count(*)"
  " FROM campaign_leads WHERE outcome IN ('dialing', 'answered')"};

constexpr sql_statement opt_out_due{
  "UPDATE campaign_leads c SET outcome = 'opted_out', updated_at = now(),"
  " lease_owner = NULL, lease_until = NULL"
  " FROM dnc d WHERE c.campaign_id = $1 AND c.business_id = $2"
  "  AND d.business_id = c.business_id AND d.phone = c.phone"
  "  AND c.outcome IN ('queued', 'no_answer', 'busy', 'failed')"
  "  AND c.next_attempt_at <= now()"};

constexpr sql_statement claim_due{
  "WITH due AS (SELECT id FROM campaign_leads"
  "  WHERE campaign_id = $1 AND business_id = $2"
  "   AND (outcome = 'queued' OR (outcome IN ('no_answer', 'busy', 'failed')"
  "    AND attempts_made < $3))"
  "   AND next_attempt_at <= now()"
  "  ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)"
  " UPDATE campaign_leads c SET outcome = 'dialing',"
  "  attempts_made = c.attempts_made + 1, lease_owner = $5,"
  "  lease_until = now() + $6::int * interval '1 second',"
  "  first_dial_at = coalesce(c.first_dial_at, now()), last_error = '',"
  "  updated_at = now()"
  " FROM due WHERE c.id = due.id"
  " RETURNING c.id, c.lead_id, c.phone, c.attempts_made,"
  "  CASE WHEN c.attempts_made = 1 AND c.lead_created_at IS NOT NULL"
  "   THEN extract(epoch FROM now() - c.lead_created_at)::float8 END"};

constexpr sql_statement fail_claimed{
  "UPDATE campaign_leads c SET outcome = 'failed', last_error = $4,"
  " lease_owner = NULL, lease_until = NULL, updated_at = now(),"
  " next_attempt_at = CASE WHEN $5::boolean"
  "  THEN now() + k.retry_after_min * interval '1 minute'"
  "  ELSE 'infinity' END"
  " FROM campaigns k WHERE c.id = $1 AND k.id = c.campaign_id"
  "  AND k.business_id = c.business_id"
  "  AND c.outcome = 'dialing' AND c.lease_owner = $2"
  "  AND c.attempts_made = $3 RETURNING 1"};

constexpr sql_statement complete_campaign{
  "UPDATE campaigns k SET state = 'completed', completed_at = now(),"
  " lease_owner = NULL, lease_until = NULL"
  " WHERE k.id = $1 AND k.business_id = $2 AND k.kind = 'campaign'"
  "  AND k.state = 'running'"
  "  AND NOT EXISTS (SELECT 1 FROM campaign_leads c"
  "   WHERE c.campaign_id = k.id AND (c.outcome IN"
  "    ('queued', 'dialing', 'answered') OR (c.outcome IN"
  "    ('no_answer', 'busy', 'failed') AND c.attempts_made < k.attempts"
  "    AND c.next_attempt_at <> 'infinity')))"
  " RETURNING 1"};

constexpr const char* outcomes[] = {"queued",    "dialing",   "answered",
                                    "voicemail", "no_answer", "busy",
                                    "failed",    "opted_out", "completed"};

json::value text_or_null(const pqxx::field& f) {
  if (f.is_null())
    return nullptr;
  return json::string{f.c_str()};
}

json::object totals_of(const pqxx::field& f) {
  auto parsed = json::parse(f.c_str());
  json::object out;
  for (auto o : outcomes) {
    auto* v = parsed.is_object() ? parsed.as_object().if_contains(o) : nullptr;
    out[o] = v && v->is_int64() ? v->as_int64() : std::int64_t{0};
  }
  return out;
}

json::object campaign_of(const pqxx::row& r) {
  json::object o{{"id", r[0].as<std::int64_t>()},
                 {"name", r[1].c_str()},
                 {"kind", r[2].c_str()},
                 {"state", r[3].c_str()},
                 {"max_concurrent", r[4].as<int>()},
                 {"attempts", r[5].as<int>()},
                 {"retry_after_min", r[6].as<int>()},
                 {"voicemail", r[7].c_str()},
                 {"voicemail_text", r[8].c_str()},
                 {"prompt", r[9].c_str()},
                 {"lead_filter", json::parse(r[10].c_str())},
                 {"created_at", text_or_null(r[11])},
                 {"started_at", text_or_null(r[12])},
                 {"completed_at", text_or_null(r[13])},
                 {"totals", totals_of(r[14])}};
  return o;
}

/// At most `max` bytes of `s`, never cutting a UTF-8 sequence.
std::string clip_utf8(const std::string& s, std::size_t max) {
  if (s.size() <= max)
    return s;
  while (max > 0 && (static_cast<unsigned char>(s[max]) & 0xC0) == 0x80)
    --max;
  return s.substr(0, max);
}

crm_reply no_campaign() {
  return crm_fail(crm_code::not_found, "No such campaign");
}

crm_reply set_state(db_tx& tx, std::int64_t business, std::int64_t id,
                    const char* to) {
  auto r = exec(tx, select_state_for_update, business, id);
  if (r.empty())
    return no_campaign();
  std::string state = r[0][0].c_str();
  if (state == "completed")
    return crm_fail(crm_code::conflict, "The campaign is completed");
  // It follows the business's auto_call_new_leads switch instead.
  if (std::string_view{r[0][1].c_str()} == "speed_to_lead")
    return crm_fail(crm_code::conflict,
                    "The speed-to-lead campaign follows auto_call_new_leads");
  if (state != to)
    exec(tx, update_state, business, id, std::string{to});
  return {crm_code::ok, json::object{{"id", id}, {"state", to}}};
}

std::mutex& wakers_mtx() {
  static std::mutex m;
  return m;
}

std::map<int, std::function<void(std::int64_t)>>& wakers() {
  static std::map<int, std::function<void(std::int64_t)>> w;
  return w;
}

int next_waker = 0;

} // namespace

int add_campaign_waker(std::function<void(std::int64_t)> wake) {
  std::lock_guard<std::mutex> g{wakers_mtx()};
  auto h = ++next_waker;
  wakers().emplace(h, std::move(wake));
  return h;
}

void remove_campaign_waker(int handle) {
  std::lock_guard<std::mutex> g{wakers_mtx()};
  wakers().erase(handle);
}

void wake_campaigns(std::int64_t campaign_id) {
  std::vector<std::function<void(std::int64_t)>> copy;
  {
    std::lock_guard<std::mutex> g{wakers_mtx()};
    for (auto& [h, w] : wakers())
      copy.push_back(w);
  }
  for (auto& w : copy)
    try {
      w(campaign_id);
    } catch (...) {
      // A wake-up is an optimisation: the next tick finds the row anyway.
    }
}

std::int64_t enqueue_speed_to_lead(db_tx& tx, std::int64_t business,
                                   std::int64_t lead_id,
                                   const std::string& phone) {
  if (phone.empty())
    return 0;
  auto on = exec(tx, select_auto_call, business);
  if (on.empty() || !on[0][0].as<bool>())
    return 0;
  auto id = exec(tx, upsert_speed_campaign, business,
                 std::string{default_campaign_prompt})[0][0]
              .as<std::int64_t>();
  exec(tx, insert_speed_lead, id, business, phone, lead_id);
  wake_campaigns(id);
  return id;
}

std::int64_t enqueue_speed_to_lead_if_new(db_tx& tx, std::int64_t business,
                                          std::int64_t lead_id,
                                          const std::string& phone) {
  if (exec(tx, select_lead_is_new, business, lead_id).empty())
    return 0;
  return enqueue_speed_to_lead(tx, business, lead_id, phone);
}

crm_reply create_campaign(db_tx& tx, std::int64_t business,
                          const campaign_input& in) {
  auto id = exec(tx, insert_campaign, business, in.name,
                 campaign_filter_json(in.filter), in.prompt, in.max_concurrent,
                 in.attempts, in.retry_after_min, in.voicemail,
                 in.voicemail_text)[0][0]
              .as<std::int64_t>();
  json::array tags;
  for (auto& t : in.filter.tags)
    tags.push_back(json::string{t});
  std::optional<std::string> ids;
  if (!in.filter.ids.empty()) {
    json::array a;
    for (auto i : in.filter.ids)
      a.push_back(i);
    ids = json::serialize(a);
  }
  exec(tx, materialise_leads, id, business, in.filter.status, in.filter.source,
       json::serialize(tags), ids);
  return {crm_code::created, json::object{{"id", id}}};
}

crm_reply list_campaigns(db_tx& tx, std::int64_t business,
                         const page_params& p) {
  json::array items;
  std::int64_t total = 0;
  for (auto row :
       exec(tx, select_campaign_page, business, p.per_page, p.offset())) {
    items.push_back(campaign_of(row));
    total = row[15].as<std::int64_t>();
  }
  if (items.empty())
    total = exec(tx, count_campaigns, business)[0][0].as<std::int64_t>();
  return {crm_code::ok, page_of(std::move(items), p, total)};
}

crm_reply get_campaign(db_tx& tx, std::int64_t business, std::int64_t id,
                       const page_params& p) {
  auto r = exec(tx, select_campaign, business, id);
  if (r.empty())
    return no_campaign();
  auto o = campaign_of(r[0]);
  json::array leads;
  for (auto row :
       exec(tx, select_campaign_leads, business, id, p.per_page, p.offset()))
    leads.push_back(json::object{{"lead_id", row[0].as<std::int64_t>()},
                                 {"name", row[1].c_str()},
                                 {"phone", row[2].c_str()},
                                 {"outcome", row[3].c_str()},
                                 {"attempts_made", row[4].as<int>()},
                                 {"next_attempt_at", text_or_null(row[5])},
                                 {"answered_by", text_or_null(row[6])},
                                 {"last_error", row[7].c_str()}});
  o["leads"] = std::move(leads);
  o["page"] = p.page;
  o["per_page"] = p.per_page;
  o["leads_total"]
    = exec(tx, count_campaign_leads, business, id)[0][0].as<std::int64_t>();
  return {crm_code::ok, std::move(o)};
}

crm_reply start_campaign(db_tx& tx, std::int64_t business, std::int64_t id) {
  return set_state(tx, business, id, "running");
}

crm_reply pause_campaign(db_tx& tx, std::int64_t business, std::int64_t id) {
  return set_state(tx, business, id, "paused");
}

std::vector<std::int64_t>
take_campaign_leases(db_tx& tx, const std::string& owner,
                     std::chrono::seconds lease, int limit) {
  std::vector<std::int64_t> ids;
  for (auto row :
       exec(tx, take_leases, owner, static_cast<int>(lease.count()), limit))
    ids.push_back(row[0].as<std::int64_t>());
  return ids;
}

std::optional<campaign_settings>
renew_campaign_lease(db_tx& tx, std::int64_t id, const std::string& owner,
                     std::chrono::seconds lease) {
  auto r = exec(tx, renew_lease, id, owner, static_cast<int>(lease.count()));
  if (r.empty())
    return std::nullopt;
  campaign_settings c;
  c.id = r[0][0].as<std::int64_t>();
  c.business_id = r[0][1].as<std::int64_t>();
  c.kind = r[0][2].c_str();
  c.state = r[0][3].c_str();
  c.max_concurrent = r[0][4].as<int>();
  c.attempts = r[0][5].as<int>();
  c.retry_after_min = r[0][6].as<int>();
  c.working_hours = r[0][7].c_str();
  return c;
}

void release_campaign_lease(db_tx& tx, std::int64_t id,
                            const std::string& owner) {
  exec(tx, release_lease, id, owner);
}

int expire_dial_leases(db_tx& tx, const campaign_settings& c) {
  return static_cast<int>(
    exec(tx, expire_dials, c.id, c.business_id, c.retry_after_min)
      .affected_rows());
}

claim_result claim_due_leads(db_tx& tx, const campaign_settings& c,
                             const std::string& owner,
                             std::chrono::seconds dial_lease, int global_cap) {
  claim_result out;
  exec(tx, dispatch_lock);
  auto live = exec(tx, count_live_rows, c.id);
  out.live_campaign = live[0][0].as<std::int64_t>();
  out.live_global = live[0][1].as<std::int64_t>();
  out.opted_out = static_cast<int>(
    exec(tx, opt_out_due, c.id, c.business_id).affected_rows());
  auto n = campaign_free_slots(c.max_concurrent, out.live_campaign, global_cap,
                               out.live_global);
  if (n == 0)
    return out;
  for (auto row : exec(tx, claim_due, c.id, c.business_id, c.attempts, n, owner,
                       static_cast<int>(dial_lease.count()))) {
    claimed_lead l;
    l.id = row[0].as<std::int64_t>();
    l.lead_id = row[1].as<std::int64_t>();
    l.phone = row[2].c_str();
    l.attempt = row[3].as<int>();
    if (!row[4].is_null())
      l.since_lead_s = row[4].as<double>();
    out.claimed.push_back(std::move(l));
  }
  return out;
}

bool fail_dial(db_tx& tx, std::int64_t campaign_lead_id,
               const std::string& owner, int attempt, const std::string& error,
               bool retryable) {
  return !exec(tx, fail_claimed, campaign_lead_id, owner, attempt,
               clip_utf8(error, 500), retryable)
            .empty();
}

bool complete_if_done(db_tx& tx, const campaign_settings& c) {
  if (c.kind != "campaign")
    return false;
  return !exec(tx, complete_campaign, c.id, c.business_id).empty();
}

} // namespace al
