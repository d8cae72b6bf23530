// WhatsApp media and the opt-out word, end to end against the real
// database: inbound attachments of both providers are stored pending,
// fetched in the background from fake providers (Twilio's Basic auth and
// redirect to its storage, Meta's lookup and download), served back byte
// for byte, refused over the cap or outside the allow-list, retried after
// a provider error, transcribed when they are voice notes; outbound
// media_url in both providers' shapes; הסר / STOP on the do-not-contact
// list.
#include "tests/whatsapp/wa_support.hpp"

#include "core/crypto.hpp"

#include <boost/beast/http.hpp>

#include <atomic>
#include <mutex>

namespace al::test {
namespace {

const std::string jpeg_bytes = std::string("\xFF\xD8\xFF\xE0", 4)
                               + std::string("JFIF\0binary\r\n\x01\x02", 16)
                               + std::string(3000, '\x7f');
const std::string ogg_bytes = "OggS" + std::string(500, '\x03');
const std::string pdf_bytes = "%PDF-1.4\n" + std::string(700, 'p');

http_result meta_post(std::uint16_t port, const std::string& body) {
  auto sig = "sha256="
             + crypto::to_hex(crypto::hmac_sha256("meta-secret", body));
  return http_call(port, "POST", "/webhook/whatsapp/meta", body,
                   {{"Content-Type", "application/json"},
                    {"X-Hub-Signature-256", sig}});
}

/// Twilio's media endpoint and its storage (two servers: two origins).
/// /media/<name> wants Basic auth and redirects to storage /blob/<name>;
/// /direct/<name> answers the bytes itself; /flaky answers 503 once.
struct fake_twilio_media {
  fake_twilio_media()
    : storage([this](const fake_http_server::request& req) {
      return blob(req, std::string{req.target()}.substr(6));
    })
    , api([this](const fake_http_server::request& req) {
      auto target = std::string{req.target()};
      auto auth = std::string{req[http::field::authorization]};
      if (auth != "Basic " + crypto::base64_encode("ACtest:test-auth-token"))
        return fake_http_server::reply(http::status::unauthorized,
                                       R"({"code":20003})");
      if (target.rfind("/media/", 0) == 0) {
        auto res = fake_http_server::reply(http::status::temporary_redirect);
        res.set(http::field::location,
                storage.base_url() + "/blob/" + target.substr(7));
        return res;
      }
      if (target == "/flaky" && flaky_failures.fetch_add(1) < 1)
        return fake_http_server::reply(http::status::service_unavailable,
                                       "<html>busy</html>", "text/html");
      if (target == "/flaky")
        return blob(req, "jpeg");
      return blob(req, target.substr(8)); // /direct/<name>
    }) {}

  fake_http_server::response blob(const fake_http_server::request&,
                                  const std::string& name) {
    if (name == "jpeg")
      return fake_http_server::reply(http::status::ok, jpeg_bytes,
                                     "image/jpeg");
    if (name == "ogg")
      return fake_http_server::reply(http::status::ok, ogg_bytes, "audio/ogg");
    if (name == "html")
      return fake_http_server::reply(http::status::ok, "<script>x</script>",
                                     "text/html");
    if (name == "big")
      return fake_http_server::reply(http::status::ok,
                                     std::string(200 * 1024, 'b'), "image/png");
    return fake_http_server::reply(http::status::not_found);
  }

