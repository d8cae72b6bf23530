#include "core/whatsapp_wire.hpp"

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/payment_wire.hpp"
#include "core/phone.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <cctype>
#include <string>

namespace al {

namespace {

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// One path segment, percent-encoded (a stored SID or phone id can never
/// reach another endpoint).
std::string segment(std::string_view s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

std::string trim_slashes(std::string_view base) {
  while (!base.empty() && base.back() == '/')
    base.remove_suffix(1);
  return std::string{base};
}

/// A transport failure or a non-JSON error answer, described briefly.
wa_send_outcome failure(std::string_view provider, const outbound_response& r) {
  wa_send_outcome out;
  if (!r.error.empty()) {
    out.timeout = r.error == "timeout";
    out.error = out.timeout
                  ? std::string{provider} + " timed out"
                  : std::string{provider} + " unreachable: " + r.error;
    return out;
  }
  out.error = std::string{provider} + " answered HTTP "
              + std::to_string(r.status);
  return out;
}

/// A JSON number or string field as text ("" when absent or another type).
std::string number_or_string(simdjson::dom::object o, std::string_view key) {
  if (auto n = get_int(o, key); n.ok())
    return std::to_string(n.value);
  if (auto s = get_string(o, key); s.ok())
    return std::string{s.value};
  return {};
}

/// Text PostgreSQL can store: NUL bytes dropped, each byte of an invalid
/// UTF-8 sequence replaced by U+FFFD.
std::string storable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) {
      ++i;
      continue;
    }
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    std::size_t n = c >= 0xF0 && c <= 0xF4   ? 4
                    : c >= 0xE0 && c <= 0xEF ? 3
                    : c >= 0xC2 && c <= 0xDF ? 2
                                             : 0;
    if (n && i + n <= s.size() && valid_utf8(s.substr(i, n))) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

std::string string_or_empty(simdjson::dom::object o, std::string_view key) {
  auto f = get_string(o, key);
  return f.ok() ? storable(f.value) : std::string{};
}

std::string form_text(const form_params& form, std::string_view key) {
  return storable(form.value_or(key));
}

} // namespace

// -- statuses -----------------------------------------------------------------

int wa_status_rank(std::string_view s) noexcept {
  if (s == "queued" || s == "accepted" || s == "scheduled")
    return 0;
  if (s == "sending")
    return 1;
  if (s == "sent")
    return 2;
  if (s == "delivered" || s == "undelivered" || s == "failed")
    return 3;
  if (s == "read")
    return 4;
  if (s == "received")
    return 5;
  return -1;
}

bool wa_status_advances(std::string_view from, std::string_view to) noexcept {
  auto t = wa_status_rank(to);
  if (t < 0)
    return false;
  if (from == "failed" || from == "undelivered")
    return false;
  return t > wa_status_rank(from);
}

// -- Twilio -------------------------------------------------------------------

outbound_request
twilio_send_request(std::string_view api_base, const twilio_credentials& creds,
                    std::string_view from, std::string_view to,
                    std::string_view body, std::string_view status_callback,
                    std::chrono::milliseconds timeout,
                    std::string_view media_url) {
  auto url = trim_slashes(api_base) + "/2010-04-01/Accounts/"
             + segment(creds.account_sid) + "/Messages.json";
  std::vector<form_params::value_type> form{{"To", std::string{to}},
                                            {"From", std::string{from}},
                                            {"Body", std::string{body}}};
  if (!media_url.empty())
    form.emplace_back("MediaUrl", std::string{media_url});
  if (!status_callback.empty())
    form.emplace_back("StatusCallback", std::string{status_callback});
  return twilio_post(std::move(url), creds, encode_form(form), timeout);
}

outbound_request twilio_post(std::string url, const twilio_credentials& creds,
                             std::string form_body,
                             std::chrono::milliseconds timeout) {
  outbound_request r;
  r.method = "POST";
  r.url = std::move(url);
  r.body = std::move(form_body);
  r.headers
    = {{"Authorization",
        "Basic "
          + crypto::base64_encode(creds.account_sid + ":" + creds.auth_token)},
       {"Content-Type", "application/x-www-form-urlencoded"},
       {"Accept", "application/json"}};
  r.timeout = timeout;
  return r;
}

wa_send_outcome parse_twilio_send_response(const outbound_response& res) {
  if (!res.error.empty())
    return failure("twilio", res);
  json_doc doc;
  std::optional<simdjson::dom::object> o;
  if (doc.parse(res.body))
    o = doc.object();
  if (res.status >= 200 && res.status < 300) {
    wa_send_outcome out;
    if (o)
      out.sid = string_or_empty(*o, "sid");
    if (out.sid.empty()) {
      out.error = "twilio answered without a message sid";
      return out;
    }
    out.ok = true;
    out.status = string_or_empty(*o, "status");
    return out;
  }
  auto out = failure("twilio", res);
  if (o) {
    if (auto m = string_or_empty(*o, "message"); !m.empty())
      out.error = m;
    out.error_code = number_or_string(*o, "code");
  }
  return out;
}

std::variant<wa_inbound, std::string>
parse_twilio_inbound(const form_params& form) {
  wa_inbound in;
  in.provider = "twilio";
  in.sid = form_text(form, "MessageSid");
  if (in.sid.empty())
    in.sid = form_text(form, "SmsMessageSid");
  if (in.sid.empty() || in.sid.size() > 64)
    return std::string{"MessageSid is required"};
  auto from = normalize_phone(form.value_or("From"));
  if (!from)
    return std::string{"From must be a WhatsApp phone address"};
  in.from = *from;
  if (auto to = normalize_phone(form.value_or("To")))
    in.to = *to;
  in.body = form_text(form, "Body");
  in.profile_name = form_text(form, "ProfileName");
  in.wa_id = form_text(form, "WaId");
  // NumMedia says how many; take what is there (at most 10, like Twilio).
  // A URL or type that is not sane text is kept as given only in the
  // media_urls column; the fetcher refuses it (wa_media_url_error).
  for (std::size_t i = 0; i < wa_max_media_items; ++i) {
    auto n = std::to_string(i);
    auto url = form.get("MediaUrl" + n);
    if (!url || url->empty())
      continue;
    in.media.push_back(storable(*url));
    wa_media_item item;
    item.source_ref = in.media.back().substr(0, 4096);
    item.content_type
      = wa_media_base_type(form_text(form, "MediaContentType" + n));
    in.attachments.push_back(std::move(item));
  }
  return in;
}

std::variant<wa_status_event, std::string>
parse_twilio_status(const form_params& form) {
  wa_status_event ev;
  ev.sid = form_text(form, "MessageSid");
  if (ev.sid.empty())
    ev.sid = form_text(form, "SmsSid");
  ev.status = lower(form_text(form, "MessageStatus"));
  if (ev.status.empty())
    ev.status = lower(form_text(form, "SmsStatus"));
  if (ev.sid.empty() || ev.sid.size() > 64)
    return std::string{"MessageSid is required"};
  if (ev.status.empty() || ev.status.size() > 32)
    return std::string{"MessageStatus is required"};
  ev.error_code = form_text(form, "ErrorCode");
  ev.error = form_text(form, "ErrorMessage");
  return ev;
}

// -- Meta
// -----------------------------------------------------------------------

std::string meta_recipient(std::string_view e164) {
  std::string out;
  for (char c : e164)
    if (c >= '0' && c <= '9')
      out.push_back(c);
  return out;
}

outbound_request
meta_send_request(std::string_view api_base, std::string_view phone_id,
                  std::string_view token, std::string_view to_e164,
                  std::string_view body, std::chrono::milliseconds timeout) {
  outbound_request r;
  r.method = "POST";
  r.url = trim_slashes(api_base) + "/" + segment(phone_id) + "/messages";
  boost::json::object o{
    {"messaging_product", "whatsapp"},
    {"to", meta_recipient(to_e164)},
    {"type", "text"},
    {"text", boost::json::object{
               {"body", boost::json::string_view{body.data(), body.size()}}}}};
  r.body = boost::json::serialize(o);
  r.headers = {{"Authorization", "Bearer " + std::string{token}},
               {"Content-Type", "application/json"}};
  r.timeout = timeout;
  return r;
}

outbound_request
meta_media_send_request(std::string_view api_base, std::string_view phone_id,
                        std::string_view token, std::string_view to_e164,
                        std::string_view media_url, std::string_view body,
                        std::chrono::milliseconds timeout) {
  auto r = meta_send_request(api_base, phone_id, token, to_e164, {}, timeout);
  bool document = wa_media_url_is_document(media_url);
  boost::json::object media{
    {"link", boost::json::string_view{media_url.data(), media_url.size()}}};
  if (!body.empty())
    media["caption"] = boost::json::string_view{body.data(), body.size()};
  if (document) {
    auto path = media_url.substr(0, media_url.find_first_of("?#"));
    auto name = wa_media_filename(path);
    if (!name.empty())
      media["filename"] = name;
  }
  const char* type = document ? "document" : "image";
  boost::json::object o{{"messaging_product", "whatsapp"},
                        {"to", meta_recipient(to_e164)},
                        {"type", type},
                        {type, std::move(media)}};
  r.body = boost::json::serialize(o);
  return r;
}

wa_send_outcome parse_meta_send_response(const outbound_response& res) {
  if (!res.error.empty())
    return failure("meta", res);
  json_doc doc;
  std::optional<simdjson::dom::object> o;
  if (doc.parse(res.body))
    o = doc.object();
  if (res.status >= 200 && res.status < 300) {
    wa_send_outcome out;
    if (o) {
      if (auto msgs = get_array(*o, "messages"); msgs.ok()) {
        for (auto el : msgs.value) {
          simdjson::dom::object m;
          if (el.get(m) == simdjson::SUCCESS) {
            out.sid = string_or_empty(m, "id");
            out.status = string_or_empty(m, "message_status");
            break;
          }
        }
      }
    }
    if (out.sid.empty()) {
      out.error = "meta answered without a message id";
      return out;
    }
    out.ok = true;
    return out;
  }
  auto out = failure("meta", res);
  if (o) {
    if (auto e = get_object(*o, "error"); e.ok()) {
      if (auto m = string_or_empty(e.value, "message"); !m.empty())
        out.error = m;
      out.error_code = number_or_string(e.value, "code");
    }
  }
  return out;
}

bool verify_meta_signature(std::string_view app_secret,
                           std::string_view raw_body, std::string_view header) {
  constexpr std::string_view prefix = "sha256=";
  if (app_secret.empty() || header.size() != prefix.size() + 64
      || lower(header.substr(0, prefix.size())) != prefix)
    return false;
  auto expected = crypto::to_hex(crypto::hmac_sha256(app_secret, raw_body));
  return crypto::constant_time_equal(expected,
                                     lower(header.substr(prefix.size())));
}

std::optional<std::string> meta_handshake(const form_params& query,
                                          std::string_view verify_token) {
  if (verify_token.empty() || query.value_or("hub.mode") != "subscribe")
    return std::nullopt;
  auto token = query.value_or("hub.verify_token");
  if (!crypto::constant_time_equal(token, verify_token))
    return std::nullopt;
  auto challenge = query.value_or("hub.challenge");
  if (challenge.empty() || challenge.size() > 256)
    return std::nullopt;
  for (unsigned char c : challenge)
    if (c < 0x21 || c > 0x7e)
      return std::nullopt;
  return challenge;
}

namespace {

/// A Cloud API media id: 1-128 characters of [A-Za-z0-9._-] (Meta's are
/// digits); anything else is not looked up.
bool meta_media_id(std::string_view id) {
  if (id.empty() || id.size() > 128)
    return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_'
        && c != '-')
      return false;
  return true;
}

/// The text a Cloud API message carries, by type; media ids go to `media`
/// and, with their type and file name, to `items`.
std::string meta_text(simdjson::dom::object m, std::vector<std::string>& media,
                      std::vector<wa_media_item>& items) {
  auto type = string_or_empty(m, "type");
  if (type == "text") {
    if (auto t = get_object(m, "text"); t.ok())
      return string_or_empty(t.value, "body");
    return {};
  }
  if (type == "image" || type == "video" || type == "audio"
      || type == "document" || type == "sticker") {
    if (auto t = get_object(m, type); t.ok()) {
      if (auto id = string_or_empty(t.value, "id"); !id.empty()) {
        media.push_back("meta-media:" + id);
        if (meta_media_id(id)) {
          wa_media_item item;
          item.source_ref = id;
          item.content_type
            = wa_media_base_type(string_or_empty(t.value, "mime_type"));
          item.filename
            = wa_media_filename(string_or_empty(t.value, "filename"));
          items.push_back(std::move(item));
        }
      }
      return string_or_empty(t.value, "caption");
    }
    return {};
  }
  if (type == "button") {
    if (auto t = get_object(m, "button"); t.ok())
      return string_or_empty(t.value, "text");
    return {};
  }
  if (type == "interactive") {
    if (auto t = get_object(m, "interactive"); t.ok()) {
      for (auto key : {"button_reply", "list_reply"})
        if (auto r = get_object(t.value, key); r.ok())
          return string_or_empty(r.value, "title");
    }
    return {};
  }
  if (type == "location") {
    if (auto t = get_object(m, "location"); t.ok()) {
      double lat = 0, lng = 0;
      simdjson::dom::element el;
      if (t.value.at_key("latitude").get(el) == simdjson::SUCCESS
          && el.get(lat) == simdjson::SUCCESS
          && t.value.at_key("longitude").get(el) == simdjson::SUCCESS
          && el.get(lng) == simdjson::SUCCESS)
        return "location: " + std::to_string(lat) + "," + std::to_string(lng);
    }
    return {};
  }
  return {};
}

/// Each object element of the array field `key` of `o`.
template <class Fn>
void each_object(simdjson::dom::object o, std::string_view key, Fn&& fn) {
  auto a = get_array(o, key);
  if (!a.ok())
    return;
  for (auto el : a.value) {
    simdjson::dom::object item;
    if (el.get(item) == simdjson::SUCCESS)
      fn(item);
  }
}

void read_change_value(simdjson::dom::object v, meta_webhook& out) {
  std::string to;
  if (auto md = get_object(v, "metadata"); md.ok()) {
    auto display
      = meta_recipient(string_or_empty(md.value, "display_phone_number"));
    if (auto n = normalize_phone("+" + display); n && !display.empty())
      to = *n;
  }
  // wa_id -> profile name, from "contacts".
  std::vector<std::pair<std::string, std::string>> names;
  each_object(v, "contacts", [&](simdjson::dom::object c) {
    std::string name;
    if (auto p = get_object(c, "profile"); p.ok())
      name = string_or_empty(p.value, "name");
    names.emplace_back(string_or_empty(c, "wa_id"), std::move(name));
  });
  each_object(v, "messages", [&](simdjson::dom::object m) {
    wa_inbound in;
    in.provider = "meta";
    in.sid = string_or_empty(m, "id");
    in.wa_id = string_or_empty(m, "from");
    auto from = normalize_phone("+" + meta_recipient(in.wa_id));
    if (in.sid.empty() || in.sid.size() > 128 || in.wa_id.empty() || !from)
      return;
    in.from = *from;
    in.to = to;
    in.body = meta_text(m, in.media, in.attachments);
    for (auto& [id, name] : names)
      if (id == in.wa_id)
        in.profile_name = name;
    out.messages.push_back(std::move(in));
  });
  each_object(v, "statuses", [&](simdjson::dom::object s) {
    wa_status_event ev;
    ev.sid = string_or_empty(s, "id");
    ev.status = lower(string_or_empty(s, "status"));
    if (ev.sid.empty() || ev.sid.size() > 128 || ev.status.empty()
        || ev.status.size() > 32)
      return;
    each_object(s, "errors", [&](simdjson::dom::object e) {
      if (!ev.error_code.empty())
        return;
      ev.error_code = number_or_string(e, "code");
      ev.error = string_or_empty(e, "message");
      if (ev.error.empty())
        ev.error = string_or_empty(e, "title");
    });
    out.statuses.push_back(std::move(ev));
  });
}

} // namespace

