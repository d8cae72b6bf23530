// Cross-tenant access on every route: another office's rows answer 404,
// never data (the security issue's requirement, for the old routes and the
// new ones: listings, WhatsApp, payments, audio, audit).
//
// Business B ("Victim") gets one of every resource, each carrying a
// VICTIM-MARKER-* string. Business A (the default business 1) then calls
// every /api/ route that names a row in its path with B's ids (owner, and
// agent on writes; with and without ?business_id=B and "business_id":B),
// reads every list, and writes through every route without an id. The
// routes come from the running application, so a new route fails here
// until it is added to a table below. Each table row is also checked from
// B's side (a positive control), so a 404 cannot come from a malformed path
// or body. routes_test.cpp keeps the role matrix and the first, shorter
// cross-tenant list.
#include "tests/crm/crm_support.hpp"
#include "tests/support/audio_rows.hpp"

#include "core/wav.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace al::test {
namespace {

namespace fs = std::filesystem;

/// Every marker starts with this; B's name is the other thing A never sees.
constexpr const char* marker = "VICTIM-MARKER";
constexpr const char* victim_name = "Victim";
/// B's lead's number; A has a lead with the same number (so that a lookup
/// by phone instead of by business would show up).
constexpr const char* shared_phone = "0509990001";
constexpr const char* victim_sid = "CA-VICTIM-MARKER-call";
constexpr const char* own_sid = "CA-own-call";

using id_map = std::map<std::string, std::string>; // "{lead}" -> "12"

std::string fill(std::string s, const id_map& ids) {
  for (auto& [k, v] : ids)
    s = replace_all(std::move(s), k, v);
  return s;
}

std::string with_query(const std::string& path, const std::string& q) {
  return path + (path.find('?') == std::string::npos ? "?" : "&") + q;
}

/// `body` (a JSON object, or "" for none) with "business_id":b added.
std::string with_business(const std::string& body, std::int64_t b) {
  json::object o;
  if (!body.empty())
    o = json::parse(body).as_object();
  o["business_id"] = b;
  return js(o);
}

/// What of B a response shows: "" when nothing.
std::string leak_in(const std::string& body) {
  std::string found;
  for (auto at = body.find(marker); at != std::string::npos;
       at = body.find(marker, at + 1))
    found += " " + body.substr(at, 40);
  if (body.find(victim_name) != std::string::npos)
    found += " the name Victim";
  return found;
}

/// A call with one caller segment and a recording (kept in the database).
void seed_call(crm_app& crm, std::int64_t b, const std::string& sid,
               const std::string& lead, const std::string& tag) {
  auto bs = std::to_string(b);
  crm.sql("INSERT INTO calls (business_id, call_sid, from_number, status,"
          " lead_id, summary) VALUES ("
          + bs + ", '" + sid + "', '+972509990001', 'completed', " + lead
          + ", '" + tag + "-call-summary')");
  crm.sql(audio_insert_sql(b, sid, "segment", 0, "audio/wav",
                           "RIFF " + tag + "-segment", 100));
  crm.sql(audio_insert_sql(b, sid, "recording", 0, "audio/wav",
                           "RIFF " + tag + "-recording"));
  crm.sql("INSERT INTO call_events (business_id, call_sid, seq, kind, detail)"
          " VALUES ("
          + bs + ", '" + sid + "', 0, 'transcript', '{\"role\":\"caller\","
          + "\"text\":\"" + tag + "-transcript\"}')");
}

/// A short greeting recording (0.2 s of a pattern), as a PCM WAV file.
std::string greeting_wav() {
  std::string mulaw;
  for (int i = 0; i < 1600; ++i)
    mulaw.push_back(static_cast<char>(0x20 + i % 7));
  return mulaw_to_pcm_wav(mulaw);
}

/// A fingerprint of everything business `b` owns: every table with a
/// business_id column, and its businesses row. Equal before and after =
/// nothing of b changed (updated_at included, so even a no-op UPDATE shows).
std::string fingerprint(crm_app& crm, std::int64_t b) {
  auto bs = std::to_string(b);
  return crm.sql(
           "SELECT string_agg(table_name || ':' || md5(query_to_xml(format("
           "'SELECT * FROM %I t WHERE business_id = "
           + bs
           + " ORDER BY t::text', table_name), false, false, '')::text), ' '"
             " ORDER BY table_name) FROM information_schema.columns"
             " WHERE table_schema = 'public' AND column_name = 'business_id'")
         + " businesses:"
         + crm.sql("SELECT md5(b::text) FROM businesses b WHERE id = " + bs);
}

/// Business B with one of every resource, each naming a marker.
struct victim {
  std::int64_t id = 0;
  std::string owner; // B's owner token
  std::string spare; // another B token, the target of token revocation
  id_map ids;        // {lead} {listing} {appt} {task} {sid} {pay} ...
};

victim seed_victim(crm_app& crm) {
  victim v;
  v.id = crm.new_business(victim_name);
  auto bs = std::to_string(v.id);
  v.owner = crm.new_token(v.id, "owner").token;
  auto spare = crm.new_token(v.id, "agent");
  v.spare = spare.token;
  auto lead = std::to_string(crm.new_lead(
    v.owner, js(json::object{{"name", "VICTIM-MARKER-lead"},
                             {"phone", shared_phone},
                             {"deal", "buy"},
                             {"city", "Haifa"},
                             {"rooms", 4},
                             {"budget_max", 1200000},
                             {"notes", "VICTIM-MARKER-lead-notes"}})));
  auto note = crm.call("POST", "/api/crm/leads/" + lead + "/notes", v.owner,
                       R"({"body":"VICTIM-MARKER-note"})");
  EXPECT_EQ(note.status, 201) << note.body;
  auto appt = crm.call("POST", "/api/crm/appointments", v.owner,
                       R"({"starts_at":"2025-05-01T10:00:00Z",)"
                       R"("address":"VICTIM-MARKER-address",)"
                       R"("notes":"VICTIM-MARKER-appointment","lead_id":)"
                         + lead + "}");
  EXPECT_EQ(appt.status, 201) << appt.body;
  auto task
    = crm.call("POST", "/api/crm/tasks", v.owner,
               R"({"title":"VICTIM-MARKER-task","lead_id":)" + lead + "}");
  EXPECT_EQ(task.status, 201) << task.body;
  auto listing = crm.call("POST", "/api/crm/listings", v.owner,
                          R"({"title":"VICTIM-MARKER-listing","deal":"buy",)"
                          R"("city":"Haifa","rooms":4,"price":1000000,)"
                          R"("description":"VICTIM-MARKER-description"})");
  EXPECT_EQ(listing.status, 201) << listing.body;
  auto pipeline
    = crm.call("PUT", "/api/crm/pipeline", v.owner,
               R"({"statuses":[{"key":"new","label":"VICTIM-MARKER-pipeline"},)"
               R"({"key":"won","label":"won"}]})");
  EXPECT_EQ(pipeline.status, 200) << pipeline.body;
  // The audit entries: a settings change and a greeting recording.
  auto greeting = crm.call("PATCH", "/api/crm/settings", v.owner,
                           R"({"greeting":"VICTIM-MARKER-greeting"})");
  EXPECT_EQ(greeting.status, 200) << greeting.body;
  auto audio = http_call(
    crm.app().port(), "PUT", "/api/crm/settings/greeting-audio", greeting_wav(),
    {{"Authorization", "Bearer " + v.owner}, {"Content-Type", "audio/wav"}});
  EXPECT_EQ(audio.status, 200) << audio.body;
  seed_call(crm, v.id, victim_sid, lead, "VICTIM-MARKER");
  auto listing_id = std::to_string(listing.int_at("id"));
  crm.sql("INSERT INTO listing_mentions (business_id, listing_id, call_sid)"
          " VALUES ("
          + bs + ", " + listing_id + ", '" + victim_sid + "')");
  crm.sql("INSERT INTO messages (business_id, lead_id, direction, provider,"
          " provider_sid, from_address, to_address, body, status) VALUES ("
          + bs + ", " + lead
          + ", 'in', 'twilio', 'SMVICTIM1', 'whatsapp:+972509990001',"
            " 'whatsapp:+14155238886', 'VICTIM-MARKER-whatsapp', 'received')");
  // Its conversation (the inbox's /api/crm/whatsapp/conversations/{phone}).
  crm.sql("INSERT INTO wa_conversations (business_id, peer, last_seq,"
          " last_inbound_at) VALUES ("
          + bs + ", 'whatsapp:+972509990001', 1, now())");
  crm.sql("UPDATE messages SET conversation_seq = 1 WHERE provider_sid ="
          " 'SMVICTIM1'");
  // A picture that came with it (GET /api/crm/messages/{id}/media/{idx}).
  auto msg
    = crm.sql("SELECT id FROM messages WHERE provider_sid = 'SMVICTIM1'");
  crm.sql("INSERT INTO message_media (business_id, message_id, idx, status,"
          " content_type, size_bytes, bytes) VALUES ("
          + bs + ", " + msg
          + ", 0, 'stored', 'image/png', 19,"
            " convert_to('VICTIM-MARKER-media', 'UTF8'))");
  // Its do-not-contact entry and a follow-up campaign.
  crm.sql("INSERT INTO dnc (business_id, phone, note) VALUES (" + bs
          + ", '+972509990001', 'VICTIM-MARKER-dnc')");
  auto camp = crm.sql("INSERT INTO campaigns (business_id, name) VALUES (" + bs
                      + ", 'VICTIM-MARKER-campaign') RETURNING id");
  auto pay = crm.sql("INSERT INTO payments (business_id, lead_id, provider,"
                     " amount_minor, currency, description) VALUES ("
                     + bs + ", " + lead
                     + ", 'paypal', 100, 'ILS', 'VICTIM-MARKER-payment')"
                       " RETURNING id");
  crm.sql("INSERT INTO payment_events (business_id, payment_id, event_key,"
          " to_status, detail) VALUES ("
          + bs + ", " + pay
          + ", 'ev-victim', 'pending', '{\"note\":\"VICTIM-MARKER-event\"}')");
  // A WhatsApp template and a failed webhook delivery (the owner-only id
  // routes).
  auto tmpl = crm.call(
    "POST", "/api/crm/whatsapp/templates", v.owner,
    R"({"name":"victim_marker","body":"VICTIM-MARKER-template {{1}}"})");
  EXPECT_EQ(tmpl.status, 201) << tmpl.body;
  const std::string evt = "evt_0123456789abcdef01234567";
  crm.sql("INSERT INTO webhook_outbox (id, business_id, event, body, status,"
          " attempts, last_error) VALUES ('"
          + evt + "', " + bs
          + ", 'test', '{\"note\":\"VICTIM-MARKER-delivery\"}', 'failed',"
            " 3, 'VICTIM-MARKER-delivery')");
  v.ids = {{"{lead}", lead},
           {"{tmpl}", std::to_string(tmpl.int_at("id"))},
           {"{evt}", evt},
           {"{listing}", listing_id},
           {"{appt}", std::to_string(appt.int_at("id"))},
           {"{task}", std::to_string(task.int_at("id"))},
           {"{sid}", victim_sid},
           {"{pay}", pay},
           {"{biz}", bs},
           {"{tok}", std::to_string(spare.id)},
           {"{phone}", "+972509990001"},
           {"{msg}", msg},
           {"{camp}", camp}};
  return v;
}

/// A route that names a row in its path: what to send, with {lead} etc.
/// filled with one business's ids.
struct id_route {
  std::string path;
  std::string body;  // JSON for writes, "" for none
  std::string shows; // what B's own reader finds there (positive control)
};

/// Every "METHOD /pattern" with a placeholder under /api/. A route missing
/// here fails EveryRouteWithAnIdRefusesAnotherBusiness.
const std::map<std::string, id_route>& id_routes() {
  static const std::map<std::string, id_route> table{
    {"GET /api/crm/leads/{id}",
     {"/api/crm/leads/{lead}", "", "VICTIM-MARKER-lead"}},
    {"PATCH /api/crm/leads/{id}",
     {"/api/crm/leads/{lead}", R"({"name":"pwned","status":"won"})", ""}},
    {"DELETE /api/crm/leads/{id}", {"/api/crm/leads/{lead}", "", ""}},
    {"GET /api/crm/leads/{id}/notes",
     {"/api/crm/leads/{lead}/notes", "", "VICTIM-MARKER-note"}},
    {"POST /api/crm/leads/{id}/notes",
     {"/api/crm/leads/{lead}/notes", R"({"body":"pwned"})", ""}},
    {"GET /api/crm/leads/{id}/messages",
     {"/api/crm/leads/{lead}/messages", "", "VICTIM-MARKER-whatsapp"}},
    {"GET /api/crm/leads/{id}/matches",
     {"/api/crm/leads/{lead}/matches", "", "VICTIM-MARKER-listing"}},
    {"GET /api/crm/listings/{id}",
     {"/api/crm/listings/{listing}", "", "VICTIM-MARKER-listing"}},
    {"PATCH /api/crm/listings/{id}",
     {"/api/crm/listings/{listing}",
      R"({"title":"pwned","price":1,"status":"sold"})", ""}},
    {"DELETE /api/crm/listings/{id}", {"/api/crm/listings/{listing}", "", ""}},
    {"PATCH /api/crm/appointments/{id}",
     {"/api/crm/appointments/{appt}", R"({"status":"cancelled"})", ""}},
    {"PATCH /api/crm/tasks/{id}",
     {"/api/crm/tasks/{task}", R"({"done":true})", ""}},
    {"GET /api/crm/calls/{sid}",
     {"/api/crm/calls/{sid}", "", "VICTIM-MARKER-transcript"}},
    {"GET /api/crm/calls/{sid}/segments/{seq}",
     {"/api/crm/calls/{sid}/segments/0", "", "VICTIM-MARKER-segment"}},
    {"GET /api/crm/calls/{sid}/recording",
     {"/api/crm/calls/{sid}/recording", "", "VICTIM-MARKER-recording"}},
    {"GET /api/crm/messages/{id}/media/{idx}",
     {"/api/crm/messages/{msg}/media/0", "", "VICTIM-MARKER-media"}},
    {"GET /api/crm/payments/{id}",
     {"/api/crm/payments/{pay}", "", "VICTIM-MARKER-payment"}},
    {"GET /api/crm/whatsapp/conversations/{phone}/messages",
     {"/api/crm/whatsapp/conversations/{phone}/messages", "",
      "VICTIM-MARKER-whatsapp"}},
    {"POST /api/crm/whatsapp/conversations/{phone}/read",
     {"/api/crm/whatsapp/conversations/{phone}/read", "", ""}},
    {"POST /api/crm/leads/{id}/takeover",
     {"/api/crm/leads/{lead}/takeover", "", ""}},
    {"POST /api/crm/leads/{id}/release",
     {"/api/crm/leads/{lead}/release", "", ""}},
    {"GET /api/crm/campaigns/{id}",
     {"/api/crm/campaigns/{camp}", "", "VICTIM-MARKER-campaign"}},
    // Owner-only (manage) routes: an agent gets 403 before the id counts.
    {"POST /api/crm/campaigns/{id}/pause",
     {"/api/crm/campaigns/{camp}/pause", "", ""}},
    {"POST /api/crm/campaigns/{id}/start",
     {"/api/crm/campaigns/{camp}/start", "", ""}},
    {"DELETE /api/crm/dnc/{phone}", {"/api/crm/dnc/{phone}", "", ""}},
    {"POST /api/crm/webhooks/deliveries/{id}/retry",
     {"/api/crm/webhooks/deliveries/{evt}/retry", "", ""}},
    {"DELETE /api/crm/whatsapp/templates/{id}",
     {"/api/crm/whatsapp/templates/{tmpl}", "", ""}},
    // The administrator's routes: an owner's or agent's token gets 403.
    {"GET /api/admin/businesses/{id}",
     {"/api/admin/businesses/{biz}", "", "VICTIM-MARKER-greeting"}},
    {"PATCH /api/admin/businesses/{id}",
     {"/api/admin/businesses/{biz}", R"({"greeting":"pwned"})", ""}},
    {"DELETE /api/admin/tokens/{id}", {"/api/admin/tokens/{tok}", "", ""}},
  };
  return table;
}

bool is_admin_route(const std::string& path) {
  return path.rfind("/api/admin/", 0) == 0;
}

/// Owner-only routes: an agent is refused (403) before any id is looked up.
bool is_manage_route(const std::string& path) {
  return path.rfind("/api/crm/webhooks/", 0) == 0
         || path.rfind("/api/crm/whatsapp/templates", 0) == 0
         || path.rfind("/api/crm/campaigns/", 0) == 0
         || path.rfind("/api/crm/dnc/", 0) == 0;
}

std::string method_of(const std::string& key) {
  return key.substr(0, key.find(' '));
}

std::string pattern_of(const std::string& key) {
  return key.substr(key.find(' ') + 1);
}

/// Records every answer that is not what isolation requires, so that the
/// report lists them all at the end instead of stopping at the first.
struct verdicts {
  std::vector<std::string> wrong;