  std::atomic<int> flaky_failures{0};
  fake_http_server storage;
  fake_http_server api;
};

/// Meta's Cloud API: the media lookup, the download (both with the bearer
/// token) and the messages endpoint for sends (bodies recorded).
struct fake_meta_media {
  fake_meta_media()
    : server([this](const fake_http_server::request& req) {
      auto target = std::string{req.target()};
      if (std::string{req[http::field::authorization]} != "Bearer meta-token")
        return fake_http_server::reply(http::status::unauthorized,
                                       R"({"error":{"code":190}})");
      if (req.method() == http::verb::post) {
        {
          std::lock_guard<std::mutex> lock{mtx};
          sends.push_back(req.body());
        }
        return fake_http_server::reply(
          http::status::ok, R"({"messaging_product":"whatsapp",)"
                            R"("messages":[{"id":"wamid.OUT)"
                              + std::to_string(++next_id) + R"("}]})");
      }
      if (target == "/777")
        return fake_http_server::reply(
          http::status::ok,
          R"({"url":")" + server.base_url()
            + R"(/download/777","mime_type":"application/pdf",)"
              R"("sha256":"x","file_size":709,"id":"777",)"
              R"("messaging_product":"whatsapp"})");
      if (target == "/888") // declared far over the cap
        return fake_http_server::reply(
          http::status::ok, R"({"url":")" + server.base_url()
                              + R"(/download/777","mime_type":"video/mp4",)"
                                R"("file_size":999999999,"id":"888"})");
      if (target == "/download/777")
        return fake_http_server::reply(http::status::ok, pdf_bytes,
                                       "application/pdf");
      return fake_http_server::reply(http::status::not_found);
    }) {}

  std::vector<std::string> sent() {
    std::lock_guard<std::mutex> lock{mtx};
    return sends;
  }

  std::mutex mtx;
  std::vector<std::string> sends;
  std::atomic<int> next_id{0};
  fake_http_server server;
};

/// An OpenAI-compatible /audio/transcriptions.
struct fake_stt {
  fake_stt()
    : server([](const fake_http_server::request& req) {
      if (std::string{req.target()} != "/v1/audio/transcriptions"
          || std::string{req.body()}.find("OggS") == std::string::npos)
        return fake_http_server::reply(http::status::bad_request);
      return fake_http_server::reply(http::status::ok,
                                     R"({"text":"אני מחפש דירה"})");
    }) {}
  fake_http_server server;
};

class media_test : public whatsapp_test {
protected:
  void SetUp() override {
    auto c = wa_config();
    c.meta_api_base = meta.server.base_url();
    c.stt_api_base = stt.server.base_url() + "/v1";
    c.stt_api_key = "stt-key";
    c.wa_media_max_bytes = 64 * 1024;
    c.wa_media_poll = std::chrono::milliseconds(200);
    c.wa_media_retry_base = std::chrono::milliseconds(20);
    start(c);
  }

  /// A signed Twilio inbound message carrying `urls` (with types).
  http_result
  twilio_media(const std::string& sid,
               const std::vector<std::pair<std::string, std::string>>& urls,
               const std::string& body = "",
               const std::string& from = "+972501234567") {
    std::vector<std::pair<std::string, std::string>> p{
      {"MessageSid", sid},
      {"AccountSid", "ACtest"},
      {"From", "whatsapp:" + from},
      {"To", "whatsapp:+14155238886"},
      {"Body", body},
      {"NumMedia", std::to_string(urls.size())}};
    for (std::size_t i = 0; i < urls.size(); ++i) {
      p.emplace_back("MediaUrl" + std::to_string(i), urls[i].first);
      p.emplace_back("MediaContentType" + std::to_string(i), urls[i].second);
    }
    return twilio_webhook("/webhook/whatsapp/incoming", p);
  }

  std::string message_id(const std::string& sid) {
    return sql("SELECT id FROM messages WHERE provider_sid = '" + sid + "'");
  }

  /// The item's status once it is no longer pending ("" on timeout).
  std::string settled(const std::string& message, int idx = 0) {
    std::string status;
    eventually(
      [&] {
        status = sql("SELECT status FROM message_media WHERE message_id = "
                     + message + " AND idx = " + std::to_string(idx));
        return !status.empty() && status != "pending";
      },
      std::chrono::seconds(10));
    return status;
  }

  http_result get_media(const std::string& message, int idx,
                        const std::string& token = "test-admin") {
    return http_call(port(), "GET",
                     "/api/crm/messages/" + message + "/media/"
                       + std::to_string(idx),
                     {}, {{"Authorization", "Bearer " + token}});
  }