std::variant<meta_webhook, std::string>
parse_meta_webhook(std::string_view body) {
  json_doc doc;
  if (!doc.parse(body))
    return doc.error();
  auto root = doc.object();
  if (!root)
    return std::string{"JSON body must be an object"};
  auto entries = get_array(*root, "entry");
  if (!entries.ok())
    return std::string{"entry must be an array"};
  meta_webhook out;
  for (auto el : entries.value) {
    simdjson::dom::object entry;
    if (el.get(entry) != simdjson::SUCCESS)
      continue;
    each_object(entry, "changes", [&](simdjson::dom::object change) {
      if (auto v = get_object(change, "value"); v.ok())
        read_change_value(v.value, out);
    });
  }
  return out;
}

// -- the 24-hour window and templates ----------------------------------------

namespace {

constexpr std::size_t wa_template_body_max = 1024;
constexpr std::size_t wa_template_value_max = 1024;
constexpr std::size_t wa_template_vars_max = 20;

bool name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/// [a-z0-9_]{1,max}
bool template_name_ok(std::string_view s, std::size_t max) noexcept {
  if (s.empty() || s.size() > max)
    return false;
  for (char c : s)
    if (!name_char(c))
      return false;
  return true;
}

/// A placeholder key: [A-Za-z0-9_]{1,64}.
bool key_ok(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64)
    return false;
  for (char c : s)
    if (!name_char(c) && !(c >= 'A' && c <= 'Z'))
      return false;
  return true;
}

