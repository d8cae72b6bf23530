#include "core/after_call_wire.hpp"

#include "core/json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>

namespace al {

namespace json = boost::json;

namespace {

constexpr std::size_t max_summary_bytes = 4000;
constexpr std::size_t max_text_bytes = 4000; // one transcribed turn
constexpr std::size_t max_city_bytes = 200;
constexpr std::size_t max_callback_bytes = 300;
constexpr std::size_t max_next_step_bytes = 1000;
constexpr std::size_t max_transcript_bytes = 12000;
constexpr std::int64_t max_budget = 10'000'000'000; // ten billion shekels

bool boundary_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
         || (c >= 'A' && c <= 'Z')
         || std::string_view{"'()+_,-./:=?"}.find(c) != std::string_view::npos;
}

bool header_safe(std::string_view s) {
  return s.find_first_of("\"\r\n") == std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos)
    return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

/// `s` cut to at most `n` bytes, on a UTF-8 character boundary.
std::string clip_utf8(std::string_view s, std::size_t n) {
  if (s.size() <= n)
    return std::string{s};
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n;
  return std::string{s.substr(0, n)};
}

json::object nullable(const char* type) {
  return json::object{{"type", json::array{type, "null"}}};
}

json::object summary_schema() {
  json::object props;
  props["summary"] = json::object{
    {"type", "string"}, {"description", "סיכום קצר בעברית, 2-3 משפטים"}};
  auto deal = nullable("string");
  deal["enum"] = json::array{"buy", "rent", nullptr};
  deal["description"] = "buy = קנייה, rent = שכירות, null = לא ידוע";
  props["deal"] = std::move(deal);
  props["city"] = nullable("string");
  props["rooms"] = nullable("number");
  auto budget = nullable("integer");
  budget["description"] = "תקציב בשקלים שלמים";
  props["budget"] = std::move(budget);
  auto callback = nullable("string");
  callback["description"] = "מתי לחזור למתקשר, כפי שאמר";
  props["callback_time"] = std::move(callback);
  props["next_step"] = json::object{{"type", "string"}};
  props["sentiment"]
    = json::object{{"type", "string"},
                   {"enum", json::array{"positive", "neutral", "negative"}}};
  json::array required;
  for (auto k : {"summary", "deal", "city", "rooms", "budget", "callback_time",
                 "next_step", "sentiment"})
    required.emplace_back(k);
  return json::object{{"type", "object"},
                      {"properties", std::move(props)},
                      {"required", std::move(required)},
                      {"additionalProperties", false}};
}

/// A string field that may be null: nullopt for null or blank; an error
/// for another type or more than `max` bytes.
bool optional_text(simdjson::dom::element v, std::size_t max,
                   std::optional<std::string>& out) {
  if (v.is_null())
    return true;
  std::string_view s;
  if (v.get(s) != simdjson::SUCCESS || s.size() > max)
    return false;
  auto t = trim(s);
  if (!t.empty())
    out = std::string{t};
  return true;
}

} // namespace

std::optional<multipart_body>
build_multipart(const std::vector<form_part>& parts,
                std::string_view boundary) {
  if (boundary.empty() || boundary.size() > 70)
    return std::nullopt;
  for (char c : boundary)
    if (!boundary_char(c))
      return std::nullopt;
  std::string delimiter = "--" + std::string{boundary};
  multipart_body out;
  out.content_type = "multipart/form-data; boundary=" + std::string{boundary};
  for (auto& p : parts) {
    if (p.name.empty() || !header_safe(p.name) || !header_safe(p.filename)
        || !header_safe(p.content_type)
        || p.data.find(delimiter) != std::string::npos)
      return std::nullopt;
    out.body += delimiter;
    out.body += "\r\nContent-Disposition: form-data; name=\"";
    out.body += p.name;
    out.body += '"';
    if (!p.filename.empty()) {
      out.body += "; filename=\"";
      out.body += p.filename;
      out.body += '"';
    }
    out.body += "\r\n";
    if (!p.content_type.empty()) {
      out.body += "Content-Type: ";
      out.body += p.content_type;
      out.body += "\r\n";
    }
    out.body += "\r\n";
    out.body += p.data;
    out.body += "\r\n";
  }
  out.body += delimiter;
  out.body += "--\r\n";
  return out;
}

