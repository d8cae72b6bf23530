#include "core/crm_input.hpp"

#include "core/phone.hpp"

#include <cmath>
#include <set>

namespace al {

namespace {

constexpr std::int64_t max_id = 999999999999999999; // 18 digits
constexpr std::int64_t max_money = 1000000000000;   // budgets, whole units

bool one_of(std::string_view s, std::initializer_list<std::string_view> set) {
  for (auto v : set)
    if (s == v)
      return true;
  return false;
}

/// A query parameter as storable text of at most `max` bytes.
std::string query_text(const form_params& q, std::string_view key,
                       std::optional<std::string>& out, std::size_t max) {
  auto v = q.get(key);
  if (!v)
    return {};
  if (v->size() > max || !storable_text(*v) || !valid_utf8(*v))
    return std::string{key} + " must be text of at most " + std::to_string(max)
           + " bytes";
  if (!v->empty())
    out = std::string{*v};
  return {};
}

std::string query_id(const form_params& q, std::string_view key,
                     std::optional<std::int64_t>& out) {
  auto v = q.get(key);
  if (!v || v->empty())
    return {};
  out = parse_decimal(*v, 1, max_id);
  if (!out)
    return std::string{key} + " must be a positive integer";
  return {};
}

/// A nullable id field in a body.
bool read_patch_id(simdjson::dom::object o, std::string_view key,
                   patch_field<std::int64_t>& out, std::string& err) {
  return read_patch_int(o, key, out, err, 1, max_id);
}

/// A nullable ISO-8601 timestamp field.
bool read_patch_time(simdjson::dom::object o, std::string_view key,
                     patch_field<std::string>& out, std::string& err) {
  if (!read_patch_string(o, key, out, err, 64))
    return false;
  if (out && *out) {
    auto t = parse_timestamp(**out);
    if (!t) {
      err = std::string{key}
            + " must be an ISO-8601 timestamp with an offset, e.g."
              " 2025-03-01T10:30:00+02:00";
      return false;
    }
  }
  return true;
}

} // namespace

std::optional<form_params> parse_query(std::string_view raw) {
  return parse_form(raw);
}

std::string parse_paging(const form_params& q, page_params& out) {
  if (auto v = q.get("page")) {
    auto n = parse_decimal(*v, 1, 1000000000);
    if (!n)
      return "page must be an integer >= 1";
    out.page = *n;
  }
  if (auto v = q.get("per_page")) {
    auto n = parse_decimal(*v, 1, max_per_page);
    if (!n)
      return "per_page must be an integer between 1 and "
             + std::to_string(max_per_page);
    out.per_page = *n;
  }
  return {};
}

std::string ilike_contains(std::string_view q) {
  std::string out = "%";
  for (char c : q) {
    if (c == '\\' || c == '%' || c == '_')
      out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('%');
  return out;
}

// -- leads -------------------------------------------------------------------

std::string parse_lead_filter(const form_params& q, lead_filter& out) {
  if (auto err = parse_paging(q, out.paging); !err.empty())
    return err;
  std::string err;
  if (!(err = query_text(q, "status", out.status, 32)).empty()
      || !(err = query_text(q, "source", out.source, 16)).empty()
      || !(err = query_text(q, "tag", out.tag, 64)).empty()
      || !(err = query_text(q, "q", out.q, 200)).empty())
    return err;
  if (out.status && !valid_key(*out.status))
    return "status must be a pipeline status key";
  if (out.source && !one_of(*out.source, {"call", "whatsapp", "manual"}))
    return "source must be call, whatsapp or manual";
  if (out.q)
    out.phone = normalize_phone(*out.q);
  if (auto v = q.get("sort")) {
    if (*v == "updated")
      out.sort_updated = true;
    else if (*v != "created")
      return "sort must be created or updated";
  }
  if (auto v = q.get("order")) {
    if (*v == "asc")
      out.ascending = true;
    else if (*v != "desc")
      return "order must be asc or desc";
  }
  return {};
}

std::string parse_lead(simdjson::dom::object o, lead_input& in, bool create) {
  std::string err;
  patch_field<std::string> phone_text;
  if (!read_opt_string(o, "name", in.name, err, 400)
      || !read_patch_string(o, "phone", phone_text, err, 64)
      || !read_opt_string(o, "source", in.source, err, 16)
      || !read_opt_string(o, "status", in.status, err, 32)
      || !read_patch_string(o, "deal", in.deal, err, 16)
      || !read_patch_string(o, "city", in.city, err, 200)
      || !read_patch_string(o, "callback_at", in.callback_at, err, 200)
      || !read_patch_int(o, "budget_min", in.budget_min, err, 0, max_money)
      || !read_patch_int(o, "budget_max", in.budget_max, err, 0, max_money)
      || !read_opt_string(o, "notes", in.notes, err, 20000)
      || !read_opt_strings(o, "tags", in.tags, err, 50, 64))
    return err;
  if (get_string(o, "name").state == field_state::null)
    in.name = std::string{};
  if (get_string(o, "notes").state == field_state::null)
    in.notes = std::string{};
  if (get_array(o, "tags").state == field_state::null)
    in.tags = std::vector<std::string>{};
  if (phone_text) {
    if (!*phone_text) {
      in.phone.emplace(std::nullopt);
    } else {
      auto n = normalize_phone(**phone_text);
      if (!n)
        return "phone is not a valid phone number";
      in.phone.emplace(std::move(*n));
    }
  }
  if (in.source && !one_of(*in.source, {"call", "whatsapp", "manual"}))
    return "source must be call, whatsapp or manual";
  if (in.status && !valid_key(*in.status))
    return "status must be a pipeline status key";
  if (in.deal && *in.deal && !one_of(**in.deal, {"buy", "rent", "sell"}))
    return "deal must be buy, rent or sell";
  if (in.tags)
    for (auto& t : *in.tags)
      if (t.empty())
        return "tags must not be empty strings";
  simdjson::dom::element rooms;
  if (o.at_key("rooms").get(rooms) == simdjson::SUCCESS) {
    double v = 0;
    if (rooms.is_null()) {
      in.rooms.emplace(std::nullopt);
    } else if (rooms.get(v) != simdjson::SUCCESS || !std::isfinite(v) || v < 0
               || v > 99.5) {
      return "rooms must be a number between 0 and 99.5";
    } else {
      in.rooms.emplace(std::round(v * 10) / 10);
    }
  }
  if (in.budget_min && *in.budget_min && in.budget_max && *in.budget_max
      && **in.budget_min > **in.budget_max)
    return "budget_min must not exceed budget_max";
  if (create) {
    bool named = in.name && !in.name->empty();
    bool phoned = in.phone && *in.phone;
    if (!named && !phoned)
      return "name or phone is required";
  }
  return {};
}

// -- calls -------------------------------------------------------------------

std::string parse_call_filter(const form_params& q, call_filter& out) {
  if (auto err = parse_paging(q, out.paging); !err.empty())
    return err;
  std::string err;
  if (!(err = query_text(q, "status", out.status, 32)).empty()
      || !(err = query_id(q, "lead_id", out.lead_id)).empty())
    return err;
  if (out.status) {
    for (char c : *out.status)
      if (!((c >= 'a' && c <= 'z') || c == '-' || c == '_'))
        return "status must be a call status such as completed";
  }
  if (auto v = q.get("from"); v && !v->empty()) {
    out.from = normalize_phone(*v);
    if (!out.from)
      return "from must be a phone number";
  }
  return {};
}

bool valid_call_sid(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64)
    return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return true;
}

// -- appointments ------------------------------------------------------------

bool valid_appointment_status(std::string_view s) noexcept {
  return one_of(s, {"scheduled", "done", "cancelled", "no_show"});
}

std::string parse_appointment_filter(const form_params& q,
                                     appointment_filter& out) {
  if (auto err = parse_paging(q, out.paging); !err.empty())
    return err;
  auto bound = [&](std::string_view key, std::optional<std::string>& ts,
                   std::optional<std::string>& date) -> std::string {
    auto v = q.get(key);
    if (!v || v->empty())
      return {};
    if ((date = parse_date(*v)))
      return {};
    if ((ts = parse_timestamp(*v)))
      return {};
    return std::string{key}
           + " must be an ISO date (2025-03-01) or timestamp with offset";
  };
  std::string err;
  if (!(err = bound("from", out.from_ts, out.from_date)).empty()
      || !(err = bound("to", out.to_ts, out.to_date)).empty()
      || !(err = query_id(q, "lead_id", out.lead_id)).empty()
      || !(err = query_text(q, "status", out.status, 16)).empty())
    return err;
  if (out.status && !valid_appointment_status(*out.status))
    return "status must be scheduled, done, cancelled or no_show";
  return {};
}

std::string parse_appointment(simdjson::dom::object o, appointment_input& in,
                              bool create) {
  std::string err;
  patch_field<std::string> starts;
  if (!read_patch_id(o, "lead_id", in.lead_id, err)
      || !read_patch_time(o, "starts_at", starts, err)
      || !read_opt_string(o, "address", in.address, err, 500)
      || !read_opt_string(o, "notes", in.notes, err, 10000)
      || !read_opt_string(o, "status", in.status, err, 16))
    return err;
  if (starts) {
    if (!*starts)
      return "starts_at must not be null";
    in.starts_at = **starts;
  }
  if (in.status && !valid_appointment_status(*in.status))
    return "status must be scheduled, done, cancelled or no_show";
  if (create && !in.starts_at)
    return "starts_at is required";
  return {};
}

// -- pipeline, notes, tasks --------------------------------------------------

const std::vector<pipeline_status>& default_pipeline() {
  static const std::vector<pipeline_status> statuses{
    {"new", "חדש"},         {"contacted", "נוצר קשר"},
    {"qualified", "מתאים"}, {"appointment", "נקבעה פגישה"},
    {"won", "נסגר בהצלחה"}, {"lost", "לא רלוונטי"},
  };
  return statuses;
}

std::string parse_pipeline(simdjson::dom::object o,
                           std::vector<pipeline_status>& out) {
  auto f = get_array(o, "statuses");
  if (!f.ok())
    return "statuses must be an array of {key, label}";
  if (f.value.size() < 1 || f.value.size() > 50)
    return "statuses must hold between 1 and 50 entries";
  std::set<std::string> seen;
  out.clear();
  for (auto el : f.value) {
    simdjson::dom::object s;
    if (el.get(s) != simdjson::SUCCESS)
      return "statuses must be an array of {key, label}";
    auto key = get_string(s, "key");
    auto label = get_string(s, "label");
    if (!key.ok() || !valid_key(key.value))
      return "status keys must match [a-z0-9_]{1,32}";
    if (!label.ok() || label.value.empty() || label.value.size() > 100
        || !storable_text(label.value))
      return "status labels must be strings of 1 to 100 bytes";
    if (!seen.insert(std::string{key.value}).second)
      return "duplicate status key: " + std::string{key.value};
    out.push_back({std::string{key.value}, std::string{label.value}});
  }
  return {};
}

std::string parse_note(simdjson::dom::object o, std::string& body) {
  auto f = get_string(o, "body");
  if (!f.ok() || f.value.empty() || f.value.size() > 10000
      || !storable_text(f.value))
    return "body must be a non-empty string of at most 10000 bytes";
  body = std::string{f.value};
  return {};
}

std::string parse_task_filter(const form_params& q, task_filter& out) {
  if (auto err = parse_paging(q, out.paging); !err.empty())
    return err;
  if (auto err = query_id(q, "lead_id", out.lead_id); !err.empty())
    return err;
  if (auto v = q.get("done"); v && !v->empty()) {
    if (*v == "true")
      out.done = true;
    else if (*v == "false")
      out.done = false;
    else
      return "done must be true or false";
  }
  return {};
}

std::string parse_task(simdjson::dom::object o, task_input& in, bool create) {
  std::string err;
  if (!read_opt_string(o, "title", in.title, err, 500)
      || !read_patch_id(o, "lead_id", in.lead_id, err)
      || !read_patch_time(o, "due_at", in.due_at, err))
    return err;
  auto done = get_bool(o, "done");
  if (done.state == field_state::wrong_type)
    return "done must be a boolean";
  if (done.ok())
    in.done = done.value;
  if (in.title && in.title->empty())
    return "title must not be empty";
  if (create && !in.title)
    return "title is required";
  return {};
}

} // namespace al
