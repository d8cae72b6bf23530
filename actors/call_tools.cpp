#include "actors/call_tools.hpp"

#include "actors/crm_queries.hpp"
#include "actors/leads.hpp"
#include "actors/listings.hpp"
#include "actors/log.hpp"
#include "actors/sql.hpp"
#include "actors/webhook_outbox.hpp"
#include "actors/whatsapp_templates.hpp"
#include "core/business_input.hpp"
#include "core/crm_input.hpp"
#include "core/israel_time.hpp"
#include "core/json.hpp"
#include "core/phone.hpp"
#include "core/realtime_wire.hpp"
#include "core/whatsapp_wire.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <pqxx/pqxx>

#include <spdlog/spdlog.h>

namespace al {

namespace json = boost::json;

namespace {

constexpr sql_statement select_setup{
  "SELECT b.voice_engine, b.name, coalesce(b.prompt, ''),"
  " coalesce(b.greeting, ''), l.name, l.deal, l.city, l.rooms::text,"
  " l.budget_min, l.budget_max, l.notes, coalesce(b.voice, ''),"
  " b.working_hours::text, b.transfer::text"
  " FROM businesses b LEFT JOIN leads l"
  "  ON l.business_id = b.id AND l.phone = $2"
  " WHERE b.id = $1"};

constexpr sql_statement select_call_lead{
  "SELECT lead_id FROM calls WHERE business_id = $1 AND call_sid = $2"
  " AND lead_id IS NOT NULL"};

constexpr sql_statement insert_anonymous_lead{
  "INSERT INTO leads (business_id, source, status) VALUES ($1, 'call', $2)"
  " RETURNING id"};

constexpr sql_statement link_call_lead{
  "UPDATE calls SET lead_id = $3, updated_at = now()"
  " WHERE business_id = $1 AND call_sid = $2"
  " AND lead_id IS DISTINCT FROM $3"};

constexpr sql_statement append_lead_notes{
  "UPDATE leads SET notes = CASE WHEN notes = '' THEN $3"
  " ELSE notes || E'\\n' || $3 END, updated_at = now()"
  " WHERE business_id = $1 AND id = $2"};

constexpr sql_statement lock_business_hours{
  "SELECT working_hours::text FROM businesses WHERE id = $1"
  " FOR NO KEY UPDATE"};

// Scheduled appointments near a wanted start (the alternatives look up to
// 14 days around it), as [start, end) epoch seconds.
constexpr sql_statement select_taken_slots{
  "SELECT extract(epoch FROM starts_at)::bigint,"
  " extract(epoch FROM starts_at)::bigint + duration_min * 60"
  " FROM appointments WHERE business_id = $1 AND status = 'scheduled'"
  " AND starts_at BETWEEN to_timestamp($2) - interval '15 days'"
  " AND to_timestamp($2) + interval '15 days'"};

/// A visit or meeting booked by the AI takes this long.
constexpr int appointment_minutes = 60;

std::string ok_output(json::object extra = {}) {
  extra["ok"] = true;
  return json::serialize(extra);
}

std::string error_output(std::string_view msg) {
  return json::serialize(json::object{{"ok", false}, {"error", msg}});
}

/// The error text of a failed crm_reply.
std::string reply_error(const crm_reply& r) {
  if (auto* o = r.body.if_object())
    if (auto* e = o->if_contains("error"))
      if (auto* s = e->if_string())
        return std::string{*s};
  return "not saved";
}

const char* deal_word(std::string_view d) {
  if (d == "buy")
    return "קנייה";
  if (d == "rent")
    return "שכירות";
  if (d == "sell")
    return "מכירה";
  return "";
}

/// Shared by the DB job and its completion (which runs after the job).
struct tool_outcome {
  std::string output;
};

void save_lead(const call_env& env, const call_info& info, tool_call call,
               std::function<void(std::string)> done) {
  ai_lead_patch patch;
  if (auto err = parse_ai_lead_patch(call.arguments, patch); !err.empty())
    return done(error_output(err));
  auto out = std::make_shared<tool_outcome>();
  auto business = info.business_id;
  auto sid = info.call_sid;
  auto from = info.from;
  env.db.run(
    [business, sid, from, patch, out](db_tx& tx) {
      auto lead = call_lead(tx, business, sid, from);
      out->output = save_ai_lead(tx, business, lead, patch);
    },
    [out, done](const db_error& err) {
      done(err.empty() ? out->output
                       : error_output("the lead could not be saved now"));
    });
}

using booking_outcome = ai_booking;

void confirm_on_whatsapp(const call_env& env, const call_info& info,
                         const booking_outcome& b);

/// A WhatsApp message of the call could not go out: the number never wrote
/// (or not within 24 hours) and no template fits. Kept as a call event.
void note_outside_window(const call_env& env, const std::string& call_sid,
                         const char* what) {
  auto detail = json::serialize(json::object{{"what", what}});
  env.db.write("call_event", [call_sid, detail](db_tx& tx) {
    record_wa_call_event(tx, call_sid, "whatsapp_outside_window", detail);
  });
}

void book_appointment(const call_env& env, const call_info& info,
                      tool_call call, std::function<void(std::string)> done) {
  appointment_args args;
  std::time_t when = 0;
  if (auto err = parse_ai_booking(call.arguments, args, when); !err.empty())
    return done(error_output(err));
  auto out = std::make_shared<booking_outcome>();
  auto business = info.business_id;
  auto sid = info.call_sid;
  auto from = info.from;
  env.db.run(
    [business, sid, from, args, out, when](db_tx& tx) {
      *out = book_ai_appointment(
        tx, business,
        [&](db_tx& t) { return call_lead(t, business, sid, from); }, args,
        when);
    },
    [out, done, &env, info](const db_error& err) {
      if (!err.empty())
        return done(error_output("the appointment could not be saved now"));
      done(out->output);
      if (out->booked)
        confirm_on_whatsapp(env, info, *out);
    });
}

/// search_listings {deal, city, neighborhood, rooms_min, rooms_max,
/// price_max}: at most five of the office's available listings; what the
/// caller's lead already says fills the rest.
void search_listings(const call_env& env, const call_info& info, tool_call call,
                     std::function<void(std::string)> done) {
  auto parsed = parse_ai_listing_query(call.arguments);
  if (!parsed)
    return done(error_output("arguments must be a JSON object"));
  auto q = *parsed;
  auto out = std::make_shared<tool_outcome>();
  auto business = info.business_id;
  auto sid = info.call_sid;
  auto from = info.from;
  env.db.run(
    [business, sid, from, q, out](db_tx& tx) {
      auto lead = call_lead(tx, business, sid, from);
      out->output = search_listings_for_ai(tx, business, q, lead, sid);
    },
    [out, done](const db_error& err) {
      done(err.empty() ? out->output
                       : error_output("the listings cannot be searched now"));
    });
}

/// The caller gets the booking in writing, when WhatsApp can reach them;
/// a failure is only logged (the model already confirmed by voice).
void confirm_on_whatsapp(const call_env& env, const call_info& info,
                         const booking_outcome& b) {
  auto to = normalize_phone(info.from);
  if (!to || !env.send_whatsapp)
    return;
  auto m = israel_at(b.starts_at);
  std::string text = "הפגישה נקבעה ל" + m.weekday_he + ", " + m.date + " בשעה "
                     + m.time;
  if (!b.address.empty())
    text += ", " + b.address;
  text += ". נתראה!";
  // Outside the 24-hour window: the appointment_confirmation template with
  // {{name}} (the lead's), {{date}} (DD/MM/YYYY), {{time}} (HH:MM, both
  // Israel time), {{weekday}},
  // {{address}}, or numbered {{1}}..{{5}} in that order.
  wa_outgoing_text out{
    std::move(text),
    "appointment_confirmation",
    {{"name", ""},
     {"date", m.date.size() == 10
                ? m.date.substr(8, 2) + "/" + m.date.substr(5, 2) + "/"
                    + m.date.substr(0, 4)
                : m.date},
     {"time", m.time},
     {"weekday", m.weekday_he},
     {"address", b.address}}};
  env.send_whatsapp(
    info.business_id, *to, std::move(out),
    [&env, sid = info.call_sid,
     masked = wa_masked_number(*to)](std::string error, std::string) {
      if (error.empty())
        return;
      if (error == wa_outside_window_error) {
        log_safe(spdlog::level::info,
                 "call {}: booking confirmation not sent to {}: outside the"
                 " 24-hour window and no appointment_confirmation template",
                 sid, masked);
        note_outside_window(env, sid, "appointment_confirmation");
        return;
      }
      log_safe(spdlog::level::info,
               "call {}: booking confirmation not sent: {}", sid, error);
    });
}

void send_whatsapp(const call_env& env, const call_info& info, tool_call call,
                   std::function<void(std::string)> done) {
  std::string text;
  if (auto err = realtime_whatsapp_text(call.arguments, text); !err.empty())
    return done(error_output(err));
  auto to = normalize_phone(info.from);
  if (!to)
    return done(error_output("the caller's number is unknown"));
  if (!env.send_whatsapp)
    return done(error_output("WhatsApp is not available"));
  // Outside the 24-hour window: a generic template with the text as
  // {{1}} (or {{text}}), when the business registered one.
  env.send_whatsapp(
    info.business_id, *to, wa_outgoing_text{std::move(text)},
    [&env, done, sid = info.call_sid,
     masked = wa_masked_number(*to)](std::string error, std::string id) {
      if (error.empty())
        return done(ok_output({{"message_id", id}}));
      if (error == wa_outside_window_error) {
        log_safe(spdlog::level::info,
                 "call {}: WhatsApp to {} not sent: outside the 24-hour"
                 " window and no generic template",
                 sid, masked);
        note_outside_window(env, sid, "send_whatsapp");
        return done(json::serialize(json::object{
          {"ok", false},
          {"reason", "whatsapp_outside_window"},
          {"error", "not sent: the caller has not written to us on WhatsApp"
                    " in the last 24 hours and no template fits; offer to"
                    " send it later or take the details by voice"}}));
      }
      done(error_output("not sent: " + error));
    });
}

} // namespace

// -- the tools' work, shared with the WhatsApp AI (actors/whatsapp_ai.cpp)

std::string ai_tool_error(std::string_view msg) {
  return error_output(msg);
}

std::string parse_ai_lead_patch(std::string_view arguments,
                                ai_lead_patch& out) {
  std::string patch_text;
  out = ai_lead_patch{};
  if (auto err = realtime_lead_patch(arguments, patch_text, out.notes);
      !err.empty())
    return err;
  out.patch = patch_text != "{}";
  if (!out.patch)
    return {};
  json_doc doc;
  auto obj = doc.parse(patch_text) ? doc.object() : std::nullopt;
  if (!obj)
    return "bad arguments";
  return parse_lead(*obj, out.in, false);
}

std::string save_ai_lead(db_tx& tx, std::int64_t business, std::int64_t lead,
                         const ai_lead_patch& p) {
  if (p.patch) {
    auto r = update_lead(tx, business, lead, p.in, "ai");
    if (r.code != crm_code::ok)
      return error_output(reply_error(r));
  }
  if (!p.notes.empty())
    exec(tx, append_lead_notes, business, lead, p.notes);
  return ok_output({{"lead_id", lead}});
}

std::string parse_ai_booking(std::string_view arguments, appointment_args& args,
                             std::time_t& when) {
  if (auto err = realtime_appointment_args(arguments, args); !err.empty())
    return err;
  auto start = parse_appointment_time(args.starts_at);
  if (!start)
    return "starts_at is not a date and time";
  when = *start;
  return {};
}

ai_booking book_ai_appointment(db_tx& tx, std::int64_t business,
                               const ai_lead_fn& lead_of,
                               const appointment_args& args, std::time_t when) {
  ai_booking out;
  // The business row's lock orders two bookings of one office, so two
  // callers cannot take the same slot at once.
  auto hours = exec(tx, lock_business_hours, business);
  std::string working_hours = hours.empty() ? "{}" : hours[0][0].c_str();
  std::vector<time_span> taken;
  auto now = std::time(nullptr);
  // Around what will be offered: a past request gets times from now on.
  for (auto row : exec(tx, select_taken_slots, business,
                       static_cast<std::int64_t>(std::max(when, now))))
    taken.emplace_back(row[0].as<std::int64_t>(), row[1].as<std::int64_t>());
  auto problem = check_slot(working_hours, when, appointment_minutes, now,
                            taken);
  if (problem != slot_problem::none) {
    json::array alternatives;
    // A time in the past: offer the nearest ones from now on.
    for (auto t : slot_alternatives(working_hours, std::max(when, now),
                                    appointment_minutes, now, taken))
      alternatives.emplace_back(iso_israel(t));
    out.output = json::serialize(
      json::object{{"ok", false},
                   {"error", slot_problem_he(problem)},
                   {"reason", slot_problem_code(problem)},
                   {"alternatives", std::move(alternatives)}});
    return out;
  }
  auto lead = lead_of(tx);
  appointment_input in;
  in.lead_id = std::optional<std::int64_t>{lead};
  in.starts_at = iso_israel(when);
  in.address = args.address;
  in.notes = args.notes;
  auto r = create_appointment(tx, business, in);
  if (r.code != crm_code::created) {
    out.output = error_output(reply_error(r));
    return out;
  }
  json::object extra{{"starts_at", *in.starts_at}};
  if (auto* o = r.body.if_object())
    if (auto* id = o->if_contains("id"))
      extra["appointment_id"] = *id;
  out.output = ok_output(std::move(extra));
  out.booked = true;
  out.starts_at = when;
  out.address = args.address;
  return out;
}

std::optional<listing_query>
parse_ai_listing_query(std::string_view arguments) {
  json_doc doc;
  auto o = doc.parse(arguments.empty() ? "{}" : arguments) ? doc.object()
                                                           : std::nullopt;
  if (!o)
    return std::nullopt;
  listing_query q;
  auto text = [&](const char* key, std::optional<std::string>& out) {
    std::string_view v;
    if ((*o)[key].get(v) == simdjson::SUCCESS && !v.empty() && v.size() <= 100)
      out = std::string{v};
  };
  text("deal", q.deal);
  if (q.deal && *q.deal != "buy" && *q.deal != "rent")
    q.deal.reset();
  text("city", q.city);
  text("neighborhood", q.neighborhood);
  auto number = [&](const char* key) -> std::optional<double> {
    double v = 0;
    if ((*o)[key].get(v) == simdjson::SUCCESS && v >= 0 && v < 1e12)
      return v;
    std::int64_t i = 0;
    if ((*o)[key].get(i) == simdjson::SUCCESS && i >= 0)
      return static_cast<double>(i);
    return std::nullopt;
  };
  q.rooms_min = number("rooms_min");
  q.rooms_max = number("rooms_max");
  if (auto p = number("price_max"))
    q.price_max = static_cast<std::int64_t>(*p);
  return q;
}

ai_setup load_ai_setup(db_tx& tx, std::int64_t business,
                       const std::string& from, const std::string& to) {
  ai_setup s;
  auto phone = normalize_phone(from);
  auto r = exec(tx, select_setup, business, phone.value_or(""));
  if (r.empty())
    return s;
  auto row = r[0];
  s.engine = row[0].c_str();
  s.openai = s.engine == "openai"; // the caller applies VOICE_ENGINE / key
  s.voice = row[11].c_str();
  s.working_hours = row[12].c_str();
  parse_transfer(row[13].c_str(), s.transfer_numbers, s.ring_timeout_s);
  if (!row[4].is_null())
    s.lead_name = row[4].c_str();
  s.business_name = row[1].c_str();
  s.prompt = row[2].c_str();
  s.greeting = row[3].c_str();
  std::string facts;
  auto add = [&facts](std::string_view label, std::string_view value) {
    if (value.empty())
      return;
    if (!facts.empty())
      facts += ", ";
    facts += label;
    facts += ": ";
    facts += value;
  };
  add("טלפון", phone.value_or(""));
  if (!row[4].is_null())
    add("שם", row[4].c_str());
  if (!row[5].is_null())
    add("סוג עסקה", deal_word(row[5].c_str()));
  if (!row[6].is_null())
    add("עיר", row[6].c_str());
  if (!row[7].is_null())
    add("חדרים", row[7].c_str());
  if (!row[8].is_null())
    add("תקציב מינימלי", row[8].c_str());
  if (!row[9].is_null())
    add("תקציב מרבי", row[9].c_str());
  if (!row[10].is_null())
    add("הערות", row[10].c_str());
  s.lead_facts = std::move(facts);
  if (auto dialed = normalize_phone(to))
    s.listing = tracked_listing_text(tx, business, *dialed);
  return s;
}

std::int64_t call_lead(db_tx& tx, std::int64_t business,
                       const std::string& call_sid, const std::string& from) {
  std::int64_t lead = 0;
  if (auto phone = normalize_phone(from)) {
    lead = upsert_lead_by_phone(tx, business, *phone, "call", "");
  } else if (auto r = exec(tx, select_call_lead, business, call_sid);
             !r.empty()) {
    lead = r[0][0].as<std::int64_t>();
  } else {
    lead = exec(tx, insert_anonymous_lead, business,
                initial_lead_status(tx, business))[0][0]
             .as<std::int64_t>();
    enqueue_lead_created(tx, business, lead);
  }
  exec(tx, link_call_lead, business, call_sid, lead);
  return lead;
}

void run_call_tool(const call_env& env, const call_info& info, tool_call call,
                   std::function<void(std::string output)> done) {
  try {
    if (call.name == "save_lead")
      return save_lead(env, info, std::move(call), std::move(done));
    if (call.name == "book_appointment")
      return book_appointment(env, info, std::move(call), std::move(done));
    if (call.name == "send_whatsapp")
      return send_whatsapp(env, info, std::move(call), std::move(done));
    if (call.name == "search_listings")
      return search_listings(env, info, std::move(call), std::move(done));
    done(error_output("unknown tool " + call.name.substr(0, 64)));
  } catch (...) {
    done(error_output("the tool failed"));
  }
}

} // namespace al