  void check(const std::string& what, const api_result& r, int want) {
    auto leak = leak_in(r.body);
    if (r.status != want || !leak.empty())
      add(what + " -> " + std::to_string(r.status) + " (want "
          + std::to_string(want) + ")"
          + (leak.empty() ? "" : ", shows B:" + leak) + ": "
          + r.body.substr(0, 200));
  }

  void add(std::string what) {
    wrong.push_back(std::move(what));
    ADD_FAILURE() << wrong.back();
  }
};

std::string list_all(const std::vector<std::string>& v) {
  std::string out;
  for (auto& s : v)
    out += "  " + s + "\n";
  return out;
}

TEST(CrossTenant, EveryRouteWithAnIdRefusesAnotherBusiness) {
  crm_app crm;
  auto v = seed_victim(crm);
  auto b = v.id;
  auto bq = "business_id=" + std::to_string(b);
  auto a_owner = crm.new_token(1, "owner");
  auto a_agent = crm.new_token(1, "agent").token;

  // A's own rows of the same kinds, the lead with B's lead's number and
  // wishes (B's listing would match it), for the "own ids" pass below.
  auto own_lead = std::to_string(
    crm.new_lead(a_owner.token, js(json::object{{"name", "own lead"},
                                                {"phone", shared_phone},
                                                {"deal", "buy"},
                                                {"city", "Haifa"},
                                                {"rooms", 4},
                                                {"budget_max", 1200000}})));
  auto own_listing = crm.call("POST", "/api/crm/listings", a_owner.token,
                              R"({"title":"own listing","deal":"buy",)"
                              R"("city":"Haifa","rooms":4,"price":1000000})");
  ASSERT_EQ(own_listing.status, 201) << own_listing.body;
  seed_call(crm, 1, own_sid, own_lead, "own");
  auto own_pay = crm.sql("INSERT INTO payments (business_id, lead_id,"
                         " provider, amount_minor, currency, description)"
                         " VALUES (1, "
                         + own_lead
                         + ", 'paypal', 100, 'ILS', 'own')"
                           " RETURNING id");
  auto own_msg
    = crm.sql("INSERT INTO messages (business_id, lead_id, direction, provider,"
              " provider_sid, from_address, body, status) VALUES (1, "
              + own_lead
              + ", 'in', 'twilio', 'SMOWN1', 'whatsapp:+972500000009', 'own',"
                " 'received') RETURNING id");
  crm.sql("INSERT INTO message_media (business_id, message_id, idx, status,"
          " content_type, size_bytes, bytes) VALUES (1, "
          + own_msg + ", 0, 'stored', 'image/png', 3, 'own'::bytea)");
  const id_map own{{"{lead}", own_lead},
                   {"{listing}", std::to_string(own_listing.int_at("id"))},
                   {"{appt}", "0"},
                   {"{task}", "0"},
                   {"{sid}", own_sid},
                   {"{pay}", own_pay},
                   {"{biz}", "1"},
                   {"{tok}", std::to_string(a_owner.id)},
                   {"{phone}", "+972500000009"},
                   {"{msg}", own_msg},
                   {"{camp}", crm.sql("INSERT INTO campaigns (business_id,"
                                      " name) VALUES (1, 'own') RETURNING"
                                      " id")}};
  // A's own conversation (with the number of its own message; a phone is
  // not a secret id: A's conversation with B's customer's number would be
  // A's own, so B's conversation is reached by B's number and A has none).
  crm.sql("INSERT INTO wa_conversations (business_id, peer, last_seq)"
          " VALUES (1, 'whatsapp:+972500000009', 0)");

  // Every registered /api/ route with a placeholder is in the table, and
  // the table names no route that is gone.
  std::set<std::string> with_id;
  for (auto& rt : crm.app().app().routes())
    if (pattern_of(rt).rfind("/api/", 0) == 0
        && rt.find('{') != std::string::npos) {
      with_id.insert(rt);
      if (!id_routes().count(rt))
        ADD_FAILURE() << "add " << rt
                      << " to the cross-tenant table (id_routes() in "
                         "tests/security/cross_tenant_test.cpp)";
    }
  for (auto& [key, row] : id_routes())
    EXPECT_TRUE(with_id.count(key)) << key << " is no longer registered";
  ASSERT_GE(with_id.size(), 19u);

  auto before = fingerprint(crm, b);
  auto audit_before = crm.sql(
    "SELECT count(*) FROM audit_log WHERE business_id = " + std::to_string(b));

  // 1. A on B's ids: 404 (403 on the administrator's routes), with and
  // without ?business_id=B and "business_id":B; agents try the writes too.
  verdicts got;
  std::size_t attempts = 0;
  for (auto& [key, row] : id_routes()) {
    auto method = method_of(key);
    auto path = fill(row.path, v.ids);
    int want = is_admin_route(path) ? 403 : 404;
    bool write = method != "GET";
    std::vector<std::pair<std::string, std::string>> tokens{
      {"A owner", a_owner.token}};
    if (write)
      tokens.emplace_back("A agent", a_agent);
    for (auto& [who, token] : tokens) {
      std::vector<std::pair<std::string, std::string>> tries{
        {path, row.body}, {with_query(path, bq), row.body}};
      if (write) {
        tries.emplace_back(path, with_business(row.body, b));
        tries.emplace_back(with_query(path, bq), with_business(row.body, b));
      }
      for (auto& [target, body] : tries) {
        ++attempts;
        got.check(method + " " + target + " " + body + " as " + who,
                  crm.call(method, target, token, body),
                  who == "A agent" && is_manage_route(path) ? 403 : want);
      }
    }
  }

  // 2. Every list (every GET without an id; the event stream aside): 200
  // for A and nothing of B in it, with or without ?business_id=B. B's own
  // owner sees its marker there, so the check is not vacuous.
  const std::map<std::string, std::string> list_query{
    {"/api/crm/voice/preview", "text=x"}};
  const std::map<std::string, std::string> b_sees{
    {"/api/crm/leads", "VICTIM-MARKER-lead"},
    {"/api/crm/leads.csv", "VICTIM-MARKER-lead"},
    {"/api/crm/listings", "VICTIM-MARKER-listing"},
    {"/api/crm/listings.csv", "VICTIM-MARKER-listing"},
    {"/api/crm/calls", "VICTIM-MARKER-call-summary"},
    {"/api/crm/appointments", "VICTIM-MARKER-appointment"},
    {"/api/crm/tasks", "VICTIM-MARKER-task"},
    {"/api/crm/pipeline", "VICTIM-MARKER-pipeline"},
    {"/api/crm/business", "VICTIM-MARKER-greeting"},
    {"/api/crm/settings", "VICTIM-MARKER-greeting"},
    {"/api/crm/audit", "VICTIM-MARKER-greeting"},
    {"/api/crm/payments", "VICTIM-MARKER-payment"},
    {"/api/crm/whatsapp/templates", "VICTIM-MARKER-template"},
    {"/api/crm/whatsapp/conversations", "VICTIM-MARKER-whatsapp"},
    {"/api/crm/webhooks/deliveries", "VICTIM-MARKER-delivery"},
  };
  std::vector<std::string> lists;
  for (auto& rt : crm.app().app().routes()) {
    auto path = pattern_of(rt);
    if (method_of(rt) != "GET" || path.rfind("/api/", 0) != 0
        || path.find('{') != std::string::npos || path == "/api/crm/events")
      continue;
    lists.push_back(path);
    auto q = list_query.count(path) ? list_query.at(path) : std::string{};
    auto target = q.empty() ? path : with_query(path, q);
    int want = is_admin_route(path) ? 403 : 200;
    auto plain = crm.call("GET", target, a_owner.token);
    auto named = crm.call("GET", with_query(target, bq), a_owner.token);
    got.check("GET " + target + " as A owner", plain, want);
    got.check("GET " + with_query(target, bq) + " as A owner", named, want);
    // Naming B changes nothing A sees (counts included, e.g. the stats).
    // Read once more before calling it a difference: a list may say what
    // day it is, and a day may end between two reads. (Audio is left out:
    // the speech synthesiser does not render a text twice alike.)
    bool text = plain.content_type.find("json") != std::string::npos
                || plain.content_type.find("csv") != std::string::npos;
    if (text && named.body != plain.body
        && named.body != crm.call("GET", target, a_owner.token).body)
      got.add("GET " + with_query(target, bq) + " as A owner differs from "
              + target + ": " + named.body.substr(0, 200));
    if (auto s = b_sees.find(path); s != b_sees.end()) {
      auto mine = crm.call("GET", target, v.owner);
      EXPECT_EQ(mine.status, 200) << path << " as B: " << mine.body;
      EXPECT_NE(mine.body.find(s->second), std::string::npos)
        << path << " as B does not show " << s->second << ": " << mine.body;
    }
  }
  // ?business_id= does not switch a token's business.
  auto me = crm.call("GET", with_query("/api/crm/me", bq), a_owner.token);
  EXPECT_EQ(me.int_at("business_id"), 1) << me.body;
  for (auto& [path, m] : b_sees)
    EXPECT_NE(std::find(lists.begin(), lists.end(), path), lists.end())
      << path << " is no longer a registered list";

  // 3. A's own rows, read through every id route: nothing of B joined in
  // (B's listing matches A's lead's wishes, B's message is from A's lead's
  // number, ...).
  for (auto& [key, row] : id_routes()) {
    if (method_of(key) != "GET")
      continue;
    auto path = fill(row.path, own);
    int want = is_admin_route(path) ? 403 : 200;
    got.check("GET " + path + " (A's own) as A owner",
              crm.call("GET", path, a_owner.token), want);
    got.check("GET " + with_query(path, bq) + " (A's own) as A owner",
              crm.call("GET", with_query(path, bq), a_owner.token), want);
  }
  EXPECT_TRUE(got.wrong.empty())
    << got.wrong.size() << " answers break tenant isolation:\n"
    << list_all(got.wrong);

  // 4. Nothing of B changed: every row it owns, its audit trail, and the
  // rows the attempts aimed at (spelled out for the reader).
  EXPECT_EQ(fingerprint(crm, b), before);
  EXPECT_EQ(crm.sql("SELECT count(*) FROM audit_log WHERE business_id = "
                    + std::to_string(b)),
            audit_before);
  auto& ids = v.ids;
  EXPECT_EQ(crm.sql("SELECT name || '|' || status FROM leads WHERE id = "
                    + ids.at("{lead}")),
            "VICTIM-MARKER-lead|new");
  EXPECT_EQ(crm.sql("SELECT string_agg(body, ',') FROM lead_notes"
                    " WHERE lead_id = "
                    + ids.at("{lead}")),
            "VICTIM-MARKER-note");
  EXPECT_EQ(crm.sql("SELECT title || '|' || price || '|' || status || '|'"
                    " || (deleted_at IS NULL) FROM listings WHERE id = "
                    + ids.at("{listing}")),
            "VICTIM-MARKER-listing|1000000|available|true");
  EXPECT_EQ(
    crm.sql("SELECT status FROM appointments WHERE id = " + ids.at("{appt}")),
    "scheduled");
  EXPECT_EQ(crm.sql("SELECT done FROM tasks WHERE id = " + ids.at("{task}")),
            "f");
  EXPECT_EQ(
    crm.sql("SELECT greeting FROM businesses WHERE id = " + std::to_string(b)),
    "VICTIM-MARKER-greeting");
  EXPECT_EQ(crm.call("GET", "/api/crm/me", v.spare).status, 200)
    << "B's token was revoked";

  // 5. The administrator reaches B's lead by naming B, and only then.
  auto lead_path = "/api/crm/leads/" + ids.at("{lead}");
  auto named = crm.call("GET", with_query(lead_path, bq), admin_token);
  EXPECT_EQ(named.status, 200) << named.body;
  EXPECT_NE(named.body.find("VICTIM-MARKER-lead"), std::string::npos);
  EXPECT_EQ(crm.call("GET", lead_path, admin_token).status, 404);

  // 6. Positive control: every row of the table works for B itself (the
  // administrator for /api/admin/), reads first, deletions last, so each
  // 404 above came from the tenant check and not from a malformed request.
  for (int pass = 0; pass < 3; ++pass)
    for (auto& [key, row] : id_routes()) {
      auto method = method_of(key);
      int order = method == "GET" ? 0 : method == "DELETE" ? 2 : 1;
      if (order != pass)
        continue;
      auto path = fill(row.path, v.ids);
      auto token = is_admin_route(path) ? std::string{admin_token} : v.owner;
      auto r = crm.call(method, path, token, row.body);
      EXPECT_TRUE(r.status >= 200 && r.status < 300)
        << key << " as B: " << r.status << " " << r.body;
      if (!row.shows.empty()) {
        EXPECT_NE(r.body.find(row.shows), std::string::npos)
          << key << " as B does not show " << row.shows << ": " << r.body;
      }
    }
  std::cout << "[ cross-tenant ] " << id_routes().size() << " id routes, "
            << attempts << " attempts on B's ids, " << lists.size()
            << " lists\n";
}

/// The routes without an id that write for "the token's business": what A's
/// owner sends (always with ?business_id=B and, for JSON, "business_id":B)
/// and the status it gets while acting for A.
struct scoped_write {
  std::string body;
  int want;
  std::string content_type = "application/json";
  bool last = false; // after the others (it undoes one, or ends a session)
};

TEST(CrossTenant, WritesWithoutAnIdStayInTheCallersBusiness) {
  auto cfg = test_config();
  // WhatsApp sends go through the real chain and fail fast at the provider.
  cfg.twilio_api_base = "http://127.0.0.1:1";
  crm_app crm{cfg};
  auto v = seed_victim(crm);
  auto b = v.id;
  auto a_owner = crm.new_token(1, "owner").token;
  auto wav = greeting_wav();

  const std::map<std::string, scoped_write> table{
    {"POST /api/crm/leads", {R"({"name":"own written lead"})", 201}},
    {"POST /api/crm/leads/import",
     {"name,phone\nown imported lead,0509990002\n", 200, "text/csv"}},
    {"POST /api/crm/listings",
     {R"({"title":"own written listing","deal":"rent"})", 201}},
    {"POST /api/crm/listings/import",
     {"title,deal\nown imported listing,rent\n", 200, "text/csv"}},
    {"POST /api/crm/appointments",
     {R"({"starts_at":"2025-05-02T10:00:00Z","notes":"own appt"})", 201}},
    {"POST /api/crm/tasks", {R"({"title":"own written task"})", 201}},
    {"PUT /api/crm/pipeline",
     {R"({"statuses":[{"key":"new","label":"own new"},)"
      R"({"key":"won","label":"own won"}]})",
      200}},
    {"PATCH /api/crm/business", {R"({"greeting":"own greeting 1"})", 200}},
    {"PATCH /api/crm/settings", {R"({"greeting":"own greeting 2"})", 200}},
    {"PUT /api/crm/settings/greeting-audio", {wav, 200, "audio/wav"}},
    {"DELETE /api/crm/settings/greeting-audio", {"", 200, "", true}},
    // Payments are off in the test config: 501 before any business lookup.
    {"POST /api/crm/payments/create", {R"({"amount":"10"})", 501}},
    // The provider is unreachable: 502, the message row kept as failed.
    {"POST /api/whatsapp/send",
     {R"({"to":"0509990003","text":"own whatsapp"})", 502}},
    {"POST /api/admin/businesses", {R"({"name":"pwned"})", 403}},
    {"POST /api/admin/tokens", {R"({"role":"owner","name":"pwned"})", 403}},
    // Sign-in links and sessions: a link is for the caller's business (it
    // is redeemed below); sign-in takes no bearer, so a made-up code is
    // all A has; sign-out ends only a session (A's API token stays).
    {"POST /api/crm/sign-in-links", {R"({"role":"owner"})", 201}},
    {"POST /api/auth/sign-in", {R"({"code":"not-a-real-code"})", 401}},
    {"POST /api/auth/sign-out", {"", 200, "application/json", true}},
    // The event stream's ticket is for the caller's business.
    {"POST /api/crm/events/ticket", {"", 200}},
    // A has no webhook_url: 422 for A (B's would have queued one).
    {"POST /api/crm/webhooks/test", {"", 422}},
    {"POST /api/crm/whatsapp/templates",
     {R"({"name":"own_template","body":"own template {{1}}"})", 201}},
    {"POST /api/crm/dnc", {R"({"phone":"0509990004"})", 201}},
    {"POST /api/crm/campaigns",
     {R"({"name":"own campaign","lead_filter":{"ids":[999999999]}})", 201}},
    {"POST /api/leads/intake",
     {R"({"phone":"0509990005","name":"own intake lead"})", 201}},
    {"OPTIONS /api/leads/intake", {"", 204, ""}},
    {"POST /api/crm/settings/intake-key", {"", 201}},
  };
  // A's customer wrote within 24 hours, so a free-form send may go out.
  crm.sql("INSERT INTO wa_conversations (business_id, peer, last_inbound_at)"
          " VALUES (1, 'whatsapp:+972509990003', now())");
  std::set<std::string> registered;
  for (auto& rt : crm.app().app().routes())
    if (method_of(rt) != "GET" && pattern_of(rt).rfind("/api/", 0) == 0
        && rt.find('{') == std::string::npos) {
      registered.insert(rt);
      if (!table.count(rt))
        ADD_FAILURE() << "add " << rt
                      << " to the cross-tenant table (WritesWithoutAnId in "
                         "tests/security/cross_tenant_test.cpp)";
    }
  for (auto& [key, w] : table)
    EXPECT_TRUE(registered.count(key)) << key << " is no longer registered";

  auto before = fingerprint(crm, b);
  verdicts got;
  std::map<std::string, http_result> answers;
  for (int pass = 0; pass < 2; ++pass)
    for (auto& [key, w] : table) {
      auto method = method_of(key);
      if (w.last != (pass == 1))
        continue;
      auto target = with_query(pattern_of(key),
                               "business_id=" + std::to_string(b));
      auto body = w.content_type == "application/json"
                    ? with_business(w.body, b)
                    : w.body;
      header_list h{{"Authorization", "Bearer " + a_owner}};
      if (!w.content_type.empty())
        h.emplace_back("Content-Type", w.content_type);
      auto raw = http_call(crm.app().port(), method, target, body, h);
      api_result r;
      r.status = raw.status;
      r.body = raw.body;
      got.check(key + "?business_id=B as A owner", r, w.want);
      answers[key] = raw;
    }
  EXPECT_TRUE(got.wrong.empty()) << got.wrong.size() << " writes went wrong:\n"
                                 << list_all(got.wrong);

  // B is untouched; everything landed in A.
  EXPECT_EQ(fingerprint(crm, b), before);
  auto in_a = [&](const std::string& table_name, const std::string& where) {
    return crm.sql("SELECT string_agg(business_id::text, ',') FROM "
                   + table_name + " WHERE " + where);
  };
  EXPECT_EQ(in_a("leads", "name IN ('own written lead', 'own imported lead')"),
            "1,1");
  EXPECT_EQ(in_a("leads", "phone = '+972509990003'"), "1");
  EXPECT_EQ(in_a("listings",
                 "title IN ('own written listing', 'own imported listing')"),
            "1,1");
  EXPECT_EQ(in_a("appointments", "notes = 'own appt'"), "1");
  EXPECT_EQ(in_a("tasks", "title = 'own written task'"), "1");
  EXPECT_EQ(in_a("pipeline_statuses", "label LIKE 'own %'"), "1,1");
  EXPECT_EQ(in_a("messages", "body = 'own whatsapp'"), "1");
  EXPECT_EQ(in_a("wa_templates", "name = 'own_template'"), "1");
  EXPECT_EQ(in_a("dnc", "phone = '+972509990004'"), "1");
  EXPECT_EQ(in_a("campaigns", "name = 'own campaign'"), "1");
  EXPECT_EQ(in_a("leads", "phone = '+972509990005'"), "1");
  EXPECT_EQ(crm.sql("SELECT string_agg(id::text, ',') FROM businesses"
                    " WHERE intake_key IS NOT NULL"),
            "1");
  EXPECT_EQ(crm.sql("SELECT greeting || '|' || (greeting_audio IS NULL)"
                    " FROM businesses WHERE id = 1"),
            "own greeting 2|true");
  EXPECT_EQ(crm.sql("SELECT greeting || '|' || (greeting_audio IS NULL)"
                    " FROM businesses WHERE id = "
                    + std::to_string(b)),
            "VICTIM-MARKER-greeting|false");
  EXPECT_EQ(crm.sql("SELECT count(*) FROM businesses"), "2");
  EXPECT_EQ(in_a("sign_in_codes", "true"), "1");
  EXPECT_EQ(crm.call("GET", "/api/crm/me", a_owner).status, 200)
    << "sign-out ended an API token";

  // The link A made signs in to A, whatever B the redeemer names.
  if (auto link = answers.find("POST /api/crm/sign-in-links");
      link != answers.end() && link->second.status == 201) {
    auto url = std::string{
      json::parse(link->second.body).as_object().at("url").as_string()};
    auto code = url.substr(url.find("#signin=") + 8);
    auto in = crm.call("POST", "/api/auth/sign-in", "",
                       with_business(js(json::object{{"code", code}}), b));
    ASSERT_EQ(in.status, 200) << in.body;
    EXPECT_EQ(in.int_at("business_id"), 1) << in.body;
    auto me = crm.call("GET", "/api/crm/me?business_id=" + std::to_string(b),
                       in.str_at("token"));
    EXPECT_EQ(me.int_at("business_id"), 1) << me.body;
    EXPECT_EQ(leak_in(crm
                        .call("GET",
                              "/api/crm/leads?business_id=" + std::to_string(b),
                              in.str_at("token"))
                        .body),
              "");
  }
}

} // namespace
} // namespace al::test
