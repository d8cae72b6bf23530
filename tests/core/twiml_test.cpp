#include "core/twiml.hpp"

#include <gtest/gtest.h>

namespace al {
namespace {

const std::string decl = R"(<?xml version="1.0" encoding="UTF-8"?>)";
// "שלום" in UTF-8.
const std::string shalom = "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D";

TEST(XmlWriter, NestingAttributesAndText) {
  xml_writer w;
  w.declaration().open("a").attr("x", "1").open("b").text("hi").close();
  w.empty_element("c").close();
  EXPECT_EQ(w.take(), decl + R"(<a x="1"><b>hi</b><c/></a>)");
}

TEST(XmlWriter, EscapesTextAndAttributes) {
  xml_writer w;
  w.open("r").attr("v", R"(a"b'c<d>e&f)").text(R"(1<2 & 3>2 "q" 'a')");
  EXPECT_EQ(w.take(),
            "<r v=\"a&quot;b&apos;c&lt;d&gt;e&amp;f\">1&lt;2 &amp; 3&gt;2 "
            "&quot;q&quot; &apos;a&apos;</r>");
}

TEST(XmlWriter, ControlCharactersAndInvalidUtf8) {
  xml_writer w;
  std::string hostile{"a\x00"
                      "b\x01\x08\x0B\x0C\x1F"
                      "c\td\ne\rf",
                      15};
  w.open("r").attr("v", hostile).text(hostile);
  EXPECT_EQ(w.take(), "<r v=\"abc&#9;d&#10;e&#13;f\">abc\td\ne&#13;f</r>");
  xml_writer u;
  // Lone continuation byte, truncated sequence, overlong '/', a surrogate,
  // U+FFFF; Hebrew and an emoji are kept.
  u.open("r").text("\x80|\xD7|\xC0\xAF|\xED\xA0\x80|\xEF\xBF\xBF|" + shalom
                   + "\xF0\x9F\x91\x8B");
  EXPECT_EQ(u.take(), "<r>\xEF\xBF\xBD|\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD|"
                      "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD||"
                        + shalom + "\xF0\x9F\x91\x8B</r>");
}

TEST(XmlWriter, MisuseStillYieldsWellFormedXml) {
  xml_writer w;
  w.text("outside").close(); // nothing open: ignored
  w.open("1bad name<").attr("a b", "1").attr("a_b", "2");
  w.text("t").attr("late", "x"); // attribute after content: ignored
  w.open("");
  EXPECT_EQ(w.str(), R"(<_bad_name_ a_b="1">t<_/></_bad_name_>)");
  w.close().close().close();                         // extra close: ignored
  w.open("second").attr("x", "1").text("y").close(); // second root: ignored
  w.text("tail");
  w.declaration(); // too late: ignored
  EXPECT_EQ(w.take(), R"(<_bad_name_ a_b="1">t<_/></_bad_name_>)");
  EXPECT_EQ(w.take(), ""); // take() resets
}

TEST(XmlWriter, StrClosesOpenElementsWithoutConsuming) {
  xml_writer w;
  w.open("a").open("b").text("x");
  EXPECT_EQ(w.str(), "<a><b>x</b></a>");
  w.close().open("c");
  EXPECT_EQ(w.take(), "<a><b>x</b><c/></a>");
}

TEST(XmlClean, KeepsOnlyXmlCharacters) {
  EXPECT_EQ(xml_clean(std::string{"a\x00\x1b"
                                  "b",
                                  4}),
            "ab");
  EXPECT_EQ(xml_clean(shalom + "<&>"), shalom + "<&>");
  EXPECT_EQ(xml_clean("\xFF"), "\xEF\xBF\xBD");
}

TEST(Twiml, ConnectStreamHttps) {
  url_builder u{"https://host.example/"};
  auto t = connect_stream_twiml(u, {{"call_token", "abc"}, {"tenant", "7"}});
  ASSERT_TRUE(t);
  EXPECT_EQ(
    *t,
    decl
      + R"(<Response><Connect action="https://host.example/webhook/stream_ended">)"
        R"(<Stream url="wss://host.example/ws/twilio-media" )"
        R"(statusCallback="https://host.example/webhook/stream_status" )"
        R"(statusCallbackMethod="POST">)"
        R"(<Parameter name="call_token" value="abc"/>)"
        R"(<Parameter name="tenant" value="7"/>)"
        R"(</Stream></Connect></Response>)");
  EXPECT_EQ(t->find("<Play"), std::string::npos);
  EXPECT_EQ(t->find("<Say"), std::string::npos);
}

TEST(Twiml, ConnectStreamHttpBaseUsesWs) {
  url_builder u{"http://127.0.0.1:5000"};
  auto t = connect_stream_twiml(u, {});
  ASSERT_TRUE(t);
  EXPECT_EQ(
    *t,
    decl
      + R"(<Response><Connect action="http://127.0.0.1:5000/webhook/stream_ended">)"
        R"(<Stream url="ws://127.0.0.1:5000/ws/twilio-media" )"
        R"(statusCallback="http://127.0.0.1:5000/webhook/stream_status" )"
        R"(statusCallbackMethod="POST"/></Connect></Response>)");
}

TEST(Twiml, ConnectStreamPrefix) {
  url_builder u{"https://h/x"};
  auto t = connect_stream_twiml(u, {});
  ASSERT_TRUE(t);
  EXPECT_NE(t->find(R"(action="https://h/x/webhook/stream_ended")"),
            std::string::npos);
  EXPECT_NE(t->find(R"(url="wss://h/x/ws/twilio-media")"), std::string::npos);
}

TEST(Twiml, ConnectStreamEscapesHostileParameters) {
  url_builder u{"https://h"};
  auto t = connect_stream_twiml(
    u, {{"n\"><Play>x</Play>", "v' & <Hangup/>\x01" + shalom}});
  ASSERT_TRUE(t);
  EXPECT_NE(t->find("<Parameter name=\"n&quot;&gt;&lt;Play&gt;x&lt;/Play&gt;\" "
                    "value=\"v&apos; &amp; &lt;Hangup/&gt;"
                    + shalom + "\"/>"),
            std::string::npos);
  EXPECT_EQ(t->find("<Play"), std::string::npos);
  EXPECT_EQ(t->find('\x01'), std::string::npos);
}

TEST(Twiml, ConnectStreamParameterLimit) {
  url_builder u{"https://h"};
  std::string name = "call_token";
  EXPECT_TRUE(connect_stream_twiml(u, {{name, std::string(489, 'v')}}));
  EXPECT_FALSE(connect_stream_twiml(u, {{name, std::string(490, 'v')}}));
  EXPECT_FALSE(connect_stream_twiml(u, {{"ok", "1"}, {"", "x"}}));
  // Hebrew counts in UTF-8 bytes: 245 letters = 490 bytes.
  std::string heb;
  for (int i = 0; i < 245; ++i)
    heb += "\xD7\xA9";
  EXPECT_FALSE(connect_stream_twiml(u, {{name, heb}}));
  // Characters dropped by xml_clean do not count.
  EXPECT_TRUE(connect_stream_twiml(
    u, {{name, std::string(489, 'v') + std::string(20, '\x02')}}));
}

TEST(Twiml, RecordingFallback) {
  url_builder u{"https://host.example"};
  EXPECT_EQ(
    recording_fallback_twiml(u, shalom),
    decl + R"(<Response><Say language="he-IL">)" + shalom
      + R"(</Say><Record maxLength="120" playBeep="true" )"
        R"(recordingStatusCallback="https://host.example/webhook/recording_status" )"
        R"(recordingStatusCallbackMethod="POST"/><Hangup/></Response>)");
}

TEST(Twiml, RecordingFallbackEscapesPromptAndSkipsEmptySay) {
  url_builder u{"http://h:1"};
  auto t = recording_fallback_twiml(u, "a</Say><Play>x</Play>&\x07");
  EXPECT_NE(t.find("<Say language=\"he-IL\">a&lt;/Say&gt;&lt;Play&gt;x&lt;"
                   "/Play&gt;&amp;</Say>"),
            std::string::npos);
  EXPECT_EQ(t.find("<Play"), std::string::npos);
  auto empty = recording_fallback_twiml(u, " \x01\n");
  EXPECT_EQ(
    empty,
    decl
      + R"(<Response><Record maxLength="120" playBeep="true" )"
        R"(recordingStatusCallback="http://h:1/webhook/recording_status" )"
        R"(recordingStatusCallbackMethod="POST"/><Hangup/></Response>)");
}

TEST(Twiml, Voicemail) {
  url_builder u{"https://h/p/"};
  EXPECT_EQ(
    voicemail_twiml(u, "hello"),
    decl
      + R"(<Response><Say language="he-IL">hello</Say>)"
        R"(<Record maxLength="120" playBeep="true" )"
        R"(recordingStatusCallback="https://h/p/webhook/recording_status" )"
        R"(recordingStatusCallbackMethod="POST"/><Hangup/></Response>)");
}

TEST(Twiml, SayVoiceIsConfigurable) {
  url_builder u{"https://h"};
  auto t = recording_fallback_twiml(u, "שלום", "Google.he-IL-Standard-A");
  EXPECT_NE(t.find(R"(<Say voice="Google.he-IL-Standard-A" language="he-IL">)"),
            std::string::npos)
    << t;
  EXPECT_NE(voicemail_twiml(u, "x", "Polly.Hila").find(R"(voice="Polly.Hila")"),
            std::string::npos);
}

TEST(Twiml, DialRingsEveryNumberWithTheActionAndCallerId) {
  url_builder u{"https://h.example"};
  EXPECT_EQ(dial_twiml(u, {"+972501111111", "+972522222222"}, 20,
                       "+972541234567"),
            decl
              + R"(<Response><Dial timeout="20" )"
                R"(action="https://h.example/webhook/transfer_status" )"
                R"(method="POST" callerId="+972541234567">)"
                R"(<Number>+972501111111</Number>)"
                R"(<Number>+972522222222</Number></Dial></Response>)");
  // No callerId when the caller's number is unknown.
  EXPECT_EQ(dial_twiml(u, {"+972501111111"}, 30, "").find("callerId"),
            std::string::npos);
}

TEST(Twiml, StreamPathPerBusiness) {
  url_builder u{"https://h.example"};
  auto t = connect_stream_twiml(u, {{"call_token", "t"}}, "/ws/twilio-media/7");
  ASSERT_TRUE(t);
  EXPECT_NE(t->find(R"(<Stream url="wss://h.example/ws/twilio-media/7")"),
            std::string::npos)
    << *t;
}

TEST(Twiml, Hangup) {
  EXPECT_EQ(hangup_twiml(), decl + "<Response><Hangup/></Response>");
}

} // namespace
} // namespace al
