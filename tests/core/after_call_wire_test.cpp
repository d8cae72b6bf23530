// core/after_call_wire: the transcription upload (multipart/form-data), its
// answer, the summary request with a strict JSON schema, and the strict
// validation of the model's JSON (hostile input).
#include "core/after_call_wire.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

using namespace al;
namespace json = boost::json;

namespace {

std::string content(const std::string& summary_json) {
  return json::serialize(json::object{
    {"choices", json::array{json::object{
                  {"message", json::object{{"role", "assistant"},
                                           {"content", summary_json}}}}}}});
}

const std::string good = R"({"summary":"מחפש דירת 4 חדרים בחיפה",
  "deal":"rent","city":"חיפה","rooms":4,"budget":6500,
  "callback_time":"מחר בעשר","next_step":"לשלוח הצעות",
  "sentiment":"positive"})";

std::string with(const std::string& key, const std::string& value) {
  auto o = json::parse(good).as_object();
  o[key] = json::parse(value);
  return json::serialize(o);
}

std::string error_of(const std::string& text) {
  auto r = parse_summary_json(text);
  auto* e = std::get_if<std::string>(&r);
  return e ? *e : std::string{};
}

} // namespace

TEST(after_call_wire, multipart_body_has_every_part_and_the_boundary) {
  std::string wav = "RIFF\x00\x01\x02" + std::string(100, '\xff');
  auto b = transcription_request(wav, "turn-1.wav", "whisper-1", "he", "B0und");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->content_type, "multipart/form-data; boundary=B0und");
  auto& s = b->body;
  EXPECT_EQ(s.rfind("--B0und\r\n", 0), 0u);
  EXPECT_NE(s.find("Content-Disposition: form-data; name=\"file\";"
                   " filename=\"turn-1.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
                   + wav + "\r\n"),
            std::string::npos);
  EXPECT_NE(s.find("name=\"model\"\r\n\r\nwhisper-1\r\n"), std::string::npos);
  EXPECT_NE(s.find("name=\"language\"\r\n\r\nhe\r\n"), std::string::npos);
  EXPECT_NE(s.find("name=\"response_format\"\r\n\r\njson\r\n"),
            std::string::npos);
  EXPECT_EQ(s.substr(s.size() - 11), "--B0und--\r\n");
}

TEST(after_call_wire, multipart_refuses_what_would_break_the_framing) {
  EXPECT_FALSE(build_multipart({{"a", "x", "", ""}}, ""));
  EXPECT_FALSE(build_multipart({{"a", "x", "", ""}}, std::string(71, 'b')));
  EXPECT_FALSE(build_multipart({{"a", "x", "", ""}}, "bad boundary"));
  EXPECT_FALSE(build_multipart({{"a", "x\r\n--BB\r\n", "", ""}}, "BB"));
  EXPECT_FALSE(build_multipart({{"a\"b", "x", "", ""}}, "BB"));
  EXPECT_FALSE(build_multipart({{"a", "x", "f\r\nX: y", ""}}, "BB"));
  EXPECT_FALSE(build_multipart({{"", "x", "", ""}}, "BB"));
  EXPECT_TRUE(
    build_multipart({{"a", "--B", "", ""}}, "BB")); // not the delimiter
  EXPECT_FALSE(transcription_request("x", "", "m", "he", "BB"));
}

TEST(after_call_wire, transcription_text_reads_text_only) {
  EXPECT_EQ(transcription_text(R"({"text":"  מחר בעשר \n"})"), "מחר בעשר");
  EXPECT_EQ(transcription_text(R"({"text":""})"), "");
  EXPECT_FALSE(transcription_text(R"({"text":5})"));
  EXPECT_FALSE(transcription_text(R"({"txt":"a"})"));
  EXPECT_FALSE(transcription_text(R"(["text"])"));
  EXPECT_FALSE(transcription_text("<html>502</html>"));
  EXPECT_FALSE(transcription_text(""));
  // A huge answer is cut on a character boundary.
  std::string big(10000, 'a');
  big += "ש";
  auto t
    = transcription_text(R"({"text":")" + std::string(3999, 'a') + "ששש\"}");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->size(), 3999u); // the 2-byte letter at 3999..4000 is dropped
  EXPECT_TRUE(transcription_text(R"({"text":")" + big + "\"}"));
}

TEST(after_call_wire, summary_request_asks_for_the_strict_schema) {
  auto body = json::parse(summary_schema_request("gpt-x", {{"caller", "שלום"},
                                                           {"agent", "היי"}}))
                .as_object();
  EXPECT_EQ(body["model"], "gpt-x");
  auto& rf = body["response_format"].as_object();
  EXPECT_EQ(rf.at("type"), "json_schema");
  auto& js = rf.at("json_schema").as_object();
  EXPECT_EQ(js.at("name"), "call_summary");
  EXPECT_EQ(js.at("strict"), true);
  auto& schema = js.at("schema").as_object();
  EXPECT_EQ(schema.at("additionalProperties"), false);
  EXPECT_EQ(schema.at("required").as_array().size(), 8u);
  auto& props = schema.at("properties").as_object();
  for (auto k : {"summary", "deal", "city", "rooms", "budget", "callback_time",
                 "next_step", "sentiment"})
    EXPECT_TRUE(props.contains(k)) << k;
  auto user = body["messages"].as_array()[1].as_object()["content"];
  EXPECT_EQ(user, "מתקשר: שלום\nנציג: היי\n");
}