bool numeric_key(std::string_view s) noexcept {
  if (s.empty() || s.size() > 3 || s[0] == '0')
    return false;
  for (char c : s)
    if (c < '0' || c > '9')
      return false;
  return true;
}

/// "he", "en", "en_US", "pt_BR": a WhatsApp template language code.
bool language_ok(std::string_view s) noexcept {
  auto lower_run = [](std::string_view r) {
    if (r.size() < 2 || r.size() > 3)
      return false;
    for (char c : r)
      if (c < 'a' || c > 'z')
        return false;
    return true;
  };
  auto us = s.find('_');
  if (us == std::string_view::npos)
    return lower_run(s);
  auto region = s.substr(us + 1);
  if (!lower_run(s.substr(0, us)) || region.size() != 2)
    return false;
  for (char c : region)
    if (c < 'A' || c > 'Z')
      return false;
  return true;
}

/// "HX" + 32 hex digits.
bool content_sid_ok(std::string_view s) noexcept {
  if (s.size() != 34 || s.substr(0, 2) != "HX")
    return false;
  for (char c : s.substr(2))
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      return false;
  return true;
}

const std::string* value_of(const wa_template_values& values,
                            std::string_view key) {
  for (auto& [k, v] : values)
    if (k == key)
      return &v;
  return nullptr;
}