std::optional<multipart_body>
transcription_request(std::string_view wav, std::string_view filename,
                      std::string_view model, std::string_view language,
                      std::string_view boundary) {
  std::vector<form_part> parts;
  parts.push_back(
    {"file", std::string{wav}, std::string{filename}, "audio/wav"});
  parts.push_back({"model", std::string{model}, {}, {}});
  if (!language.empty())
    parts.push_back({"language", std::string{language}, {}, {}});
  parts.push_back({"response_format", "json", {}, {}});
  if (filename.empty())
    return std::nullopt;
  return build_multipart(parts, boundary);
}

std::optional<std::string> transcription_text(std::string_view body) {
  simdjson::dom::parser p;
  simdjson::dom::element root;
  if (p.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS)
    return std::nullopt;
  simdjson::dom::object o;
  if (root.get(o) != simdjson::SUCCESS)
    return std::nullopt;
  std::string_view text;
  if (o["text"].get(text) != simdjson::SUCCESS)
    return std::nullopt;
  return clip_utf8(trim(text), max_text_bytes);
}

std::string summary_schema_request(std::string_view model,
                                   const std::vector<transcript_line>& lines) {
  std::string text;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    auto line = std::string{it->role == "caller" ? "מתקשר: " : "נציג: "}
                + it->text + "\n";
    if (text.size() + line.size() > max_transcript_bytes)
      break;
    text.insert(0, line);
  }
  return json::serialize(json::object{
    {"model", model},
    {"temperature", 0.2},
    {"max_tokens", 600},
    {"messages",
     json::array{
       json::object{{"role", "system"},
                    {"content",
                     "סכם בעברית, בשניים-שלושה משפטים, שיחת טלפון של משרד תיווך"
                     " נדל\"ן: מה המתקשר מחפש, מה סוכם ומה הצעד הבא. חלץ רק מה"
                     " שנאמר בשיחה: סוג עסקה (buy/rent), עיר, מספר חדרים, תקציב"
                     " בשקלים, מתי לחזור אליו; מה שלא נאמר - null. אל תמציא."}},
       json::object{{"role", "user"}, {"content", text}}}},
    {"response_format",
     json::object{{"type", "json_schema"},
                  {"json_schema", json::object{{"name", "call_summary"},
                                               {"strict", true},
                                               {"schema", summary_schema()}}}}},
  });
}

std::variant<call_summary, std::string>
parse_summary_response(std::string_view body) {
  simdjson::dom::parser p;
  simdjson::dom::element root;
  if (p.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS)
    return std::string{"the response is not JSON"};
  simdjson::dom::element message;
  if (root["choices"].at(0)["message"].get(message) != simdjson::SUCCESS)
    return std::string{"the response has no choices[0].message"};
  std::string_view refusal;
  if (message["refusal"].get(refusal) == simdjson::SUCCESS && !refusal.empty())
    return std::string{"the model refused"};
  std::string_view content;
  if (message["content"].get(content) != simdjson::SUCCESS)
    return std::string{"the message has no content"};
  return parse_summary_json(content);
}

