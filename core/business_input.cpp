#include "core/business_input.hpp"

#include "core/input.hpp"
#include "core/json.hpp"
#include "core/phone.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/scheme.hpp>

#include <cctype>
#include <set>
#include <string_view>
#include <utility>

namespace al {

namespace {

bool valid_hhmm(std::string_view s) {
  return s.size() == 5 && std::isdigit(static_cast<unsigned char>(s[0]))
         && std::isdigit(static_cast<unsigned char>(s[1])) && s[2] == ':'
         && std::isdigit(static_cast<unsigned char>(s[3]))
         && std::isdigit(static_cast<unsigned char>(s[4]))
         && (s[0] - '0') * 10 + (s[1] - '0') < 24
         && (s[3] - '0') * 10 + (s[4] - '0') < 60;
}

/// A nullable string field where null and "" both mean "clear" (stored
/// as ""); missing leaves `out` alone.
bool read_clearable(simdjson::dom::object o, std::string_view key,
                    std::optional<std::string>& out, std::string& err,
                    std::size_t max) {
  patch_field<std::string> f;
  if (!read_patch_string(o, key, f, err, max))
    return false;
  if (f)
    out = f->value_or(std::string{});
  return true;
}

} // namespace

bool loopback_host(std::string_view host) {
  if (host == "localhost" || host == "[::1]" || host == "::1")
    return true;
  // 127.0.0.0/8 in dotted decimal
  if (host.rfind("127.", 0) != 0)
    return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.')
      ++dots;
    else if (c < '0' || c > '9')
      return false;
  }
  return dots == 3;
}

std::string webhook_url_error(std::string_view url) {
  const std::string bad = "webhook_url must be an absolute http(s) URL";
  if (url.size() > max_webhook_url)
    return "webhook_url is longer than 2048 characters";
  if (url.find_first_of(" \t\r\n\"<>") != std::string_view::npos)
    return bad;
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed)
    return bad;
  auto id = parsed->scheme_id();
  if ((id != boost::urls::scheme::http && id != boost::urls::scheme::https)
      || !parsed->has_authority() || parsed->encoded_host().empty())
    return bad;
  if (parsed->has_userinfo())
    return "webhook_url must not carry a user name or password";
  // Boost.URL 1.81 reads "http://127.0.0.1.evil.example/" as host
  // 127.0.0.1 with the path ".evil.example/": the authority must end where
  // the text's does, and the path must start with '/'.
  auto rest = url.substr(url.find("://") + 3);
  auto authority = rest.substr(0, rest.find_first_of("/?#"));
  auto path = parsed->encoded_path();
  if (authority
        != std::string_view{parsed->encoded_authority().data(),
                            parsed->encoded_authority().size()}
      || (!path.empty() && path.front() != '/'))
    return bad;
  if (id == boost::urls::scheme::http
      && !loopback_host(std::string_view{parsed->encoded_host().data(),
                                         parsed->encoded_host().size()}))
    return "webhook_url must use https (http only for a loopback host)";
  return {};
}

bool parse_transfer(std::string_view json, std::vector<std::string>& numbers,
                    int& ring_timeout_s) {
  json_doc doc;
  auto o = doc.parse(json) ? doc.object() : std::nullopt;
  if (!o)
    return false;
  std::vector<std::string> found;
  if (auto a = get_array(*o, "numbers"); a.ok())
    for (auto el : a.value) {
      std::string_view s;
      if (el.get(s) == simdjson::SUCCESS && !s.empty())
        found.emplace_back(s);
    }
  if (found.empty())
    return false;
  numbers = std::move(found);
  if (auto t = get_int(*o, "ring_timeout_s");
      t.ok() && t.value >= 5 && t.value <= 120)
    ring_timeout_s = static_cast<int>(t.value);
  return true;
}