bool blank_text(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

} // namespace

std::string wa_masked_number(std::string_view e164) {
  if (e164.rfind("whatsapp:", 0) == 0)
    e164.remove_prefix(9);
  if (e164.size() < 8)
    return std::string(e164.size(), '*');
  std::size_t keep_head = e164.rfind("+972", 0) == 0 ? 4 : 3;
  return std::string{e164.substr(0, keep_head)}
         + std::string(e164.size() - keep_head - 3, '*')
         + std::string{e164.substr(e164.size() - 3)};
}

bool wa_template_purpose_ok(std::string_view p) noexcept {
  return p == "payment_link" || p == "appointment_confirmation"
         || p == "follow_up" || p == "generic";
}

std::vector<std::string> wa_template_placeholders(std::string_view body) {
  std::vector<std::string> keys;
  std::size_t pos = 0;
  while ((pos = body.find("{{", pos)) != std::string_view::npos) {
    auto end = body.find("}}", pos + 2);
    if (end == std::string_view::npos)
      break;
    auto key = body.substr(pos + 2, end - pos - 2);
    if (key_ok(key)) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end())
        keys.emplace_back(key);
      pos = end + 2;
    } else {
      pos += 2;
    }
  }
  return keys;
}

std::string render_wa_template(std::string_view body,
                               const wa_template_values& values) {
  std::string out;
  out.reserve(body.size());
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto open = body.find("{{", pos);
    if (open == std::string_view::npos)
      break;
    auto end = body.find("}}", open + 2);
    if (end == std::string_view::npos)
      break;
    auto key = body.substr(open + 2, end - open - 2);
    const std::string* v = key_ok(key) ? value_of(values, key) : nullptr;
    if (!v) {
      out.append(body.substr(pos, open + 2 - pos));
      pos = open + 2;
      continue;
    }
    out.append(body.substr(pos, open - pos));
    out.append(*v);
    pos = end + 2;
  }
  out.append(body.substr(std::min(pos, body.size())));
  return out;
}

