// Pure wire logic of the payment providers: PayPal JSON in and out,
// Tranzila links and notify verdicts, raw amount extraction.
#include "core/call_token.hpp"
#include "core/config.hpp"
#include "core/form.hpp"
#include "core/json.hpp"
#include "core/payment_wire.hpp"

#include <gtest/gtest.h>

namespace al {
namespace {

// -- raw amount ---------------------------------------------------------------

TEST(RawField, NumberTokenKeepsItsLiteralText) {
  auto f = raw_number_or_string(R"({"amount": 99.90 , "x":1})", "amount");
  ASSERT_EQ(f.state, field_state::ok);
  // raw_json_token may keep trailing whitespace; parse_amount_minor trims.
  EXPECT_EQ(f.text.substr(0, 5), "99.90");
}

TEST(RawField, StringContent) {
  auto f = raw_number_or_string(R"({"amount":"12.5"})", "amount");
  ASSERT_EQ(f.state, field_state::ok);
  EXPECT_EQ(f.text, "12.5");
}

TEST(RawField, States) {
  EXPECT_EQ(raw_number_or_string(R"({"a":1})", "amount").state,
            field_state::missing);
  EXPECT_EQ(raw_number_or_string(R"({"amount":null})", "amount").state,
            field_state::null);
  EXPECT_EQ(raw_number_or_string(R"({"amount":[1]})", "amount").state,
            field_state::wrong_type);
  EXPECT_EQ(raw_number_or_string(R"({"amount":{"v":1}})", "amount").state,
            field_state::wrong_type);
  EXPECT_EQ(raw_number_or_string(R"({"amount":true})", "amount").state,
            field_state::wrong_type);
  EXPECT_EQ(raw_number_or_string(R"([1,2])", "amount").state,
            field_state::wrong_type);
  EXPECT_EQ(raw_number_or_string("not json", "amount").state,
            field_state::wrong_type);
}

TEST(RawField, FirstDuplicateWinsAndNestedKeysAreIgnored) {
  auto f = raw_number_or_string(R"({"x":{"amount":5},"amount":7,"amount":9})",
                                "amount");
  ASSERT_EQ(f.state, field_state::ok);
  EXPECT_EQ(f.text.substr(0, 1), "7");
}

TEST(RawField, ExponentAndHugeNumbersKeepTheirText) {
  auto f = raw_number_or_string(R"({"amount":1e2})", "amount");
  ASSERT_EQ(f.state, field_state::ok);
  EXPECT_EQ(f.text.substr(0, 3), "1e2");
  auto g = raw_number_or_string(R"({"amount":123456789012345678901234567890})",
                                "amount");
  ASSERT_EQ(g.state, field_state::ok);
  EXPECT_EQ(g.text.substr(0, 30), "123456789012345678901234567890");
}

TEST(RawField, EscapedKeyMatches) {
  auto f = raw_number_or_string(R"({"amo\u0075nt":"3"})", "amount");
  ASSERT_EQ(f.state, field_state::ok);
  EXPECT_EQ(f.text, "3");
}

// -- PayPal -------------------------------------------------------------------

TEST(PayPal, BasicAuth) {
  // base64("id:secret")
  EXPECT_EQ(paypal_basic_auth("id", "secret"), "Basic aWQ6c2VjcmV0");
}

TEST(PayPal, TokenParsing) {
  auto t = parse_paypal_token(
    R"({"scope":"x","access_token":"A21AA","token_type":"Bearer","expires_in":32400})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->access_token, "A21AA");
  EXPECT_EQ(t->expires_in, 32400);
  EXPECT_FALSE(parse_paypal_token(R"({"access_token":""})"));
  EXPECT_FALSE(parse_paypal_token(R"({"error":"invalid_client"})"));
  EXPECT_FALSE(parse_paypal_token("<html>"));
  auto no_exp = parse_paypal_token(R"({"access_token":"T","expires_in":"9"})");
  ASSERT_TRUE(no_exp);
  EXPECT_EQ(no_exp->expires_in, 0);
}

TEST(PayPal, OrderBody) {
  paypal_order_input in;
  in.payment_id = 42;
  in.amount_minor = 9990;
  in.currency = "ILS";
  in.description = "דמי תיווך";
  in.brand_name = "Realty";
  in.return_url = "https://al.example.test/payments/paypal/return";
  in.cancel_url = "https://al.example.test/payments/paypal/cancel";
  json_doc d;
  ASSERT_TRUE(d.parse(paypal_order_body(in)));
  auto o = *d.object();
  EXPECT_EQ(get_string(o, "intent").value, "CAPTURE");
  auto units = get_array(o, "purchase_units");
  ASSERT_TRUE(units.ok());
  simdjson::dom::object u;
  ASSERT_EQ(units.value.at(0).get(u), simdjson::SUCCESS);
  EXPECT_EQ(get_string(u, "custom_id").value, "42");
  EXPECT_EQ(get_string(u, "reference_id").value, "42");
  EXPECT_EQ(get_string(u, "description").value, "דמי תיווך");
  auto amount = get_object(u, "amount");
  ASSERT_TRUE(amount.ok());
  EXPECT_EQ(get_string(amount.value, "value").value, "99.90");
  EXPECT_EQ(get_string(amount.value, "currency_code").value, "ILS");
  std::string_view ret, cancel;
  ASSERT_EQ(o.at_pointer("/payment_source/paypal/experience_context/return_url")
              .get(ret),
            simdjson::SUCCESS);
  ASSERT_EQ(o.at_pointer("/payment_source/paypal/experience_context/cancel_url")
              .get(cancel),
            simdjson::SUCCESS);
  EXPECT_EQ(ret, in.return_url);
  EXPECT_EQ(cancel, in.cancel_url);
}

TEST(PayPal, OrderBodyCutsLongDescriptionOnUtf8Boundary) {
  paypal_order_input in;
  in.payment_id = 1;
  in.amount_minor = 1;
  in.currency = "USD";
  in.description = std::string(126, 'a') + "ש"; // 2-byte char at 126..127
  json_doc d;
  ASSERT_TRUE(d.parse(paypal_order_body(in)));
  std::string_view desc;
  ASSERT_EQ(d.root().at_pointer("/purchase_units/0/description").get(desc),
            simdjson::SUCCESS);
  EXPECT_EQ(desc, std::string(126, 'a'));
  EXPECT_TRUE(valid_utf8(desc));
  std::string_view value;
  ASSERT_EQ(d.root().at_pointer("/purchase_units/0/amount/value").get(value),
            simdjson::SUCCESS);
  EXPECT_EQ(value, "0.01");
}

TEST(PayPal, OrderResponseAcceptsApproveOrPayerAction) {
  auto a = parse_paypal_order(R"({"id":"5O1","status":"CREATED","links":[
    {"href":"https://api.paypal.com/v2/checkout/orders/5O1","rel":"self"},
    {"href":"https://www.paypal.com/checkoutnow?token=5O1","rel":"approve"}]})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, "5O1");
  EXPECT_EQ(a->approve_url, "https://www.paypal.com/checkoutnow?token=5O1");
  auto b = parse_paypal_order(R"({"id":"X","status":"PAYER_ACTION_REQUIRED",
    "links":[{"href":"https://www.sandbox.paypal.com/checkoutnow?token=X",
    "rel":"payer-action","method":"GET"}]})");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->approve_url,
            "https://www.sandbox.paypal.com/checkoutnow?token=X");
  EXPECT_FALSE(parse_paypal_order(R"({"id":"X","links":[]})"));
  EXPECT_FALSE(
    parse_paypal_order(R"({"links":[{"rel":"approve","href":"https://p"}]})"));
  EXPECT_FALSE(parse_paypal_order(
    R"j({"id":"X","links":[{"rel":"approve","href":"javascript:alert(1)"}]})j"));
  EXPECT_FALSE(parse_paypal_order("[]"));
}

TEST(PayPal, Capture) {
  auto c = parse_paypal_capture(R"({"id":"ORD","status":"COMPLETED",
    "purchase_units":[{"reference_id":"7","payments":{"captures":[
      {"id":"CAP1","status":"COMPLETED","custom_id":"7",
       "amount":{"currency_code":"ILS","value":"100.00"}}]}}]})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->order_id, "ORD");
  EXPECT_EQ(c->capture_id, "CAP1");
  EXPECT_EQ(c->custom_id, "7");
  ASSERT_TRUE(c->amount_minor);
  EXPECT_EQ(*c->amount_minor, 10000);
  EXPECT_EQ(c->currency, "ILS");
  EXPECT_TRUE(paypal_capture_completed(*c));
  auto pending = parse_paypal_capture(R"({"id":"ORD","status":"COMPLETED",
    "purchase_units":[{"payments":{"captures":[{"id":"C","status":"PENDING"}]}}]})");
  ASSERT_TRUE(pending);
  EXPECT_FALSE(paypal_capture_completed(*pending));
  EXPECT_TRUE(paypal_already_captured(
    R"({"name":"UNPROCESSABLE_ENTITY","details":[{"issue":"ORDER_ALREADY_CAPTURED"}]})"));
  EXPECT_FALSE(paypal_already_captured(R"({"name":"UNPROCESSABLE_ENTITY"})"));
}

