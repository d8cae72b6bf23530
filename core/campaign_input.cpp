#include "core/campaign_input.hpp"

#include "core/input.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace al {

namespace {

constexpr std::int64_t max_id = 999999999999999999; // 18 digits

/// An optional integer field in [min, max] (null = the default).
bool read_int(simdjson::dom::object o, std::string_view key, int& out,
              std::int64_t min, std::int64_t max, std::string& err) {
  auto f = get_int(o, key);
  if (f.state == field_state::missing || f.state == field_state::null)
    return true;
  if (f.state != field_state::ok || f.value < min || f.value > max) {
    err = std::string{key} + " must be an integer between "
          + std::to_string(min) + " and " + std::to_string(max);
    return false;
  }
  out = static_cast<int>(f.value);
  return true;
}

std::string parse_filter(simdjson::dom::object o, campaign_filter& f) {
  std::string err;
  std::optional<std::vector<std::string>> tags;
  if (!read_opt_string(o, "status", f.status, err, 32)
      || !read_opt_string(o, "source", f.source, err, 16)
      || !read_opt_strings(o, "tags", tags, err, 50, 64))
    return "lead_filter." + err;
  if (f.status && f.status->empty())
    f.status.reset();
  if (f.source && f.source->empty())
    f.source.reset();
  if (f.status && !valid_key(*f.status))
    return "lead_filter.status must be a pipeline status key";
  if (f.source && *f.source != "call" && *f.source != "whatsapp"
      && *f.source != "manual")
    return "lead_filter.source must be call, whatsapp or manual";
  if (tags) {
    for (auto& t : *tags)
      if (t.empty())
        return "lead_filter.tags must not be empty strings";
    f.tags = std::move(*tags);
  }
  auto ids = get_array(o, "ids");
  if (ids.state == field_state::wrong_type)
    return "lead_filter.ids must be an array of lead ids";
  if (ids.state == field_state::ok) {
    for (auto e : ids.value) {
      std::int64_t id = 0;
      if (e.get(id) != simdjson::SUCCESS || id < 1 || id > max_id)
        return "lead_filter.ids must be an array of lead ids";
      if (f.ids.size() == max_campaign_ids)
        return "lead_filter.ids may hold at most "
               + std::to_string(max_campaign_ids) + " ids";
      f.ids.push_back(id);
    }
    std::sort(f.ids.begin(), f.ids.end());
    f.ids.erase(std::unique(f.ids.begin(), f.ids.end()), f.ids.end());
    if (f.ids.empty())
      return "lead_filter.ids must not be empty";
  }
  return {};
}

} // namespace

const char* const default_campaign_prompt
  = "את מתקשרת בשם המשרד אל מי שהשאיר פרטים או פנה אלינו לאחרונה. הציגי את "
    "עצמך ואת המשרד, שאלי אם זה זמן נוח, ובררי מה הוא מחפש: קנייה או שכירות, "
    "עיר, מספר חדרים ותקציב. הציעי לקבוע פגישה או שיחה עם סוכן. אם האדם מבקש "
    "שלא נתקשר שוב, אמרי לו שאפשר להקיש 9 ונסירי אותו מהרשימה.";

std::string parse_campaign(simdjson::dom::object o, campaign_input& in,
                           int cap) {
  std::string err;
  std::optional<std::string> name, prompt, voicemail, voicemail_text;
  if (!read_opt_string(o, "name", name, err, 200)
      || !read_opt_string(o, "prompt", prompt, err, 8000)
      || !read_opt_string(o, "voicemail", voicemail, err, 16)
      || !read_opt_string(o, "voicemail_text", voicemail_text, err, 1000))
    return err;
  if (!name || name->find_first_not_of(" \t\r\n") == std::string::npos)
    return "name is required";
  in.name = std::move(*name);
  if (prompt)
    in.prompt = std::move(*prompt);
  if (!read_int(o, "max_concurrent", in.max_concurrent, 1, std::max(cap, 1),
                err)
      || !read_int(o, "attempts", in.attempts, 1, 10, err)
      || !read_int(o, "retry_after_min", in.retry_after_min, 1, 10080, err))
    return err;
  if (voicemail) {
    if (*voicemail != "hangup" && *voicemail != "message")
      return "voicemail must be hangup or message";
    in.voicemail = std::move(*voicemail);
  }
  if (voicemail_text)
    in.voicemail_text = std::move(*voicemail_text);
  if (in.voicemail == "message"
      && in.voicemail_text.find_first_not_of(" \t\r\n") == std::string::npos)
    return "voicemail_text is required when voicemail is message";
  auto filter = get_object(o, "lead_filter");
  if (filter.state == field_state::wrong_type)
    return "lead_filter must be an object";
  if (filter.state == field_state::ok) {
    auto e = parse_filter(filter.value, in.filter);
    if (!e.empty())
      return e;
  }
  return {};
}

std::string campaign_filter_json(const campaign_filter& f) {
  boost::json::object o;
  if (f.status)
    o["status"] = *f.status;
  if (f.source)
    o["source"] = *f.source;
  if (!f.tags.empty()) {
    boost::json::array a;
    for (auto& t : f.tags)
      a.push_back(boost::json::string{t});
    o["tags"] = std::move(a);
  }
  if (!f.ids.empty()) {
    boost::json::array a;
    for (auto id : f.ids)
      a.push_back(id);
    o["ids"] = std::move(a);
  }
  return boost::json::serialize(o);
}

int campaign_free_slots(int max_concurrent, std::int64_t live_campaign,
                        int global_cap, std::int64_t live_global) noexcept {
  auto mine = static_cast<std::int64_t>(max_concurrent) - live_campaign;
  auto all = static_cast<std::int64_t>(global_cap) - live_global;
  auto n = std::min(mine, all);
  return n < 0 ? 0 : static_cast<int>(n);
}

} // namespace al
