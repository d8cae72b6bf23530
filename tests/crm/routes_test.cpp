// The route table as a whole: the role matrix (every role x every /api/
// route), cross-tenant attempts, token revocation, docs/api.md in sync
// with the router, and no method+path registered twice.
#include "tests/crm/crm_support.hpp"
#include "tests/support/audio_rows.hpp"

#include "transport/handlers/handlers.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace al::test {
namespace {

namespace fs = std::filesystem;

std::string route_key(http::verb m, const std::string& pattern) {
  return std::string{http::to_string(m)} + " " + pattern;
}

/// Per-role fixtures in business 1: what each row of the matrix acts on.
struct role_fixtures {
  std::map<std::string, std::string> ids; // {lead} {del} {appt} {task} {tok}
};

TEST(RoleMatrix, EveryRoleOnEveryApiRoute) {
  crm_app crm;
  const std::array<std::string, 4> roles{"admin", "owner", "agent",
                                         "read_only"};
  std::map<std::string, std::string> token{{"admin", admin_token}};
  for (auto& r : roles)
    if (r != "admin")
      token[r] = crm.new_token(1, r).token;

  crm.sql("INSERT INTO calls (business_id, call_sid, status)"
          " VALUES (1, 'CAM', 'completed')");
  crm.sql(
    audio_insert_sql(1, "CAM", "segment", 0, "audio/wav", "RIFFseg", 100));
  crm.sql(audio_insert_sql(1, "CAM", "recording", 0, "audio/wav", "RIFFrec"));
  crm.sql("INSERT INTO wa_conversations (business_id, peer, last_seq,"
          " last_inbound_at) VALUES (1, 'whatsapp:+972501110000', 0, now())");
  auto wamsg = crm.sql(
    "INSERT INTO messages (business_id, direction, provider, provider_sid,"
    " from_address, to_address, body, status) VALUES (1, 'in', 'twilio',"
    " 'SMMATRIX', 'whatsapp:+972501110000', 'whatsapp:+14155238886', '',"
    " 'received') RETURNING id");
  crm.sql("INSERT INTO message_media (business_id, message_id, idx, status,"
          " content_type, size_bytes, bytes) VALUES (1, "
          + wamsg + ", 0, 'stored', 'image/png', 3, '\\x89504e'::bytea)");
  auto payment = crm.sql("INSERT INTO payments (business_id, provider,"
                         " amount_minor, currency) VALUES (1, 'paypal', 100,"
                         " 'ILS') RETURNING id");

  struct row {
    http::verb method;
    std::string pattern; // as registered
    std::string path;    // with {lead} etc. filled per role
    std::string body;
    std::array<int, 4> expect; // admin, owner, agent, read_only
    bool stream = false;       // a streamed answer: only its head is read
    bool anyone = false;       // needs no token (no 401 without one)
  };
  using v = http::verb;
  const std::vector<row> table{
    {v::get, "/api/crm/leads", "/api/crm/leads", "", {200, 200, 200, 200}},
    {v::post,
     "/api/crm/leads",
     "/api/crm/leads",
     R"({"name":"m"})",
     {201, 201, 201, 403}},
    {v::get,
     "/api/crm/leads/{id}",
     "/api/crm/leads/{lead}",
     "",
     {200, 200, 200, 200}},
    {v::patch,
     "/api/crm/leads/{id}",
     "/api/crm/leads/{lead}",
     R"({"status":"contacted"})",
     {200, 200, 200, 403}},
    {v::delete_,
     "/api/crm/leads/{id}",
     "/api/crm/leads/{del}",
     "",
     {200, 200, 200, 403}},
    {v::get,
     "/api/crm/leads/{id}/notes",
     "/api/crm/leads/{lead}/notes",
     "",
     {200, 200, 200, 200}},
    {v::post,
     "/api/crm/leads/{id}/notes",
     "/api/crm/leads/{lead}/notes",
     R"({"body":"n"})",
     {201, 201, 201, 403}},
    {v::get,
     "/api/crm/leads/{id}/messages",
     "/api/crm/leads/{lead}/messages",
     "",
     {200, 200, 200, 200}},
    {v::get, "/api/crm/calls", "/api/crm/calls", "", {200, 200, 200, 200}},
    {v::get,
     "/api/crm/calls/{sid}",
     "/api/crm/calls/CAM",
     "",
     {200, 200, 200, 200}},
    {v::get,
     "/api/crm/calls/{sid}/segments/{seq}",
     "/api/crm/calls/CAM/segments/0",
     "",
     {200, 200, 200, 200}},
    {v::get,
     "/api/crm/calls/{sid}/recording",
     "/api/crm/calls/CAM/recording",
     "",
     {200, 200, 200, 200}},
    {v::get,
     "/api/crm/appointments",
     "/api/crm/appointments",
     "",
     {200, 200, 200, 200}},
    {v::post,
     "/api/crm/appointments",
     "/api/crm/appointments",
     R"({"starts_at":"2025-05-01T10:00:00+03:00"})",
     {201, 201, 201, 403}},
    {v::patch,
     "/api/crm/appointments/{id}",
     "/api/crm/appointments/{appt}",
     R"({"status":"done"})",
     {200, 200, 200, 403}},
    {v::get,
     "/api/crm/pipeline",
     "/api/crm/pipeline",
     "",
     {200, 200, 200, 200}},
    {v::put,
     "/api/crm/pipeline",
     "/api/crm/pipeline",
     R"({"statuses":[{"key":"new","label":"a"},{"key":"contacted","label":"b"},
        {"key":"won","label":"c"}]})",
     {200, 200, 403, 403}},
    {v::get, "/api/crm/tasks", "/api/crm/tasks", "", {200, 200, 200, 200}},
    {v::get, "/api/crm/stats", "/api/crm/stats", "", {200, 200, 200, 200}},
    {v::post,
     "/api/crm/tasks",
     "/api/crm/tasks",
     R"({"title":"t"})",
     {201, 201, 201, 403}},
    {v::patch,
     "/api/crm/tasks/{id}",
     "/api/crm/tasks/{task}",
     R"({"done":true})",
     {200, 200, 200, 403}},
    {v::get,
     "/api/crm/business",
     "/api/crm/business",
     "",
     {200, 200, 200, 200}},
    {v::patch,
     "/api/crm/business",
     "/api/crm/business",
     R"({"greeting":"g"})",
     {200, 200, 403, 403}},
    {v::get,
     "/api/crm/settings",
     "/api/crm/settings",
     "",
     {200, 200, 200, 200}},
    {v::patch,
     "/api/crm/settings",
     "/api/crm/settings",
     R"({"transfer":{"numbers":["+972501111111"]}})",
     {200, 200, 403, 403}},
    // The body is the recording: "" is no audio (400) once the role may.
    {v::put,
     "/api/crm/settings/greeting-audio",
     "/api/crm/settings/greeting-audio",
     "",
     {400, 400, 403, 403}},
    {v::delete_,
     "/api/crm/settings/greeting-audio",
     "/api/crm/settings/greeting-audio",
     "",
     {200, 200, 403, 403}},
    {v::get, "/api/crm/audit", "/api/crm/audit", "", {200, 200, 403, 403}},
    // Outgoing webhooks (transport/handlers/webhooks.cpp): owner or admin;
    // no webhook_url is set here (422), no such delivery (404).
    {v::get,
     "/api/crm/webhooks/deliveries",
     "/api/crm/webhooks/deliveries",
     "",
     {200, 200, 403, 403}},
    {v::post,
     "/api/crm/webhooks/test",
     "/api/crm/webhooks/test",
     "",
     {422, 422, 403, 403}},
    {v::post,
     "/api/crm/webhooks/deliveries/{id}/retry",
     "/api/crm/webhooks/deliveries/evt_000000000000000000000000/retry",
     "",
     {404, 404, 403, 403}},
    // Other groups under /api/ (payments, WhatsApp): the same role rules.
    // Payments are off in the test config (501 once the role may).
    {v::post,
     "/api/crm/payments/create",
     "/api/crm/payments/create",
     R"({"amount":"10"})",
     {501, 501, 501, 403}},
    {v::get,
     "/api/crm/payments",
     "/api/crm/payments",
     "",
     {200, 200, 200, 200}},
    {v::get,
     "/api/crm/payments/{id}",
     "/api/crm/payments/{pay}",
     "",
     {200, 200, 200, 200}},
    // Sign-in links and sessions (transport/handlers/sign_in.cpp). The
    // exchange takes no bearer: an unknown code is 401 whoever asks.
    {v::post,
     "/api/crm/sign-in-links",
     "/api/crm/sign-in-links",
     R"({"role":"agent"})",
     {201, 201, 403, 403}},
    {v::post,
     "/api/auth/sign-in",
     "/api/auth/sign-in",
     R"({"code":"not-a-code-of-any-link-0000"})",
     {401, 401, 401, 401}},
    {v::post,
     "/api/auth/sign-out",
     "/api/auth/sign-out",
     "",
     {200, 200, 200, 200}},
    // The dashboard's extras (transport/handlers/events.cpp).
    {v::get, "/api/crm/me", "/api/crm/me", "", {200, 200, 200, 200}},
    {v::get,
     "/api/crm/events",
     "/api/crm/events",
     "",
     {200, 200, 200, 200},
     true},
    {v::post,
     "/api/crm/events/ticket",
     "/api/crm/events/ticket",
     "{}",
     {200, 200, 200, 200}},
    {v::get,
     "/api/crm/voice/preview",
     "/api/crm/voice/preview?text=x",
     "",
     {200, 200, 200, 200}},
    {v::post,
     "/api/whatsapp/send",
     "/api/whatsapp/send",
     "{}",
     {400, 400, 400, 403}},
    // WhatsApp templates: any role reads, owners and the admin write
    // ({} has no name: 400; no such template: 404).
    {v::get,
     "/api/crm/whatsapp/templates",
     "/api/crm/whatsapp/templates",
     "",
     {200, 200, 200, 200}},
    {v::post,
     "/api/crm/whatsapp/templates",
     "/api/crm/whatsapp/templates",
     "{}",
     {400, 400, 403, 403}},
    {v::delete_,
     "/api/crm/whatsapp/templates/{id}",
     "/api/crm/whatsapp/templates/999999999",
     "",
     {404, 404, 403, 403}},
    {v::post,
     "/api/admin/businesses",
     "/api/admin/businesses",
     R"({"name":"x"})",
     {201, 403, 403, 403}},
    {v::get,
     "/api/admin/businesses",
     "/api/admin/businesses",
     "",
     {200, 403, 403, 403}},
    {v::get,
     "/api/admin/businesses/{id}",
     "/api/admin/businesses/1",
     "",
     {200, 403, 403, 403}},
    {v::patch,
     "/api/admin/businesses/{id}",
     "/api/admin/businesses/1",
     R"({"greeting":"x"})",
     {200, 403, 403, 403}},
    {v::post,
     "/api/admin/tokens",
     "/api/admin/tokens",
     R"({"business_id":1,"role":"agent"})",
     {201, 403, 403, 403}},
    {v::delete_,
     "/api/admin/tokens/{id}",
     "/api/admin/tokens/{tok}",
     "",
     {200, 403, 403, 403}},
    {v::get,
     "/api/admin/supervisors",
     "/api/admin/supervisors",
     "",
     {200, 403, 403, 403}},
    // Listings: reads for every role, writes for owner and agent. An
    // import takes the CSV file itself: a JSON body is a 400 once the role
    // may import.
    {v::get,
     "/api/crm/listings",
     "/api/crm/listings",
     "",
     {200, 200, 200, 200}},
    {v::post,
     "/api/crm/listings",
     "/api/crm/listings",
     R"({"business_id":1,"title":"t","deal":"buy"})",
     {201, 201, 201, 403}},
    {v::get,
     "/api/crm/listings.csv",
     "/api/crm/listings.csv",
     "",
     {200, 200, 200, 200}},
    {v::post,
     "/api/crm/listings/import",
     "/api/crm/listings/import",
     "{}",
     {400, 400, 400, 403}},
    {v::get,
     "/api/crm/listings/{id}",
     "/api/crm/listings/{listing}",
     "",
     {200, 200, 200, 200}},
    {v::patch,
     "/api/crm/listings/{id}",
     "/api/crm/listings/{listing}",
     R"({"price":5})",
     {200, 200, 200, 403}},
    {v::delete_,
     "/api/crm/listings/{id}",
     "/api/crm/listings/{dlisting}",
     "",
     {200, 200, 200, 403}},
    {v::get,
     "/api/crm/leads.csv",
     "/api/crm/leads.csv",
     "",
     {200, 200, 200, 200}},
    {v::post,
     "/api/crm/leads/import",
     "/api/crm/leads/import",
     "{}",
     {400, 400, 400, 403}},
    {v::get,
     "/api/crm/leads/{id}/matches",
     "/api/crm/leads/{lead}/matches",
     "",
     {200, 200, 200, 200}},
    // The do-not-contact list: agents add, only owners take a number off.
    // Each role adds the number (the owner's delete removed it again).
    {v::get, "/api/crm/dnc", "/api/crm/dnc", "", {200, 200, 200, 200}},
    {v::post,
     "/api/crm/dnc",
     "/api/crm/dnc",
     R"({"phone":"050-765-4321"})",
     {201, 201, 201, 403}},
    {v::delete_,
     "/api/crm/dnc/{phone}",
     "/api/crm/dnc/+972507654321",
     "",
     {200, 200, 403, 403}},
    // Taking a lead's WhatsApp conversation over from the AI, and back.
    {v::post,
     "/api/crm/leads/{id}/takeover",
     "/api/crm/leads/{plead}/takeover",
     "",
     {200, 200, 200, 403}},
    {v::post,
     "/api/crm/leads/{id}/release",
     "/api/crm/leads/{plead}/release",
     "",
     {200, 200, 200, 403}},
    // Follow-up call campaigns: any role reads, owners run them. Each
    // role's create makes a fresh draft; start/pause act on {camp}.
    {v::get,
     "/api/crm/campaigns",
     "/api/crm/campaigns",
     "",
     {200, 200, 200, 200}},
    {v::post,
     "/api/crm/campaigns",
     "/api/crm/campaigns",
     R"({"name":"matrix","lead_filter":{"ids":[999999999]}})",
     {201, 201, 403, 403}},
    {v::get,
     "/api/crm/campaigns/{id}",
     "/api/crm/campaigns/{camp}",
     "",
     {200, 200, 200, 200}},
    {v::post,
     "/api/crm/campaigns/{id}/pause",
     "/api/crm/campaigns/{camp}/pause",
     "",
     {200, 200, 403, 403}},
    {v::post,
     "/api/crm/campaigns/{id}/start",
     "/api/crm/campaigns/{camp}/start",
     "",
     {200, 200, 403, 403}},
    // Lead intake: writers with a token (the first makes the lead, then
    // it is a duplicate), anyone for the web form's CORS preflight; the
    // intake key is the owner's.
    {v::post,
     "/api/leads/intake",
     "/api/leads/intake",
     R"({"phone":"050-111-2233","name":"matrix"})",
     {201, 200, 200, 403}},
    {v::options,
     "/api/leads/intake",
     "/api/leads/intake",
     "",
     {204, 204, 204, 204},
     false,
     true},
    {v::get,
     "/api/crm/settings/intake-key",
     "/api/crm/settings/intake-key",
     "",
     {200, 200, 403, 403}},
    {v::post,
     "/api/crm/settings/intake-key",
     "/api/crm/settings/intake-key",
     "",
     {201, 201, 403, 403}},
    // A stored WhatsApp picture (seeded above).
    {v::get,
     "/api/crm/messages/{id}/media/{idx}",
     "/api/crm/messages/{wamsg}/media/0",
     "",
     {200, 200, 200, 200}},
    // The WhatsApp inbox (a conversation of business 1 is seeded above).
    {v::get,
     "/api/crm/whatsapp/conversations",
     "/api/crm/whatsapp/conversations",
     "",
     {200, 200, 200, 200}},
    {v::get,
     "/api/crm/whatsapp/conversations/{phone}/messages",
     "/api/crm/whatsapp/conversations/+972501110000/messages",
     "",
     {200, 200, 200, 200}},
    {v::post,
     "/api/crm/whatsapp/conversations/{phone}/read",
     "/api/crm/whatsapp/conversations/+972501110000/read",
     "",
     {200, 200, 200, 403}},
    // Public: the OpenAPI document needs no token at all.
    {v::get,
     "/api/openapi.json",
     "/api/openapi.json",
     "",
     {200, 200, 200, 200},
     false,
     true},
  };

  // Every /api/ route the application registers is in the table.
  {
    router r;
    add_all_routes(r, crm.app().svc());
    std::set<std::string> in_table, api;
    for (auto& t : table)
      in_table.insert(route_key(t.method, t.pattern));
    for (auto& rt : r.routes())
      if (rt.pattern.rfind("/api/", 0) == 0)
        api.insert(route_key(rt.method, rt.pattern));
    for (auto& k : api)
      EXPECT_TRUE(in_table.count(k)) << k << " is missing from the matrix";
    EXPECT_EQ(in_table, api);
  }

  std::ostringstream got_table, want_table;
  bool same = true;
  for (std::size_t ri = 0; ri < roles.size(); ++ri) {
    auto& role = roles[ri];
    // Fresh things to act on, made by the administrator.
    std::map<std::string, std::string> ids;
    ids["{lead}"]
      = std::to_string(crm.new_lead(admin_token, R"({"name":"matrix"})"));
    ids["{del}"]
      = std::to_string(crm.new_lead(admin_token, R"({"name":"to delete"})"));
    ids["{appt}"]
      = std::to_string(crm
                         .call("POST", "/api/crm/appointments", admin_token,
                               R"({"starts_at":"2025-05-01T10:00:00Z"})")
                         .int_at("id"));
    ids["{task}"] = std::to_string(
      crm.call("POST", "/api/crm/tasks", admin_token, R"({"title":"t"})")
        .int_at("id"));
    ids["{tok}"] = std::to_string(crm.new_token(1, "agent").id);
    for (auto key : {"{listing}", "{dlisting}"})
      ids[key] = std::to_string(
        crm
          .call("POST", "/api/crm/listings", admin_token,
                R"({"business_id":1,"title":"matrix","deal":"rent"})")
          .int_at("id"));
    ids["{pay}"] = payment;
    ids["{wamsg}"] = wamsg;
    ids["{camp}"] = std::to_string(
      crm
        .call("POST", "/api/crm/campaigns", admin_token,
              R"({"name":"matrix camp","lead_filter":{"ids":[999999999]}})")
        .int_at("id"));
    // A lead with a phone (takeover needs its WhatsApp number).
    ids["{plead}"] = std::to_string(
      crm.new_lead(admin_token, R"({"name":"matrix","phone":"+9725011100)"
                                  + std::to_string(10 + ri) + "\"}"));
    for (auto& t : table) {
      auto path = t.path;
      for (auto& [k, id] : ids)
        path = replace_all(path, k, id);
      auto method = std::string{http::to_string(t.method)};
      api_result got;
      if (t.stream)
        got.status = stream_start(crm.app().port(), path,
                                  {{"Authorization", "Bearer " + token[role]}})
                       .status;
      else
        got = crm.call(method, path, token[role], t.body);
      auto key = method + " " + t.pattern + " as " + role;
      got_table << key << " -> " << got.status << "\n";
      want_table << key << " -> " << t.expect[ri] << "\n";
      if (got.status != t.expect[ri]) {
        same = false;
        ADD_FAILURE() << key << ": " << got.status << " " << got.body;
      }
      // Without a token, or with an unknown one: 401 everywhere.
      if (ri == 0 && !t.anyone) {
        EXPECT_EQ(crm.call(method, path, "", t.body).status, 401) << path;
        EXPECT_EQ(crm.call(method, path, "al_unknown", t.body).status, 401)
          << path;
      }
    }
  }
  EXPECT_TRUE(same) << "status table:\n" << got_table.str();
}

