// core/wa_media and the media parts of core/whatsapp_wire: attachments of
// both providers' webhooks, the allow-list, file names and dispositions,
// Meta's media lookup, redirects, media_url, the opt-out words; hostile
// input never crashes and never yields something unsafe.
#include "core/wa_media.hpp"
#include "core/whatsapp_wire.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <random>
#include <string>

namespace al {
namespace {

// -- inbound attachments
// --------------------------------------------------------

TEST(WaMediaParse, TwilioMediaWithoutBody) {
  form_params f{std::vector<std::pair<std::string, std::string>>{
    {"MessageSid", "MM1"},
    {"From", "whatsapp:+972501234567"},
    {"To", "whatsapp:+14155238886"},
    {"NumMedia", "2"},
    {"MediaUrl0", "https://api.twilio.com/m/0"},
    {"MediaContentType0", "image/JPEG"},
    {"MediaUrl1", "https://api.twilio.com/m/1"},
    {"MediaContentType1", "audio/ogg; codecs=opus"}}};
  auto parsed = parse_twilio_inbound(f);
  ASSERT_TRUE(std::holds_alternative<wa_inbound>(parsed));
  auto& in = std::get<wa_inbound>(parsed);
  EXPECT_EQ(in.body, "");
  ASSERT_EQ(in.attachments.size(), 2u);
  EXPECT_EQ(in.attachments[0].source_ref, "https://api.twilio.com/m/0");
  EXPECT_EQ(in.attachments[0].content_type, "image/jpeg");
  EXPECT_EQ(in.attachments[1].content_type, "audio/ogg");
  EXPECT_EQ(in.media.size(), 2u);
}

TEST(WaMediaParse, TwilioAtMostTenAndGapsSkipped) {
  std::vector<std::pair<std::string, std::string>> v{
    {"MessageSid", "MM1"}, {"From", "whatsapp:+972501234567"}};
  for (int i = 0; i < 15; ++i)
    if (i != 3)
      v.emplace_back("MediaUrl" + std::to_string(i),
                     "https://x/" + std::to_string(i));
  v.emplace_back("MediaContentType0", std::string(500, 'a'));
  form_params f{v};
  auto in = std::get<wa_inbound>(parse_twilio_inbound(f));
  EXPECT_EQ(in.attachments.size(), 9u);          // 0..9 without 3
  EXPECT_EQ(in.attachments[0].content_type, ""); // absurd type dropped
}

TEST(WaMediaParse, MetaDocumentImageAudio) {
  auto body = R"({"object":"whatsapp_business_account","entry":[{"changes":[
    {"value":{"metadata":{"display_phone_number":"15550001111"},
    "messages":[
     {"from":"972501234567","id":"wamid.D","type":"document",
      "document":{"id":"111","mime_type":"application/pdf",
                  "filename":"../../etc/חוזה \"x\".pdf","caption":"the lease"}},
     {"from":"972501234567","id":"wamid.I","type":"image",
      "image":{"id":"222","mime_type":"image/jpeg"}},
     {"from":"972501234567","id":"wamid.A","type":"audio",
      "audio":{"id":"bad id/../x","mime_type":"audio/ogg; codecs=opus"}}
    ]}}]}]})";
  auto hook = std::get<meta_webhook>(parse_meta_webhook(body));
  ASSERT_EQ(hook.messages.size(), 3u);
  auto& d = hook.messages[0];
  EXPECT_EQ(d.body, "the lease");
  ASSERT_EQ(d.attachments.size(), 1u);
  EXPECT_EQ(d.attachments[0].source_ref, "111");
  EXPECT_EQ(d.attachments[0].content_type, "application/pdf");
  EXPECT_EQ(d.attachments[0].filename, "חוזה x.pdf");
  EXPECT_EQ(hook.messages[1].body, "");
  EXPECT_EQ(hook.messages[1].attachments.size(), 1u);
  // An id that is not Meta's shape is never looked up.
  EXPECT_TRUE(hook.messages[2].attachments.empty());
}