TEST(PayPal, ErrorSummaryIsShort) {
  auto s = paypal_error_summary(
    400,
    R"({"name":"INVALID_REQUEST","message":"Request is not well-formed"})");
  EXPECT_EQ(s, "PayPal 400: INVALID_REQUEST: Request is not well-formed");
  EXPECT_EQ(paypal_error_summary(503, "<html>"), "PayPal 503");
  EXPECT_LT(paypal_error_summary(400, R"({"message":")" + std::string(5000, 'm')
                                        + "\"}")
              .size(),
            250u);
}

TEST(PayPal, VerifyBodyEmbedsTheEventVerbatim) {
  paypal_webhook_headers h{"SHA256withRSA", "https://api.paypal.com/cert",
                           "tid", "sig==", "2024-01-01T00:00:00Z"};
  EXPECT_TRUE(h.complete());
  // Odd spacing and key order: a re-serialisation would change them.
  std::string raw = "{ \"id\" : \"WH-1\",\"event_type\":\"X\" ,\"n\":1.50 }";
  auto body = paypal_verify_body(h, "WEBHOOK\"ID", raw);
  EXPECT_NE(body.find("\"webhook_event\":" + raw + "}"), std::string::npos);
  json_doc d;
  ASSERT_TRUE(d.parse(body));
  auto o = *d.object();
  EXPECT_EQ(get_string(o, "webhook_id").value, "WEBHOOK\"ID");
  EXPECT_EQ(get_string(o, "transmission_sig").value, "sig==");
  EXPECT_EQ(get_string(o, "auth_algo").value, "SHA256withRSA");
  EXPECT_TRUE(get_object(o, "webhook_event").ok());
  paypal_webhook_headers missing = h;
  missing.transmission_sig.clear();
  EXPECT_FALSE(missing.complete());
}