TEST(CrossTenant, AnotherBusinessesRowsAreNotFound) {
  crm_app crm;
  auto b = crm.new_business("Victim");
  auto a_owner = crm.new_token(1, "owner").token;
  auto b_owner = crm.new_token(b, "owner").token;
  auto lead = crm.new_lead(b_owner,
                           R"({"name":"victim","phone":"0501234567"})");
  auto ls = std::to_string(lead);
  auto appt = crm
                .call("POST", "/api/crm/appointments", b_owner,
                      R"({"starts_at":"2025-05-01T10:00:00Z"})")
                .int_at("id");
  auto task = crm.call("POST", "/api/crm/tasks", b_owner, R"({"title":"t"})")
                .int_at("id");
  crm.call("POST", "/api/crm/leads/" + ls + "/notes", b_owner,
           R"({"body":"private"})");
  crm.sql("INSERT INTO calls (business_id, call_sid) VALUES ("
          + std::to_string(b) + ", 'CAV')");
  crm.sql(audio_insert_sql(b, "CAV", "segment", 0, "audio/wav", "RIFF", 1));
  crm.sql(audio_insert_sql(b, "CAV", "recording", 0, "audio/wav", "RIFF"));
  auto own_appt = crm
                    .call("POST", "/api/crm/appointments", a_owner,
                          R"({"starts_at":"2025-05-01T10:00:00Z"})")
                    .int_at("id");
  auto own_task
    = crm.call("POST", "/api/crm/tasks", a_owner, R"({"title":"mine"})")
        .int_at("id");

  struct attempt {
    std::string method, path, body;
  };
  const std::vector<attempt> attempts{
    {"GET", "/api/crm/leads/" + ls, ""},
    {"PATCH", "/api/crm/leads/" + ls, R"({"name":"pwned"})"},
    {"DELETE", "/api/crm/leads/" + ls, ""},
    {"GET", "/api/crm/leads/" + ls + "/notes", ""},
    {"POST", "/api/crm/leads/" + ls + "/notes", R"({"body":"x"})"},
    {"GET", "/api/crm/leads/" + ls + "/messages", ""},
    {"PATCH", "/api/crm/appointments/" + std::to_string(appt),
     R"({"status":"cancelled"})"},
    {"PATCH", "/api/crm/tasks/" + std::to_string(task), R"({"done":true})"},
    {"GET", "/api/crm/calls/CAV", ""},
    {"GET", "/api/crm/calls/CAV/segments/0", ""},
    {"GET", "/api/crm/calls/CAV/recording", ""},
    {"POST", "/api/crm/appointments",
     R"({"starts_at":"2025-05-01T10:00:00Z","lead_id":)" + ls + "}"},
    {"POST", "/api/crm/tasks", R"({"title":"x","lead_id":)" + ls + "}"},
    {"PATCH", "/api/crm/appointments/" + std::to_string(own_appt),
     R"({"lead_id":)" + ls + "}"},
    {"PATCH", "/api/crm/tasks/" + std::to_string(own_task),
     R"({"lead_id":)" + ls + "}"},
  };
  for (auto& at : attempts) {
    auto r = crm.call(at.method, at.path, a_owner, at.body);
    EXPECT_EQ(r.status, 404) << at.method << " " << at.path << ": " << r.body;
    // ?business_id= and a body business_id do not switch a token's business.
    auto sep = at.path.find('?') == std::string::npos ? "?" : "&";
    auto q = crm.call(at.method,
                      at.path + sep + "business_id=" + std::to_string(b),
                      a_owner, at.body);
    EXPECT_EQ(q.status, 404) << at.method << " " << at.path << "?business_id";
  }
  auto c = crm.call("POST", "/api/crm/leads", a_owner,
                    js(json::object{{"name", "mine"}, {"business_id", b}}));
  ASSERT_EQ(c.status, 201);
  EXPECT_EQ(crm.sql("SELECT business_id FROM leads WHERE id = "
                    + std::to_string(c.int_at("id"))),
            "1");
  // Lists never include the other business's rows.
  auto l = crm.call("GET", "/api/crm/leads?q=victim", a_owner);
  EXPECT_EQ(l.int_at("total"), 0);
  EXPECT_EQ(crm.call("GET", "/api/crm/calls", a_owner).int_at("total"), 0);
  EXPECT_EQ(crm.call("GET", "/api/crm/appointments", a_owner).int_at("total"),
            1);
  EXPECT_EQ(crm.call("GET", "/api/crm/tasks", a_owner).int_at("total"), 1);
  // Nothing of B changed.
  EXPECT_EQ(crm.sql("SELECT name FROM leads WHERE id = " + ls), "victim");
  EXPECT_EQ(crm.sql("SELECT count(*) FROM lead_notes WHERE lead_id = " + ls),
            "1");
  EXPECT_EQ(crm.sql("SELECT status FROM appointments WHERE id = "
                    + std::to_string(appt)),
            "scheduled");
  EXPECT_EQ(
    crm.sql("SELECT done FROM tasks WHERE id = " + std::to_string(task)), "f");
  EXPECT_EQ(crm.sql("SELECT lead_id FROM appointments WHERE id = "
                    + std::to_string(own_appt)),
            "");
  // The administrator reaches B by naming it.
  EXPECT_EQ(
    crm
      .call("GET", "/api/crm/leads/" + ls + "?business_id=" + std::to_string(b),
            admin_token)
      .status,
    200);
  EXPECT_EQ(crm.call("GET", "/api/crm/leads/" + ls, admin_token).status, 404);
}