TEST(WaMediaParse, MetaHostileShapes) {
  for (
    auto body : {
      R"({"entry":[{"changes":[{"value":{"messages":[{"from":"972501234567","id":"w1","type":"image","image":"x"}]}}]}]})",
      R"({"entry":[{"changes":[{"value":{"messages":[{"from":"972501234567","id":"w1","type":"image","image":{"id":5}}]}}]}]})",
      R"({"entry":[{"changes":[{"value":{"messages":[{"from":"972501234567","id":"w1","type":"sticker","sticker":{"id":""}}]}}]}]})",
    }) {
    auto parsed = parse_meta_webhook(body);
    ASSERT_TRUE(std::holds_alternative<meta_webhook>(parsed)) << body;
    for (auto& m : std::get<meta_webhook>(parsed).messages)
      EXPECT_TRUE(m.attachments.empty()) << body;
  }
}

// -- types, names
// ---------------------------------------------------------------

TEST(WaMediaTypes, AllowList) {
  for (auto t :
       {"image/jpeg", "IMAGE/PNG", " image/webp ", "audio/ogg; codecs=opus",
        "audio/mpeg", "audio/amr", "audio/aac", "audio/mp4", "video/mp4",
        "application/pdf", "application/msword",
        "application/vnd.openxmlformats-officedocument."
        "wordprocessingml.document",
        "application/vnd.ms-excel"})
    EXPECT_TRUE(wa_media_type_allowed(t)) << t;
  for (auto t : {"", "text/html", "image/svg+xml", "application/javascript",
                 "application/octet-stream", "image/jpeg2", "image",
                 "text/html; image/jpeg", "application/x-msdownload"})
    EXPECT_FALSE(wa_media_type_allowed(t)) << t;
  EXPECT_TRUE(wa_media_inline("image/png"));
  EXPECT_TRUE(wa_media_inline("audio/ogg"));
  EXPECT_FALSE(wa_media_inline("application/pdf"));
  EXPECT_FALSE(wa_media_inline("video/mp4"));
  EXPECT_TRUE(wa_media_is_audio("Audio/AMR"));
  EXPECT_EQ(wa_media_audio_filename("audio/mpeg"), "voice.mp3");
  EXPECT_EQ(wa_media_audio_filename("audio/ogg"), "voice.ogg");
}

TEST(WaMediaTypes, FilenameAndDisposition) {
  EXPECT_EQ(wa_media_filename("C:\\x\\a.pdf"), "a.pdf");
  EXPECT_EQ(wa_media_filename("a\r\nSet-Cookie: x.pdf"), "aSet-Cookie: x.pdf");
  EXPECT_EQ(wa_media_filename("..."), "");
  EXPECT_EQ(wa_media_filename(std::string(300, 'a')).size(), 200u);
  EXPECT_EQ(wa_media_filename("a\xff\xfe.pdf"), "a.pdf");
  EXPECT_EQ(wa_media_disposition("", 2), "attachment; filename=\"media-2\"");
  EXPECT_EQ(wa_media_disposition("lease.pdf", 0),
            "attachment; filename=\"lease.pdf\"");
  auto d = wa_media_disposition("חוזה.pdf", 0);
  EXPECT_EQ(d, "attachment; filename=\"____.pdf\"; filename*=UTF-8''"
               "%D7%97%D7%95%D7%96%D7%94.pdf");
  auto q = wa_media_disposition("a\";b%.pdf", 0);
  EXPECT_EQ(q.find('\r'), std::string::npos);
  EXPECT_EQ(q.find("\";"), q.find("\"; filename*")); // no early quote end
}

// -- Meta lookup
// ----------------------------------------------------------------