TEST(PayPal, VerificationStatus) {
  EXPECT_TRUE(
    paypal_verification_succeeded(R"({"verification_status":"SUCCESS"})"));
  EXPECT_FALSE(
    paypal_verification_succeeded(R"({"verification_status":"FAILURE"})"));
  EXPECT_FALSE(
    paypal_verification_succeeded(R"({"verification_status":"success"})"));
  EXPECT_FALSE(paypal_verification_succeeded("SUCCESS"));
}

TEST(PayPal, EventOrderApproved) {
  auto e
    = parse_paypal_event(R"({"id":"WH-1","event_type":"CHECKOUT.ORDER.APPROVED",
    "resource":{"id":"ORD9","status":"APPROVED","purchase_units":[
      {"custom_id":"12","amount":{"currency_code":"USD","value":"5.00"}}]}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->order_id, "ORD9");
  EXPECT_EQ(e->custom_id, "12");
  EXPECT_EQ(e->resource_status, "APPROVED");
  ASSERT_TRUE(e->amount_minor);
  EXPECT_EQ(*e->amount_minor, 500);
  EXPECT_EQ(e->currency, "USD");
}

TEST(PayPal, EventCaptureCompleted) {
  auto e = parse_paypal_event(
    R"({"id":"WH-2","event_type":"PAYMENT.CAPTURE.COMPLETED",
    "resource":{"id":"CAP","status":"COMPLETED","custom_id":"12",
      "amount":{"currency_code":"ILS","value":"99.90"},
      "supplementary_data":{"related_ids":{"order_id":"ORD9"}}}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->capture_id, "CAP");
  EXPECT_EQ(e->order_id, "ORD9");
  EXPECT_EQ(e->custom_id, "12");
  EXPECT_EQ(*e->amount_minor, 9990);
  EXPECT_FALSE(parse_paypal_event(R"({"id":"X","event_type":"Y"})"));
  EXPECT_FALSE(parse_paypal_event(R"({"event_type":"Y","resource":{}})"));
  EXPECT_FALSE(
    parse_paypal_event(R"({"id":1,"event_type":"Y","resource":{}})"));
}