TEST(Tokens, RevocationTakesEffectAtOnce) {
  crm_app crm;
  auto agent = crm.new_token(1, "agent");
  auto other = crm.new_token(1, "agent");
  EXPECT_EQ(crm.call("GET", "/api/crm/leads", agent.token).status, 200);
  // A CRM token cannot revoke tokens.
  EXPECT_EQ(crm
              .call("DELETE", "/api/admin/tokens/" + std::to_string(other.id),
                    agent.token)
              .status,
            403);
  auto d = crm.call("DELETE", "/api/admin/tokens/" + std::to_string(agent.id),
                    admin_token);
  ASSERT_EQ(d.status, 200) << d.body;
  auto r = crm.call("GET", "/api/crm/leads", agent.token);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.obj().at("success"), false);
  EXPECT_EQ(
    crm.call("POST", "/api/crm/leads", agent.token, R"({"name":"x"})").status,
    401);
  EXPECT_EQ(crm
              .call("DELETE", "/api/admin/tokens/" + std::to_string(agent.id),
                    admin_token)
              .status,
            404);
  EXPECT_EQ(crm.call("GET", "/api/crm/leads", other.token).status, 200);
  // Tokens are stored hashed, never in clear.
  EXPECT_EQ(crm.sql("SELECT count(*) FROM api_tokens WHERE token_hash = '"
                    + other.token + "'"),
            "0");
  for (auto h : {"Basic dGVzdDp0ZXN0", "Bearer", "Bearer ", "bearer  \t"}) {
    auto res = http_call(crm.app().port(), "GET", "/api/crm/leads", {},
                         {{"Authorization", h}});
    EXPECT_EQ(res.status, 401) << h;
  }
}

