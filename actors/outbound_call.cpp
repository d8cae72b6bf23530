#include "actors/outbound_call.hpp"

#include "actors/dnc.hpp"
#include "actors/log.hpp"
#include "actors/metrics.hpp"
#include "actors/secret_columns.hpp"
#include "actors/sql.hpp"
#include "actors/sql_fields.hpp"
#include "core/url_builder.hpp"

#include <algorithm>
#include <chrono>
#include <memory>

namespace al {

namespace {

constexpr sql_statement select_dial_business{
  "SELECT b.twilio_account_sid, b.twilio_auth_token,"
  " (SELECT p.number FROM phone_numbers p WHERE p.business_id = b.id"
  "  ORDER BY p.created_at, p.number LIMIT 1)"
  " FROM businesses b WHERE b.id = $1"};

// A new attempt: callbacks of the previous one no longer match the row.
constexpr sql_statement clear_dial_sid{
  "UPDATE campaign_leads SET call_sid = NULL, updated_at = now()"
  " WHERE id = $1 AND business_id = $2"};

constexpr sql_statement set_opted_out{
  "UPDATE campaign_leads SET outcome = 'opted_out', lease_owner = NULL,"
  " lease_until = NULL, updated_at = now()"
  " WHERE id = $1 AND business_id = $2"
  " AND outcome NOT IN ('completed', 'voicemail', 'opted_out')"
  " RETURNING 1"};

constexpr sql_statement insert_outbound_call{
  "INSERT INTO calls (business_id, call_sid, from_number, to_number, status,"
  " direction, campaign_lead_id, lead_id)"
  " SELECT $1::bigint, $2::text, $3::text, $4::text, 'queued', 'outbound',"
  " cl.id, cl.lead_id"
  " FROM campaign_leads cl WHERE cl.id = $5 AND cl.business_id = $1"
  " ON CONFLICT (call_sid) DO NOTHING"};

constexpr sql_statement store_dial_sid{
  "UPDATE campaign_leads SET call_sid = $3, updated_at = now()"
  " WHERE id = $1 AND business_id = $2"};

constexpr sql_statement select_target{
  "SELECT cl.id, cl.business_id, cl.campaign_id, cl.lead_id, cl.phone,"
  " cl.outcome, coalesce(cl.call_sid, ''), c.kind, c.prompt, c.voicemail,"
  " c.voicemail_text, c.retry_after_min, b.name, b.twilio_account_sid,"
  " b.twilio_auth_token,"
  " (SELECT p.number FROM phone_numbers p WHERE p.business_id = b.id"
  "  ORDER BY p.created_at, p.number LIMIT 1),"
  " l.name, coalesce(l.deal, ''), coalesce(l.city, ''),"
  " coalesce(l.rooms::text, ''), l.budget_min, l.budget_max, l.notes"
  " FROM campaign_leads cl"
  " JOIN campaigns c ON c.id = cl.campaign_id"
  "  AND c.business_id = cl.business_id"
  " JOIN businesses b ON b.id = cl.business_id"
  " JOIN leads l ON l.id = cl.lead_id AND l.business_id = cl.business_id"
  " WHERE cl.id = $1"};

// The row as a callback finds it, locked: its outcome and call sid, and
// whether `sid` is an earlier attempt's call.
constexpr sql_statement lock_row{
  "SELECT outcome, coalesce(call_sid, ''),"
  " EXISTS (SELECT 1 FROM calls WHERE call_sid = $3 AND business_id = $2"
  "  AND campaign_lead_id = $1)"
  " FROM campaign_leads WHERE id = $1 AND business_id = $2 FOR UPDATE"};

constexpr sql_statement set_answered{
  "UPDATE campaign_leads SET outcome = 'answered',"
  " call_sid = coalesce(call_sid, $3), updated_at = now()"
  " WHERE id = $1 AND business_id = $2"};

constexpr sql_statement set_answered_by{
  "UPDATE campaign_leads SET answered_by = $3, updated_at = now()"
  " WHERE id = $1 AND business_id = $2"};

// completed, voicemail: final; the dialing slot is free.
constexpr sql_statement set_final{
  "UPDATE campaign_leads SET outcome = $3, call_sid = coalesce(call_sid, $4),"
  " lease_owner = NULL, lease_until = NULL, updated_at = now()"
  " WHERE id = $1 AND business_id = $2"};

// busy, no_answer, failed: due again after the campaign's retry_after_min
// (the engine re-dials while attempts remain).
constexpr sql_statement set_retry{
  "UPDATE campaign_leads SET outcome = $3, call_sid = coalesce(call_sid, $4),"
  " last_error = $5, lease_owner = NULL, lease_until = NULL,"
  " next_attempt_at = now() + (SELECT c.retry_after_min FROM campaigns c"
  "  WHERE c.id = campaign_leads.campaign_id) * interval '1 minute',"
  " updated_at = now()"
  " WHERE id = $1 AND business_id = $2"};

void count(prometheus::Family<prometheus::Counter>* f, const char* label,
           std::string_view value) {
  if (!f)
    return;
  try {
    f->Add({{label, std::string{value}}}).Increment();
  } catch (...) {
  }
}

/// The row as a callback finds it.
struct locked_row {
  bool found = false;
  std::string outcome;
  std::string call_sid;
  bool earlier_call = false; // `sid` is known, and not the row's
  bool belongs = false;      // the callback is about the current attempt
};

locked_row lock(db_tx& tx, const outbound_target& t, const std::string& sid) {
  locked_row row;
  auto r = exec(tx, lock_row, t.id, t.business_id, sid);
  if (r.empty())
    return row;
  row.found = true;
  row.outcome = r[0][0].c_str();
  row.call_sid = r[0][1].c_str();
  row.earlier_call = r[0][2].as<bool>() && row.call_sid != sid;
  row.belongs = !sid.empty()
                && (row.call_sid == sid
                    || (row.call_sid.empty() && !row.earlier_call));
  return row;
}

bool is_final_outcome(const std::string& o) {
  return o == "completed" || o == "voicemail" || o == "opted_out";
}

/// At most `n` bytes of `s`, not cutting a UTF-8 sequence.
std::string clip(const std::string& s, std::size_t n) {
  if (s.size() <= n)
    return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n;
  return s.substr(0, n);
}

/// One line of text: control characters become spaces.
std::string one_line(std::string s) {
  for (auto& c : s)
    if (static_cast<unsigned char>(c) < 0x20)
      c = ' ';
  return s;
}

std::string office_name(const outbound_target& t) {
  auto name = clip(one_line(t.business_name), 80);
  if (name.empty() || name == "Default")
    return "משרד התיווך";
  return name;
}

} // namespace

void place_outbound_call(const outbound_env& env_in, outbound_dial d,
                         std::function<void(outbound_dial_result)> done_in) {
  auto env = std::make_shared<const outbound_env>(env_in);
  auto done = std::make_shared<std::function<void(outbound_dial_result)>>(
    std::move(done_in));
  auto finish = [env, done](outbound_dial_result r, std::string_view metric) {
    count(env->m ? &env->m->outbound_dials : nullptr, "result", metric);
    try {
      (*done)(std::move(r));
    } catch (...) {
    }
  };
  struct loaded {
    call_twilio_account own;
    std::string number;
    bool found = false;
    bool opted_out = false;
  };
  auto l = std::make_shared<loaded>();
  env->db.run(
    [env, d, l](db_tx& tx) {
      auto r = exec(tx, select_dial_business, d.business_id);
      if (r.empty())
        return;
      l->found = true;
      l->own = {text_or_empty(r[0][0]),
                secret_or_empty(r[0][1], "twilio_auth_token")};
      l->number = text_or_empty(r[0][2]);
      // Right before the dial: a number that opted out is never called.
      if (dnc_contains(tx, d.business_id, d.to)) {
        l->opted_out = true;
        exec(tx, set_opted_out, d.campaign_lead_id, d.business_id);
        return;
      }
      exec(tx, clear_dial_sid, d.campaign_lead_id, d.business_id);
    },
    [env, d, l, finish](const db_error& err) {
      if (!err.empty())
        return finish({false, "", "database: " + err, true}, "error");
      if (l->opted_out)
        return finish({false, "", "opted_out", false}, "opted_out");
      if (!l->found || l->number.empty())
        return finish({false, "", "The business has no phone number", false},
                      "no_number");
      twilio_credentials creds{l->own.account_sid, l->own.auth_token};
      if (creds.account_sid.empty() || creds.auth_token.empty())
        creds = {env->account_sid, env->auth_token};
      if (creds.account_sid.empty() || creds.auth_token.empty())
        return finish({false, "", "No Twilio account is configured", false},
                      "error");
      auto urls = url_builder::parse(env->public_base_url);
      if (!urls)
        return finish({false, "", "PUBLIC_BASE_URL is not usable", false},
                      "error");
      twilio_dial_spec spec{d.to, l->number, d.campaign_lead_id,
                            env->ring_timeout_s};
      auto req = twilio_call_create_request(env->twilio_api_base, creds, *urls,
                                            spec, std::chrono::seconds(15));
      auto from = l->number;
      env->http(std::move(req), [env, d, from, finish](outbound_response res) {
        auto created = parse_twilio_call_create(res);
        if (!created.ok) {
          log_safe(spdlog::level::warn,
                   "follow-up dial {} (campaign {}) not placed: {} {}",
                   d.campaign_lead_id, d.campaign_id, created.error_code,
                   created.error);
          auto error = created.error;
          if (!created.error_code.empty())
            error += " (" + created.error_code + ")";
          return finish({false, "", error, created.retryable}, "rejected");
        }
        auto sid = created.sid;
        auto job = [d, sid, from](db_tx& tx) {
          exec(tx, insert_outbound_call, d.business_id, sid, from, d.to,
               d.campaign_lead_id);
          exec(tx, store_dial_sid, d.campaign_lead_id, d.business_id, sid);
        };
        env->db.run(job, [env, sid, job, finish](const db_error& err) {
          if (!err.empty()) {
            // The call is placed: its rows must follow when the database
            // is back (the queued write is retried until it lands).
            log_safe(spdlog::level::warn, "follow-up call {}: rows queued ({})",
                     sid, err);
            env->db.write("outbound_call", job);
          }
          finish({true, sid, "", false}, "placed");
        });
      });
    });
}

std::optional<outbound_target> load_outbound_target(db_tx& tx,
                                                    std::int64_t id) {
  auto r = exec(tx, select_target, id);
  if (r.empty())
    return std::nullopt;
  auto row = r[0];
  outbound_target t;
  t.id = row[0].as<std::int64_t>();
  t.business_id = row[1].as<std::int64_t>();
  t.campaign_id = row[2].as<std::int64_t>();
  t.lead_id = row[3].as<std::int64_t>();
  t.phone = row[4].c_str();
  t.outcome = row[5].c_str();
  t.call_sid = row[6].c_str();
  t.campaign_kind = row[7].c_str();
  t.prompt = row[8].c_str();
  t.voicemail = row[9].c_str();
  t.voicemail_text = row[10].c_str();
  t.retry_after_min = row[11].as<int>();
  t.business_name = row[12].c_str();
  t.twilio = {text_or_empty(row[13]),
              secret_or_empty(row[14], "twilio_auth_token")};
  t.business_number = text_or_empty(row[15]);
  t.lead_name = clip(one_line(row[16].c_str()), 60);
  std::string facts;
  auto add = [&facts](const char* label, const std::string& v) {
    if (v.empty())
      return;
    if (!facts.empty())
      facts += ", ";
    facts += label;
    facts += v;
  };
  std::string deal = row[17].c_str();
  add("מחפש/ת: ", deal == "buy"    ? std::string{"קנייה"}
                  : deal == "rent" ? std::string{"שכירות"}
                  : deal == "sell" ? std::string{"מכירה"}
                                   : std::string{});
  add("עיר: ", clip(one_line(row[18].c_str()), 60));
  add("חדרים: ", row[19].c_str());
  if (!row[20].is_null() || !row[21].is_null())
    add("תקציב: ",
        (row[20].is_null() ? std::string{"?"} : row[20].c_str())
          + std::string{"-"}
          + (row[21].is_null() ? std::string{"?"} : row[21].c_str()));
  // The end of the notes holds the latest intake message.
  std::string notes = one_line(row[22].c_str());
  if (notes.size() > 400) {
    auto from = notes.size() - 400;
    while (from < notes.size()
           && (static_cast<unsigned char>(notes[from]) & 0xC0) == 0x80)
      ++from;
    notes = notes.substr(from);
  }
  add("הערות: ", notes);
  t.lead_facts = std::move(facts);
  return t;
}

std::string mark_outbound_answered(db_tx& tx, const outbound_target& t,
                                   const std::string& call_sid) {
  auto row = lock(tx, t, call_sid);
  if (!row.found || !row.belongs)
    return {};
  // The dial's own insert may not have landed yet (or was queued).
  exec(tx, insert_outbound_call, t.business_id, call_sid, t.business_number,
       t.phone, t.id);
  if (row.outcome != "dialing")
    return {};
  exec(tx, set_answered, t.id, t.business_id, call_sid);
  return "answered";
}

amd_decision apply_amd(db_tx& tx, const outbound_target& t, const amd_event& ev,
                       bool uncertain_is_human) {
  amd_decision out;
  auto row = lock(tx, t, ev.call_sid);
  if (!row.found || !row.belongs)
    return out;
  exec(tx, set_answered_by, t.id, t.business_id, std::string{to_string(ev.by)});
  bool human = ev.by == answered_by::human
               || (is_uncertain(ev.by) && uncertain_is_human);
  if (human) {
    if (row.outcome == "dialing") {
      exec(tx, set_answered, t.id, t.business_id, ev.call_sid);
      out.outcome = "answered";
    }
    return out;
  }
  if (row.outcome != "dialing" && row.outcome != "answered")
    return out; // over already, or a duplicate verdict
  exec(tx, set_final, t.id, t.business_id, std::string{"voicemail"},
       ev.call_sid);
  out.outcome = "voicemail";
  bool message = t.voicemail == "message"
                 && t.voicemail_text.find_first_not_of(" \t\r\n")
                      != std::string::npos;
  out.action = message ? amd_action::leave_message : amd_action::hang_up;
  return out;
}

status_decision apply_outbound_status(db_tx& tx, const outbound_target& t,
                                      const call_status_event& ev) {
  status_decision out;
  // The calls row, as /webhook/call_status keeps it.
  if (ev.status != call_progress::unknown)
    apply_call_status(tx, ev.call_sid, std::string{to_string(ev.status)});
  if (!is_final(ev.status))
    return out;
  auto row = lock(tx, t, ev.call_sid);
  if (!row.found || !row.belongs)
    return out;
  out.slot_freed = true;
  const auto& o = row.outcome;
  if (is_final_outcome(o) || (o != "dialing" && o != "answered"))
    return out; // final, or this attempt's outcome is already set
  if (o == "answered" || ev.status == call_progress::completed) {
    // Twilio says completed for any answered call; a machine that AMD
    // named before the TwiML was fetched still counts as voicemail.
    out.outcome = is_machine_end(ev.by) ? "voicemail" : "completed";
    exec(tx, set_final, t.id, t.business_id, out.outcome, ev.call_sid);
    return out;
  }
  out.outcome = ev.status == call_progress::busy        ? "busy"
                : ev.status == call_progress::no_answer ? "no_answer"
                                                        : "failed";
  exec(tx, set_retry, t.id, t.business_id, out.outcome, ev.call_sid,
       "twilio: " + std::string{to_string(ev.status)});
  return out;
}

bool opt_out_by_dtmf(db_tx& tx, std::int64_t business,
                     std::int64_t campaign_lead_id, const std::string& phone) {
  if (!phone.empty())
    dnc_add(tx, business, phone, dnc_source::dtmf,
            "DTMF 9 in a follow-up call");
  return !exec(tx, set_opted_out, campaign_lead_id, business).empty();
}

std::string outbound_opening(const outbound_target& t) {
  std::string text = "שלום";
  if (!t.lead_name.empty())
    text += " " + t.lead_name;
  text += ", כאן " + office_name(t) + ". ";
  if (t.campaign_kind == "speed_to_lead")
    text += "ראינו שהשארת אצלנו פרטים, ורצינו לעזור לך למצוא את הנכס"
            " המתאים. ";
  else
    text += "אנחנו מתקשרים בהמשך לפנייתך אלינו. ";
  text += "אם אינך מעוניין/ת שנתקשר שוב, הקש/י 9.";
  return text;
}

std::string outbound_prompt(const outbound_target& t) {
  std::string out;
  if (!t.prompt.empty()) {
    out = t.prompt;
  } else {
    out = "את/ה נציג/ה טלפוני/ת אדיב/ה של " + office_name(t)
          + ", ומתקשר/ת ללקוח/ה";
    if (t.campaign_kind == "speed_to_lead")
      out += " שהשאיר/ה פרטים ממש עכשיו";
    out += ". המטרה: להבין מה הוא/היא מחפש/ת (קנייה, שכירות או מכירה), באיזו"
           " עיר, כמה חדרים ובאיזה תקציב, ולקבוע פגישה או שיחה עם סוכן.";
  }
  out += "\n\nזו שיחה יוצאת: את/ה התקשרת אל הלקוח/ה. אם הלקוח/ה אינו/ה"
         " מעוניין/ת, הודה/י בנימוס, אמור/י שאפשר להקיש 9 כדי שלא נתקשר שוב,"
         " ונפרד/י.";
  return out;
}

} // namespace al