std::variant<call_summary, std::string>
parse_summary_json(std::string_view content) {
  simdjson::dom::parser p;
  simdjson::dom::element root;
  if (content.size() > 64 * 1024)
    return std::string{"the summary is too long"};
  if (p.parse(content.data(), content.size()).get(root) != simdjson::SUCCESS)
    return std::string{"the summary is not JSON"};
  simdjson::dom::object o;
  if (root.get(o) != simdjson::SUCCESS)
    return std::string{"the summary is not a JSON object"};
  static constexpr std::string_view keys[]
    = {"summary", "deal",          "city",      "rooms",
       "budget",  "callback_time", "next_step", "sentiment"};
  bool seen[std::size(keys)] = {};
  for (auto [key, value] : o) {
    bool known = false;
    for (std::size_t i = 0; i < std::size(keys); ++i)
      if (key == keys[i]) {
        if (seen[i])
          return std::string{"duplicate key in the summary"};
        seen[i] = known = true;
      }
    if (!known)
      return std::string{"unexpected key in the summary"};
    (void)value;
  }
  for (bool s : seen)
    if (!s)
      return std::string{"a key is missing in the summary"};
  auto at = [&o](const char* key) {
    simdjson::dom::element e;
    if (o[key].get(e) != simdjson::SUCCESS) { // present: checked above
    }
    return e;
  };
  call_summary out;
  std::string_view s;
  if (o["summary"].get(s) != simdjson::SUCCESS)
    return std::string{"summary is not a string"};
  s = trim(s);
  if (s.empty())
    return std::string{"summary is empty"};
  if (s.size() > max_summary_bytes)
    return std::string{"summary is too long"};
  out.summary = std::string{s};
  auto deal = at("deal");
  if (!deal.is_null()) {
    std::string_view d;
    if (deal.get(d) != simdjson::SUCCESS || (d != "buy" && d != "rent"))
      return std::string{"deal is not buy, rent or null"};
    out.deal = std::string{d};
  }
  if (!optional_text(at("city"), max_city_bytes, out.city))
    return std::string{"city is not a short string or null"};
  auto rooms = at("rooms");
  if (!rooms.is_null()) {
    double r = 0;
    if (rooms.get(r) != simdjson::SUCCESS) {
      std::int64_t i = 0;
      std::uint64_t u = 0;
      if (rooms.get(i) == simdjson::SUCCESS)
        r = static_cast<double>(i);
      else if (rooms.get(u) == simdjson::SUCCESS)
        r = static_cast<double>(u);
      else
        return std::string{"rooms is not a number or null"};
    }
    if (!std::isfinite(r) || r < 0.5 || r > 50)
      return std::string{"rooms is out of range"};
    out.rooms = std::round(r * 2) / 2;
  }
  auto budget = at("budget");
  if (!budget.is_null()) {
    std::int64_t b = 0;
    double d = 0;
    if (budget.get(b) == simdjson::SUCCESS) {
    } else if (budget.get(d) == simdjson::SUCCESS && std::isfinite(d)
               && d == std::floor(d) && std::fabs(d) <= 1e15) {
      b = static_cast<std::int64_t>(d);
    } else {
      return std::string{"budget is not a whole number or null"};
    }
    if (b < 0 || b > max_budget)
      return std::string{"budget is out of range"};
    out.budget = b;
  }
  if (!optional_text(at("callback_time"), max_callback_bytes,
                     out.callback_time))
    return std::string{"callback_time is not a short string or null"};
  std::string_view next;
  if (o["next_step"].get(next) != simdjson::SUCCESS
      || next.size() > max_next_step_bytes)
    return std::string{"next_step is not a short string"};
  out.next_step = std::string{trim(next)};
  std::string_view sentiment;
  if (o["sentiment"].get(sentiment) != simdjson::SUCCESS
      || (sentiment != "positive" && sentiment != "neutral"
          && sentiment != "negative"))
    return std::string{"sentiment is not positive, neutral or negative"};
  out.sentiment = std::string{sentiment};
  return out;
}

json::object summary_fields_json(const call_summary& s,
                                 std::string_view source) {
  auto opt_text = [](const std::optional<std::string>& v) {
    return v ? json::value(*v) : json::value(nullptr);
  };
  json::object o;
  o["deal"] = opt_text(s.deal);
  o["city"] = opt_text(s.city);
  o["rooms"] = s.rooms ? json::value(*s.rooms) : json::value(nullptr);
  o["budget"] = s.budget ? json::value(*s.budget) : json::value(nullptr);
  o["callback_time"] = opt_text(s.callback_time);
  o["next_step"] = s.next_step;
  o["sentiment"] = s.sentiment;
  o["source"] = source;
  return o;
}

call_summary scripted_summary(const scripted_outcome& o) {
  call_summary s;
  if (o.deal == "buy" || o.deal == "rent")
    s.deal = o.deal;
  std::string text;
  if (o.deal == "buy")
    text = "המתקשר מעוניין בקניית נכס.";
  else if (o.deal == "rent")
    text = "המתקשר מעוניין בשכירות.";
  else if (o.deal == "sell")
    text = "המתקשר מעוניין למכור נכס.";
  else if (o.caller_spoke)
    text = "המתקשר השאיר פנייה בשיחה.";
  else
    text = "שיחה ללא פנייה מהמתקשר.";
  if (o.callback == "spoken") {
    s.callback_time = "נאמר בשיחה";
    text += " ציין מתי נוח לחזור אליו (בהקלטה).";
  } else if (o.callback.rfind("dtmf:", 0) == 0) {
    s.callback_time = "הקיש " + o.callback.substr(5);
    text += " בחר מועד לחזרה בהקשה " + o.callback.substr(5) + ".";
  }
  if (o.transferred) {
    text += " השיחה הועברה לנציג.";
    s.next_step = "לוודא שהנציג טיפל בפנייה";
  } else if (o.ended_normally || o.caller_spoke || !o.deal.empty()) {
    s.next_step = "לחזור למתקשר";
  } else {
    s.next_step = o.status == "completed" ? "לחזור למתקשר אם השאיר מספר"
                                          : "לנסות לחזור למתקשר";
    if (!o.status.empty() && o.status != "completed")
      text += " השיחה נותקה לפני שהסתיימה.";
  }
  s.summary = text;
  return s;
}

} // namespace al