TEST(PayPal, CustomId) {
  EXPECT_EQ(payment_id_from_custom_id("42").value_or(-1), 42);
  EXPECT_FALSE(payment_id_from_custom_id(""));
  EXPECT_FALSE(payment_id_from_custom_id("042"));
  EXPECT_FALSE(payment_id_from_custom_id("4x"));
  EXPECT_FALSE(payment_id_from_custom_id("-4"));
  EXPECT_FALSE(payment_id_from_custom_id("1234567890123456789"));
}

// -- Tranzila -----------------------------------------------------------------

TEST(Tranzila, CurrencyCodes) {
  EXPECT_EQ(tranzila_currency_code("ILS").value_or(0), 1);
  EXPECT_EQ(tranzila_currency_code("USD").value_or(0), 2);
  EXPECT_FALSE(tranzila_currency_code("EUR"));
  EXPECT_FALSE(tranzila_currency_code("ils"));
}

TEST(Tranzila, PayUrl) {
  tranzila_link_input in;
  in.base = "https://direct.tranzila.com/";
  in.terminal = "myterm";
  in.amount_minor = 12345;
  in.currency = "ILS";
  in.description = "דירה & חניה";
  in.notify_url
    = "https://al.example.test/webhook/payments/tranzila?payment=5&token=abc";
  in.payment_id = 5;
  auto url = tranzila_pay_url(in);
  ASSERT_TRUE(url);
  EXPECT_EQ(
    url->rfind("https://direct.tranzila.com/myterm/iframenew.php?sum=123.45"
               "&currency=1&",
               0),
    0u)
    << *url;
  EXPECT_NE(url->find(
              "&notify_url_address=https%3A%2F%2Fal.example.test%2F"
              "webhook%2Fpayments%2Ftranzila%3Fpayment%3D5%26token%3Dabc"),
            std::string::npos)
    << *url;
  EXPECT_NE(url->find("&orderId=5"), std::string::npos);
  // The description is encoded: no raw '&' or space sneaks in.
  auto pdesc = url->find("&pdesc=");
  ASSERT_NE(pdesc, std::string::npos);
  auto next = url->find('&', pdesc + 1);
  auto value = url->substr(pdesc + 7, next - pdesc - 7);
  EXPECT_EQ(value.find(' '), std::string::npos);
  EXPECT_NE(value.find("%26"), std::string::npos);
  auto round = parse_form(url->substr(url->find('?') + 1));
  ASSERT_TRUE(round);
  EXPECT_EQ(round->value_or("pdesc"), "דירה & חניה");
  EXPECT_EQ(round->value_or("notify_url_address"), in.notify_url);

  in.currency = "USD";
  EXPECT_NE(tranzila_pay_url(in)->find("&currency=2&"), std::string::npos);
  in.currency = "EUR";
  EXPECT_FALSE(tranzila_pay_url(in));
  in.currency = "ILS";
  in.terminal = "../evil?x=";
  auto evil = tranzila_pay_url(in);
  ASSERT_TRUE(evil);
  EXPECT_EQ(evil->rfind(
              "https://direct.tranzila.com/..%2Fevil%3Fx%3D/iframenew.php?", 0),
            0u)
    << *evil;
  in.terminal.clear();
  EXPECT_FALSE(tranzila_pay_url(in));
}