TEST(after_call_wire, a_valid_summary_is_read) {
  auto r = parse_summary_response(content(good));
  ASSERT_TRUE(std::holds_alternative<call_summary>(r))
    << std::get<std::string>(r);
  auto& s = std::get<call_summary>(r);
  EXPECT_EQ(s.summary, "מחפש דירת 4 חדרים בחיפה");
  EXPECT_EQ(s.deal, "rent");
  EXPECT_EQ(s.city, "חיפה");
  EXPECT_EQ(s.rooms, 4.0);
  EXPECT_EQ(s.budget, 6500);
  EXPECT_EQ(s.callback_time, "מחר בעשר");
  EXPECT_EQ(s.next_step, "לשלוח הצעות");
  EXPECT_EQ(s.sentiment, "positive");
  auto f = summary_fields_json(s, "ai");
  EXPECT_EQ(f["city"], "חיפה");
  EXPECT_EQ(f["source"], "ai");
  EXPECT_FALSE(f.contains("summary"));
  // Nulls, halves, whole floats.
  auto n = parse_summary_json(with("deal", "null"));
  ASSERT_TRUE(std::holds_alternative<call_summary>(n));
  EXPECT_FALSE(std::get<call_summary>(n).deal);
  auto h = parse_summary_json(with("rooms", "3.5"));
  EXPECT_EQ(std::get<call_summary>(h).rooms, 3.5);
  auto b = parse_summary_json(with("budget", "2000000.0"));
  EXPECT_EQ(std::get<call_summary>(b).budget, 2000000);
  auto blank = parse_summary_json(with("city", "\"  \""));
  EXPECT_FALSE(std::get<call_summary>(blank).city);
}

TEST(after_call_wire, hostile_summaries_are_refused_with_a_safe_error) {
  EXPECT_NE(error_of("not json"), "");
  EXPECT_NE(error_of("[]"), "");
  EXPECT_NE(error_of("{}"), "");
  EXPECT_NE(error_of(with("deal", "\"sell\"")), "");
  EXPECT_NE(error_of(with("deal", "1")), "");
  EXPECT_NE(error_of(with("rooms", "\"4\"")), "");
  EXPECT_NE(error_of(with("rooms", "0")), "");
  EXPECT_NE(error_of(with("rooms", "1e300")), "");
  EXPECT_NE(error_of(with("budget", "-5")), "");
  EXPECT_NE(error_of(with("budget", "12.5")), "");
  EXPECT_NE(error_of(with("budget", "99999999999999999999")), "");
  EXPECT_NE(error_of(with("sentiment", "\"angry\"")), "");
  EXPECT_NE(error_of(with("summary", "\"  \"")), "");
  EXPECT_NE(error_of(with("summary", "null")), "");
  EXPECT_NE(error_of(with("next_step", "null")), "");
  EXPECT_NE(error_of(with("city", "{}")), "");
  EXPECT_NE(error_of(with("extra", "1")), "");
  EXPECT_NE(error_of(with("summary", "\"" + std::string(5000, 'x') + "\"")),
            "");
  EXPECT_NE(error_of(with("city", "\"" + std::string(500, 'x') + "\"")), "");
  // A key twice.
  auto dup = good;
  dup.insert(1, R"("city":"x",)");
  EXPECT_NE(error_of(dup), "");
  // A missing key.
  auto o = json::parse(good).as_object();
  o.erase("sentiment");
  EXPECT_NE(error_of(json::serialize(o)), "");
  // The error never quotes the content.
  auto secret = with("deal", "\"SECRET-VALUE\"");
  EXPECT_EQ(error_of(secret).find("SECRET"), std::string::npos);
  // The envelope.
  auto env_err = [](const std::string& body) {
    auto r = parse_summary_response(body);
    return std::holds_alternative<std::string>(r);
  };
  EXPECT_TRUE(env_err(R"({"choices":[]})"));
  EXPECT_TRUE(env_err(R"({"choices":[{"message":{"content":null}}]})"));
  EXPECT_TRUE(
    env_err(R"({"choices":[{"message":{"content":null,"refusal":"no"}}]})"));
  EXPECT_TRUE(env_err("<html>"));
  EXPECT_TRUE(env_err(content("\"just text\"")));
}

TEST(after_call_wire, the_scripted_summary_uses_the_dialogue_answers) {
  scripted_outcome o;
  o.deal = "rent";
  o.callback = "dtmf:2";
  o.ended_normally = true;
  auto s = scripted_summary(o);
  EXPECT_NE(s.summary.find("שכירות"), std::string::npos) << s.summary;
  EXPECT_EQ(s.deal, "rent");
  EXPECT_EQ(s.callback_time, "הקיש 2");
  EXPECT_EQ(s.next_step, "לחזור למתקשר");
  scripted_outcome none;
  none.status = "dropped";
  auto n = scripted_summary(none);
  EXPECT_FALSE(n.summary.empty());
  EXPECT_FALSE(n.deal);
  // Every scripted summary passes the model's own validation.
  auto f = summary_fields_json(s, "script");
  f["summary"] = s.summary;
  f.erase("source");
  EXPECT_TRUE(std::holds_alternative<call_summary>(
    parse_summary_json(json::serialize(f))));
}
