// POST /api/crm/payments/create: every status-code branch in the order of
// the spec, hostile bodies, idempotency, concurrency, the payment actor's
// crash and restart; GET /api/crm/payments[/{id}].
#include "tests/payments/payments_support.hpp"

#include "actors/type_ids.hpp"
#include "core/form.hpp"
#include "transport/services.hpp"

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <gtest/gtest.h>

#include <future>
#include <set>
#include <thread>

using namespace std::chrono_literals;

namespace al::test {
namespace {

const std::string create_path = "/api/crm/payments/create";

/// One app with payments on and no global PayPal/Tranzila configuration,
/// and a business per case of the check order.
class payments_api : public ::testing::Test {
protected:
  void SetUp() override {
    paypal.allow("biz-client", "biz-secret");
    app = std::make_unique<running_app>(payments_config(paypal.base()));
    auto port = app->port();
    disabled = create_business(
      port,
      R"({"name":"Off","payments":{"enabled":false,)"
      R"("paypal_client_id":"biz-client","paypal_secret":"biz-secret"}})");
    no_creds = create_business(
      port, R"({"name":"NoCreds","payments":{"enabled":true}})");
    half_creds = create_business(port,
                                 R"({"name":"Half","payments":{"enabled":true,)"
                                 R"("paypal_client_id":"only-id"}})");
    with_paypal = create_business(
      port,
      R"({"name":"PayPal Realty","payments":{"enabled":true,)"
      R"("default_provider":"paypal",)"
      R"("paypal_client_id":"biz-client","paypal_secret":"biz-secret"}})");
    with_tranzila = create_business(
      port, R"({"name":"Tranzila","payments":{"enabled":true,)"
            R"("default_provider":"tranzila","tranzila_terminal":"term1"}})");
    tranzila_no_term = create_business(
      port,
      R"({"name":"TzNoTerm","payments":{"enabled":true,)"
      R"("default_provider":"tranzila",)"
      R"("paypal_client_id":"biz-client","paypal_secret":"biz-secret"}})");
    tok_disabled = create_token(port, disabled, "owner");
    tok_no_creds = create_token(port, no_creds, "agent");
    tok_half = create_token(port, half_creds, "owner");
    tok_paypal = create_token(port, with_paypal, "agent");
    tok_paypal_ro = create_token(port, with_paypal, "read_only");
    tok_tranzila = create_token(port, with_tranzila, "owner");
    tok_tz_no_term = create_token(port, tranzila_no_term, "owner");
    other_lead = create_lead(app->cfg(), no_creds, "+972500000001");
    own_lead = create_lead(app->cfg(), with_paypal, "+972500000002");
    phoneless_lead = std::stoll(sql_value(
      app->cfg(), "INSERT INTO leads(business_id, name) VALUES ("
                    + std::to_string(with_paypal) + ", 'x') RETURNING id"));
  }

  http_result create(const std::string& token, const std::string& body,
                     header_list extra = {}) {
    header_list h{{"Authorization", "Bearer " + token},
                  {"Content-Type", "application/json"}};
    for (auto& x : extra)
      h.push_back(x);
    return http_call(app->port(), "POST", create_path, body, h);
  }

