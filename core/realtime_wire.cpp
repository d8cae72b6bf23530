#include "core/realtime_wire.hpp"

#include "core/crypto.hpp"
#include "core/input.hpp"
#include "core/json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cctype>
#include <cmath>

namespace al {

namespace json = boost::json;

namespace {

json::object string_prop(const char* description) {
  return json::object{{"type", "string"}, {"description", description}};
}

json::array tools() {
  json::object lead_props{
    {"name", string_prop("שם המתקשר")},
    {"deal",
     json::object{{"type", "string"},
                  {"enum", json::array{"buy", "rent", "sell"}},
                  {"description", "סוג העסקה: buy קנייה, rent שכירות, sell"
                                  " מכירה"}}},
    {"city", string_prop("עיר או אזור מבוקשים")},
    {"rooms", json::object{{"type", "number"},
                           {"description", "מספר חדרים (למשל 3.5)"}}},
    {"budget",
     json::object{{"type", "number"}, {"description", "תקציב מרבי בשקלים"}}},
    {"notes", string_prop("הערות נוספות חשובות")},
  };
  json::object appointment_props{
    {"starts_at", string_prop("מועד הפגישה, ISO-8601 עם היסט אזור זמן, למשל"
                              " 2025-03-01T10:30:00+02:00")},
    {"address", string_prop("כתובת הפגישה או הנכס")},
    {"notes", string_prop("הערות לפגישה")},
  };
  auto fn = [](const char* name, const char* description, json::object props,
               json::array required) {
    json::object params{{"type", "object"}, {"properties", std::move(props)}};
    if (!required.empty())
      params["required"] = std::move(required);
    return json::object{{"type", "function"},
                        {"name", name},
                        {"description", description},
                        {"parameters", std::move(params)}};
  };
  return json::array{
    fn("save_lead",
       "שמירת פרטי הליד שנאספו בשיחה. לקרוא בכל פעם שנודע פרט חדש.",
       std::move(lead_props), {}),
    fn("book_appointment", "קביעת פגישה או סיור בנכס.",
       std::move(appointment_props), json::array{"starts_at"}),
    fn("send_whatsapp",
       "שליחת הודעת וואטסאפ למספר של המתקשר (סיכום או קישור לנכס).",
       json::object{{"text", string_prop("תוכן ההודעה")}}, json::array{"text"}),
    fn("search_listings",
       "חיפוש נכסים של המשרד לפי מה שהמתקשר מחפש. לענות רק מהתוצאות.",
       json::object{
         {"deal", json::object{{"type", "string"},
                               {"enum", json::array{"buy", "rent"}},
                               {"description", "buy קנייה, rent שכירות"}}},
         {"city", string_prop("עיר")},
         {"neighborhood", string_prop("שכונה")},
         {"rooms_min",
          json::object{{"type", "number"}, {"description", "מינימום חדרים"}}},
         {"rooms_max",
          json::object{{"type", "number"}, {"description", "מקסימום חדרים"}}},
         {"price_max", json::object{{"type", "number"},
                                    {"description", "מחיר מרבי בשקלים"
                                                    " (לשכירות: לחודש)"}}}},
       {}),
    fn("transfer_call",
       "העברת השיחה לנציג אנושי של המשרד, כשהמתקשר מבקש לדבר עם אדם.",
       json::object{{"reason", string_prop("במה המתקשר צריך עזרה")}}, {}),
    fn("end_call", "סיום השיחה, רק אחרי שנפרדת מהמתקשר.",
       json::object{{"reason", string_prop("סיבת הסיום")}}, {}),
  };
}

json::object turn_detection() {
  return json::object{{"type", "server_vad"},     {"threshold", 0.5},
                      {"prefix_padding_ms", 300}, {"silence_duration_ms", 500},
                      {"create_response", true},  {"interrupt_response", true}};
}

std::string str(simdjson::dom::object o, std::string_view key) {
  std::string_view v;
  if (o.at_key(key).get(v) == simdjson::SUCCESS)
    return std::string{v};
  return {};
}

realtime_kind kind_of(std::string_view t) {
  if (t == "response.audio.delta" || t == "response.output_audio.delta")
    return realtime_kind::audio_delta;
  if (t == "response.audio.done" || t == "response.output_audio.done")
    return realtime_kind::audio_done;
  if (t == "input_audio_buffer.speech_started")
    return realtime_kind::speech_started;
  if (t == "input_audio_buffer.speech_stopped")
    return realtime_kind::speech_stopped;
  if (t == "response.created")
    return realtime_kind::response_created;
  if (t == "response.done")
    return realtime_kind::response_done;
  if (t == "response.audio_transcript.done"
      || t == "response.output_audio_transcript.done")
    return realtime_kind::agent_transcript;
  if (t == "conversation.item.input_audio_transcription.completed")
    return realtime_kind::caller_transcript;
  if (t == "response.function_call_arguments.done")
    return realtime_kind::function_call;
  if (t == "response.output_item.added" || t == "response.output_item.done")
    return realtime_kind::output_item;
  if (t == "session.created")
    return realtime_kind::session_created;
  if (t == "session.updated")
    return realtime_kind::session_updated;
  if (t == "error")
    return realtime_kind::error;
  return realtime_kind::other;
}

/// Parses an arguments string (a JSON object, possibly "" = {}).
bool args_object(simdjson::dom::parser& p, std::string_view arguments,
                 simdjson::dom::object& out) {
  if (arguments.find_first_not_of(" \t\r\n") == std::string_view::npos)
    arguments = "{}";
  simdjson::dom::element root;
  if (p.parse(arguments.data(), arguments.size()).get(root)
      != simdjson::SUCCESS)
    return false;
  return root.get(out) == simdjson::SUCCESS;
}

/// A text argument: absent/null = "", else a string of at most `max` bytes.
bool text_arg(simdjson::dom::object o, std::string_view key, std::size_t max,
              std::string& out, std::string& err) {
  auto f = get_string(o, key);
  if (f.state == field_state::missing || f.state == field_state::null)
    return true;
  if (!f.ok() || f.value.size() > max || !valid_utf8(f.value)) {
    err = std::string{key} + " must be text of at most " + std::to_string(max)
          + " bytes";
    return false;
  }
  auto b = f.value.find_first_not_of(" \t\r\n");
  auto e = f.value.find_last_not_of(" \t\r\n");
  out = b == std::string_view::npos ? std::string{}
                                    : std::string{f.value.substr(b, e - b + 1)};
  return true;
}

/// A number argument, also accepted as a numeric string ("3.5", "6,000").
bool number_arg(simdjson::dom::object o, std::string_view key,
                std::optional<double>& out, std::string& err) {
  simdjson::dom::element el;
  if (o.at_key(key).get(el) != simdjson::SUCCESS || el.is_null())
    return true;
  double v = 0;
  if (el.get(v) == simdjson::SUCCESS) {
    out = v;
  } else if (std::string_view s; el.get(s) == simdjson::SUCCESS) {
    std::string digits;
    for (char c : s)
      if (c != ',' && c != ' ')
        digits.push_back(c);
    if (digits.empty())
      return true;
    try {
      std::size_t used = 0;
      v = std::stod(digits, &used);
      if (used != digits.size())
        throw std::invalid_argument("trailing");
      out = v;
    } catch (...) {
      err = std::string{key} + " must be a number";
      return false;
    }
  } else {
    err = std::string{key} + " must be a number";
    return false;
  }
  if (!std::isfinite(*out) || *out < 0) {
    err = std::string{key} + " must be a positive number";
    return false;
  }
  return true;
}

} // namespace

std::string realtime_session_update(const realtime_session_options& o) {
  json::object session;
  if (o.ga) {
    session["type"] = "realtime";
    if (!o.model.empty())
      session["model"] = o.model;
    session["instructions"] = o.instructions;
    session["output_modalities"] = json::array{"audio"};
    json::object transcription{{"model", o.transcription_model.empty()
                                           ? "gpt-4o-mini-transcribe"
                                           : o.transcription_model}};
    if (!o.language.empty())
      transcription["language"] = o.language;
    session["audio"] = json::object{
      {"input", json::object{{"format", json::object{{"type", "audio/pcmu"}}},
                             {"turn_detection", turn_detection()},
                             {"transcription", std::move(transcription)}}},
      {"output", json::object{{"format", json::object{{"type", "audio/pcmu"}}},
                              {"voice", o.voice.empty() ? "marin" : o.voice}}}};
  } else {
    session["modalities"] = json::array{"text", "audio"};
    session["instructions"] = o.instructions;
    session["voice"] = o.voice.empty() ? "alloy" : o.voice;
    session["input_audio_format"] = "g711_ulaw";
    session["output_audio_format"] = "g711_ulaw";
    json::object transcription{{"model", o.transcription_model.empty()
                                           ? "whisper-1"
                                           : o.transcription_model}};
    if (!o.language.empty())
      transcription["language"] = o.language;
    session["input_audio_transcription"] = std::move(transcription);
    session["turn_detection"] = turn_detection();
    session["temperature"] = 0.8;
  }
  session["tools"] = tools();
  session["tool_choice"] = "auto";
  return json::serialize(
    json::object{{"type", "session.update"}, {"session", std::move(session)}});
}

std::string realtime_tool_definitions() {
  return json::serialize(tools());
}

std::string realtime_append(std::string_view mulaw) {
  std::string out;
  out.reserve(64 + mulaw.size() * 4 / 3 + 4);
  out += R"({"type":"input_audio_buffer.append","audio":")";
  crypto::base64_encode_append(mulaw, out);
  out += "\"}";
  return out;
}

