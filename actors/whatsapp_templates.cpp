#include "actors/whatsapp_templates.hpp"

#include "actors/sql.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <pqxx/pqxx>

namespace al {

namespace json = boost::json;

namespace {

// -- SQL, next to its use
// ------------------------------------------------------

#define AL_TEMPLATE_COLUMNS                                                    \
  "id, name, purpose, language, coalesce(twilio_content_sid, ''), meta_name,"  \
  " to_json(variables)::text, body"

constexpr sql_statement select_templates{
  "SELECT " AL_TEMPLATE_COLUMNS " FROM wa_templates WHERE business_id = $1"
  " ORDER BY id"};

constexpr sql_statement select_template_by_name{
  "SELECT " AL_TEMPLATE_COLUMNS " FROM wa_templates WHERE business_id = $1"
  " AND name = $2"};

constexpr sql_statement select_templates_by_purpose{
  "SELECT " AL_TEMPLATE_COLUMNS " FROM wa_templates WHERE business_id = $1"
  " AND purpose = $2 ORDER BY id"};

// The variables travel as one JSON array parameter.
constexpr sql_statement insert_template{
  "INSERT INTO wa_templates (business_id, name, purpose, language,"
  " twilio_content_sid, meta_name, variables, body)"
  " VALUES ($1, $2, $3, $4, nullif($5, ''), $6,"
  " ARRAY(SELECT jsonb_array_elements_text($7::jsonb)), $8)"
  " ON CONFLICT (business_id, name) DO NOTHING RETURNING id"};

constexpr sql_statement remove_template{
  "DELETE FROM wa_templates WHERE business_id = $1 AND id = $2 RETURNING id"};

#undef AL_TEMPLATE_COLUMNS

// wa_conversations.last_inbound_at (schemas/0021), set by every inbound
// message's insert (actors/whatsapp_store.cpp).
constexpr sql_statement select_window_open{
  "SELECT coalesce((SELECT last_inbound_at > now() - make_interval(secs => $3)"
  " FROM wa_conversations WHERE business_id = $1 AND peer = $2), false)"};

constexpr sql_statement update_message_template{
  "UPDATE messages SET template_name = $3 WHERE id = $1 AND business_id = $2"};

constexpr sql_statement select_lead_name{
  "SELECT name FROM leads WHERE business_id = $1 AND phone = $2"
  " ORDER BY id LIMIT 1"};

constexpr sql_statement insert_call_event{
  "INSERT INTO call_events (business_id, call_sid, seq, kind, detail)"
  " SELECT business_id, call_sid, 300000 + (SELECT count(*) FROM call_events"
  " WHERE call_sid = $1 AND kind = $2), $2, $3::jsonb FROM calls"
  " WHERE call_sid = $1 ON CONFLICT DO NOTHING"};

wa_template template_from_row(const pqxx::row& row) {
  wa_template t;
  t.id = row[0].as<std::int64_t>();
  t.name = row[1].c_str();
  t.purpose = row[2].c_str();
  t.language = row[3].c_str();
  t.twilio_content_sid = row[4].c_str();
  t.meta_name = row[5].c_str();
  boost::system::error_code ec;
  auto v = json::parse(row[6].c_str(), ec);
  if (!ec && v.is_array())
    for (auto& el : v.as_array())
      if (el.is_string())
        t.variables.emplace_back(el.as_string().data(), el.as_string().size());
  t.body = row[7].c_str();
  return t;
}

} // namespace

json::object wa_template_json(const wa_template& t) {
  json::array vars;
  for (auto& v : t.variables)
    vars.emplace_back(v);
  json::object o{{"id", t.id},
                 {"name", t.name},
                 {"purpose", t.purpose},
                 {"language", t.language},
                 {"meta_name", t.meta_name},
                 {"variables", std::move(vars)},
                 {"body", t.body}};
  if (t.twilio_content_sid.empty())
    o["twilio_content_sid"] = nullptr;
  else
    o["twilio_content_sid"] = t.twilio_content_sid;
  return o;
}

crm_reply list_wa_templates(db_tx& tx, std::int64_t business) {
  json::array items;
  for (auto row : exec(tx, select_templates, business))
    items.emplace_back(wa_template_json(template_from_row(row)));
  return crm_reply{crm_code::ok, json::object{{"items", std::move(items)}}};
}

crm_reply create_wa_template(db_tx& tx, std::int64_t business,
                             const wa_template& t) {
  json::array vars;
  for (auto& v : t.variables)
    vars.emplace_back(v);
  auto r = exec(tx, insert_template, business, t.name, t.purpose, t.language,
                t.twilio_content_sid, t.meta_name, json::serialize(vars),
                t.body);
  if (r.empty())
    return crm_fail(crm_code::conflict,
                    "A template named " + t.name + " already exists");
  auto stored = t;
  stored.id = r[0][0].as<std::int64_t>();
  return crm_reply{crm_code::created, wa_template_json(stored)};
}

crm_reply delete_wa_template(db_tx& tx, std::int64_t business,
                             std::int64_t id) {
  if (exec(tx, remove_template, business, id).empty())
    return crm_fail(crm_code::not_found, "No such template");
  return crm_reply{crm_code::ok, json::object{{"success", true}}};
}

std::optional<wa_template> find_wa_template(db_tx& tx, std::int64_t business,
                                            const std::string& name) {
  auto r = exec(tx, select_template_by_name, business, name);
  if (r.empty())
    return std::nullopt;
  return template_from_row(r[0]);
}

std::vector<wa_template> wa_templates_for(db_tx& tx, std::int64_t business,
                                          const std::string& purpose) {
  std::vector<wa_template> out;
  for (auto row : exec(tx, select_templates_by_purpose, business, purpose))
    out.push_back(template_from_row(row));
  return out;
}

bool wa_window_open(db_tx& tx, std::int64_t business,
                    const std::string& address) {
  auto secs
    = std::chrono::duration_cast<std::chrono::seconds>(wa_care_window).count();
  return exec(tx, select_window_open, business, address,
              static_cast<double>(secs))[0][0]
    .as<bool>();
}

void set_wa_message_template(db_tx& tx, std::int64_t business,
                             std::int64_t message_id, const std::string& name) {
  exec(tx, update_message_template, message_id, business, name);
}

std::string wa_lead_name(db_tx& tx, std::int64_t business,
                         const std::string& e164) {
  auto r = exec(tx, select_lead_name, business, e164);
  return r.empty() ? std::string{} : std::string{r[0][0].c_str()};
}

void record_wa_call_event(db_tx& tx, const std::string& call_sid,
                          const std::string& kind, const std::string& detail) {
  exec(tx, insert_call_event, call_sid, kind, detail);
}

} // namespace al