  fake_twilio_media media;
  fake_meta_media meta;
  fake_stt stt;
};

// -- inbound
// --------------------------------------------------------------------

TEST_F(media_test, TwilioImageIsStoredAndServedByteExact) {
  auto r = twilio_media("MMimg1",
                        {{media.api.base_url() + "/media/jpeg", "image/jpeg"}});
  ASSERT_EQ(r.status, 204) << r.body;
  auto id = message_id("MMimg1");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(sql("SELECT body FROM messages WHERE id = " + id), "");
  ASSERT_EQ(settled(id), "stored");
  auto got = get_media(id, 0);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, jpeg_bytes);
  EXPECT_EQ(got.header("content-type"), "image/jpeg");
  EXPECT_EQ(got.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(got.header("content-disposition"), "");
  EXPECT_NE(got.header("cache-control").find("private"), std::string::npos);
  // The redirect went to the storage host without the account's Basic auth.
  auto reqs = media.storage.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_TRUE(reqs[0][http::field::authorization].empty());
  // The lead's messages list the item.
  auto lead = sql("SELECT lead_id FROM messages WHERE id = " + id);
  auto list = api("GET", "/api/crm/leads/" + lead + "/messages", "test-admin");
  ASSERT_EQ(list.status, 200) << list.body;
  auto& item = list.obj().at("items").as_array().at(0).as_object();
  auto& m = item.at("media").as_array().at(0).as_object();
  EXPECT_EQ(m.at("idx").as_int64(), 0);
  EXPECT_EQ(m.at("status").as_string(), "stored");
  EXPECT_EQ(m.at("content_type").as_string(), "image/jpeg");
  EXPECT_EQ(m.at("size").as_int64(),
            static_cast<std::int64_t>(jpeg_bytes.size()));
  EXPECT_TRUE(m.at("transcript").is_null());
  EXPECT_EQ(m.at("url").as_string(), "/api/crm/messages/" + id + "/media/0");
}

TEST_F(media_test, MetaDocumentIsStoredAndServedAsAttachment) {
  auto body = std::string{
    R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{)"
    R"("field":"messages","value":{"messaging_product":"whatsapp",)"
    R"("metadata":{"display_phone_number":"15550001111","phone_number_id":"10987"},)"
    R"("contacts":[{"profile":{"name":"Dana"},"wa_id":"972501234567"}],)"
    R"("messages":[{"from":"972501234567","id":"wamid.DOC1",)"
    R"("timestamp":"1700000000","type":"document","document":{"id":"777",)"
    R"("mime_type":"application/pdf","filename":"חוזה.pdf",)"
    R"("caption":"the lease"}}]}}]}]})"};
  ASSERT_EQ(meta_post(port(), body).status, 200);
  auto id = message_id("wamid.DOC1");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(sql("SELECT body FROM messages WHERE id = " + id), "the lease");
  ASSERT_EQ(settled(id), "stored");
  auto got = get_media(id, 0);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, pdf_bytes);
  EXPECT_EQ(got.header("content-type"), "application/pdf");
  EXPECT_NE(got.header("content-disposition").find("attachment"),
            std::string::npos);
  EXPECT_NE(got.header("content-disposition").find("%D7%97"),
            std::string::npos);
}