  fake_paypal paypal;
  std::unique_ptr<running_app> app;
  std::int64_t disabled = 0, no_creds = 0, half_creds = 0, with_paypal = 0,
               with_tranzila = 0, tranzila_no_term = 0;
  std::string tok_disabled, tok_no_creds, tok_half, tok_paypal, tok_paypal_ro,
    tok_tranzila, tok_tz_no_term;
  std::int64_t other_lead = 0, own_lead = 0, phoneless_lead = 0;
};

struct status_case {
  const char* name;
  std::string token;
  std::string body;
  int status;
  const char* error_has; // substring of "error", "" = any
};

TEST_F(payments_api, every_branch_in_the_order_of_the_spec) {
  auto L = [](std::int64_t id) { return std::to_string(id); };
  std::vector<status_case> cases{
    // authentication and role come first
    {"no token", "", R"({"amount":10})", 401, ""},
    {"unknown token", "nope", R"({"amount":10})", 401, ""},
    {"read_only role", tok_paypal_ro, R"({"amount":10})", 403, "role"},
    // 1. stripe, even where everything else is wrong
    {"stripe", tok_paypal, R"({"amount":10,"provider":"stripe"})", 410,
     "Stripe is no longer supported"},
    {"Stripe any case", tok_disabled, R"({"provider":"STRIPE"})", 410,
     "Stripe is no longer supported"},
    {"stripe with bad amount", tok_no_creds,
     R"({"amount":-1,"provider":"stripe"})", 410, "Stripe"},
    // 3. the business's switch (2. is the next test: its own app)
    {"business disabled", tok_disabled, R"({"amount":10})", 403, "not enabled"},
    {"business disabled, bad amount", tok_disabled, R"({"amount":"x"})", 403,
     "not enabled"},
    {"business disabled, unknown provider", tok_disabled,
     R"({"amount":10,"provider":"bitcoin"})", 403, "not enabled"},
    {"admin for a disabled business", "test-admin",
     R"({"amount":10,"business_id":)" + L(disabled) + "}", 403, "not enabled"},
    {"admin for no business", "test-admin",
     R"({"amount":10,"business_id":999999})", 404, "business"},
    {"admin business_id not a number", "test-admin",
     R"({"amount":10,"business_id":"1"})", 400, "business_id"},
    // 4./5. effective provider and its configuration
    {"paypal default, no credentials", tok_no_creds, R"({"amount":10})", 501,
     "PayPal"},
    {"paypal asked, no credentials", tok_no_creds,
     R"({"amount":10,"provider":"paypal"})", 501, "PayPal"},
    {"paypal, id without secret", tok_half, R"({"amount":10})", 501, "PayPal"},
    {"no credentials beats a bad amount", tok_no_creds, R"({"amount":0})", 501,
     "PayPal"},
    {"no credentials beats a foreign lead", tok_no_creds,
     R"({"amount":10,"lead_id":)" + L(own_lead) + "}", 501, "PayPal"},
    // 6. tranzila without a terminal
    {"tranzila default, no terminal", tok_tz_no_term, R"({"amount":10})", 501,
     "Tranzila"},
    {"tranzila asked, no terminal", tok_paypal,
     R"({"amount":10,"provider":"tranzila"})", 501, "Tranzila"},
    {"tranzila, no terminal, bad amount", tok_tz_no_term, R"({"amount":-3})",
     501, "Tranzila"},
    // then the request itself
    {"unknown provider", tok_paypal, R"({"amount":10,"provider":"bitcoin"})",
     400, "provider"},
    {"provider not a string", tok_paypal, R"({"amount":10,"provider":7})", 400,
     "provider"},
    {"amount missing", tok_paypal, R"({"currency":"ILS"})", 400, "amount"},
    {"amount null", tok_paypal, R"({"amount":null})", 400, "amount"},
    {"amount negative", tok_paypal, R"({"amount":-5})", 400, "amount"},
    {"amount negative string", tok_paypal, R"({"amount":"-5"})", 400, "amount"},
    {"amount zero", tok_paypal, R"({"amount":0})", 400, "amount"},
    {"amount zero decimals", tok_paypal, R"({"amount":"0.00"})", 400, "amount"},
    {"amount over the limit", tok_paypal, R"({"amount":1000000.01})", 400,
     "amount"},
    // simdjson's DOM refuses integers beyond 64 bits: "invalid JSON".
    {"amount huge", tok_paypal, R"({"amount":123456789012345678901234567890})",
     400, ""},
    {"amount three decimals", tok_paypal, R"({"amount":1.234})", 400, "amount"},
    {"amount exponent", tok_paypal, R"({"amount":1e2})", 400, "amount"},
    {"amount not numeric", tok_paypal, R"({"amount":"ten"})", 400, "amount"},
    {"amount with spaces inside", tok_paypal, R"({"amount":"1 0"})", 400,
     "amount"},
    {"amount bool", tok_paypal, R"({"amount":true})", 400, "amount"},
    {"amount array", tok_paypal, R"({"amount":[10]})", 400, "amount"},
    {"amount object", tok_paypal, R"({"amount":{"value":10}})", 400, "amount"},
    {"unknown currency", tok_paypal, R"({"amount":10,"currency":"XYZ"})", 400,
     "currency"},
    {"currency not a string", tok_paypal, R"({"amount":10,"currency":1})", 400,
     "currency"},
    {"tranzila takes no EUR", tok_tranzila, R"({"amount":10,"currency":"EUR"})",
     400, "Tranzila"},
    {"description not a string", tok_paypal, R"({"amount":10,"description":5})",
     400, "description"},
    {"description too long", tok_paypal,
     R"({"amount":10,"description":")" + std::string(600, 'd') + "\"}", 400,
     "description"},
    {"lead_id not a number", tok_paypal, R"({"amount":10,"lead_id":"x"})", 400,
     "lead_id"},
    {"lead_id negative", tok_paypal, R"({"amount":10,"lead_id":-1})", 400,
     "lead_id"},
    {"lead of another business", tok_paypal,
     R"({"amount":10,"lead_id":)" + L(other_lead) + "}", 404, "lead"},
    {"no such lead", tok_paypal, R"({"amount":10,"lead_id":987654})", 404,
     "lead"},
    {"send_whatsapp not a bool", tok_paypal,
     R"({"amount":10,"send_whatsapp":"yes"})", 400, "send_whatsapp"},
    {"send_whatsapp without a lead", tok_paypal,
     R"({"amount":10,"send_whatsapp":true})", 400, "lead_id"},
    {"send_whatsapp to a lead without phone", tok_paypal,
     R"({"amount":10,"send_whatsapp":true,"lead_id":)" + L(phoneless_lead)
       + "}",
     400, "phone"},
  };
  for (auto& c : cases) {
    auto r = c.token.empty()
               ? http_call(app->port(), "POST", create_path, c.body,
                           {{"Content-Type", "application/json"}})
               : create(c.token, c.body);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    auto body = parse_json(r.body);
    EXPECT_EQ(field_text(body, "success"), "false") << c.name;
    EXPECT_NE(field_text(body, "error").find(c.error_has), std::string::npos)
      << c.name << ": " << r.body;
  }
  // Nothing was created and PayPal was never called.
  EXPECT_EQ(count_rows(app->cfg(), "true"), "0");
  EXPECT_EQ(paypal.token_requests.load(), 0);
  EXPECT_EQ(paypal.order_requests.load(), 0);
}

TEST_F(payments_api,
       idempotency_key_header_is_validated_after_business_checks) {
  auto bad = create(tok_paypal, R"({"amount":10})",
                    {{"Idempotency-Key", std::string(300, 'k')}});
  EXPECT_EQ(bad.status, 400) << bad.body;
  auto off = create(tok_disabled, R"({"amount":10})",
                    {{"Idempotency-Key", std::string(300, 'k')}});
  EXPECT_EQ(off.status, 403) << off.body;
}

TEST(payments_global_switch, off_answers_501_after_stripe_410) {
  fake_paypal paypal;
  auto cfg = payments_config(paypal.base());
  cfg.payments_enabled = false;
  cfg.paypal_client_id = "id";
  cfg.paypal_secret = "secret";
  running_app app{cfg};
  auto owner = create_token(app.port(), 1, "owner");
  struct row {
    std::string body;
    int status;
  };
  std::vector<row> rows{
    {R"({"amount":10,"provider":"stripe"})", 410},
    {R"({"amount":10})", 501},
    {R"({"amount":10,"provider":"paypal"})", 501},
    {R"({"amount":10,"provider":"tranzila"})", 501},
    {R"({"amount":-1})", 501},
    {R"({"provider":"bitcoin"})", 501},
  };
  for (auto& r : rows) {
    auto res = api_call(app.port(), "POST", create_path, owner, r.body);
    EXPECT_EQ(res.status, r.status) << r.body << " -> " << res.body;
  }
  auto ro = create_token(app.port(), 1, "read_only");
  EXPECT_EQ(
    api_call(app.port(), "POST", create_path, ro, R"({"amount":10})").status,
    403);
  EXPECT_EQ(paypal.token_requests.load(), 0);
}

TEST(payments_default_business, env_alone_configures_paypal) {
  // SPEC: the default business takes its payment settings from the
  // environment, payments enabled.
  fake_paypal paypal;
  paypal.allow("env-id", "env-secret");
  auto cfg = payments_config(paypal.base());
  cfg.paypal_client_id = "env-id";
  cfg.paypal_secret = "env-secret";
  running_app app{cfg};
  auto r = api_call(app.port(), "POST", create_path, "test-admin",
                    R"({"amount":"250","description":"דמי רצינות"})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto body = parse_json(r.body);
  EXPECT_EQ(field_text(body, "success"), "true");
  EXPECT_EQ(field_text(body, "provider"), "paypal");
  EXPECT_EQ(field_text(body, "status"), "pending");
  EXPECT_EQ(field_text(body, "pay_url"), paypal.approve_url("ORD1"));
  auto id = field_text(body, "payment_id");
  EXPECT_EQ(sql_value(app.cfg(), "SELECT amount_minor || ' ' || currency"
                                 " || ' ' || business_id FROM payments"
                                 " WHERE id = "
                                   + id),
            "25000 ILS 1");
}

TEST(payments_whatsapp, send_whatsapp_delivers_the_link_to_the_lead) {
  fake_paypal paypal;
  paypal.allow("cid", "csecret");
  std::atomic<int> twilio_status{201};
  fake_http_server twilio([&](const fake_http_server::request&) {
    if (twilio_status != 201)
      return fake_http_server::reply(
        http::status::bad_request,
        R"({"code":21211,"message":"Invalid 'To' Phone Number","status":400})");
    return fake_http_server::reply(http::status::created,
                                   R"({"sid":"SM0123","status":"queued"})");
  });
  auto cfg = payments_config(paypal.base());
  cfg.paypal_client_id = "cid";
  cfg.paypal_secret = "csecret";
  cfg.twilio_api_base = twilio.base_url();
  running_app app{cfg};
  auto lead = create_lead(app.cfg(), 1, "+972501234567");
  // The lead wrote to the office today: inside WhatsApp's 24-hour window,
  // so the link goes as a free-form text (templates_test covers outside).
  ASSERT_FALSE(sql_value(app.cfg(),
                         "INSERT INTO wa_conversations (business_id, peer,"
                         " last_inbound_at) VALUES (1,"
                         " 'whatsapp:+972501234567', now()) RETURNING peer")
                 .empty());
  auto r = api_call(app.port(), "POST", create_path, "test-admin",
                    R"({"amount":"99","description":"דמי תיווך","lead_id":)"
                      + std::to_string(lead) + R"(,"send_whatsapp":true})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto v = parse_json(r.body);
  auto pay_url = field_text(v, "pay_url");
  ASSERT_TRUE(v.at("whatsapp").is_object()) << r.body;
  EXPECT_EQ(field_text(v.at("whatsapp"), "sent"), "true") << r.body;
  auto sent = twilio.requests();
  ASSERT_EQ(sent.size(), 1u);
  auto form = parse_form(sent[0].body());
  ASSERT_TRUE(form);
  EXPECT_EQ(form->value_or("To"), "whatsapp:+972501234567");
  EXPECT_NE(form->value_or("Body").find(pay_url), std::string::npos);
  EXPECT_NE(form->value_or("Body").find("99.00 ILS"), std::string::npos);
  EXPECT_EQ(sql_value(app.cfg(), "SELECT count(*) FROM messages WHERE"
                                 " direction = 'out' AND body LIKE '%"
                                   + pay_url + "%'"),
            "1");
  // A WhatsApp failure does not undo the payment.
  twilio_status = 400;
  auto f = api_call(app.port(), "POST", create_path, "test-admin",
                    R"({"amount":"5","lead_id":)" + std::to_string(lead)
                      + R"(,"send_whatsapp":true})");
  ASSERT_EQ(f.status, 201) << f.body;
  auto fv = parse_json(f.body);
  EXPECT_EQ(field_text(fv.at("whatsapp"), "sent"), "false");
  EXPECT_FALSE(field_text(fv.at("whatsapp"), "error").empty());
  EXPECT_EQ(sql_value(app.cfg(), "SELECT status FROM payments WHERE id = "
                                   + field_text(fv, "payment_id")),
            "pending");
  // Without the flag nothing is sent.
  ASSERT_EQ(api_call(app.port(), "POST", create_path, "test-admin",
                     R"({"amount":"5","lead_id":)" + std::to_string(lead) + "}")
              .status,
            201);
  EXPECT_EQ(twilio.requests().size(), 2u);
}

TEST_F(payments_api, hostile_bodies_are_4xx_never_500) {
  std::string deep;
  for (int i = 0; i < 200; ++i)
    deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 200; ++i)
    deep += "}";
  std::vector<std::string> bodies{
    "",
    "null",
    "[]",
    "\"amount\"",
    "{",
    "{\"amount\":10",
    "{\"amount\":10}}",
    "{\"amount\":10,}",
    "{'amount':10}",
    deep,
    "{\"amount\":1e400}",
    "{\"amount\":-0}",
    "{\"amount\":0.000000000000000000001}",
    "{\"amount\":10,\"description\":\"a\\u0000b\"}",
    std::string("{\"amount\":10,\"description\":\"\xff\xfe\"}"),
    "{\"amount\":\"\\u0031\\u0030\"}", // "10" escaped: fine or 400, not 500
    "{\"amount\":10,\"currency\":\"\\u0000LS\"}",
    "{\"amount\":10,\"lead_id\":1e30}",
    "{\"amount\":10,\"lead_id\":99999999999999999999}",
    "{\"amount\":10,\"provider\":\"" + std::string(100000, 'p') + "\"}",
    "{\"amount\":10,\"amount\":\"x\"}",
    "{\"amount\":\"10\",\"description\":[1,{\"a\":null}]}",
    std::string(2 * 1024 * 1024, ' '),
  };
  int created = 0;
  for (auto& b : bodies) {
    auto r = create(tok_paypal, b);
    EXPECT_NE(r.status, 500) << b.substr(0, 80);
    EXPECT_TRUE((r.status >= 400 && r.status < 500) || r.status == 201)
      << b.substr(0, 80) << " -> " << r.status << " " << r.body;
    if (r.status == 201) {
      ++created;
    } else if (r.status != 413) {
      EXPECT_EQ(field_text(parse_json(r.body), "success"), "false")
        << b.substr(0, 80);
    }
  }
  EXPECT_EQ(count_rows(app->cfg(), "true"), std::to_string(created));
  // The duplicate key: the first one (10) counts, as everywhere else.
  auto dup = create(tok_paypal, "{\"amount\":\"12.50\",\"amount\":\"x\"}");
  ASSERT_EQ(dup.status, 201) << dup.body;
  EXPECT_EQ(sql_value(app->cfg(),
                      "SELECT amount_minor FROM payments WHERE id = "
                        + field_text(parse_json(dup.body), "payment_id")),
            "1250");
}

TEST_F(payments_api, amounts_are_exact_minor_units) {
  struct row {
    const char* amount;
    const char* minor;
    const char* paypal_value;
  };
  std::vector<row> rows{{"99.9", "9990", "99.90"},
                        {"\"0.01\"", "1", "0.01"},
                        {"1000000", "100000000", "1000000.00"},
                        {"\"19.99\"", "1999", "19.99"},
                        {"0.1", "10", "0.10"}};
  for (auto& r : rows) {
    auto res = create(tok_paypal, std::string{R"({"amount":)"} + r.amount
                                    + R"(,"currency":"usd"})");
    ASSERT_EQ(res.status, 201) << r.amount << " " << res.body;
    auto id = field_text(parse_json(res.body), "payment_id");
    EXPECT_EQ(sql_value(app->cfg(), "SELECT amount_minor || currency FROM"
                                    " payments WHERE id = "
                                      + id),
              std::string{r.minor} + "USD");
    auto sent = parse_json(paypal.order_bodies().back());
    EXPECT_EQ(field_text(sent.at("purchase_units").at(0).at("amount"), "value"),
              r.paypal_value);
  }
}

TEST_F(payments_api, idempotency_key_returns_the_same_payment) {
  header_list key{{"Idempotency-Key", "order-42"}};
  auto a = create(tok_paypal, R"({"amount":10,"description":"x"})", key);
  ASSERT_EQ(a.status, 201) << a.body;
  auto b = create(tok_paypal, R"({"amount":10,"description":"x"})", key);
  ASSERT_EQ(b.status, 201) << b.body;
  EXPECT_EQ(field_text(parse_json(a.body), "payment_id"),
            field_text(parse_json(b.body), "payment_id"));
  EXPECT_EQ(field_text(parse_json(a.body), "pay_url"),
            field_text(parse_json(b.body), "pay_url"));
  EXPECT_EQ(b.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(a.header("Idempotent-Replayed"), "");
  EXPECT_EQ(count_rows(app->cfg(), "true"), "1");
  EXPECT_EQ(paypal.order_requests.load(), 1);
  // The same key for a different payment is a conflict.
  auto c = create(tok_paypal, R"({"amount":11})", key);
  EXPECT_EQ(c.status, 409) << c.body;
  // Keys are per business: the same key elsewhere is a new payment.
  auto d = create(tok_tranzila, R"({"amount":10})", key);
  EXPECT_EQ(d.status, 201) << d.body;
  EXPECT_EQ(count_rows(app->cfg(), "true"), "2");
  // Without a key, every request is a new payment.
  create(tok_paypal, R"({"amount":10})");
  create(tok_paypal, R"({"amount":10})");
  EXPECT_EQ(count_rows(app->cfg(), "true"), "4");
}

TEST_F(payments_api, failed_payment_replays_its_failure) {
  paypal.order_status = 500;
  header_list key{{"Idempotency-Key", "k-fail"}};
  auto a = create(tok_paypal, R"({"amount":10})", key);
  EXPECT_EQ(a.status, 502) << a.body;
  paypal.order_status = 201;
  auto b = create(tok_paypal, R"({"amount":10})", key);
  EXPECT_EQ(b.status, 502) << b.body;
  EXPECT_EQ(field_text(parse_json(a.body), "payment_id"),
            field_text(parse_json(b.body), "payment_id"));
  EXPECT_EQ(count_rows(app->cfg(), "true"), "1");
}

TEST_F(payments_api, concurrent_creates) {
  constexpr int n = 12;
  std::vector<std::future<http_result>> futures;
  for (int i = 0; i < n; ++i)
    futures.push_back(std::async(std::launch::async, [this, i] {
      return create(tok_paypal, R"({"amount":)" + std::to_string(10 + i) + "}",
                    {{"Idempotency-Key", "c-" + std::to_string(i)}});
    }));
  std::set<std::string> ids, urls;
  for (auto& f : futures) {
    auto r = f.get();
    ASSERT_EQ(r.status, 201) << r.body;
    ids.insert(field_text(parse_json(r.body), "payment_id"));
    urls.insert(field_text(parse_json(r.body), "pay_url"));
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(urls.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(count_rows(app->cfg(),
                       "status = 'pending' AND pay_url IS NOT NULL"),
            std::to_string(n));
  // One token for all of them (cached, fetched once even when concurrent).
  EXPECT_EQ(paypal.token_requests.load(), 1);
  // Every create has a distinct, stable PayPal-Request-Id.
  auto rids = paypal.order_request_ids();
  EXPECT_EQ(std::set<std::string>(rids.begin(), rids.end()).size(),
            static_cast<std::size_t>(n));

  // The same key from many clients at once: one payment.
  std::vector<std::future<http_result>> same;
  for (int i = 0; i < 6; ++i)
    same.push_back(std::async(std::launch::async, [this] {
      return create(tok_paypal, R"({"amount":77})",
                    {{"Idempotency-Key", "same-key"}});
    }));
  std::set<std::string> same_ids;
  int ok = 0;
  for (auto& f : same) {
    auto r = f.get();
    ASSERT_TRUE(r.status == 201 || r.status == 409) << r.status << r.body;
    if (r.status == 201) {
      ++ok;
      same_ids.insert(field_text(parse_json(r.body), "payment_id"));
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_EQ(same_ids.size(), 1u);
  EXPECT_EQ(count_rows(app->cfg(), "idempotency_key = 'same-key'"), "1");
  EXPECT_EQ(count_rows(app->cfg(), "true"), std::to_string(n + 1));
}

TEST_F(payments_api,
       crashed_payment_actor_is_restarted_and_row_stays_consistent) {
  // Slow PayPal so the actor is caught mid-exchange.
  paypal.server().set_delay(600ms);
  auto pending = std::async(std::launch::async, [this] {
    return create(tok_paypal, R"({"amount":"42.00","description":"crash"})");
  });
  std::string id;
  ASSERT_TRUE(eventually([&] {
    id = sql_value(app->cfg(), "SELECT max(id) FROM payments");
    return !id.empty();
  }));
  auto& svc = app->svc();
  caf::actor child;
  ASSERT_TRUE(eventually([&] {
    caf::scoped_actor self{svc.sys};
    self->request(svc.payment_manager, 2s, lookup_atom_v, "pay:" + id)
      .receive([&](caf::actor& a) { child = a; }, [](caf::error&) {});
    return static_cast<bool>(child);
  }));
  auto restarts_before = svc.payment_stats.restarts.load();
  // An abnormal exit, exactly what a crash produces (no hook in the actor).
  caf::anon_send(child,
                 caf::exit_msg{caf::actor_addr{},
                               caf::make_error(caf::sec::runtime_error)});
  auto r = pending.get();
  ASSERT_EQ(r.status, 201) << r.body;
  auto body = parse_json(r.body);
  EXPECT_EQ(field_text(body, "payment_id"), id);
  EXPECT_EQ(svc.payment_stats.restarts.load(), restarts_before + 1);
  // One row, pending, with the order and link; one "created" event.
  EXPECT_EQ(count_rows(app->cfg(), "true"), "1");
  EXPECT_EQ(sql_value(app->cfg(), "SELECT status || ' ' || amount_minor ||"
                                  " ' ' || provider_ref FROM payments"),
            "pending 4200 ORD1");
  EXPECT_EQ(sql_value(app->cfg(), "SELECT pay_url FROM payments"),
            field_text(body, "pay_url"));
  EXPECT_EQ(sql_value(app->cfg(), "SELECT count(*) FROM payment_events"), "1");
  // Every create PayPal saw for it carried the same PayPal-Request-Id.
  auto rids = paypal.order_request_ids();
  ASSERT_FALSE(rids.empty());
  EXPECT_EQ(std::set<std::string>(rids.begin(), rids.end()).size(), 1u);
  // The actor exited normally afterwards.
  EXPECT_TRUE(eventually([&] { return svc.payment_stats.live.load() == 0; }));
}

TEST_F(payments_api, list_and_get) {
  create(tok_paypal, R"({"amount":10})");
  create(tok_paypal,
         R"({"amount":20,"lead_id":)" + std::to_string(own_lead) + "}");
  paypal.order_status = 503;
  create(tok_paypal, R"({"amount":30})");
  paypal.order_status = 201;
  create(tok_tranzila, R"({"amount":40})");

  auto all = api_call(app->port(), "GET", "/api/crm/payments", tok_paypal);
  ASSERT_EQ(all.status, 200) << all.body;
  auto v = parse_json(all.body);
  EXPECT_EQ(field_text(v, "total"), "3");
  EXPECT_EQ(field_text(v, "page"), "1");
  EXPECT_EQ(field_text(v, "per_page"), "50");
  ASSERT_EQ(v.at("items").as_array().size(), 3u);
  EXPECT_EQ(field_text(v.at("items").at(0), "amount"), "30.00"); // newest first
  EXPECT_EQ(field_text(v.at("items").at(0), "status"), "failed");

  auto failed = parse_json(
    api_call(app->port(), "GET", "/api/crm/payments?status=failed", tok_paypal)
      .body);
  EXPECT_EQ(field_text(failed, "total"), "1");
  auto by_lead = parse_json(
    api_call(app->port(), "GET",
             "/api/crm/payments?lead_id=" + std::to_string(own_lead),
             tok_paypal_ro)
      .body);
  EXPECT_EQ(field_text(by_lead, "total"), "1");
  EXPECT_EQ(field_text(by_lead.at("items").at(0), "amount_minor"), "2000");
  auto page2
    = parse_json(api_call(app->port(), "GET",
                          "/api/crm/payments?per_page=2&page=2", tok_paypal)
                   .body);
  EXPECT_EQ(page2.at("items").as_array().size(), 1u);
  EXPECT_EQ(field_text(page2, "total"), "3");

  for (auto q : {"?status=done", "?lead_id=x", "?page=0", "?per_page=1000",
                 "?lead_id=-1", "?page=%zz"})
    EXPECT_EQ(api_call(app->port(), "GET", std::string{"/api/crm/payments"} + q,
                       tok_paypal)
                .status,
              400)
      << q;

  auto id = field_text(v.at("items").at(2), "id");
  auto one = api_call(app->port(), "GET", "/api/crm/payments/" + id,
                      tok_paypal_ro);
  ASSERT_EQ(one.status, 200) << one.body;
  auto p = parse_json(one.body);
  EXPECT_EQ(field_text(p, "amount"), "10.00");
  EXPECT_EQ(field_text(p, "currency"), "ILS");
  ASSERT_TRUE(p.at("events").is_array());
  EXPECT_EQ(field_text(p.at("events").at(0), "to_status"), "pending");
  // Another business cannot see it; odd ids are 404 too.
  EXPECT_EQ(api_call(app->port(), "GET", "/api/crm/payments/" + id,
                     tok_tranzila)
              .status,
            404);
  EXPECT_EQ(
    api_call(app->port(), "GET", "/api/crm/payments/abc", tok_paypal).status,
    404);
  EXPECT_EQ(
    api_call(app->port(), "GET", "/api/crm/payments/0", tok_paypal).status,
    404);
  EXPECT_EQ(http_call(app->port(), "GET", "/api/crm/payments").status, 401);
  // No secret anywhere in the answers.
  EXPECT_EQ(all.body.find("biz-secret"), std::string::npos);
  auto biz = api_call(app->port(), "GET",
                      "/api/admin/businesses/" + std::to_string(with_paypal),
                      "test-admin");
  EXPECT_EQ(biz.body.find("biz-secret"), std::string::npos);
}

} // namespace
} // namespace al::test
