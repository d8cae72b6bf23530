// WhatsApp webhooks against the real PostgreSQL: Twilio inbound and status
// callbacks, Meta Cloud API handshake, inbound messages and statuses.
#include "tests/whatsapp/wa_support.hpp"

#include "core/crypto.hpp"
#include "core/twilio_signature.hpp"

namespace al::test {
namespace {

using namespace std::chrono_literals;

TEST_F(whatsapp_test, inbound_signed_is_stored_before_204_with_lead) {
  start();
  auto r = twilio_webhook("/webhook/whatsapp/incoming",
                          {{"MessageSid", "SMin1"},
                           {"AccountSid", "ACtest"},
                           {"From", "whatsapp:+972501234567"},
                           {"To", "whatsapp:+14155238886"},
                           {"Body", "שלום, יש דירה?"},
                           {"NumMedia", "2"},
                           {"MediaUrl0", "https://api.twilio.com/media/ME1"},
                           {"MediaContentType0", "image/jpeg"},
                           {"MediaUrl1", "https://api.twilio.com/media/ME2"},
                           {"ProfileName", "דנה כהן"},
                           {"WaId", "972501234567"}});
  ASSERT_EQ(r.status, 204) << r.body;
  // Persisted before the answer: no waiting here.
  EXPECT_EQ(sql("SELECT count(*) FROM messages"), "1");
  EXPECT_EQ(sql("SELECT direction || ' ' || provider || ' ' || status || ' '"
                " || business_id FROM messages WHERE provider_sid = 'SMin1'"),
            "in twilio received 1");
  EXPECT_EQ(sql("SELECT body FROM messages"), "שלום, יש דירה?");
  EXPECT_EQ(sql("SELECT from_address || ' ' || to_address FROM messages"),
            "whatsapp:+972501234567 whatsapp:+14155238886");
  EXPECT_EQ(
    sql("SELECT array_to_string(media_urls, ',') FROM messages"),
    "https://api.twilio.com/media/ME1,https://api.twilio.com/media/ME2");
  EXPECT_EQ(sql("SELECT name || '|' || source || '|' || phone FROM leads"),
            "דנה כהן|whatsapp|+972501234567");
  EXPECT_EQ(sql("SELECT count(*) FROM messages m JOIN leads l"
                " ON l.id = m.lead_id AND l.business_id = m.business_id"),
            "1");
  // The default business has no working hours: no automatic reply.
  EXPECT_TRUE(twilio_.messages().empty());
}

TEST_F(whatsapp_test, inbound_updates_existing_lead_keeping_its_name) {
  start();
  ASSERT_EQ(inbound("SMa", "+972501234567", "one").status, 204);
  sql("UPDATE leads SET name = 'Known Name', source = 'call'");
  ASSERT_EQ(inbound("SMb", "+972501234567", "two").status, 204);
  EXPECT_EQ(sql("SELECT count(*) FROM leads"), "1");
  EXPECT_EQ(sql("SELECT name || '|' || source FROM leads"), "Known Name|call");
  EXPECT_EQ(sql("SELECT count(DISTINCT lead_id) FROM messages"), "1");
  // An empty name is filled from the profile name.
  sql("UPDATE leads SET name = ''");
  ASSERT_EQ(inbound("SMc", "+972501234567", "three").status, 204);
  EXPECT_EQ(sql("SELECT name FROM leads"), "Dana");
}

TEST_F(whatsapp_test, inbound_unsigned_or_badly_signed_is_403) {
  start();
  std::vector<std::pair<std::string, std::string>> params{
    {"MessageSid", "SMx"},
    {"From", "whatsapp:+972501234567"},
    {"To", "whatsapp:+14155238886"},
    {"Body", "hi"}};
  // No signature at all.
  auto r = http_call(port(), "POST", "/webhook/whatsapp/incoming",
                     encode_form(params),
                     {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(r.status, 403);
  // Wrong token.
  EXPECT_EQ(
    inbound("SMx", "+972501234567", "hi", "+14155238886", "nope").status, 403);
  // Signed for another URL.
  auto sig = twilio_signature("test-auth-token",
                              "https://al.example.test/webhook/other",
                              form_params{params});
  r = http_call(port(), "POST", "/webhook/whatsapp/incoming",
                encode_form(params),
                {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"X-Twilio-Signature", sig}});
  EXPECT_EQ(r.status, 403);
  // Signed, then a parameter changed.
  auto good = twilio_signature(
    "test-auth-token", "https://al.example.test/webhook/whatsapp/incoming",
    form_params{params});
  auto tampered = params;
  tampered[3].second = "tampered";
  r = http_call(port(), "POST", "/webhook/whatsapp/incoming",
                encode_form(tampered),
                {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"X-Twilio-Signature", good}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(sql("SELECT count(*) FROM messages"), "0");
  EXPECT_EQ(sql("SELECT count(*) FROM leads"), "0");
}

TEST_F(whatsapp_test, inbound_duplicate_is_stored_once) {
  start();
  EXPECT_EQ(inbound("SMdup", "+972501234567", "hello").status, 204);
  EXPECT_EQ(inbound("SMdup", "+972501234567", "hello").status, 204);
  EXPECT_EQ(sql("SELECT count(*) FROM messages"), "1");
  EXPECT_EQ(sql("SELECT count(*) FROM leads"), "1");
  EXPECT_EQ(sql("SELECT count(*) FROM lead_history"), "1");
}

TEST_F(whatsapp_test, inbound_malformed_is_400_and_stores_nothing) {
  start();
  // Signed, but no MessageSid.
  auto r = twilio_webhook("/webhook/whatsapp/incoming",
                          {{"From", "whatsapp:+972501234567"}, {"Body", "x"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("MessageSid"), std::string::npos) << r.body;
  // Signed, sender not a phone address.
  r = twilio_webhook("/webhook/whatsapp/incoming",
                     {{"MessageSid", "SM1"}, {"From", "whatsapp:someone"}});
  EXPECT_EQ(r.status, 400) << r.body;
  // Not a form body at all.
  r = http_call(port(), "POST", "/webhook/whatsapp/incoming", "a=%zz&b",
                {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"X-Twilio-Signature", "abc"}});
  EXPECT_EQ(r.status, 400);
  // Hostile but signed text is stored verbatim (NUL dropped).
  r = twilio_webhook(
    "/webhook/whatsapp/incoming",
    {{"MessageSid", "SM2"},
     {"From", "whatsapp:+972501234567"},
     {"Body", std::string("'); DROP TABLE messages; --\0!", 29)}});
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(sql("SELECT body FROM messages"), "'); DROP TABLE messages; --!");
  EXPECT_EQ(sql("SELECT count(*) FROM messages"), "1");
}

TEST_F(whatsapp_test, inbound_business_by_to_number_with_its_own_token) {
  start();
  auto biz = new_business(
    R"({"name":"Agency","phone_numbers":["+97231234567"],)"
    R"("twilio":{"account_sid":"ACagency","auth_token":"agency-token"}})");
  ASSERT_GT(biz, 1);
  // Signed with the global token: not the business's, refused.
  EXPECT_EQ(inbound("SMg", "+972501234567", "hi", "+97231234567",
                    "test-auth-token")
              .status,
            403);
  ASSERT_EQ(inbound("SMb", "+972501234567", "hi", "+97231234567",
                    "agency-token")
              .status,
            204);
  EXPECT_EQ(sql("SELECT business_id FROM messages WHERE provider_sid = 'SMb'"),
            std::to_string(biz));
  EXPECT_EQ(sql("SELECT business_id FROM leads"), std::to_string(biz));
  // An unclaimed number goes to the default business (global token).
  ASSERT_EQ(inbound("SMd", "+972501234567", "hi", "+15550001111").status, 204);
  EXPECT_EQ(sql("SELECT business_id FROM messages WHERE provider_sid = 'SMd'"),
            "1");
  EXPECT_EQ(sql("SELECT count(*) FROM leads"), "2"); // one per business
}

TEST_F(whatsapp_test, status_moves_forward_only_and_keeps_error_code) {
  start();
  open_window("+972501234567"); // it wrote: inside the 24-hour window
  auto a = send(R"({"to":"+972501234567","text":"one"})");
  auto b = send(R"({"to":"+972501234567","text":"two"})");
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(b.status, 200) << b.body;
  auto sid_a = a.str("sid"), sid_b = b.str("sid");
  auto status_of = [&](const std::string& sid) {
    return sql("SELECT status || '|' || coalesce(error_code, '')"
               " FROM messages WHERE provider_sid = '"
               + sid + "'");
  };
  auto callback = [&](const std::string& sid, const std::string& status,
                      const std::string& code = {}) {
    std::vector<std::pair<std::string, std::string>> p{
      {"MessageSid", sid},
      {"MessageStatus", status},
      {"From", "whatsapp:+14155238886"},
      {"To", "whatsapp:+972501234567"},
      {"AccountSid", "ACtest"}};
    if (!code.empty())
      p.emplace_back("ErrorCode", code);
    return twilio_webhook("/webhook/whatsapp/status", p).status;
  };
  EXPECT_EQ(status_of(sid_a), "sent|");
  EXPECT_EQ(callback(sid_a, "delivered"), 204);
  EXPECT_EQ(status_of(sid_a), "delivered|");
  EXPECT_EQ(callback(sid_a, "sent"), 204); // late, out of order
  EXPECT_EQ(status_of(sid_a), "delivered|");
  EXPECT_EQ(callback(sid_a, "read"), 204);
  EXPECT_EQ(status_of(sid_a), "read|");
  EXPECT_EQ(callback(sid_a, "failed", "30008"), 204);
  EXPECT_EQ(status_of(sid_a), "read|");
  EXPECT_EQ(callback(sid_a, "queued"), 204);
  EXPECT_EQ(status_of(sid_a), "read|");

  EXPECT_EQ(callback(sid_b, "undelivered", "30006"), 204);
  EXPECT_EQ(status_of(sid_b), "undelivered|30006");
  EXPECT_EQ(callback(sid_b, "delivered"), 204); // failures are final
  EXPECT_EQ(status_of(sid_b), "undelivered|30006");

  // Unknown sid: accepted (Twilio must not retry), nothing changes.
  EXPECT_EQ(callback("SMunknown", "delivered"), 204);
  // Unsigned / malformed.
  auto r = http_call(port(), "POST", "/webhook/whatsapp/status",
                     "MessageSid=" + sid_b + "&MessageStatus=read",
                     {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(
    twilio_webhook("/webhook/whatsapp/status", {{"MessageSid", sid_b}}).status,
    400);
  EXPECT_EQ(status_of(sid_b), "undelivered|30006");
}

// -- Meta Cloud API
// ----------------------------------------------------------------

http_result meta_post(std::uint16_t port, const std::string& body,
                      const std::string& secret = "meta-secret") {
  auto sig = "sha256=" + crypto::to_hex(crypto::hmac_sha256(secret, body));
  return http_call(port, "POST", "/webhook/whatsapp/meta", body,
                   {{"Content-Type", "application/json"},
                    {"X-Hub-Signature-256", sig}});
}

std::string meta_message(const std::string& id, const std::string& text) {
  return R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{)"
         R"("field":"messages","value":{"messaging_product":"whatsapp",)"
         R"("metadata":{"display_phone_number":"97231234567","phone_number_id":"10987"},)"
         R"("contacts":[{"profile":{"name":"Meta Person"},"wa_id":"972521112233"}],)"
         R"("messages":[{"from":"972521112233","id":")"
         + id + R"(","timestamp":"1749416383","type":"text","text":{"body":")"
         + text + R"("}}]}}]}]})";
}