TEST(RouteTable, EveryRouteIsDocumentedInApiMd) {
  crm_app crm;
  std::ifstream in{std::string{AL_SOURCE_DIR} + "/docs/api.md"};
  ASSERT_TRUE(in) << "docs/api.md is missing";
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = ss.str();
  auto& routes = crm.app().app().routes();
  ASSERT_GT(routes.size(), 30u);
  for (auto& r : routes)
    EXPECT_NE(doc.find("`" + r + "`"), std::string::npos)
      << "docs/api.md does not describe `" << r << "`";
}

TEST(RouteTable, NoMethodAndPathIsRegisteredTwice) {
  crm_app crm;
  auto& svc = crm.app().svc();
  router r;
  add_all_routes(r, svc);
  EXPECT_TRUE(r.rejected().empty())
    << "registered twice: " << (r.rejected().empty() ? "" : r.rejected()[0]);
  std::set<std::string> unique;
  for (auto& rt : r.routes())
    unique.insert(route_key(rt.method, rt.pattern));
  EXPECT_EQ(unique.size(), r.routes().size());
  // The application registers exactly this table.
  EXPECT_EQ(crm.app().app().routes().size(), r.routes().size());
  // And the check works: registering everything again is all duplicates.
  auto before = r.routes().size();
  add_all_routes(r, svc);
  EXPECT_EQ(r.routes().size(), before);
  EXPECT_EQ(r.rejected().size(), before);
  router small;
  EXPECT_TRUE(small.add(http::verb::get, "/x", {}));
  EXPECT_TRUE(small.add(http::verb::post, "/x", {}));
  EXPECT_FALSE(small.add(http::verb::get, "/x", {}));
  ASSERT_EQ(small.rejected().size(), 1u);
  EXPECT_EQ(small.rejected()[0], "GET /x");
}

TEST(RouteTable, WrongMethodIs405WithAllow) {
  crm_app crm;
  auto r = crm.call("PUT", "/api/crm/leads", admin_token, "{}");
  EXPECT_EQ(r.status, 405);
  auto raw = http_call(crm.app().port(), "DELETE", "/api/crm/pipeline");
  EXPECT_EQ(raw.status, 405);
  EXPECT_NE(raw.header("allow").find("PUT"), std::string::npos);
  EXPECT_EQ(crm.call("GET", "/api/crm/nothing", admin_token).status, 404);
}

} // namespace
} // namespace al::test