wa_template_problem parse_wa_template(std::string_view text, wa_template& t) {
  auto bad = [](std::string msg) { return wa_template_problem{400, msg}; };
  auto invalid = [](std::string msg) { return wa_template_problem{422, msg}; };
  json_doc doc;
  if (!doc.parse(text))
    return bad("The body must be a JSON object");
  auto obj = doc.object();
  if (!obj)
    return bad("The body must be a JSON object");
  auto o = *obj;
  // An optional string field: missing/null leaves `out`; another type is 400.
  auto text_field = [&](const char* key, std::string& out,
                        bool& present) -> std::optional<wa_template_problem> {
    auto f = get_string(o, key);
    present = f.ok();
    if (f.state == field_state::wrong_type)
      return bad(std::string{key} + " must be a string");
    if (f.ok()) {
      if (f.value.find('\0') != std::string_view::npos)
        return invalid(std::string{key} + " must not contain NUL characters");
      out = std::string{f.value};
    }
    return std::nullopt;
  };
  bool has = false;
  if (auto p = text_field("name", t.name, has))
    return *p;
  if (!has)
    return bad("name is required");
  if (!template_name_ok(t.name, 64))
    return invalid("name must be 1-64 characters of a-z, 0-9 and _");
  if (auto p = text_field("purpose", t.purpose, has))
    return *p;
  if (!wa_template_purpose_ok(t.purpose))
    return invalid("purpose must be payment_link, appointment_confirmation,"
                   " follow_up or generic");
  if (auto p = text_field("language", t.language, has))
    return *p;
  if (!language_ok(t.language))
    return invalid("language must be a WhatsApp language code (he, en_US)");
  if (auto p = text_field("twilio_content_sid", t.twilio_content_sid, has))
    return *p;
  if (has && !t.twilio_content_sid.empty()
      && !content_sid_ok(t.twilio_content_sid))
    return invalid("twilio_content_sid must be HX followed by 32 hex digits");
  if (auto p = text_field("meta_name", t.meta_name, has))
    return *p;
  if (t.meta_name.empty())
    t.meta_name = t.name;
  if (!template_name_ok(t.meta_name, 512))
    return invalid("meta_name must be 1-512 characters of a-z, 0-9 and _");
  if (auto p = text_field("body", t.body, has))
    return *p;
  if (!has)
    return bad("body is required");
  if (blank_text(t.body))
    return invalid("body must not be empty");
  if (t.body.size() > wa_template_body_max)
    return invalid("body is too long (at most 1024 bytes)");
  auto placeholders = wa_template_placeholders(t.body);
  auto vars = get_array(o, "variables");
  if (vars.state == field_state::wrong_type)
    return bad("variables must be an array of strings");
  t.variables.clear();
  if (vars.ok()) {
    for (auto el : vars.value) {
      std::string_view v;
      if (el.get(v) != simdjson::SUCCESS)
        return bad("variables must be an array of strings");
      if (!key_ok(v))
        return invalid("each variable must be 1-64 characters of A-Z, a-z,"
                       " 0-9 and _");
      if (std::find(t.variables.begin(), t.variables.end(), v)
          != t.variables.end())
        return invalid("variable " + std::string{v} + " is listed twice");
      t.variables.emplace_back(v);
      if (t.variables.size() > wa_template_vars_max)
        return invalid("at most 20 variables");
    }
  } else {
    t.variables = placeholders;
    if (t.variables.size() > wa_template_vars_max)
      return invalid("at most 20 variables");
  }
  for (auto& key : placeholders)
    if (std::find(t.variables.begin(), t.variables.end(), key)
        == t.variables.end())
      return invalid("body uses {{" + key + "}}, which is not in variables");
  return {};
}