std::string meta_status(const std::string& id, const std::string& status) {
  return R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{)"
         R"("field":"messages","value":{"messaging_product":"whatsapp",)"
         R"("metadata":{"display_phone_number":"15550000000","phone_number_id":"10987"},)"
         R"("statuses":[{"id":")"
         + id + R"(","status":")" + status
         + R"(","timestamp":"1750263773","recipient_id":"972501234567",)"
           R"("errors":[{"code":131049,"title":"Not delivered"}]}]}}]}]})";
}

TEST_F(whatsapp_test, meta_verify_handshake) {
  start();
  auto r = http_call(port(), "GET",
                     "/webhook/whatsapp/meta?hub.mode=subscribe"
                     "&hub.verify_token=verify-me&hub.challenge=1158201444");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "1158201444");
  r = http_call(port(), "GET",
                "/webhook/whatsapp/meta?hub.mode=subscribe"
                "&hub.verify_token=wrong&hub.challenge=1158201444");
  EXPECT_EQ(r.status, 403);
  r = http_call(port(), "GET", "/webhook/whatsapp/meta");
  EXPECT_EQ(r.status, 403);
}

TEST_F(whatsapp_test, meta_inbound_signed_stored_once_with_business_and_lead) {
  start();
  auto biz = new_business(
    R"({"name":"Meta Agency","phone_numbers":["+97231234567"]})");
  auto body = meta_message("wamid.IN1", "hello from meta");
  auto r = meta_post(port(), body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(sql("SELECT provider || '|' || direction || '|' || body || '|'"
                " || business_id FROM messages"),
            "meta|in|hello from meta|" + std::to_string(biz));
  EXPECT_EQ(sql("SELECT name || '|' || phone || '|' || source FROM leads"),
            "Meta Person|+972521112233|whatsapp");
  EXPECT_EQ(meta_post(port(), body).status, 200); // redelivery
  EXPECT_EQ(sql("SELECT count(*) FROM messages"), "1");
  // Bad signature, wrong secret, no signature: 403; signed garbage: 400.
  EXPECT_EQ(meta_post(port(), meta_message("wamid.IN2", "x"), "other").status,
            403);
  EXPECT_EQ(http_call(port(), "POST", "/webhook/whatsapp/meta",
                      meta_message("wamid.IN3", "x"),
                      {{"Content-Type", "application/json"}})
              .status,
            403);
  EXPECT_EQ(meta_post(port(), "{not json").status, 400);
  EXPECT_EQ(meta_post(port(), "[1,2]").status, 400);
  EXPECT_EQ(sql("SELECT count(*) FROM messages"), "1");
}

TEST_F(whatsapp_test, meta_statuses_map_to_the_same_rows) {
  start();
  open_window("+972501234567"); // it wrote: inside the 24-hour window
  auto a
    = send(R"({"to":"+972501234567","text":"via meta","provider":"meta"})");
  ASSERT_EQ(a.status, 200) << a.body;
  auto wamid = a.str("sid");
  ASSERT_EQ(wamid.rfind("wamid.", 0), 0u) << a.body;
  ASSERT_EQ(meta_post(port(), meta_status(wamid, "delivered")).status, 200);
  EXPECT_EQ(
    sql("SELECT status FROM messages WHERE provider_sid = '" + wamid + "'"),
    "delivered");
  ASSERT_EQ(meta_post(port(), meta_status(wamid, "sent")).status, 200);
  EXPECT_EQ(
    sql("SELECT status FROM messages WHERE provider_sid = '" + wamid + "'"),
    "delivered");
  ASSERT_EQ(meta_post(port(), meta_status(wamid, "read")).status, 200);
  EXPECT_EQ(
    sql("SELECT status FROM messages WHERE provider_sid = '" + wamid + "'"),
    "read");
  // A failure report for a message still "sent" keeps its error code.
  auto b = send(R"({"to":"+972501234567","text":"again","provider":"meta"})");
  ASSERT_EQ(b.status, 200) << b.body;
  ASSERT_EQ(meta_post(port(), meta_status(b.str("sid"), "failed")).status, 200);
  EXPECT_EQ(
    sql("SELECT status || '|' || error_code || '|' || error FROM messages"
        " WHERE provider_sid = '"
        + b.str("sid") + "'"),
    "failed|131049|Not delivered");
}

} // namespace
} // namespace al::test
