#include "core/wa_ai_wire.hpp"

#include "core/json.hpp"
#include "core/payment_wire.hpp"
#include "core/realtime_wire.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace al {

namespace json = boost::json;

namespace {

constexpr std::size_t max_error_bytes = 200;
constexpr std::size_t max_id_bytes = 200;
constexpr std::size_t max_name_bytes = 64;
constexpr std::size_t max_reason_bytes = 300;

std::string_view trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos)
    return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

/// The call's tool definitions (Realtime shape) in the chat-completions
/// shape {type:"function", function:{name, description, parameters}}: the
/// same descriptions and argument schemas, so both channels agree.
json::array chat_tools() {
  json::array out;
  auto realtime = json::parse(realtime_tool_definitions());
  for (auto& t : realtime.as_array()) {
    auto& o = t.as_object();
    auto name = o.at("name").as_string();
    if (name != "save_lead" && name != "search_listings"
        && name != "book_appointment")
      continue;
    out.emplace_back(json::object{
      {"type", "function"},
      {"function", json::object{{"name", name},
                                {"description", o.at("description")},
                                {"parameters", o.at("parameters")}}}});
  }
  json::object reason{{"type", "string"},
                      {"description", "במה הלקוח צריך עזרה"}};
  json::object params{{"type", "object"},
                      {"properties", json::object{{"reason", reason}}}};
  json::object handoff{{"name", "handoff"},
                       {"description",
                        "העברת השיחה לנציג אנושי של המשרד: כשהלקוח מבקש אדם,"
                        " כועס, או כששאלה דורשת החלטה של המשרד."},
                       {"parameters", std::move(params)}};
  out.emplace_back(
    json::object{{"type", "function"}, {"function", std::move(handoff)}});
  return out;
}

json::object message_json(const wa_chat_message& m) {
  json::object o{{"role", m.role}};
  if (m.role == "assistant" && !m.tool_calls.empty()) {
    // An assistant turn that called tools: content may be null.
    o["content"] = m.content.empty() ? json::value(nullptr)
                                     : json::value(m.content);
    json::array calls;
    for (auto& c : m.tool_calls)
      calls.emplace_back(
        json::object{{"id", c.id},
                     {"type", "function"},
                     {"function", json::object{{"name", c.name},
                                               {"arguments", c.arguments}}}});
    o["tool_calls"] = std::move(calls);
    return o;
  }
  o["content"] = m.content;
  if (m.role == "tool")
    o["tool_call_id"] = m.tool_call_id;
  return o;
}

bool tool_name_ok(std::string_view n) {
  if (n.empty() || n.size() > max_name_bytes)
    return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

/// One element of message.tool_calls; "" or the error.
std::string read_tool_call(simdjson::dom::element e, wa_tool_call& out) {
  simdjson::dom::object o;
  if (e.get(o) != simdjson::SUCCESS)
    return "a tool call is not an object";
  std::string_view type;
  if (o["type"].get(type) == simdjson::SUCCESS && type != "function")
    return "a tool call is not a function call";
  std::string_view id, name, args;
  if (o["id"].get(id) != simdjson::SUCCESS || id.empty()
      || id.size() > max_id_bytes)
    return "a tool call has no id";
  simdjson::dom::object fn;
  if (o["function"].get(fn) != simdjson::SUCCESS)
    return "a tool call has no function";
  if (fn["name"].get(name) != simdjson::SUCCESS || !tool_name_ok(name))
    return "a tool call has no valid name";
  if (fn["arguments"].get(args) != simdjson::SUCCESS)
    return "a tool call's arguments are not text";
  if (args.size() > wa_max_arguments)
    return "a tool call's arguments are too long";
  // Models send "" for a call without arguments: that is {}.
  if (trim(args).empty())
    args = "{}";
  json_doc doc;
  if (!doc.parse(args) || !doc.object())
    return "a tool call's arguments are not a JSON object";
  out.id = std::string{id};
  out.name = std::string{name};
  out.arguments = std::string{args};
  return {};
}

} // namespace

std::string wa_chat_request(std::string_view model,
                            const std::vector<wa_chat_message>& messages,
                            bool allow_tools) {
  static const json::array tools = chat_tools();
  json::array msgs;
  for (auto& m : messages)
    msgs.emplace_back(message_json(m));
  json::object o{{"model", model},
                 {"temperature", 0.4},
                 {"max_tokens", 400},
                 {"messages", std::move(msgs)},
                 {"tools", tools}};
  if (!allow_tools)
    o["tool_choice"] = "none";
  return json::serialize(o);
}