TEST(WaMediaMeta, Lookup) {
  auto i = parse_meta_media_lookup(
    R"({"url":"https://lookaside.fbsbx.com/x?y=1","mime_type":"image/jpeg",)"
    R"("sha256":"ab","file_size":1234,"id":"1","messaging_product":"whatsapp"})");
  ASSERT_TRUE(i);
  EXPECT_EQ(i->url, "https://lookaside.fbsbx.com/x?y=1");
  EXPECT_EQ(i->mime_type, "image/jpeg");
  EXPECT_EQ(i->file_size, 1234);
  auto s = parse_meta_media_lookup(
    R"({"url":"http://127.0.0.1:9/x","file_size":"77"})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->file_size, 77);
  for (auto bad : {"", "[]", "{}", R"({"url":5})", R"({"url":"ftp://x/y"})",
                   R"({"url":"/relative"})", R"({"url":"https://a b/"})",
                   "{\"url\":\"https://x/\\u0000\"}"})
    EXPECT_FALSE(parse_meta_media_lookup(bad)) << bad;
}

// -- redirects and origins
// ------------------------------------------------------

TEST(WaMediaRedirect, ResolvesAndRefuses) {
  auto from = "https://api.twilio.com/2010-04-01/Accounts/AC/Media/ME";
  EXPECT_EQ(wa_media_redirect(from, "https://s3.amazonaws.com/x?sig=1"),
            "https://s3.amazonaws.com/x?sig=1");
  EXPECT_EQ(wa_media_redirect(from, "/other/path"),
            "https://api.twilio.com/other/path");
  EXPECT_EQ(wa_media_redirect("http://127.0.0.1:8080/a", "/b"),
            "http://127.0.0.1:8080/b");
  // Found by bench/fuzz/fuzz_wa_media: the scheme comes out in lower case.
  EXPECT_EQ(wa_media_redirect("Https://a.example/x", "/b"),
            "https://a.example/b");
  EXPECT_EQ(wa_media_redirect(from, "HTTPS://s3.example/k"),
            "https://s3.example/k");
  for (auto bad :
       {"", "//evil.example/x", "/\\evil", "relative/x", "javascript:alert(1)",
        "file:///etc/passwd", "https://a/\r\nX: y"})
    EXPECT_FALSE(wa_media_redirect(from, bad)) << bad;
  EXPECT_FALSE(wa_media_redirect(from, std::string(5000, 'a')));
}

TEST(WaMediaRedirect, SameOrigin) {
  EXPECT_TRUE(
    wa_same_origin("https://API.twilio.com/a", "https://api.twilio.com:443/b"));
  EXPECT_TRUE(wa_same_origin("http://127.0.0.1:80/a", "http://127.0.0.1/b"));
  EXPECT_FALSE(
    wa_same_origin("https://api.twilio.com/a", "http://api.twilio.com/a"));
  EXPECT_FALSE(wa_same_origin("http://127.0.0.1:1/a", "http://127.0.0.1:2/a"));
  EXPECT_FALSE(
    wa_same_origin("https://api.twilio.com/", "https://api.twilio.com.evil/"));
  EXPECT_FALSE(wa_same_origin("https://x/", "not a url"));
  // Boost.URL 1.81 reads this as host 127.0.0.1: not the same origin.
  EXPECT_FALSE(
    wa_same_origin("http://127.0.0.1/", "http://127.0.0.1.evil.example/"));
}

TEST(WaMediaUrl, OutboundMediaUrl) {
  EXPECT_EQ(wa_media_url_error("https://cdn.example.com/p/1.jpg"), "");
  EXPECT_EQ(wa_media_url_error("http://127.0.0.1:9/p.jpg"), "");
  EXPECT_EQ(wa_media_url_error("http://localhost/p.jpg"), "");
  EXPECT_NE(wa_media_url_error("http://cdn.example.com/p.jpg"), "");
  EXPECT_NE(wa_media_url_error("https://u:p@cdn.example.com/p.jpg"), "");
  EXPECT_NE(wa_media_url_error("ftp://x/y"), "");
  EXPECT_NE(wa_media_url_error("/p.jpg"), "");
  EXPECT_NE(wa_media_url_error("http://127.0.0.1.evil.example/"), "");
  EXPECT_NE(wa_media_url_error("https://x/" + std::string(2100, 'a')), "");
  EXPECT_TRUE(wa_media_url_is_document("https://x/a/B.PDF"));
  EXPECT_FALSE(wa_media_url_is_document("https://x/a.pdf.jpg"));
  EXPECT_FALSE(wa_media_url_is_document("https://x/a.jpg?f=x.pdf"));
}

TEST(WaMediaUrl, ProviderShapes) {
  twilio_credentials c{"AC1", "tok"};
  auto t = twilio_send_request("http://tw", c, "whatsapp:+1", "whatsapp:+2", "",
                               "", std::chrono::seconds(1), "https://x/p.jpg");
  auto form = parse_form(t.body);
  ASSERT_TRUE(form);
  EXPECT_EQ(form->value_or("MediaUrl"), "https://x/p.jpg");
  EXPECT_EQ(form->value_or("Body"), "");
  auto m = meta_media_send_request("http://meta", "10987", "tok",
                                   "+972501234567", "https://x/p.jpg", "דירה",
                                   std::chrono::seconds(1));
  auto v = boost::json::parse(m.body).as_object();
  EXPECT_EQ(v.at("type").as_string(), "image");
  EXPECT_EQ(v.at("image").at("link").as_string(), "https://x/p.jpg");
  EXPECT_EQ(v.at("image").at("caption").as_string(), "דירה");
  auto d = meta_media_send_request("http://meta", "10987", "tok",
                                   "+972501234567", "https://x/f/plan.pdf?a=1",
                                   "", std::chrono::seconds(1));
  auto w = boost::json::parse(d.body).as_object();
  EXPECT_EQ(w.at("type").as_string(), "document");
  EXPECT_EQ(w.at("document").at("filename").as_string(), "plan.pdf");
  EXPECT_FALSE(w.at("document").as_object().contains("caption"));
}

// -- opt-out
// --------------------------------------------------------------------

TEST(WaOptOut, Words) {
  for (auto yes : {"הסר", "הסרה", " הסר ", "הסר.", "הסר!!", "STOP", "stop",
                   "Stop!", "UNSUBSCRIBE", "unsubscribe.",
                   "\xE2\x80\x8F"
                   "הסר",
                   "הסר\xE2\x80\x8F", "\tSTOP\n", "\xC2\xA0stop?"})
    EXPECT_TRUE(wa_is_opt_out(yes)) << yes;
  for (auto no : {"", "הסר אותי", "stop it", "stopp", "אל תסיר", "!", "...",
                  "הסרר", "st op", "unsubscribed", "STOP STOP"})
    EXPECT_FALSE(wa_is_opt_out(no)) << no;
  EXPECT_FALSE(wa_is_opt_out(std::string(1000, ' ') + "stop"));
}

// -- hostile input: no crash, nothing unsafe out
// ---------------------------------

TEST(WaMediaHostile, RandomBytes) {
  std::mt19937 rng{12345};
  for (int i = 0; i < 3000; ++i) {
    std::string s(rng() % 80, '\0');
    for (auto& c : s)
      c = static_cast<char>(rng() % 256);
    (void)wa_is_opt_out(s);
    (void)wa_media_type_allowed(s);
    (void)parse_meta_media_lookup(s);
    (void)wa_same_origin(s, "https://x/");
    auto name = wa_media_filename(s);
    EXPECT_EQ(name.find_first_of("\r\n\"/\\"), std::string::npos);
    auto disp = wa_media_disposition(s, 1);
    EXPECT_EQ(disp.find_first_of("\r\n"), std::string::npos);
    if (auto r = wa_media_redirect("https://a.example/x", s)) {
      EXPECT_TRUE(r->rfind("http", 0) == 0) << *r;
    }
  }
}

} // namespace
} // namespace al