std::string parse_business(simdjson::dom::object o, business_input& in,
                           bool create) {
  std::string err;
  if (!read_opt_string(o, "name", in.name, err, 200)
      || !read_opt_string(o, "greeting", in.greeting, err)
      || !read_opt_string(o, "prompt", in.prompt, err, 20000)
      || !read_opt_string(o, "voice_engine", in.voice_engine, err, 20)
      || !read_opt_string(o, "after_hours_reply", in.after_hours_reply, err))
    return err;
  if (create && (!in.name || in.name->empty()))
    return "name is required";
  if (in.name && in.name->empty())
    return "name must not be empty";
  if (in.voice_engine && *in.voice_engine != "local"
      && *in.voice_engine != "openai" && *in.voice_engine != "auto")
    return "voice_engine must be auto, local or openai";
  if (!read_opt_string(o, "voice", in.voice, err, 40))
    return err;
  if (in.voice)
    for (unsigned char c : *in.voice)
      if (!std::isalnum(c) && c != '-' && c != '_' && c != '.')
        return "voice must be a voice name such as alloy or coral";
  if (auto f = get_object(o, "transfer"); f.present()) {
    if (!f.ok())
      return "transfer must be an object";
    std::string out = "{\"numbers\":[";
    auto nums = get_array(f.value, "numbers");
    if (nums.state == field_state::wrong_type)
      return "transfer.numbers must be an array of phone numbers";
    std::size_t count = 0;
    if (nums.ok())
      for (auto el : nums.value) {
        std::string_view s;
        if (el.get(s) != simdjson::SUCCESS)
          return "transfer.numbers must be an array of phone numbers";
        auto n = normalize_phone(s);
        if (!n)
          return "invalid transfer number: " + std::string{s.substr(0, 40)};
        if (++count > max_transfer_numbers)
          return "transfer.numbers holds at most 5 numbers";
        out += (count > 1 ? ",\"" : "\"") + *n + "\"";
      }
    long long ring = 20;
    if (auto t = get_int(f.value, "ring_timeout_s"); t.present()) {
      if (!t.ok() || t.value < 5 || t.value > 120)
        return "transfer.ring_timeout_s must be an integer from 5 to 120";
      ring = t.value;
    }
    out += "],\"ring_timeout_s\":" + std::to_string(ring) + "}";
    in.transfer = std::move(out);
  }
  if (auto f = get_array(o, "phone_numbers"); f.present()) {
    if (!f.ok())
      return "phone_numbers must be an array of strings";
    std::vector<std::string> numbers;
    for (auto el : f.value) {
      std::string_view s;
      if (el.get(s) != simdjson::SUCCESS)
        return "phone_numbers must be an array of strings";
      auto n = normalize_phone(s);
      if (!n)
        return "invalid phone number: " + std::string{s.substr(0, 40)};
      numbers.push_back(*n);
    }
    in.phone_numbers = std::move(numbers);
  }
  if (auto f = get_object(o, "twilio"); f.present()) {
    if (!f.ok())
      return "twilio must be an object";
    if (!read_opt_string(f.value, "account_sid", in.twilio_sid, err, 64)
        || !read_opt_string(f.value, "auth_token", in.twilio_token, err, 128))
      return err;
  }
  if (auto f = get_object(o, "whatsapp"); f.present()) {
    if (!f.ok())
      return "whatsapp must be an object";
    if (!read_opt_string(f.value, "from", in.wa_from, err, 64)
        || !read_opt_string(f.value, "provider", in.wa_provider, err, 16))
      return err;
    if (in.wa_provider && *in.wa_provider != "twilio"
        && *in.wa_provider != "meta")
      return "whatsapp.provider must be twilio or meta";
  }
  if (auto f = get_object(o, "payments"); f.present()) {
    if (!f.ok())
      return "payments must be an object";
    auto enabled = get_bool(f.value, "enabled");
    if (enabled.state == field_state::wrong_type)
      return "payments.enabled must be a boolean";
    if (enabled.ok())
      in.payments_enabled = enabled.value;
    if (!read_opt_string(f.value, "default_provider", in.payments_provider, err,
                         16)
        || !read_opt_string(f.value, "paypal_client_id", in.paypal_id, err, 256)
        || !read_opt_string(f.value, "paypal_secret", in.paypal_secret, err,
                            256)
        || !read_opt_string(f.value, "tranzila_terminal", in.tranzila_terminal,
                            err, 64))
      return err;
    if (in.payments_provider && *in.payments_provider != "paypal"
        && *in.payments_provider != "tranzila")
      return "payments.default_provider must be paypal or tranzila";
  }
  if (auto f = get_object(o, "working_hours"); f.present()) {
    if (!f.ok())
      return "working_hours must be an object";
    static const std::set<std::string_view> days{"sun", "mon", "tue", "wed",
                                                 "thu", "fri", "sat"};
    for (auto [k, v] : f.value) {
      if (!days.count(k))
        return "working_hours keys are sun..sat";
      simdjson::dom::array a;
      std::string_view from, to;
      if (v.get(a) != simdjson::SUCCESS || a.size() != 2
          || a.at(0).get(from) != simdjson::SUCCESS
          || a.at(1).get(to) != simdjson::SUCCESS || !valid_hhmm(from)
          || !valid_hhmm(to))
        return "working_hours values are [\"HH:MM\",\"HH:MM\"]";
    }
    in.working_hours = simdjson::minify(f.value);
  }
  if (!read_clearable(o, "webhook_url", in.webhook_url, err, max_webhook_url)
      || !read_clearable(o, "webhook_secret", in.webhook_secret, err, 256))
    return err;
  if (in.webhook_url && !in.webhook_url->empty())
    if (auto e = webhook_url_error(*in.webhook_url); !e.empty())
      return e;
  if (auto f = get_int(o, "max_live_calls"); f.present()) {
    if (!f.ok() || f.value < 0)
      return "max_live_calls must be a non-negative integer";
    in.max_live_calls = f.value;
  }
  // Switches: null is an error too, a switch is on or off.
  for (auto [name, slot] :
       {std::pair{"record_calls", &in.record_calls},
        std::pair{"whatsapp_ai", &in.whatsapp_ai},
        std::pair{"auto_call_new_leads", &in.auto_call_new_leads}}) {
    auto f = get_bool(o, name);
    if (f.state == field_state::missing)
      continue;
    if (!f.ok())
      return std::string{name} + " must be a boolean";
    *slot = f.value;
  }
  return {};
}

std::string admin_only_field(const business_input& in) {
  if (in.name)
    return "name";
  if (in.phone_numbers)
    return "phone_numbers";
  if (in.voice_engine)
    return "voice_engine";
  if (in.twilio_sid || in.twilio_token)
    return "twilio";
  if (in.wa_from)
    return "whatsapp.from";
  if (in.max_live_calls)
    return "max_live_calls";
  return {};
}

} // namespace al
