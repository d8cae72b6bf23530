// core/wa_ai_wire: the WhatsApp AI's chat-completions request and the strict
// reading of replies, including hostile ones.
#include "core/wa_ai_wire.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <set>
#include <string>

namespace al {
namespace {

namespace json = boost::json;

/// The reply, or a failure naming the error (a copy: the variant is a
/// temporary).
wa_chat_reply ok(const std::variant<wa_chat_reply, std::string>& v) {
  if (auto* e = std::get_if<std::string>(&v)) {
    ADD_FAILURE() << *e;
    return {};
  }
  return std::get<wa_chat_reply>(v);
}

std::string err(const std::variant<wa_chat_reply, std::string>& v) {
  auto* e = std::get_if<std::string>(&v);
  return e ? *e : std::string{"<no error>"};
}

std::string with_message(const std::string& message) {
  return R"({"choices":[{"index":0,"message":)" + message
         + R"(,"finish_reason":"stop"}]})";
}

TEST(wa_ai_wire, request_has_model_messages_tools_in_chat_shape) {
  std::vector<wa_chat_message> msgs;
  msgs.push_back({"system", "הוראות", {}, {}});
  msgs.push_back({"user", "שלום", {}, {}});
  wa_chat_message call{"assistant", "", {}, {{"c1", "search_listings", "{}"}}};
  msgs.push_back(call);
  msgs.push_back({"tool", R"({"ok":true})", "c1", {}});
  auto body = json::parse(wa_chat_request("gpt-x", msgs)).as_object();
  EXPECT_EQ(body.at("model").as_string(), "gpt-x");
  EXPECT_FALSE(body.contains("tool_choice"));
  auto& m = body.at("messages").as_array();
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].at("role").as_string(), "system");
  EXPECT_EQ(m[1].at("content").as_string(), "שלום");
  EXPECT_TRUE(m[2].at("content").is_null());
  EXPECT_EQ(m[2].at("tool_calls").at(0).at("function").at("name").as_string(),
            "search_listings");
  EXPECT_EQ(m[2].at("tool_calls").at(0).at("type").as_string(), "function");
  EXPECT_EQ(m[3].at("tool_call_id").as_string(), "c1");
  std::set<std::string> names;
  for (auto& t : body.at("tools").as_array()) {
    EXPECT_EQ(t.at("type").as_string(), "function");
    auto& f = t.at("function").as_object();
    EXPECT_TRUE(f.at("parameters").is_object());
    names.insert(std::string{f.at("name").as_string()});
  }
  EXPECT_EQ(names, (std::set<std::string>{"save_lead", "search_listings",
                                          "book_appointment", "handoff"}));
  auto last = json::parse(wa_chat_request("gpt-x", msgs, false)).as_object();
  EXPECT_EQ(last.at("tool_choice").as_string(), "none");
}

TEST(wa_ai_wire, reply_text_and_tool_calls) {
  auto r = ok(parse_wa_chat_reply(
    with_message(R"({"role":"assistant","content":"  שלום!  "})")));
  EXPECT_EQ(r.content, "שלום!");
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_TRUE(r.tool_calls.empty());

  auto t = ok(parse_wa_chat_reply(with_message(
    R"({"role":"assistant","content":null,"tool_calls":[)"
    R"({"id":"call_1","type":"function","function":{"name":"save_lead",)"
    R"("arguments":"{\"city\":\"חיפה\"}"}},)"
    R"({"id":"call_2","type":"function","function":{"name":"handoff",)"
    R"("arguments":""}}]})")));
  ASSERT_EQ(t.tool_calls.size(), 2u);
  EXPECT_EQ(t.tool_calls[0].id, "call_1");
  EXPECT_EQ(t.tool_calls[0].name, "save_lead");
  EXPECT_EQ(t.tool_calls[0].arguments, R"({"city":"חיפה"})");
  EXPECT_EQ(t.tool_calls[1].arguments, "{}"); // "" counts as no arguments
  EXPECT_TRUE(t.content.empty());
}

TEST(wa_ai_wire, long_text_is_cut_on_a_character_boundary) {
  std::string text;
  for (int i = 0; i < 1000; ++i)
    text += "א"; // 2 bytes each
  auto r = ok(parse_wa_chat_reply(
    with_message(R"({"role":"assistant","content":")" + text + "\"}")));
  EXPECT_LE(r.content.size(), wa_max_reply_bytes);
  EXPECT_EQ(r.content.size() % 2, 0u);
}