std::variant<wa_template_values, std::string>
wa_template_arguments(const wa_template& t, const wa_template_values& given) {
  wa_template_values out;
  std::string missing;
  for (auto& key : t.variables) {
    auto* v = value_of(given, key);
    if (!v || blank_text(*v)) {
      missing += (missing.empty() ? "" : ", ") + key;
      continue;
    }
    out.emplace_back(key, *v);
  }
  if (!missing.empty())
    return "Missing template variables: " + missing;
  return out;
}

std::optional<wa_template_values>
wa_fill_template(const wa_template& t, const wa_template_values& facts) {
  wa_template_values out;
  for (auto& key : t.variables) {
    const std::string* v = value_of(facts, key);
    if (!v && numeric_key(key)) {
      auto n = static_cast<std::size_t>(std::stoi(key));
      if (n >= 1 && n <= facts.size())
        v = &facts[n - 1].second;
    }
    if (!v || blank_text(*v))
      return std::nullopt;
    std::string text;
    for (char c : *v)
      text.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
    out.emplace_back(key, utf8_prefix(text, wa_template_value_max));
  }
  return out;
}

std::variant<std::pair<std::string, wa_template_values>, std::string>
parse_wa_template_send(simdjson::dom::object tmpl) {
  auto name = get_string(tmpl, "name");
  if (!name.ok() || name.value.empty())
    return std::string{"template.name is required"};
  if (!template_name_ok(name.value, 64))
    return std::string{"template.name must be 1-64 characters of a-z, 0-9"
                       " and _"};
  wa_template_values values;
  auto vars = get_object(tmpl, "variables");
  if (vars.state == field_state::wrong_type)
    return std::string{"template.variables must be an object"};
  if (vars.ok()) {
    for (auto [k, v] : vars.value) {
      if (!key_ok(k))
        return std::string{"template.variables has an invalid key"};
      std::string text;
      std::string_view s;
      std::int64_t i = 0;
      if (v.get(s) == simdjson::SUCCESS)
        text = std::string{s};
      else if (v.get(i) == simdjson::SUCCESS)
        text = std::to_string(i);
      else
        return "template.variables." + std::string{k} + " must be a string";
      if (text.size() > wa_template_value_max)
        return "template.variables." + std::string{k}
               + " is too long (at most 1024 bytes)";
      if (text.find('\0') != std::string::npos)
        return "template.variables." + std::string{k}
               + " must not contain NUL characters";
      if (value_of(values, k))
        return "template.variables." + std::string{k} + " is given twice";
      values.emplace_back(std::string{k}, std::move(text));
      if (values.size() > 64)
        return std::string{"template.variables has too many keys"};
    }
  }
  return std::pair<std::string, wa_template_values>{std::string{name.value},
                                                    std::move(values)};
}

