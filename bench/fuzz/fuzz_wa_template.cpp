// WhatsApp templates (core/whatsapp_wire.hpp): the template definition a
// CRM client posts (parse_wa_template), the "template" object of a send
// (parse_wa_template_send), placeholders and rendering, and the provider
// requests built from what was accepted. Properties: an accepted
// definition obeys its rules (name pattern, purpose, every placeholder
// declared, at most 20 variables); every error text serialises as JSON;
// rendering with the values of every variable leaves none of their
// placeholders; the Twilio form and the Meta body round-trip.

#include "bench/fuzz/fuzz_util.hpp"
#include "core/form.hpp"
#include "core/json.hpp"
#include "core/whatsapp_wire.hpp"

#include <algorithm>
#include <variant>

namespace {

using namespace al;
using al::fuzz::check;

void error_message(const std::string& msg) {
  check(!msg.empty(), "a refusal says why");
  check(valid_utf8(msg), "error message is valid UTF-8");
  json_doc d;
  check(d.parse(json_error(msg)), "json_error output parses");
}

void definition(std::string_view text) {
  wa_template t;
  auto p = parse_wa_template(text, t);
  if (p.status) {
    check(p.status == 400 || p.status == 422, "400 or 422");
    return error_message(p.error);
  }
  check(!t.name.empty() && t.name.size() <= 64, "name length");
  check(std::all_of(t.name.begin(), t.name.end(),
                    [](char c) {
                      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                             || c == '_';
                    }),
        "name characters");
  check(wa_template_purpose_ok(t.purpose), "purpose");
  check(!t.meta_name.empty(), "meta_name set");
  check(t.variables.size() <= 20, "at most 20 variables");
  check(t.body.size() <= 1024, "body length");
  for (auto& key : wa_template_placeholders(t.body))
    check(std::find(t.variables.begin(), t.variables.end(), key)
            != t.variables.end(),
          "every placeholder declared");
  // Fill every variable with a value free of braces: no declared
  // placeholder survives rendering.
  wa_template_values given;
  for (auto& v : t.variables)
    given.emplace_back(v, "v");
  auto args = wa_template_arguments(t, given);
  check(std::holds_alternative<wa_template_values>(args), "all given");
  auto values = std::get<wa_template_values>(args);
  auto out = render_wa_template(t.body, values);
  for (auto& key : t.variables)
    check(out.find("{{" + key + "}}") == std::string::npos, "rendered");
  auto tw = twilio_template_request("https://t", {"AC", "x"}, "f", "t", "HX00",
                                    values, "", std::chrono::seconds(1));
  auto form = parse_form(tw.body);
  check(form.has_value(), "twilio form parses");
  if (!values.empty()) {
    json_doc vars;
    check(vars.parse(form->value_or("ContentVariables")),
          "ContentVariables is JSON");
  }
  auto meta = meta_template_request("https://m", "1", "x", "+972501234567",
                                    t.meta_name, t.language, values,
                                    std::chrono::seconds(1));
  json_doc body;
  check(body.parse(meta.body), "meta body is JSON");
}

void send_object(std::string_view text) {
  json_doc doc;
  if (!doc.parse(text))
    return;
  auto o = doc.object();
  if (!o)
    return;
  auto r = parse_wa_template_send(*o);
  if (auto* err = std::get_if<std::string>(&r))
    return error_message(*err);
  auto& [name, values] = std::get<0>(r);
  check(!name.empty() && name.size() <= 64, "template name length");
  for (auto& [k, v] : values) {
    check(!k.empty() && k.size() <= 64, "key length");
    check(v.size() <= 1024, "value length");
    check(v.find('\0') == std::string::npos, "no NUL");
  }
  // Rendering the raw text itself with these values never crashes.
  (void)render_wa_template(text, values);
  (void)wa_template_placeholders(text);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size > 64 * 1024)
    return 0;
  auto text = fuzz::as_view(data, size);
  definition(text);
  send_object(text);
  wa_template facts_t;
  facts_t.variables = wa_template_placeholders(text);
  (void)wa_fill_template(facts_t, {{"text", std::string{text}}, {"1", "x"}});
  return 0;
}