TEST_F(media_test, OverCapAndDisallowedTypesAreRejected) {
  ASSERT_EQ(twilio_media("MMrej1",
                         {{media.api.base_url() + "/direct/big", "image/png"},
                          {media.api.base_url() + "/direct/html", "text/html"}})
              .status,
            204);
  auto id = message_id("MMrej1");
  EXPECT_EQ(settled(id, 0), "rejected");
  EXPECT_EQ(settled(id, 1), "rejected");
  EXPECT_NE(sql("SELECT error FROM message_media WHERE message_id = " + id
                + " AND idx = 1")
              .find("text/html"),
            std::string::npos);
  auto got = get_media(id, 1);
  EXPECT_EQ(got.status, 404);
  EXPECT_NE(got.body.find("rejected"), std::string::npos);
  EXPECT_EQ(sql("SELECT count(*) FROM message_media WHERE bytes IS NOT NULL"
                " AND message_id = "
                + id),
            "0");
  // Meta: the lookup declares a size over the cap; nothing downloaded.
  auto body = std::string{
    R"({"entry":[{"changes":[{"value":{"metadata":{"display_phone_number":"15550001111"},)"
    R"("messages":[{"from":"972501234567","id":"wamid.VID1","type":"video",)"
    R"("video":{"id":"888","mime_type":"video/mp4"}}]}}]}]})"};
  ASSERT_EQ(meta_post(port(), body).status, 200);
  EXPECT_EQ(settled(message_id("wamid.VID1")), "rejected");
}

TEST_F(media_test, ProviderErrorIsRetriedThenStored) {
  ASSERT_EQ(twilio_media("MMflaky",
                         {{media.api.base_url() + "/flaky", "image/jpeg"}},
                         "with a caption")
              .status,
            204);
  auto id = message_id("MMflaky");
  ASSERT_EQ(settled(id), "stored");
  EXPECT_EQ(sql("SELECT attempts FROM message_media WHERE message_id = " + id),
            "2");
  EXPECT_EQ(get_media(id, 0).body, jpeg_bytes);
}

TEST_F(media_test, PendingMediaAnswers404) {
  // A URL nobody serves quickly enough: the row stays pending meanwhile.
  auto r = twilio_media("MMpend", {{"https://192.0.2.1/never", "image/jpeg"}});
  ASSERT_EQ(r.status, 204);
  auto id = message_id("MMpend");
  // Pending or failed by now: never a 200, never a 500.
  auto got = get_media(id, 0);
  EXPECT_EQ(got.status, 404);
  EXPECT_EQ(get_media(id, 5).status, 404);
  EXPECT_EQ(get_media("abc", 0).status, 404);
}

TEST_F(media_test, VoiceNoteIsTranscribed) {
  ASSERT_EQ(twilio_media("MMvoice",
                         {{media.api.base_url() + "/direct/ogg", "audio/ogg"}})
              .status,
            204);
  auto id = message_id("MMvoice");
  ASSERT_EQ(settled(id), "stored");
  EXPECT_EQ(
    sql("SELECT transcript FROM message_media WHERE message_id = " + id),
    "אני מחפש דירה");
  auto got = get_media(id, 0);
  EXPECT_EQ(got.body, ogg_bytes);
  EXPECT_EQ(got.header("content-type"), "audio/ogg");
}

TEST_F(media_test, AnotherBusinessGets404) {
  ASSERT_EQ(twilio_media("MMcross", {{media.api.base_url() + "/direct/jpeg",
                                      "image/jpeg"}})
              .status,
            204);
  auto id = message_id("MMcross");
  ASSERT_EQ(settled(id), "stored");
  auto other = new_business(R"({"name":"Other office"})");
  auto token = new_token(other, "owner");
  auto got = get_media(id, 0, token);
  EXPECT_EQ(got.status, 404);
  EXPECT_EQ(got.body.find("JFIF"), std::string::npos);
  EXPECT_EQ(get_media(id, 0, new_token(1, "agent")).status, 200);
}

// -- outbound
// -------------------------------------------------------------------