outbound_request
twilio_template_request(std::string_view api_base,
                        const twilio_credentials& creds, std::string_view from,
                        std::string_view to, std::string_view content_sid,
                        const wa_template_values& values,
                        std::string_view status_callback,
                        std::chrono::milliseconds timeout) {
  auto r = twilio_send_request(api_base, creds, from, to, {}, status_callback,
                               timeout);
  std::vector<form_params::value_type> form{{"To", std::string{to}},
                                            {"From", std::string{from}},
                                            {"ContentSid",
                                             std::string{content_sid}}};
  if (!values.empty()) {
    boost::json::object vars;
    for (auto& [k, v] : values)
      vars[k] = v;
    form.emplace_back("ContentVariables", boost::json::serialize(vars));
  }
  if (!status_callback.empty())
    form.emplace_back("StatusCallback", std::string{status_callback});
  r.body = encode_form(form);
  return r;
}

outbound_request
meta_template_request(std::string_view api_base, std::string_view phone_id,
                      std::string_view token, std::string_view to_e164,
                      std::string_view name, std::string_view language,
                      const wa_template_values& values,
                      std::chrono::milliseconds timeout) {
  auto r = meta_send_request(api_base, phone_id, token, to_e164, {}, timeout);
  auto sv = [](std::string_view s) {
    return boost::json::string_view{s.data(), s.size()};
  };
  boost::json::object tmpl{{"name", sv(name)},
                           {"language",
                            boost::json::object{{"code", sv(language)}}}};
  if (!values.empty()) {
    boost::json::array params;
    for (auto& [k, v] : values) {
      boost::json::object p{{"type", "text"}, {"text", v}};
      if (!numeric_key(k))
        p["parameter_name"] = k;
      params.push_back(std::move(p));
    }
    tmpl["components"] = boost::json::array{
      boost::json::object{{"type", "body"}, {"parameters", std::move(params)}}};
  }
  boost::json::object o{{"messaging_product", "whatsapp"},
                        {"to", meta_recipient(to_e164)},
                        {"type", "template"},
                        {"template", std::move(tmpl)}};
  r.body = boost::json::serialize(o);
  return r;
}

} // namespace al
