// Outgoing webhooks (SPEC §7 "After every call"): the business's
// webhook_url/webhook_secret settings, the durable outbox, signed delivery
// with retries and give-up, several instances on one database, the
// lead.created / message.received / payment.paid hooks, and the
// /api/crm/webhooks/* routes.
#include "tests/crm/crm_support.hpp"

#include "actors/leads.hpp"
#include "actors/payment_rows.hpp"
#include "actors/secret_columns.hpp"
#include "actors/webhook_delivery.hpp"
#include "actors/webhook_outbox.hpp"
#include "actors/whatsapp_store.hpp"
#include "core/business_input.hpp"
#include "core/crypto.hpp"
#include "tests/support/closed_port.hpp"
#include "tests/support/fake_http_server.hpp"
#include "transport/services.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <sstream>

namespace al::test {
namespace {

constexpr const char* secret = "whsec-Zq8vN3xK1pT7rW2m";

/// The receiving end: answers with `status` (changeable), records all.
class receiver {
public:
  receiver()
    : srv_([this](const fake_http_server::request&) {
      if (failures_left.fetch_sub(1) > 0)
        return fake_http_server::reply(http::status::internal_server_error,
                                       "{}");
      return fake_http_server::reply(static_cast<http::status>(status.load()),
                                     "{}");
    }) {}

  std::atomic<int> status{200};
  std::atomic<int> failures_left{0}; // answer 500 to this many first

  std::string url() const {
    return srv_.base_url() + "/hooks/agentlocator";
  }
  std::vector<fake_http_server::request> requests() const {
    return srv_.requests();
  }
  std::size_t count() const {
    return srv_.request_count();
  }

private:
  fake_http_server srv_;
};

std::string header(const fake_http_server::request& r, const char* name) {
  auto i = r.find(name);
  return i == r.end() ? std::string{} : std::string{i->value()};
}

json::object body_of(const fake_http_server::request& r) {
  return json::parse(r.body()).as_object();
}

/// Runs `job` in a store transaction of `app` and waits for it.
void in_tx(running_app& app, std::function<void(db_tx&)> job) {
  std::promise<void> p;
  app.svc().db.run(std::move(job), [&p](const db_error& err) {
    if (!err.empty())
      p.set_exception(std::make_exception_ptr(std::runtime_error(err)));
    else
      p.set_value();
  });
  p.get_future().get();
}

double deliveries_metric(running_app& app, const char* result) {
  return app.svc().m.webhook_deliveries.Add({{"result", result}}).Value();
}

class Webhooks : public ::testing::Test {
protected:
  explicit Webhooks(config cfg = test_config())
    : crm(std::move(cfg)) {
    owner = crm.new_token(1, "owner").token;
    agent = crm.new_token(1, "agent").token;
  }

  /// The owner sets the business's webhook.
  void set_webhook(const std::string& url, const std::string& sec = secret) {
    json::object o{{"webhook_url", url}};
    if (!sec.empty())
      o["webhook_secret"] = sec;
    auto r = crm.call("PATCH", "/api/crm/settings", owner, json::serialize(o));
    ASSERT_EQ(r.status, 200) << r.body;
  }

  std::string sql(const std::string& q) {
    return crm.sql(q);
  }

  std::int64_t outbox_count(const std::string& where) {
    return std::stoll(
      sql("SELECT count(*) FROM webhook_outbox WHERE " + where));
  }