TEST(wa_ai_wire, hostile_replies_are_errors_not_crashes) {
  for (
    std::string bad : {
      std::string{""},
      std::string{"not json"},
      std::string{"[]"},
      std::string{"{}"},
      std::string{R"({"choices":[]})"},
      std::string{R"({"choices":"x"})"},
      std::string{R"({"choices":[1]})"},
      std::string{R"({"choices":[{"message":"x"}]})"},
      with_message(R"({"content":42})"),
      with_message(R"({"content":""})"),
      with_message(R"({"content":"   "})"),
      with_message(R"({"content":null})"),
      with_message(R"({"tool_calls":{}})"),
      with_message(R"({"tool_calls":[1]})"),
      with_message(
        R"({"tool_calls":[{"function":{"name":"x","arguments":"{}"}}]})"),
      with_message(
        R"({"tool_calls":[{"id":"a","function":{"arguments":"{}"}}]})"),
      with_message(
        R"({"tool_calls":[{"id":"a","function":{"name":"a b","arguments":"{}"}}]})"),
      with_message(
        R"({"tool_calls":[{"id":"a","function":{"name":"x","arguments":"[1]"}}]})"),
      with_message(
        R"({"tool_calls":[{"id":"a","function":{"name":"x","arguments":"{bad"}}]})"),
      with_message(
        R"({"tool_calls":[{"id":"a","function":{"name":"x","arguments":{}}}]})"),
      with_message(
        R"({"tool_calls":[{"id":"a","type":"code","function":{"name":"x","arguments":"{}"}}]})"),
      std::string{R"({"error":{"message":"quota"}})"},
      std::string{"{\"choices\":[{\"message\":{\"content\":\"\xff\xfe\"}}]}"},
      std::string(100000, '['),
    })
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_wa_chat_reply(bad)))
      << bad.substr(0, 80);
  // Too many calls.
  std::string calls;
  for (int i = 0; i < 9; ++i)
    calls += std::string{i ? "," : ""} + R"({"id":"c)" + std::to_string(i)
             + R"(","function":{"name":"x","arguments":"{}"}})";
  EXPECT_EQ(
    err(parse_wa_chat_reply(with_message(R"({"tool_calls":[)" + calls + "]}"))),
    "the reply asks for too many tool calls");
  // Errors never quote the content.
  EXPECT_EQ(err(parse_wa_chat_reply(
              with_message(R"({"content":{"secret":"sk-123"}})"))),
            "the reply's content is not text");
}

TEST(wa_ai_wire, failure_text_from_error_bodies) {
  EXPECT_EQ(wa_chat_failure(503, R"({"error":{"message":"overloaded"}})", ""),
            "HTTP 503: overloaded");
  EXPECT_EQ(wa_chat_failure(500, "<html>", ""), "HTTP 500");
  EXPECT_EQ(wa_chat_failure(0, "", "timeout"), "transport: timeout");
  EXPECT_EQ(wa_chat_failure(0, "", ""), "transport: no answer");
  auto long_msg = wa_chat_failure(
    429, R"({"error":{"message":")" + std::string(1000, 'x') + "\"}}", "");
  EXPECT_LE(long_msg.size(), 210u);
}

TEST(wa_ai_wire, system_prompt_carries_prompt_context_facts_rules) {
  wa_ai_brief b;
  b.business_name = "אלון נכסים";
  b.office_context = "היום: 2026-12-07";
  b.lead_facts = "שם: דנה";
  auto text = wa_ai_system_prompt(b);
  EXPECT_NE(text.find("אלון נכסים"), std::string::npos);
  EXPECT_NE(text.find("היום: 2026-12-07"), std::string::npos);
  EXPECT_NE(text.find("שם: דנה"), std::string::npos);
  EXPECT_NE(text.find("search_listings"), std::string::npos);
  EXPECT_NE(text.find("handoff"), std::string::npos);
  b.prompt = "PROMPT";
  EXPECT_EQ(wa_ai_system_prompt(b).rfind("PROMPT", 0), 0u);
}

TEST(wa_ai_wire, handoff_reason) {
  std::string reason;
  EXPECT_EQ(wa_handoff_reason(R"({"reason":"  מתווך  "})", reason), "");
  EXPECT_EQ(reason, "מתווך");
  EXPECT_EQ(wa_handoff_reason("", reason), "");
  EXPECT_EQ(reason, "");
  EXPECT_EQ(wa_handoff_reason("{}", reason), "");
  EXPECT_NE(wa_handoff_reason("[1]", reason), "");
  EXPECT_NE(wa_handoff_reason(R"({"reason":5})", reason), "");
  EXPECT_EQ(wa_handoff_reason(R"({"reason":")" + std::string(1000, 'x') + "\"}",
                              reason),
            "");
  EXPECT_LE(reason.size(), 300u);
}

} // namespace
} // namespace al