TEST(Tranzila, NotifyTargetCarriesAVerifiableToken) {
  auto t = tranzila_notify_target("key", 77);
  auto q = parse_form(t.substr(t.find('?') + 1));
  ASSERT_TRUE(q);
  EXPECT_EQ(t.rfind("/webhook/payments/tranzila?payment=77&token=", 0), 0u);
  auto token = q->value_or("token");
  EXPECT_TRUE(verify_tranzila_token("key", "77", token));
  EXPECT_FALSE(verify_tranzila_token("key", "78", token));
  EXPECT_FALSE(verify_tranzila_token("other", "77", token));
  EXPECT_FALSE(verify_tranzila_token("key", "77", ""));
  // A call token for the same subject is not a payment token.
  EXPECT_FALSE(
    verify_tranzila_token("key", "77", issue_call_token("key", "77")));
}

form_params form(std::vector<form_params::value_type> v) {
  return form_params{std::move(v)};
}

TEST(Tranzila, NotifyVerdicts) {
  struct row {
    const char* name;
    std::vector<form_params::value_type> fields;
    bool paid;
    const char* reason_has;
  };
  std::vector<row> rows{
    {"approved",
     {{"Response", "000"}, {"sum", "100.00"}, {"index", "9"}},
     true,
     ""},
    {"approved short sum", {{"Response", "000"}, {"sum", "100"}}, true, ""},
    {"approved with currency",
     {{"Response", "000"}, {"sum", "100"}, {"currency", "1"}},
     true,
     ""},
    {"wrong currency",
     {{"Response", "000"}, {"sum", "100"}, {"currency", "2"}},
     false,
     "currency"},
    {"declined", {{"Response", "033"}, {"sum", "100.00"}}, false, "033"},
    {"missing response", {{"sum", "100.00"}}, false, "Response"},
    {"wrong sum",
     {{"Response", "000"}, {"sum", "1.00"}},
     false,
     "sum mismatch"},
    {"sum a cent more",
     {{"Response", "000"}, {"sum", "100.01"}},
     false,
     "sum mismatch"},
    {"sum three decimals",
     {{"Response", "000"}, {"sum", "100.001"}},
     false,
     "sum mismatch"},
    {"sum exponent",
     {{"Response", "000"}, {"sum", "1e2"}},
     false,
     "sum mismatch"},
    {"missing sum", {{"Response", "000"}}, false, "sum mismatch"},
    {"response with spaces",
     {{"Response", " 000"}, {"sum", "100"}},
     false,
     "declined"},
  };
  for (auto& r : rows) {
    auto v = judge_tranzila_notify(form(r.fields), 10000, "ILS");
    EXPECT_EQ(v.paid, r.paid) << r.name;
    EXPECT_NE(v.reason.find(r.reason_has), std::string::npos)
      << r.name << ": " << v.reason;
  }
  auto v = judge_tranzila_notify(
    form({{"Response", "000"}, {"sum", "100"}, {"ConfirmationCode", "0123"}}),
    10000, "ILS");
  EXPECT_EQ(v.reference, "0123");
  EXPECT_EQ(v.code, "000");
}

TEST(PaymentConfig, ProviderTimeout) {
  auto with = [](std::string v) {
    return load_config([v](const std::string& k) -> std::optional<std::string> {
      if (k == "PAYMENT_PROVIDER_TIMEOUT_MS")
        return v;
      return std::nullopt;
    });
  };
  auto def = load_config([](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(std::holds_alternative<config>(def));
  EXPECT_EQ(std::get<config>(def).payment_timeout.count(), 5000);
  auto ok = with("250");
  ASSERT_TRUE(std::holds_alternative<config>(ok));
  EXPECT_EQ(std::get<config>(ok).payment_timeout.count(), 250);
  for (auto bad : {"0", "99", "60001", "abc", "-5"}) {
    auto r = with(bad);
    ASSERT_TRUE(std::holds_alternative<std::string>(r)) << bad;
    EXPECT_NE(std::get<std::string>(r).find("PAYMENT_PROVIDER_TIMEOUT_MS"),
              std::string::npos);
  }
}

TEST(Utf8, Prefix) {
  EXPECT_EQ(utf8_prefix("abc", 5), "abc");
  EXPECT_EQ(utf8_prefix("abc", 2), "ab");
  EXPECT_EQ(utf8_prefix("aש", 2), "a"); // would split the 2-byte letter
  EXPECT_EQ(utf8_prefix("aש", 3), "aש");
  EXPECT_EQ(utf8_prefix("", 0), "");
}

} // namespace
} // namespace al