  crm_app crm;
  std::string owner;
  std::string agent;
};

// -- settings -----------------------------------------------------------------

TEST_F(Webhooks, SettingsAreValidatedAndTheSecretIsWriteOnly) {
  struct bad_case {
    const char* body;
    const char* error_part;
  };
  for (auto c : std::initializer_list<bad_case>{
         {R"({"webhook_url":"http://hooks.example.com/x"})", "https"},
         {R"({"webhook_url":"ftp://hooks.example.com/x"})", "http(s)"},
         {R"({"webhook_url":"/relative"})", "http(s)"},
         {R"({"webhook_url":"https://"})", "http(s)"},
         {R"({"webhook_url":"https://u:p@hooks.example.com/"})", "password"},
         {R"({"webhook_url":42})", "webhook_url"},
         {R"({"webhook_secret":["x"]})", "webhook_secret"}}) {
    auto r = crm.call("PATCH", "/api/crm/settings", owner, c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_NE(r.body.find(c.error_part), std::string::npos) << r.body;
  }
  auto long_url = "https://hooks.example.com/" + std::string(2100, 'a');
  EXPECT_EQ(crm
              .call("PATCH", "/api/crm/settings", owner,
                    json::serialize(json::object{{"webhook_url", long_url}}))
              .status,
            400);

  // Agents may not set it; owners may, and loopback may be plain http.
  EXPECT_EQ(crm
              .call("PATCH", "/api/crm/settings", agent,
                    R"({"webhook_url":"https://hooks.example.com/x"})")
              .status,
            403);
  auto r = crm.call(
    "PATCH", "/api/crm/settings", owner,
    std::string{
      R"({"webhook_url":"https://hooks.example.com/x","webhook_secret":")"}
      + secret + "\"}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str_at("webhook_url"), "https://hooks.example.com/x");
  EXPECT_TRUE(r.obj().at("webhook_secret_set").as_bool());
  EXPECT_EQ(r.body.find(secret), std::string::npos);
  EXPECT_EQ(crm
              .call("PATCH", "/api/crm/settings", owner,
                    R"({"webhook_url":"http://127.0.0.1:9/x"})")
              .status,
            200);

  // Never returned, never in the audit trail, sealed at rest.
  for (auto* target :
       {"/api/crm/settings", "/api/crm/business", "/api/crm/audit"}) {
    auto g = crm.call("GET", target, owner);
    ASSERT_EQ(g.status, 200) << target << g.body;
    EXPECT_EQ(g.body.find(secret), std::string::npos) << target;
  }
  auto admin_view = crm.call("GET", "/api/admin/businesses/1", admin_token);
  EXPECT_EQ(admin_view.body.find(secret), std::string::npos);
  EXPECT_TRUE(admin_view.obj().at("webhook_secret_set").as_bool());
  EXPECT_EQ(sql("SELECT webhook_secret LIKE 'enc:v1:%' FROM businesses"
                " WHERE id = 1"),
            "t");
  auto audit = crm.call("GET", "/api/crm/audit?action=settings.", owner);
  EXPECT_NE(audit.body.find(R"("webhook_secret":{"changed":true})"),
            std::string::npos)
    << audit.body;

  // "" and null clear.
  r = crm.call("PATCH", "/api/crm/settings", owner,
               R"({"webhook_url":"","webhook_secret":null})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.obj().at("webhook_url").is_null());
  EXPECT_FALSE(r.obj().at("webhook_secret_set").as_bool());

  // The administrator sets them on create, too.
  auto created = crm.call(
    "POST", "/api/admin/businesses", admin_token,
    R"({"name":"Hooked","webhook_url":"https://h.example.com/a","webhook_secret":"abc"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.str_at("webhook_url"), "https://h.example.com/a");
  EXPECT_TRUE(created.obj().at("webhook_secret_set").as_bool());
}

TEST_F(Webhooks, AClearSecretIsSealedAtStartUp) {
  sql("UPDATE businesses SET webhook_secret = 'clear-value' WHERE id = 1");
  std::string report;
  ASSERT_EQ(prepare_secrets(crm.cfg().database_url, false, report), "");
  EXPECT_NE(report.find("sealed 1"), std::string::npos) << report;
  EXPECT_EQ(sql("SELECT webhook_secret LIKE 'enc:v1:%' FROM businesses"
                " WHERE id = 1"),
            "t");
}

// -- delivery
// ---------------------------------------------------------------------

TEST_F(Webhooks, LeadCreatedIsSignedAndDeliveredOnce) {
  receiver hook;
  set_webhook(hook.url());
  auto lead = crm.new_lead(owner, R"({"name":"דנה","phone":"0501234567"})");
  ASSERT_TRUE(eventually([&] { return hook.count() >= 1; }));
  ASSERT_TRUE(
    eventually([&] { return outbox_count("status = 'delivered'") == 1; }));
  ASSERT_EQ(hook.count(), 1u);
  auto req = hook.requests()[0];
  EXPECT_EQ(req.method(), http::verb::post);
  EXPECT_EQ(std::string{req.target()}, "/hooks/agentlocator");
  EXPECT_EQ(header(req, "Content-Type"), "application/json");
  EXPECT_EQ(header(req, "User-Agent"), "AgentLocator-Webhooks/1");
  EXPECT_EQ(header(req, "X-AgentLocator-Event"), "lead.created");
  // The receiver's check: HMAC-SHA256 of the exact body with the secret.
  EXPECT_EQ(header(req, "X-AgentLocator-Signature"),
            "sha256="
              + crypto::to_hex(crypto::hmac_sha256(secret, req.body())));
  auto b = body_of(req);
  auto id = std::string{b.at("id").as_string()};
  EXPECT_EQ(id.substr(0, 4), "evt_");
  EXPECT_EQ(id.size(), 28u);
  EXPECT_EQ(header(req, "X-AgentLocator-Delivery"), id);
  EXPECT_EQ(b.at("event").as_string(), "lead.created");
  EXPECT_EQ(b.at("business_id").as_int64(), 1);
  EXPECT_EQ(b.at("created_at").as_string().back(), 'Z');
  auto& d = b.at("data").as_object();
  EXPECT_EQ(d.at("id").as_int64(), lead);
  EXPECT_EQ(d.at("name").as_string(), "דנה");
  EXPECT_EQ(d.at("phone").as_string(), "+972501234567");
  EXPECT_EQ(d.at("source").as_string(), "manual");
  EXPECT_EQ(d.at("status").as_string(), "new");
  EXPECT_TRUE(d.contains("created_at"));
  // The stored body is byte for byte what was sent.
  EXPECT_EQ(sql("SELECT body FROM webhook_outbox WHERE id = '" + id + "'"),
            req.body());

  auto list = crm.call("GET", "/api/crm/webhooks/deliveries", owner);
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.items().size(), 1u);
  auto& item = list.items()[0].as_object();
  EXPECT_EQ(item.at("id").as_string(), id);
  EXPECT_EQ(item.at("event").as_string(), "lead.created");
  EXPECT_EQ(item.at("status").as_string(), "delivered");
  EXPECT_EQ(item.at("attempts").as_int64(), 1);
  EXPECT_EQ(item.at("last_status").as_int64(), 200);
  EXPECT_TRUE(item.at("last_error").is_null());
  EXPECT_FALSE(item.at("delivered_at").is_null());
  EXPECT_EQ(list.int_at("total"), 1);
  EXPECT_TRUE(eventually(
    [&] { return deliveries_metric(crm.app(), "delivered") == 1.0; }));
}

TEST_F(Webhooks, NoSignatureWithoutASecretAndNothingWithoutAUrl) {
  crm.new_lead(owner, R"({"name":"before","phone":"0501111111"})");
  EXPECT_EQ(outbox_count("true"), 0);
  receiver hook;
  set_webhook(hook.url(), "");
  crm.new_lead(owner, R"({"name":"after","phone":"0502222222"})");
  ASSERT_TRUE(
    eventually([&] { return outbox_count("status = 'delivered'") == 1; }));
  ASSERT_EQ(hook.count(), 1u);
  EXPECT_EQ(header(hook.requests()[0], "X-AgentLocator-Signature"), "");
  EXPECT_EQ(
    body_of(hook.requests()[0]).at("data").as_object().at("name").as_string(),
    "after");
}

TEST_F(Webhooks, AFailureIsRetriedWithTheSameIdAndBody) {
  // Log lines of the failed attempt, to check the secret is not in them.
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto logger = std::make_shared<spdlog::logger>("capture", sink);
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);

  receiver hook;
  hook.failures_left = 1;
  set_webhook(hook.url());
  crm.new_lead(owner, R"({"name":"retry me","phone":"0503333333"})");
  ASSERT_TRUE(
    eventually([&] { return outbox_count("status = 'delivered'") == 1; }));
  spdlog::set_default_logger(previous);

  auto reqs = hook.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].body(), reqs[1].body());
  EXPECT_EQ(header(reqs[0], "X-AgentLocator-Delivery"),
            header(reqs[1], "X-AgentLocator-Delivery"));
  EXPECT_EQ(header(reqs[0], "X-AgentLocator-Signature"),
            header(reqs[1], "X-AgentLocator-Signature"));
  EXPECT_EQ(sql("SELECT attempts || ' ' || last_status FROM webhook_outbox"),
            "2 200");
  EXPECT_EQ(deliveries_metric(crm.app(), "retried"), 1.0);
  EXPECT_TRUE(eventually(
    [&] { return deliveries_metric(crm.app(), "delivered") == 1.0; }));
  EXPECT_NE(captured.str().find("attempt 1 failed: HTTP 500"),
            std::string::npos)
    << captured.str();
  EXPECT_EQ(captured.str().find(secret), std::string::npos);
}

TEST_F(Webhooks, EventsQueuedWhileTheReceiverIsDownArriveOnceItIsUp) {
  closed_port down;
  set_webhook("http://" + down.host_port() + "/hook");
  std::set<std::int64_t> leads;
  for (int i = 0; i < 3; ++i)
    leads.insert(crm.new_lead(owner, R"({"phone":"050444444)"
                                       + std::to_string(i) + "\"}"));
  // Each has failed at least twice (connection refused) and is still queued.
  ASSERT_TRUE(eventually(
    [&] { return outbox_count("status = 'pending' AND attempts >= 2") == 3; }));
  EXPECT_NE(sql("SELECT last_error FROM webhook_outbox LIMIT 1"), "");
  EXPECT_EQ(sql("SELECT last_status FROM webhook_outbox LIMIT 1"), "");

  receiver hook;
  set_webhook(hook.url());
  ASSERT_TRUE(
    eventually([&] { return outbox_count("status = 'delivered'") == 3; }));
  std::set<std::int64_t> delivered;
  std::set<std::string> ids;
  for (auto& r : hook.requests()) {
    auto b = body_of(r);
    ids.insert(std::string{b.at("id").as_string()});
    delivered.insert(b.at("data").as_object().at("id").as_int64());
  }
  EXPECT_EQ(delivered, leads);
  EXPECT_EQ(ids.size(), 3u);
}

TEST_F(Webhooks, ARemovedUrlFailsTheQueuedEvents) {
  closed_port down;
  set_webhook("http://" + down.host_port() + "/hook");
  crm.new_lead(owner, R"({"phone":"0505555555"})");
  ASSERT_TRUE(eventually([&] { return outbox_count("attempts >= 1") == 1; }));
  auto r = crm.call("PATCH", "/api/crm/settings", owner,
                    R"({"webhook_url":null})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(
    eventually([&] { return outbox_count("status = 'failed'") == 1; }));
  EXPECT_EQ(sql("SELECT last_error FROM webhook_outbox"),
            "webhook_url removed");
  // And no new events without a URL.
  crm.new_lead(owner, R"({"phone":"0505555556"})");
  EXPECT_EQ(outbox_count("true"), 1);
}

class WebhooksGiveUp : public Webhooks {
protected:
  static config cfg() {
    auto c = test_config();
    c.webhook_give_up = std::chrono::milliseconds(400);
    return c;
  }
  WebhooksGiveUp()
    : Webhooks(cfg()) {}
};

TEST_F(WebhooksGiveUp, GivesUpShowsFailedAndARetryRequeues) {
  receiver hook;
  hook.status = 503;
  set_webhook(hook.url());
  auto t = crm.call("POST", "/api/crm/webhooks/test", owner);
  ASSERT_EQ(t.status, 202) << t.body;
  auto id = t.str_at("id");
  ASSERT_TRUE(eventually([&] {
    return outbox_count("status = 'failed' AND id = '" + id + "'") == 1;
  }));
  auto failed = crm.call("GET", "/api/crm/webhooks/deliveries?status=failed",
                         owner);
  ASSERT_EQ(failed.status, 200) << failed.body;
  ASSERT_EQ(failed.items().size(), 1u);
  auto& item = failed.items()[0].as_object();
  EXPECT_EQ(item.at("id").as_string(), id);
  EXPECT_EQ(item.at("event").as_string(), "test");
  EXPECT_EQ(item.at("last_status").as_int64(), 503);
  EXPECT_EQ(item.at("last_error").as_string(), "HTTP 503");
  auto attempts = item.at("attempts").as_int64();
  EXPECT_GE(attempts, 2);
  EXPECT_TRUE(
    eventually([&] { return deliveries_metric(crm.app(), "failed") == 1.0; }));
  EXPECT_EQ(
    crm.call("GET", "/api/crm/webhooks/deliveries?status=delivered", owner)
      .items()
      .size(),
    0u);
  auto sent = hook.requests();
  EXPECT_EQ(
    body_of(sent.back()).at("data").as_object().at("message").is_string(),
    true);

  // Retry: pending again, attempts kept, then delivered.
  hook.status = 200;
  auto r = crm.call("POST", "/api/crm/webhooks/deliveries/" + id + "/retry",
                    owner);
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_TRUE(eventually([&] {
    return outbox_count("status = 'delivered' AND id = '" + id + "'") == 1;
  }));
  EXPECT_EQ(std::stoll(sql("SELECT attempts FROM webhook_outbox")),
            attempts + 1);
  // Only failed ones may be retried; unknown ids are 404.
  EXPECT_EQ(
    crm.call("POST", "/api/crm/webhooks/deliveries/" + id + "/retry", owner)
      .status,
    409);
  EXPECT_EQ(crm
              .call("POST",
                    "/api/crm/webhooks/deliveries/"
                    "evt_000000000000000000000000/retry",
                    owner)
              .status,
            404);
  EXPECT_EQ(
    crm.call("POST", "/api/crm/webhooks/deliveries/nope/retry", owner).status,
    404);
  // Another business's delivery answers like a missing one.
  auto other = crm.new_business("Other office");
  auto other_owner = crm.new_token(other, "owner").token;
  EXPECT_EQ(crm
              .call("POST", "/api/crm/webhooks/deliveries/" + id + "/retry",
                    other_owner)
              .status,
            404);
  EXPECT_EQ(crm.call("GET", "/api/crm/webhooks/deliveries", other_owner)
              .int_at("total"),
            0);
}

// -- routes
// -------------------------------------------------------------------------

TEST_F(Webhooks, TestEventAndRoles) {
  auto none = crm.call("POST", "/api/crm/webhooks/test", owner);
  EXPECT_EQ(none.status, 422) << none.body;
  EXPECT_EQ(none.str_at("error"), "No webhook_url set");

  receiver hook;
  set_webhook(hook.url());
  auto t = crm.call("POST", "/api/crm/webhooks/test", owner);
  ASSERT_EQ(t.status, 202) << t.body;
  ASSERT_TRUE(eventually([&] { return hook.count() == 1; }));
  auto b = body_of(hook.requests()[0]);
  EXPECT_EQ(b.at("id").as_string(), t.str_at("id"));
  EXPECT_EQ(b.at("event").as_string(), "test");
  EXPECT_EQ(header(hook.requests()[0], "X-AgentLocator-Event"), "test");

  // The administrator acts for a business named in the body or query.
  EXPECT_EQ(crm
              .call("POST", "/api/crm/webhooks/test", admin_token,
                    R"({"business_id":1})")
              .status,
            202);
  EXPECT_EQ(crm
              .call("POST", "/api/crm/webhooks/test", admin_token,
                    R"({"business_id":999})")
              .status,
            404);
  EXPECT_EQ(
    crm.call("GET", "/api/crm/webhooks/deliveries?business_id=1", admin_token)
      .status,
    200);

  for (auto* path :
       {"/api/crm/webhooks/test",
        "/api/crm/webhooks/deliveries/evt_000000000000000000000000/retry"})
    EXPECT_EQ(crm.call("POST", path, agent).status, 403) << path;
  EXPECT_EQ(crm.call("GET", "/api/crm/webhooks/deliveries", agent).status, 403);
  EXPECT_EQ(crm.call("GET", "/api/crm/webhooks/deliveries", "").status, 401);

  // Bad query input: 400, never 500.
  for (auto* q : {"?status=nope", "?page=0", "?per_page=100000", "?page=x"})
    EXPECT_EQ(
      crm.call("GET", std::string{"/api/crm/webhooks/deliveries"} + q, owner)
        .status,
      400)
      << q;
  EXPECT_EQ(
    crm.call("POST", "/api/crm/webhooks/test", owner, "{not json").status, 400);
  auto page = crm.call("GET", "/api/crm/webhooks/deliveries?page=2&per_page=1",
                       owner);
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.int_at("page"), 2);
  EXPECT_EQ(page.int_at("per_page"), 1);
  EXPECT_EQ(page.int_at("total"), 2);
  EXPECT_EQ(page.items().size(), 1u);
}

// -- hooks
// -----------------------------------------------------------------------------

TEST_F(Webhooks, LeadCreatedOnInsertOnlyOnEveryPath) {
  receiver hook;
  set_webhook(hook.url());
  auto& app = crm.app();
  // By phone (calls, WhatsApp): the first creates, the second updates.
  in_tx(app, [](db_tx& tx) {
    upsert_lead_by_phone(tx, 1, "+972506666666", "call", "");
  });
  in_tx(app, [](db_tx& tx) {
    upsert_lead_by_phone(tx, 1, "+972506666666", "whatsapp", "Named");
  });
  EXPECT_EQ(outbox_count("event = 'lead.created'"), 1);
  EXPECT_EQ(sql("SELECT body::jsonb->'data'->>'source' FROM webhook_outbox"),
            "call");

  // A PATCH of the lead is no new lead.
  auto id
    = std::stoll(sql("SELECT id FROM leads WHERE phone = '+972506666666'"));
  ASSERT_EQ(crm
              .call("PATCH", "/api/crm/leads/" + std::to_string(id), owner,
                    R"({"status":"contacted"})")
              .status,
            200);
  EXPECT_EQ(outbox_count("event = 'lead.created'"), 1);

  // CSV import: one event per lead it creates, none for the one it updates.
  http_result imp = http_call(
    app.port(), "POST", "/api/crm/leads/import",
    "name,phone\nUpdated,0506666666\nNew one,0507777777\nNew two,0507777778\n",
    {{"Authorization", "Bearer " + owner}, {"Content-Type", "text/csv"}});
  ASSERT_EQ(imp.status, 200) << imp.body;
  EXPECT_NE(imp.body.find(R"("created":2)"), std::string::npos) << imp.body;
  EXPECT_EQ(outbox_count("event = 'lead.created'"), 3);
  EXPECT_EQ(outbox_count("event = 'lead.created' AND body::jsonb->'data'->>"
                         "'phone' = '+972507777777'"),
            1);
  ASSERT_TRUE(
    eventually([&] { return outbox_count("status = 'delivered'") == 3; }));
  EXPECT_EQ(hook.count(), 3u);
}

TEST_F(Webhooks, ErasingALeadRemovesItsEventsFromTheOutbox) {
  // Queued while the receiver is unreachable, so they are still there.
  set_webhook("http://127.0.0.1:9/unreachable");
  auto kept = crm.new_lead(owner, R"({"name":"kept","phone":"0503333331"})");
  auto gone = crm.new_lead(owner, R"({"name":"gone","phone":"0503333332"})");
  in_tx(crm.app(), [gone](db_tx& tx) {
    enqueue_webhook(tx, 1, "message.received",
                    json::object{{"id", 1}, {"lead_id", gone}, {"body", "x"}});
  });
  EXPECT_EQ(outbox_count("true"), 3);
  ASSERT_EQ(
    crm.call("DELETE", "/api/crm/leads/" + std::to_string(gone), owner).status,
    200);
  // Only the kept lead's event is left.
  EXPECT_EQ(outbox_count("true"), 1);
  EXPECT_EQ(
    outbox_count("body::jsonb->'data'->>'id' = '" + std::to_string(kept) + "'"),
    1);
}

TEST_F(Webhooks, MessageReceivedAndPaymentPaid) {
  receiver hook;
  set_webhook(hook.url());
  auto& app = crm.app();
  wa_inbound in;
  in.provider = "twilio";
  in.sid = "SMwebhooktest1";
  in.from = "+972508888888";
  in.to = "+972300000000";
  in.body = "שלום, מעוניין בדירה";
  in.profile_name = "Yossi";
  in_tx(app, [in](db_tx& tx) { store_wa_inbound(tx, 1, in); });
  in_tx(app, [in](db_tx& tx) { store_wa_inbound(tx, 1, in); }); // redelivery
  EXPECT_EQ(outbox_count("event = 'message.received'"), 1);
  EXPECT_EQ(outbox_count("event = 'lead.created'"), 1);
  auto msg = json::parse(sql("SELECT body FROM webhook_outbox"
                             " WHERE event = 'message.received'"))
               .as_object()
               .at("data")
               .as_object();
  EXPECT_EQ(msg.at("from").as_string(), "+972508888888");
  EXPECT_EQ(msg.at("body").as_string(), "שלום, מעוניין בדירה");
  EXPECT_EQ(msg.at("provider").as_string(), "twilio");
  EXPECT_EQ(std::to_string(msg.at("lead_id").as_int64()),
            sql("SELECT id FROM leads WHERE phone = '+972508888888'"));
  EXPECT_TRUE(msg.at("id").is_int64());
  EXPECT_EQ(msg.at("received_at").as_string().back(), 'Z');

  auto pay = std::stoll(
    sql("INSERT INTO payments (business_id, provider, amount_minor, currency)"
        " VALUES (1, 'paypal', 9990, 'ILS') RETURNING id"));
  auto moved = std::make_shared<transition_result>();
  in_tx(app, [pay, moved](db_tx& tx) {
    *moved = transition_payment(tx, 1, pay, "paid", "ev-1");
  });
  ASSERT_EQ(*moved, transition_result::changed);
  in_tx(app, [pay, moved](db_tx& tx) {
    *moved = transition_payment(tx, 1, pay, "paid", "ev-2");
  });
  EXPECT_EQ(*moved, transition_result::not_pending);
  EXPECT_EQ(outbox_count("event = 'payment.paid'"), 1);
  auto p = json::parse(sql("SELECT body FROM webhook_outbox"
                           " WHERE event = 'payment.paid'"))
             .as_object()
             .at("data")
             .as_object();
  EXPECT_EQ(p.at("id").as_int64(), pay);
  EXPECT_EQ(p.at("amount").as_string(), "99.90");
  EXPECT_EQ(p.at("currency").as_string(), "ILS");
  EXPECT_EQ(p.at("provider").as_string(), "paypal");
  EXPECT_EQ(p.at("status").as_string(), "paid");
  EXPECT_TRUE(p.at("lead_id").is_null());
  EXPECT_EQ(p.at("paid_at").as_string().back(), 'Z');
  // A failed payment is no event.
  auto pay2 = std::stoll(
    sql("INSERT INTO payments (business_id, provider, amount_minor, currency)"
        " VALUES (1, 'paypal', 100, 'ILS') RETURNING id"));
  in_tx(app, [pay2](db_tx& tx) {
    transition_payment(tx, 1, pay2, "failed", "ev-3", "declined");
  });
  EXPECT_EQ(outbox_count("event = 'payment.paid'"), 1);
  ASSERT_TRUE(
    eventually([&] { return outbox_count("status = 'delivered'") == 3; }));
}

// -- several instances
// -------------------------------------------------------------

TEST(WebhooksShared, TwoInstancesDeliverEachEventExactlyOnce) {
  auto cfg = test_config();
  crm_app first{cfg};
  running_app second{cfg}; // the same database, its own deliverer
  auto owner = first.new_token(1, "owner").token;
  receiver hook;
  auto r
    = first.call("PATCH", "/api/crm/settings", owner,
                 json::serialize(json::object{{"webhook_url", hook.url()},
                                              {"webhook_secret", secret}}));
  ASSERT_EQ(r.status, 200) << r.body;
  constexpr int n = 40;
  for (int i = 0; i < n; ++i) {
    auto port = i % 2 ? first.app().port() : second.port();
    auto res
      = api_call(port, "POST", "/api/crm/leads", owner,
                 R"({"phone":"05299)" + std::to_string(10000 + i) + "\"}");
    ASSERT_EQ(res.status, 201) << res.body;
  }
  ASSERT_TRUE(eventually(
    [&] {
      return first.sql("SELECT count(*) FROM webhook_outbox"
                       " WHERE status = 'delivered'")
             == std::to_string(n);
    },
    std::chrono::seconds(20)));
  // Every claim counts an attempt: one each means nobody claimed twice.
  EXPECT_EQ(first.sql("SELECT sum(attempts) FROM webhook_outbox"),
            std::to_string(n));
  std::set<std::string> ids;
  for (auto& req : hook.requests())
    ids.insert(header(req, "X-AgentLocator-Delivery"));
  EXPECT_EQ(hook.count(), static_cast<std::size_t>(n));
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(n));
  // The metric follows the commit of the outcome.
  EXPECT_TRUE(eventually([&] {
    return deliveries_metric(first.app(), "delivered")
             + deliveries_metric(second, "delivered")
           == static_cast<double>(n);
  }));
}

TEST(WebhooksShared, ADeadInstancesClaimIsTakenAfterItsLease) {
  auto cfg = test_config();
  crm_app app{cfg};
  auto owner = app.new_token(1, "owner").token;
  receiver hook;
  ASSERT_EQ(app
              .call("PATCH", "/api/crm/settings", owner,
                    json::serialize(json::object{{"webhook_url", hook.url()}}))
              .status,
            200);
  // A claim by an instance that died: leased into the past, never finished.
  app.sql(
    "INSERT INTO webhook_outbox (id, business_id, event, body, attempts,"
    " lease_until, next_attempt_at) VALUES ('evt_aaaaaaaaaaaaaaaaaaaaaaaa',"
    " 1, 'test', '{\"id\":\"evt_aaaaaaaaaaaaaaaaaaaaaaaa\"}', 1,"
    " now() - interval '1 second', now() - interval '1 second')");
  // One still under a live lease is left alone.
  app.sql(
    "INSERT INTO webhook_outbox (id, business_id, event, body, attempts,"
    " lease_until, next_attempt_at) VALUES ('evt_bbbbbbbbbbbbbbbbbbbbbbbb',"
    " 1, 'test', '{}', 1, now() + interval '1 hour',"
    " now() + interval '1 hour')");
  ASSERT_TRUE(eventually([&] {
    return app.sql("SELECT status FROM webhook_outbox"
                   " WHERE id = 'evt_aaaaaaaaaaaaaaaaaaaaaaaa'")
           == "delivered";
  }));
  EXPECT_EQ(app.sql("SELECT attempts FROM webhook_outbox"
                    " WHERE id = 'evt_aaaaaaaaaaaaaaaaaaaaaaaa'"),
            "2");
  EXPECT_EQ(app.sql("SELECT status FROM webhook_outbox"
                    " WHERE id = 'evt_bbbbbbbbbbbbbbbbbbbbbbbb'"),
            "pending");
  ASSERT_EQ(hook.count(), 1u);
  EXPECT_EQ(hook.requests()[0].body(),
            R"({"id":"evt_aaaaaaaaaaaaaaaaaaaaaaaa"})");
}

// -- pure parts
// --------------------------------------------------------------------------

TEST(WebhooksPure, BackoffDoublesUpToTheCapWithJitter) {
  using ms = std::chrono::milliseconds;
  EXPECT_EQ(webhook_backoff(1, ms(30000), ms(3600000), 1.0), ms(30000));
  EXPECT_EQ(webhook_backoff(2, ms(30000), ms(3600000), 1.0), ms(60000));
  EXPECT_EQ(webhook_backoff(4, ms(30000), ms(3600000), 1.0), ms(240000));
  EXPECT_EQ(webhook_backoff(20, ms(30000), ms(3600000), 1.0), ms(3600000));
  EXPECT_EQ(webhook_backoff(200, ms(30000), ms(3600000), 1.0), ms(3600000));
  EXPECT_EQ(webhook_backoff(1, ms(30000), ms(3600000), 0.8), ms(24000));
  EXPECT_EQ(webhook_backoff(1, ms(30000), ms(3600000), 0.1), ms(24000));
}

TEST(WebhooksPure, SignatureAndUrlRules) {
  // RFC 4231 test case 2.
  EXPECT_EQ(webhook_signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b9"
            "64ec3843");
  EXPECT_EQ(webhook_url_error("https://hooks.example.com/a?b=c"), "");
  EXPECT_EQ(webhook_url_error("http://127.0.0.1:8080/a"), "");
  EXPECT_EQ(webhook_url_error("http://localhost/a"), "");
  EXPECT_EQ(webhook_url_error("http://[::1]:9/a"), "");
  EXPECT_NE(webhook_url_error("http://127.0.0.1.evil.example/a"), "");
  EXPECT_NE(webhook_url_error("http://10.0.0.1/a"), "");
  EXPECT_NE(webhook_url_error("javascript:alert(1)"), "");
  EXPECT_NE(webhook_url_error("https://a b/"), "");
}

} // namespace
} // namespace al::test
