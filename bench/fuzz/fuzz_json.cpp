// JSON request bodies (core/json.hpp json_doc and the typed getters) and
// everything that reads them: the CRM and business body parsers
// (crm_input.hpp, business_input.hpp), the payments body reader
// (raw_number_or_string, checked against the DOM), the PayPal and Meta
// webhook parsers and the working-hours schedule. Accepted input must come
// out validated; every error message must serialise as valid JSON.

#include "bench/fuzz/fuzz_util.hpp"
#include "core/business_input.hpp"
#include "core/crm_input.hpp"
#include "core/input.hpp"
#include "core/json.hpp"
#include "core/money.hpp"
#include "core/payment_wire.hpp"
#include "core/whatsapp_wire.hpp"
#include "core/working_hours.hpp"

#include <variant>

namespace {

using namespace al;
using al::fuzz::check;

bool e164(std::string_view s) {
  if (s.size() < 9 || s.size() > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9')
    return false;
  for (auto c : s.substr(1))
    if (c < '0' || c > '9')
      return false;
  return true;
}

/// A 4xx body built from `msg` must itself be valid JSON.
void error_message(const std::string& msg) {
  if (msg.empty())
    return;
  check(valid_utf8(msg), "error message is valid UTF-8");
  json_doc d;
  check(d.parse(json_error(msg)), "json_error output parses");
}

// Every getter on every key of every object, to a bounded depth.
void walk(simdjson::dom::element el, int depth) {
  if (depth > 8)
    return;
  simdjson::dom::object obj;
  simdjson::dom::array arr;
  if (el.get(obj) == simdjson::SUCCESS) {
    for (auto [key, value] : obj) {
      auto s = get_string(obj, key);
      auto i = get_int(obj, key);
      auto b = get_bool(obj, key);
      auto o = get_object(obj, key);
      auto a = get_array(obj, key);
      // The first occurrence of a duplicate key wins, so only when this
      // key's value is the one the getters see can types be compared.
      int oks = s.ok() + i.ok() + b.ok() + o.ok() + a.ok();
      check(oks <= 1, "at most one getter matches");
      if (s.state == field_state::null)
        check(i.state == field_state::null && b.state == field_state::null,
              "null is null for every getter");
      walk(value, depth + 1);
    }
    check(get_string(obj, "\x01no such key").state == field_state::missing
            || obj.at_key("\x01no such key").error() == simdjson::SUCCESS,
          "an absent key is missing");
  } else if (el.get(arr) == simdjson::SUCCESS) {
    int n = 0;
    for (auto item : arr) {
      if (++n > 64)
        break;
      walk(item, depth + 1);
    }
  }
}

void crm_bodies(simdjson::dom::object o) {
  for (bool create : {true, false}) {
    lead_input lead;
    auto err = parse_lead(o, lead, create);
    error_message(err);
    if (err.empty()) {
      if (lead.phone && *lead.phone)
        check(e164(**lead.phone), "lead phone is E.164");
      if (create)
        check(lead.name || (lead.phone && *lead.phone),
              "a new lead has a name or a phone");
      if (lead.name)
        check(storable_text(*lead.name), "lead name storable");
      if (lead.notes)
        check(storable_text(*lead.notes), "lead notes storable");
    }
    appointment_input appt;
    err = parse_appointment(o, appt, create);
    error_message(err);
    if (err.empty() && create)
      check(appt.starts_at.has_value(), "appointment has starts_at");
    task_input task;
    err = parse_task(o, task, create);
    error_message(err);
    if (err.empty() && create)
      check(task.title.has_value(), "task has a title");
    business_input biz;
    err = parse_business(o, biz, create);
    error_message(err);
    if (err.empty()) {
      if (create)
        check(biz.name.has_value(), "business has a name");
      if (biz.phone_numbers)
        for (auto& p : *biz.phone_numbers)
          check(e164(p), "business phone is E.164");
      if (biz.max_live_calls)
        check(*biz.max_live_calls >= 0, "max_live_calls not negative");
      error_message(admin_only_field(biz));
    }
  }
  std::vector<pipeline_status> statuses;
  auto err = parse_pipeline(o, statuses);
  error_message(err);
  if (err.empty()) {
    check(!statuses.empty() && statuses.size() <= 50, "1..50 statuses");
    for (auto& s : statuses)
      check(valid_key(s.key) && !s.label.empty() && s.label.size() <= 100,
            "status key and label");
  }
  std::string note;
  err = parse_note(o, note);
  error_message(err);
  if (err.empty())
    check(!note.empty() && note.size() <= 10000 && storable_text(note),
          "note 1..10000 storable bytes");
}

// raw_number_or_string (on-demand) must agree with the DOM for `key`.
void raw_field_agrees(std::string_view body, simdjson::dom::object o,
                      std::string_view key) {
  auto raw = raw_number_or_string(body, key);
  simdjson::dom::element el;
  if (o.at_key(key).get(el) != simdjson::SUCCESS) {
    check(raw.state == field_state::missing, "raw: missing");
    return;
  }
  if (el.is_null()) {
    check(raw.state == field_state::null, "raw: null");
    return;
  }
  std::string_view s;
  if (el.get(s) == simdjson::SUCCESS) {
    check(raw.state == field_state::ok && raw.text == s, "raw: string");
    return;
  }
  if (el.is_number()) {
    check(raw.state == field_state::ok, "raw: number");
    return;
  }
  check(raw.state == field_state::wrong_type, "raw: other type");
}

void provider_bodies(std::string_view body) {
  auto meta = parse_meta_webhook(body);
  if (auto* m = std::get_if<meta_webhook>(&meta)) {
    for (auto& msg : m->messages) {
      check(!msg.sid.empty(), "meta message has an id");
      check(e164(msg.from), "meta message from is E.164");
    }
    for (auto& st : m->statuses)
      check(!st.sid.empty(), "meta status has an id");
  } else {
    error_message(std::get<std::string>(meta));
  }
  if (auto ev = parse_paypal_event(body)) {
    check(!ev->id.empty() && !ev->event_type.empty(), "paypal event ids");
    if (ev->amount_minor)
      check(*ev->amount_minor > 0 && *ev->amount_minor <= max_amount_minor,
            "paypal amount in range");
  }
  (void)parse_paypal_order(body);
  (void)parse_paypal_capture(body);
  (void)parse_paypal_token(body);
  (void)paypal_verification_succeeded(body);
  (void)paypal_already_captured(body);
  error_message(paypal_error_summary(422, body));
  for (std::time_t t : {std::time_t{0}, std::time_t{1700000000},
                        std::time_t{1711846800}, std::time_t{1730000000}})
    (void)within_working_hours(body, t);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size > json_max_bytes + 16)
    return 0;
  auto body = fuzz::as_view(data, size);
  static json_doc doc; // reused, as a handler's would not be: tests reuse
  json_doc fresh;
  bool ok = fresh.parse(body);
  check(doc.parse(body) == ok, "a reused json_doc answers the same");
  if (!ok) {
    error_message(fresh.error());
    provider_bodies(body);
    return 0;
  }
  walk(fresh.root(), 0);
  if (auto o = fresh.object()) {
    crm_bodies(*o);
    for (auto key : {"amount", "currency", "lead_id", "description"})
      raw_field_agrees(body, *o, key);
  }
  provider_bodies(body);
  return 0;
}