std::string realtime_response_create() {
  return R"({"type":"response.create"})";
}

std::string realtime_response_cancel(std::string_view event_id) {
  return json::serialize(
    json::object{{"type", "response.cancel"}, {"event_id", event_id}});
}

std::string realtime_truncate(std::string_view event_id,
                              std::string_view item_id,
                              std::int64_t audio_end_ms) {
  return json::serialize(json::object{{"type", "conversation.item.truncate"},
                                      {"event_id", event_id},
                                      {"item_id", item_id},
                                      {"content_index", 0},
                                      {"audio_end_ms", audio_end_ms}});
}

std::string realtime_function_output(std::string_view call_id,
                                     std::string_view output) {
  return json::serialize(
    json::object{{"type", "conversation.item.create"},
                 {"item", json::object{{"type", "function_call_output"},
                                       {"call_id", call_id},
                                       {"output", output}}}});
}

std::string realtime_user_text(std::string_view text) {
  return json::serialize(json::object{
    {"type", "conversation.item.create"},
    {"item",
     json::object{{"type", "message"},
                  {"role", "user"},
                  {"content", json::array{json::object{{"type", "input_text"},
                                                       {"text", text}}}}}}});
}

std::string realtime_url(std::string_view base, std::string_view model) {
  std::string out{base};
  out += base.find('?') == std::string_view::npos ? "?model=" : "&model=";
  static const char hex[] = "0123456789ABCDEF";
  for (unsigned char c : model) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

void realtime_event::clear() {
  kind = realtime_kind::other;
  for (auto* s : {&type, &response_id, &item_id, &status, &audio, &transcript,
                  &item_type, &call_id, &name, &arguments, &error_type,
                  &error_code, &error_message, &error_event_id})
    s->clear();
}

bool realtime_parser::parse(std::string_view text, realtime_event& out) {
  out.clear();
  error_.clear();
  simdjson::dom::element root;
  simdjson::dom::object o;
  if (parser_.parse(text.data(), text.size()).get(root) != simdjson::SUCCESS
      || root.get(o) != simdjson::SUCCESS) {
    error_ = "not a JSON object";
    return false;
  }
  std::string_view type;
  if (o.at_key("type").get(type) != simdjson::SUCCESS) {
    error_ = "no type";
    return false;
  }
  out.type = std::string{type};
  out.kind = kind_of(type);
  out.response_id = str(o, "response_id");
  out.item_id = str(o, "item_id");
  switch (out.kind) {
    case realtime_kind::audio_delta: {
      std::string_view delta;
      if (o.at_key("delta").get(delta) != simdjson::SUCCESS
          || !crypto::base64_decode_into(delta, out.audio)) {
        error_ = "bad audio delta";
        return false;
      }
      break;
    }
    case realtime_kind::agent_transcript:
    case realtime_kind::caller_transcript:
      out.transcript = str(o, "transcript");
      break;
    case realtime_kind::function_call:
      out.item_type = "function_call";
      out.call_id = str(o, "call_id");
      out.name = str(o, "name");
      out.arguments = str(o, "arguments");
      break;
    case realtime_kind::output_item: {
      simdjson::dom::object item;
      if (o.at_key("item").get(item) == simdjson::SUCCESS) {
        out.item_id = str(item, "id");
        out.item_type = str(item, "type");
        out.call_id = str(item, "call_id");
        out.name = str(item, "name");
        out.arguments = str(item, "arguments");
      }
      break;
    }
    case realtime_kind::response_created:
    case realtime_kind::response_done: {
      simdjson::dom::object r;
      if (o.at_key("response").get(r) == simdjson::SUCCESS) {
        out.response_id = str(r, "id");
        out.status = str(r, "status");
      }
      break;
    }
    case realtime_kind::error: {
      simdjson::dom::object e;
      if (o.at_key("error").get(e) == simdjson::SUCCESS) {
        out.error_type = str(e, "type");
        out.error_code = str(e, "code");
        out.error_message = str(e, "message");
        out.error_event_id = str(e, "event_id");
      }
      break;
    }
    default:
      break;
  }
  return true;
}

std::string realtime_lead_patch(std::string_view arguments,
                                std::string& patch_json, std::string& notes) {
  simdjson::dom::parser p;
  simdjson::dom::object o;
  if (!args_object(p, arguments, o))
    return "arguments must be a JSON object";
  std::string err, name, deal, city;
  std::optional<double> rooms, budget;
  notes.clear();
  if (!text_arg(o, "name", 400, name, err)
      || !text_arg(o, "deal", 16, deal, err)
      || !text_arg(o, "city", 200, city, err)
      || !text_arg(o, "notes", 2000, notes, err)
      || !number_arg(o, "rooms", rooms, err)
      || !number_arg(o, "budget", budget, err))
    return err;
  json::object patch;
  if (!name.empty())
    patch["name"] = name;
  if (!deal.empty()) {
    if (deal != "buy" && deal != "rent" && deal != "sell")
      return "deal must be buy, rent or sell";
    patch["deal"] = deal;
  }
  if (!city.empty())
    patch["city"] = city;
  if (rooms) {
    if (*rooms > 99.5)
      return "rooms must be a number between 0 and 99.5";
    patch["rooms"] = *rooms;
  }
  if (budget) {
    if (*budget > 1e12)
      return "budget is too large";
    patch["budget_max"] = static_cast<std::int64_t>(std::llround(*budget));
  }
  if (patch.empty() && notes.empty())
    return "no lead details given";
  patch_json = json::serialize(patch);
  return {};
}

std::string realtime_appointment_args(std::string_view arguments,
                                      appointment_args& out) {
  simdjson::dom::parser p;
  simdjson::dom::object o;
  if (!args_object(p, arguments, o))
    return "arguments must be a JSON object";
  std::string err;
  out = appointment_args{};
  if (!text_arg(o, "starts_at", 64, out.starts_at, err)
      || !text_arg(o, "address", 500, out.address, err)
      || !text_arg(o, "notes", 2000, out.notes, err))
    return err;
  if (out.starts_at.empty())
    return "starts_at is required";
  if (parse_timestamp(out.starts_at))
    return {};
  // A local time without an offset: taken as Israel time.
  if (parse_timestamp(out.starts_at + "Z")) {
    out.local = true;
    return {};
  }
  return "starts_at must be an ISO-8601 date and time, e.g."
         " 2025-03-01T10:30:00+02:00";
}

std::string realtime_whatsapp_text(std::string_view arguments,
                                   std::string& text) {
  simdjson::dom::parser p;
  simdjson::dom::object o;
  if (!args_object(p, arguments, o))
    return "arguments must be a JSON object";
  std::string err;
  text.clear();
  if (!text_arg(o, "text", 1500, text, err))
    return err;
  if (text.empty())
    return "text is required";
  return {};
}

std::string
realtime_instructions(std::string_view business_name, std::string_view prompt,
                      std::string_view greeting, std::string_view lead_facts) {
  std::string out;
  if (!prompt.empty()) {
    out += prompt;
  } else {
    out += "את/ה נציג/ה טלפוני/ת אדיב/ה של משרד תיווך נדל\"ן";
    if (!business_name.empty()) {
      out += " ";
      out += business_name;
    }
    out += ". המטרה: להבין מה המתקשר מחפש (קנייה, שכירות או מכירה), באיזו"
           " עיר, כמה חדרים ובאיזה תקציב, ולקבוע פגישה או שיחה חוזרת.";
  }
  out += "\n\nדבר/י עברית בלבד, במשפטים קצרים וטבעיים לשיחת טלפון.";
  if (!greeting.empty()) {
    out += " כבר פתחת את השיחה במשפט: \"";
    out += greeting;
    out += "\". אל תחזור/י על הפתיח; המשך/י מתשובת המתקשר.";
  }
  if (!lead_facts.empty()) {
    out += "\n\nפרטים ידועים על המתקשר: ";
    out += lead_facts;
  }
  out += "\n\nכלים: save_lead בכל פעם שנודע פרט חדש (שם, סוג עסקה, עיר,"
         " חדרים, תקציב, הערות). book_appointment כשסוכם מועד לפגישה (זמן"
         " ישראל, ISO-8601 עם היסט). send_whatsapp כשהמתקשר מבקש לקבל"
         " פרטים או סיכום בוואטסאפ. search_listings כששואלים על נכסים:"
         " ענה/י רק מהנכסים שהוחזרו, לעולם אל תמציא/י נכס, מחיר או פרט;"
         " אם אין התאמה, אמור/י זאת והצע/י לרשום את הפרטים. end_call רק"
         " אחרי שנפרדת מהמתקשר.";
  return out;
}

std::string openai_rest_url(std::string_view realtime_url,
                            std::string_view path) {
  std::string out;
  if (realtime_url.rfind("wss://", 0) == 0)
    out = "https://" + std::string{realtime_url.substr(6)};
  else if (realtime_url.rfind("ws://", 0) == 0)
    out = "http://" + std::string{realtime_url.substr(5)};
  else
    return {};
  out = out.substr(0, out.find('?'));
  constexpr std::string_view suffix = "/realtime";
  if (out.size() >= suffix.size()
      && out.compare(out.size() - suffix.size(), suffix.size(), suffix) == 0)
    out.resize(out.size() - suffix.size());
  while (!out.empty() && out.back() == '/')
    out.pop_back();
  return out + std::string{path};
}

std::string summary_request(std::string_view model,
                            const std::vector<transcript_line>& lines) {
  constexpr std::size_t max_bytes = 12000;
  std::string text;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    auto line = std::string{it->role == "caller" ? "מתקשר: " : "נציג: "}
                + it->text + "\n";
    if (text.size() + line.size() > max_bytes)
      break;
    text.insert(0, line);
  }
  return json::serialize(json::object{
    {"model", model},
    {"temperature", 0.3},
    {"max_tokens", 300},
    {"messages",
     json::array{json::object{{"role", "system"},
                              {"content",
                               "סכם בעברית, בשניים-שלושה משפטים, שיחת טלפון"
                               " של משרד תיווך נדל\"ן: מה המתקשר מחפש (סוג"
                               " עסקה, עיר, חדרים, תקציב), מה סוכם ומה"
                               " הצעד הבא."}},
                 json::object{{"role", "user"}, {"content", text}}}}});
}

std::optional<std::string> summary_text(std::string_view body) {
  simdjson::dom::parser p;
  simdjson::dom::element root;
  if (p.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS)
    return std::nullopt;
  std::string_view content;
  if (root["choices"].at(0)["message"]["content"].get(content)
      != simdjson::SUCCESS)
    return std::nullopt;
  auto b = content.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos)
    return std::nullopt;
  auto e = content.find_last_not_of(" \t\r\n");
  return std::string{content.substr(b, e - b + 1)};
}

std::string redact(std::string text, std::string_view secret) {
  if (secret.empty())
    return text;
  for (auto at = text.find(secret); at != std::string::npos;
       at = text.find(secret, at + 3))
    text.replace(at, secret.size(), "***");
  return text;
}

} // namespace al