TEST_F(media_test, OutboundMediaUrlThroughBothProviders) {
  open_window("+972501234567");
  auto r = send(R"({"to":"+972501234567","message":"דירת 4 חדרים",)"
                R"("media_url":"https://cdn.example.com/listings/1.jpg"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto forms = twilio_.messages();
  ASSERT_EQ(forms.size(), 1u);
  EXPECT_EQ(forms[0].value_or("MediaUrl"),
            "https://cdn.example.com/listings/1.jpg");
  EXPECT_EQ(forms[0].value_or("Body"), "דירת 4 חדרים");
  EXPECT_EQ(sql("SELECT media_url FROM messages WHERE id = "
                + std::to_string(r.num("message_id"))),
            "https://cdn.example.com/listings/1.jpg");
  // Meta: a PDF goes as a document, with the text as its caption.
  auto m = send(R"({"to":"+972501234567","provider":"meta",)"
                R"("media_url":"https://cdn.example.com/plans/a.pdf"})");
  ASSERT_EQ(m.status, 200) << m.body;
  auto sent = meta.sent();
  ASSERT_EQ(sent.size(), 1u);
  auto v = json::parse(sent[0]).as_object();
  EXPECT_EQ(v.at("type").as_string(), "document");
  EXPECT_EQ(v.at("document").at("link").as_string(),
            "https://cdn.example.com/plans/a.pdf");
  auto i = send(R"({"to":"+972501234567","provider":"meta","message":"x",)"
                R"("media_url":"https://cdn.example.com/p.jpg"})");
  ASSERT_EQ(i.status, 200) << i.body;
  auto w = json::parse(meta.sent().at(1)).as_object();
  EXPECT_EQ(w.at("type").as_string(), "image");
  EXPECT_EQ(w.at("image").at("caption").as_string(), "x");
  // Refused before any provider call.
  for (auto bad :
       {R"({"to":"+972501234567","media_url":"http://evil.example/x.jpg"})",
        R"({"to":"+972501234567","media_url":5})",
        R"x({"to":"+972501234567","media_url":"javascript:alert(1)"})x"}) {
    auto b = send(bad);
    EXPECT_EQ(b.status, 400) << bad;
    EXPECT_FALSE(b.str("error").empty());
  }
  EXPECT_EQ(twilio_.messages().size(), 1u);
}

// -- opt-out
// --------------------------------------------------------------------

TEST_F(media_test, OptOutWordsAddToTheList) {
  ASSERT_EQ(inbound("SMopt1", "+972501110001", " הסר! ").status, 204);
  auto list = api("GET", "/api/crm/dnc", "test-admin");
  ASSERT_EQ(list.status, 200) << list.body;
  auto& items = list.obj().at("items").as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].at("phone").as_string(), "+972501110001");
  EXPECT_EQ(items[0].at("source").as_string(), "whatsapp");
  // STOP twice: the first adds (newly), the second finds it (again); the
  // list keeps one entry with its first time.
  ASSERT_EQ(inbound("SMopt2", "+972501110002", "STOP").status, 204);
  auto first = sql("SELECT created_at FROM dnc WHERE phone = '+972501110002'");
  ASSERT_FALSE(first.empty());
  ASSERT_EQ(inbound("SMopt3", "+972501110002", "stop.").status, 204);
  EXPECT_EQ(sql("SELECT count(*) FROM dnc WHERE phone = '+972501110002'"), "1");
  EXPECT_EQ(sql("SELECT created_at FROM dnc WHERE phone = '+972501110002'"),
            first);
  // Not an opt-out.
  ASSERT_EQ(
    inbound("SMopt4", "+972501110003", "stop calling me at night").status, 204);
  EXPECT_EQ(sql("SELECT count(*) FROM dnc WHERE phone = '+972501110003'"), "0");
  // A follow-up template to a number on the list is refused.
  auto t = api("POST", "/api/crm/whatsapp/templates", "test-admin",
               R"({"name":"follow1","purpose":"follow_up",)"
               R"("meta_name":"follow1","body":"שלום {{1}}"})");
  ASSERT_EQ(t.status, 201) << t.body;
  auto refused = send(
    R"({"to":"+972501110002","provider":"meta",)"
    R"("template":{"name":"follow1","variables":{"1":"x"}}})");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(refused.str("error"), "The number opted out");
  EXPECT_TRUE(meta.sent().empty());
}

} // namespace
} // namespace al::test