std::variant<wa_chat_reply, std::string>
parse_wa_chat_reply(std::string_view body) {
  json_doc doc;
  if (!doc.parse(body))
    return std::string{"the reply is not JSON"};
  auto root = doc.object();
  if (!root)
    return std::string{"the reply is not a JSON object"};
  simdjson::dom::object err;
  if ((*root)["error"].get(err) == simdjson::SUCCESS)
    return std::string{"the reply is an error"};
  simdjson::dom::array choices;
  if ((*root)["choices"].get(choices) != simdjson::SUCCESS
      || choices.size() == 0)
    return std::string{"the reply has no choices"};
  simdjson::dom::object choice, msg;
  if (choices.at(0).get(choice) != simdjson::SUCCESS
      || choice["message"].get(msg) != simdjson::SUCCESS)
    return std::string{"the reply has no message"};
  wa_chat_reply out;
  std::string_view finish;
  if (choice["finish_reason"].get(finish) == simdjson::SUCCESS)
    out.finish_reason = std::string{finish.substr(0, 32)};
  auto content = msg["content"];
  std::string_view text;
  if (content.get(text) == simdjson::SUCCESS)
    out.content = utf8_prefix(trim(text), wa_max_reply_bytes);
  else if (content.error() != simdjson::NO_SUCH_FIELD && !content.is_null())
    return std::string{"the reply's content is not text"};
  auto calls = msg["tool_calls"];
  simdjson::dom::array list;
  if (calls.get(list) == simdjson::SUCCESS) {
    if (list.size() > wa_max_tool_calls)
      return std::string{"the reply asks for too many tool calls"};
    for (auto e : list) {
      wa_tool_call c;
      if (auto e2 = read_tool_call(e, c); !e2.empty())
        return e2;
      out.tool_calls.push_back(std::move(c));
    }
  } else if (calls.error() != simdjson::NO_SUCH_FIELD && !calls.is_null()) {
    return std::string{"the reply's tool_calls is not a list"};
  }
  if (out.content.empty() && out.tool_calls.empty())
    return std::string{"the reply is empty"};
  return out;
}

std::string wa_chat_failure(int status, std::string_view body,
                            std::string_view transport_error) {
  if (status == 0)
    return "transport: "
           + utf8_prefix(transport_error.empty() ? "no answer"
                                                 : transport_error,
                         max_error_bytes);
  std::string out = "HTTP " + std::to_string(status);
  json_doc doc;
  std::string_view msg;
  if (doc.parse(body) && doc.object()
      && (*doc.object())["error"]["message"].get(msg) == simdjson::SUCCESS
      && !trim(msg).empty())
    out += ": " + utf8_prefix(trim(msg), max_error_bytes);
  return out;
}

std::string wa_ai_system_prompt(const wa_ai_brief& b) {
  std::string out;
  if (!b.prompt.empty()) {
    out += b.prompt;
  } else {
    out += "את/ה נציג/ה אדיב/ה בוואטסאפ של משרד תיווך נדל\"ן";
    if (!b.business_name.empty())
      out += " " + b.business_name;
    out += ". המטרה: להבין מה הלקוח מחפש (קנייה, שכירות או מכירה), באיזו"
           " עיר, כמה חדרים ובאיזה תקציב, ולקבוע פגישה או שיחה עם סוכן.";
  }
  if (!b.office_context.empty())
    out += "\n\n" + b.office_context;
  if (!b.lead_facts.empty())
    out += "\n\nפרטים ידועים על הלקוח: " + b.lead_facts;
  out += "\n\nכללים: זו שיחת וואטסאפ. ענה/י בקצרה (משפט עד שלושה), בשפה"
         " שבה הלקוח כותב; עברית כברירת מחדל. לעולם אל תמציא/י עובדות:"
         " נכסים, מחירים וזמינות רק מתוך מה ש-search_listings החזיר; אם"
         " אין התאמה, אמור/י זאת והצע/י לרשום את הפרטים."
         "\nכלים: save_lead כשהלקוח מסר פרט חדש (שם, סוג עסקה, עיר, חדרים,"
         " תקציב), רק מה שהלקוח אמר. book_appointment כשסוכם מועד (זמן"
         " ישראל, ISO-8601 עם היסט); אם התשובה ok:false, הסבר/י בקצרה"
         " והצע/י את המועדים שב-alternatives.";
  if (b.can_hand_off)
    out += " handoff כשהלקוח מבקש לדבר עם אדם או כשצריך החלטה של המשרד;"
           " אחר כך אמור/י שנציג יחזור אליו בהקדם.";
  return out;
}

std::string wa_handoff_reason(std::string_view arguments, std::string& reason) {
  reason.clear();
  json_doc doc;
  if (!doc.parse(trim(arguments).empty() ? std::string_view{"{}"} : arguments)
      || !doc.object())
    return "arguments must be a JSON object";
  auto v = (*doc.object())["reason"];
  std::string_view text;
  if (v.get(text) == simdjson::SUCCESS)
    reason = utf8_prefix(trim(text), max_reason_bytes);
  else if (v.error() != simdjson::NO_SUCH_FIELD && !v.is_null())
    return "reason must be text";
  return {};
}

} // namespace al
