#include "core/twilio_signature.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "core/crypto.hpp"

namespace al {
namespace {

// Twilio's published example (docs "Webhooks security").
const char* const doc_url = "https://mycompany.com/myapp.php?foo=1&bar=2";
form_params doc_params() {
  return form_params{{{"CallSid", "CA1234567890ABCDE"},
                      {"Caller", "+12349013030"},
                      {"Digits", "1234"},
                      {"From", "+12349013030"},
                      {"To", "+18005551212"}}};
}

// twilio-python tests/unit/test_request_validator.py.
form_params py_params() {
  return form_params{{{"CallSid", "CA1234567890ABCDE"},
                      {"Digits", "1234"},
                      {"From", "+14158675309"},
                      {"To", "+18005551212"},
                      {"Caller", "+14158675309"}}};
}

TEST(TwilioSignature, PublishedDocExample) {
  EXPECT_EQ(twilio_signature("12345", doc_url, doc_params()),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  EXPECT_TRUE(verify_twilio_signature("12345", doc_url, doc_params(),
                                      "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
}

TEST(TwilioSignature, TwilioPythonVector) {
  EXPECT_EQ(twilio_signature("12345", doc_url, py_params()),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
}

TEST(TwilioSignature, RepeatedKeysSortValues) {
  // twilio-python test_compute_signature_duplicate_multi_dict.
  form_params p{{{"Sid", "CA123"},
                 {"SidAccount", "AC123"},
                 {"Digits", "5678"},
                 {"Digits", "1234"}}};
  EXPECT_EQ(twilio_signature("12345", doc_url, p),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
  form_params swapped{{{"Digits", "1234"},
                       {"Sid", "CA123"},
                       {"Digits", "5678"},
                       {"SidAccount", "AC123"}}};
  EXPECT_TRUE(verify_twilio_signature("12345", doc_url, swapped,
                                      "IK+Dwps556ElfBT0I3Rgjkr1wJU="));
}

TEST(TwilioSignature, ParamOrderDoesNotMatter) {
  auto items = doc_params().items();
  std::reverse(items.begin(), items.end());
  EXPECT_TRUE(verify_twilio_signature("12345", doc_url, form_params{items},
                                      "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
}

TEST(TwilioSignature, UnicodeValuesAndNames) {
  // Expected value computed with twilio-python's algorithm.
  form_params p{{{"From", "whatsapp:+972501234567"},
                 {"\xC3\x85lpha", "\xC3\xA9"},
                 {"Body", "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D \xD7\xA2\xD7\x95"
                          "\xD7\x9C\xD7\x9D \xF0\x9F\x91\x8B"}}};
  auto url = "https://mycompany.com/myapp.php";
  EXPECT_EQ(twilio_signature("12345", url, p), "EcA4miIIAmg8nbWrGG7wpjUAbus=");
  EXPECT_TRUE(
    verify_twilio_signature("12345", url, p, "EcA4miIIAmg8nbWrGG7wpjUAbus="));
}

TEST(TwilioSignature, RemovesPortOnHttps) {
  auto url = "https://mycompany.com:1234/myapp.php?foo=1&bar=2";
  EXPECT_TRUE(verify_twilio_signature("12345", url, py_params(),
                                      "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
}

TEST(TwilioSignature, KeepsExplicitPortOnHttp) {
  // Hash of the http URL with port 1234 (twilio-python vector).
  auto url = "http://mycompany.com:1234/myapp.php?foo=1&bar=2";
  EXPECT_TRUE(verify_twilio_signature("12345", url, py_params(),
                                      "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="));
}

TEST(TwilioSignature, AddsDefaultPortOnHttps) {
  // Signed over https://mycompany.com:443/... (twilio-python vector).
  EXPECT_TRUE(verify_twilio_signature("12345", doc_url, py_params(),
                                      "kvajT1Ptam85bY51eRf/AJRuM3w="));
}

TEST(TwilioSignature, AddsDefaultPortOnHttp) {
  auto url = "http://mycompany.com/myapp.php?foo=1&bar=2";
  EXPECT_TRUE(verify_twilio_signature("12345", url, py_params(),
                                      "0ZXoZLH/DfblKGATFgpif+LLRf4="));
}

TEST(TwilioSignature, WssUpgradeUsesPort443) {
  auto url = "wss://h.example/ws/twilio-media";
  form_params none;
  EXPECT_EQ(twilio_signature("tok", url, none), "tQclN/qEsDRfysjyZyKlPqTmoP8=");
  EXPECT_TRUE(
    verify_twilio_signature("tok", url, none, "tQclN/qEsDRfysjyZyKlPqTmoP8="));
  EXPECT_TRUE(
    verify_twilio_signature("tok", url, none, "9ygXB+CmZfK+Ltjc3g4MbgZtlmY="));
  // Signed with :80 is not a default-port variant of wss.
  EXPECT_FALSE(
    verify_twilio_signature("tok", url, none, "wrmLRNMI+1ZRdPIWJLSIxRkL0xo="));
}

TEST(TwilioSignature, LocalBaseWithPort) {
  form_params p{{{"To", "+97231234567"}}};
  auto url = "http://127.0.0.1:5000/webhook/incoming_call";
  EXPECT_TRUE(
    verify_twilio_signature("tok", url, p, "jhz9Q7Sx25kidj50LPRcMPQSbUQ="));
  // twilio-python also accepts the port-less form.
  EXPECT_TRUE(
    verify_twilio_signature("tok", url, p, "HMBjmywrv76VO4aB8XLW0q6aeOo="));
}

TEST(TwilioSignature, Rejections) {
  auto good = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
  EXPECT_FALSE(verify_twilio_signature("12346", doc_url, doc_params(), good));
  EXPECT_FALSE(verify_twilio_signature("12345", doc_url, doc_params(), ""));
  EXPECT_FALSE(verify_twilio_signature("", doc_url, doc_params(), good));
  EXPECT_FALSE(verify_twilio_signature(
    "12345", "https://mycompany.com/myapp.php?foo=1&bar=3", doc_params(),
    good));
  EXPECT_FALSE(verify_twilio_signature("12345",
                                       "http://mycompany.com/myapp.php"
                                       "?foo=1&bar=2",
                                       doc_params(), good));
  auto extra = doc_params().items();
  extra.emplace_back("Extra", "");
  EXPECT_FALSE(
    verify_twilio_signature("12345", doc_url, form_params{extra}, good));
  auto changed = doc_params().items();
  changed[2].second = "1235";
  EXPECT_FALSE(
    verify_twilio_signature("12345", doc_url, form_params{changed}, good));
  EXPECT_FALSE(verify_twilio_signature("12345", doc_url, doc_params(),
                                       std::string{good} + " "));
  EXPECT_FALSE(verify_twilio_signature("12345", doc_url, doc_params(),
                                       "0/KCTR6DLpKmkAf8muzZqo1nDgQ"));
}

TEST(TwilioSignature, EmptyTokenNeverMatchesItsOwnSignature) {
  auto sig = twilio_signature("", doc_url, doc_params());
  EXPECT_FALSE(sig.empty());
  EXPECT_FALSE(verify_twilio_signature("", doc_url, doc_params(), sig));
}

TEST(TwilioSignature, PortHelpers) {
  EXPECT_EQ(url_without_port("https://h.example:8443/a?b=1"),
            "https://h.example/a?b=1");
  EXPECT_EQ(url_without_port("https://h.example/a"), "https://h.example/a");
  EXPECT_EQ(url_without_port("http://[::1]:5000/x"), "http://[::1]/x");
  EXPECT_EQ(url_without_port("http://[::1]/x"), "http://[::1]/x");
  EXPECT_EQ(url_without_port("http://h:80"), "http://h");
  EXPECT_EQ(url_without_port("not a url"), "not a url");
  EXPECT_EQ(url_with_default_port("https://h.example/a?x=1:2"),
            "https://h.example:443/a?x=1:2");
  EXPECT_EQ(url_with_default_port("HTTPS://h.example"),
            "HTTPS://h.example:443");
  EXPECT_EQ(url_with_default_port("http://h.example/a"),
            "http://h.example:80/a");
  EXPECT_EQ(url_with_default_port("wss://h/ws"), "wss://h:443/ws");
  EXPECT_EQ(url_with_default_port("ws://h/ws"), "ws://h:80/ws");
  EXPECT_EQ(url_with_default_port("http://h:5000/a"), "http://h:5000/a");
  EXPECT_EQ(url_with_default_port("http://[::1]/a"), "http://[::1]:80/a");
  EXPECT_EQ(url_with_default_port("https://u@h/a"), "https://u@h:443/a");
}

TEST(TwilioSignatureJson, TwilioPythonBodyVector) {
  auto body = R"({"property": "value", "boolean": true})";
  auto url
    = std::string{doc_url}
      + "&bodySHA256="
        "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
  EXPECT_EQ(crypto::to_hex(crypto::sha256(body)),
            "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620");
  EXPECT_TRUE(verify_twilio_signature_json("12345", url, body,
                                           "a9nBmqA0ju/hNViExpshrM61xv4="));
  // Body altered: the hash no longer matches even though the URL is signed.
  EXPECT_FALSE(verify_twilio_signature_json(
    "12345", url, R"({"property": "value", "boolean": false})",
    "a9nBmqA0ju/hNViExpshrM61xv4="));
  EXPECT_FALSE(verify_twilio_signature_json("54321", url, body,
                                            "a9nBmqA0ju/hNViExpshrM61xv4="));
  EXPECT_FALSE(verify_twilio_signature_json("12345", url, body, ""));
}

TEST(TwilioSignatureJson, OwnVectorAndMissingHash) {
  auto body = R"({"a":1})";
  std::string url = "https://h.example/webhook/x?bodySHA256="
                    "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a"
                    "97f862";
  EXPECT_TRUE(verify_twilio_signature_json("tok", url, body,
                                           "/8ByleZb6LmDPU7wxKNcZRI3MnM="));
  // Correct signature of a URL without bodySHA256 is not enough.
  auto bare = "https://h.example/webhook/x";
  auto sig = twilio_signature("tok", bare, {});
  EXPECT_FALSE(verify_twilio_signature_json("tok", bare, body, sig));
  auto other = "https://h.example/webhook/x?foo=1";
  EXPECT_FALSE(verify_twilio_signature_json(
    "tok", other, body, twilio_signature("tok", other, {})));
  // Upper-case hex is not what Twilio sends.
  std::string upper = "https://h.example/webhook/x?bodySHA256="
                      "015ABD7F5CC57A2DD94B7590F04AD8084273905EE33EC5CEBEAE6227"
                      "6A97F862";
  EXPECT_FALSE(verify_twilio_signature_json(
    "tok", upper, body, twilio_signature("tok", upper, {})));
}

} // namespace
} // namespace al
