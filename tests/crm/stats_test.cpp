// GET /api/crm/stats (the owner's overview) against seeded rows in the real
// PostgreSQL: calls per Israel day by outcome (around midnight and a DST
// switch), busiest hours, leads by source and pipeline stage, appointments
// this week, payments this month; defaults, 400s, roles and tenancy. The
// range parser (core/stats_input) is tested on its own first.
#include "tests/crm/crm_support.hpp"

#include "actors/stats.hpp"
#include "core/israel_time.hpp"
#include "core/stats_input.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <ctime>
#include <string>
#include <vector>

using namespace al;
using namespace al::test;

namespace {

// 2026-12-09 12:00 Israel time (IST, UTC+2), a Wednesday.
constexpr std::time_t wed_noon = 1796810400;

std::string range_error(const std::string& query, std::time_t now,
                        stats_range& out) {
  auto q = parse_form(query);
  EXPECT_TRUE(q.has_value()) << query;
  return q ? parse_stats_range(*q, now, out) : "unparsable";
}

} // namespace

// -- the range (pure) ---------------------------------------------------------

TEST(stats_range, defaults_to_the_last_30_israel_days) {
  stats_range r;
  ASSERT_EQ(range_error("", wed_noon, r), "");
  EXPECT_EQ(r.to, "2026-12-09");
  EXPECT_EQ(r.from, "2026-11-10");
  EXPECT_EQ(r.today, "2026-12-09");
  EXPECT_EQ(r.days, 30);
  EXPECT_EQ(r.now, wed_noon);
  // 22:30 UTC is already the next day in Israel.
  ASSERT_EQ(range_error("from=&to=", wed_noon + 12 * 3600 + 1800, r), "");
  EXPECT_EQ(r.today, "2026-12-10");
  EXPECT_EQ(r.to, "2026-12-10");
  EXPECT_EQ(r.from, "2026-11-11");
}

TEST(stats_range, explicit_bounds) {
  stats_range r;
  ASSERT_EQ(range_error("from=2026-12-01&to=2026-12-03", wed_noon, r), "");
  EXPECT_EQ(r.from, "2026-12-01");
  EXPECT_EQ(r.to, "2026-12-03");
  EXPECT_EQ(r.days, 3);
  EXPECT_EQ(r.today, "2026-12-09"); // "this week" stays about today
  ASSERT_EQ(range_error("to=2024-03-01", wed_noon, r), "");
  EXPECT_EQ(r.from, "2024-02-01"); // 30 days: a leap February + 1 March
  ASSERT_EQ(range_error("from=2026-12-09", wed_noon, r), "");
  EXPECT_EQ(r.to, "2026-12-09");
  EXPECT_EQ(r.days, 1);
  ASSERT_EQ(range_error("from=2024-01-01&to=2024-12-31", wed_noon, r), "");
  EXPECT_EQ(r.days, 366);
  ASSERT_EQ(range_error("from=1999-12-31&to=2000-03-01", wed_noon, r), "");
  EXPECT_EQ(r.days, 62);
}

TEST(stats_range, refuses_bad_input_with_a_message) {
  const std::vector<std::pair<std::string, std::string>> bad{
    {"from=2026-13-01", "from must be a date YYYY-MM-DD (Israel time)"},
    {"from=2026-02-29", "from must be a date YYYY-MM-DD (Israel time)"},
    {"to=2026-1-5", "to must be a date YYYY-MM-DD (Israel time)"},
    {"to=2026-12-09T00:00:00Z", "to must be a date YYYY-MM-DD (Israel time)"},
    {"from=yesterday", "from must be a date YYYY-MM-DD (Israel time)"},
    {"from=%002026-12-0", "from must be a date YYYY-MM-DD (Israel time)"},
    {"from=+2026-12-01", "from must be a date YYYY-MM-DD (Israel time)"},
    {"from=0000-01-01", "from must be a date YYYY-MM-DD (Israel time)"},
    {"from=2026-12-05&to=2026-12-04", "from must not be after to"},
    {"from=2026-12-10", "from must not be after to"}, // to = today
    {"from=2025-12-01&to=2026-12-02", "the range must be at most 366 days"},
    {"from=1900-01-01&to=9999-12-31", "the range must be at most 366 days"},
    {"to=1900-01-05", "from must be a date YYYY-MM-DD (Israel time)"},
  };
  for (auto& [query, message] : bad) {
    stats_range r;
    EXPECT_EQ(range_error(query, wed_noon, r), message) << query;
  }
}

TEST(stats_range, day_numbers_round_trip) {
  EXPECT_EQ(day_number("1970-01-01"), 0);
  EXPECT_EQ(day_number("2000-03-01"), 11017);
  EXPECT_EQ(day_number("2026-02-30"), std::nullopt);
  EXPECT_EQ(day_number("1900-01-01"), -25567);
  for (std::int64_t d = -25567; d <= *day_number("9999-12-31"); d += 997)
    EXPECT_EQ(day_number(date_of_day(d)), d) << d;
  EXPECT_EQ(date_of_day(*day_number("2028-02-28") + 1), "2028-02-29");
}

// -- against the database
// -------------------------------------------------------

namespace {

class stats_test : public ::testing::Test {
protected:
  crm_app c;
  std::int64_t business = 0, other = 0;
  issued_token owner, reader, other_owner;

  void SetUp() override {
    business = c.new_business("כהן נדל\"ן");
    other = c.new_business("משרד אחר");
    owner = c.new_token(business, "owner");
    reader = c.new_token(business, "read_only");
    other_owner = c.new_token(other, "owner");
  }

  std::string b() const {
    return std::to_string(business);
  }
  std::string o() const {
    return std::to_string(other);
  }

  /// A calls row: sid, created_at, status, started (bool), ended_normally,
  /// end_reason, transfer, transfer_status, recording_url (SQL literals).
  void call(std::int64_t biz, const std::string& sid,
            const std::string& created, const std::string& status, bool started,
            bool normal = false, const std::string& reason = "NULL",
            const std::string& transfer = "NULL",
            const std::string& transfer_status = "NULL",
            const std::string& recording = "NULL") {
    c.sql("INSERT INTO calls (business_id, call_sid, from_number, status,"
          " started_at, ended_normally, end_reason, transfer, transfer_status,"
          " recording_url, created_at) VALUES ("
          + std::to_string(biz) + ", '" + sid + "', '+972501234567', '" + status
          + "', "
          + (started ? "'" + created + "'::timestamptz + interval '2 s'"
                     : std::string{"NULL"})
          + ", " + (normal ? "true" : "false") + ", " + reason + ", " + transfer
          + ", " + transfer_status + ", " + recording + ", '" + created + "')");
  }

  void seed_calls() {
    const std::string tr = R"('{"numbers":["+972501111111"]}')";
    // The evening before the range (Israel time): not counted.
    call(business, "CA01", "2026-11-30T23:30:00+02:00", "completed", true, true,
         "'goodbye'");
    // Tuesday 1 December.
    call(business, "CA02", "2026-12-01T00:10:00+02:00", "completed", true, true,
         "'goodbye'"); // 22:10 UTC the day before: ai_handled, 00h
    call(business, "CA03", "2026-12-01T10:05:00+02:00", "completed", true, true,
         "'transfer'", tr, "'completed'"); // transferred
    call(business, "CA04", "2026-12-01T10:40:00+02:00", "transfer_missed", true,
         true, "'transfer'", tr, "'no-answer'"); // voicemail
    // Wednesday 2 December.
    call(business, "CA05", "2026-12-02T09:00:00+02:00", "no-answer",
         false); // missed
    call(business, "CA06", "2026-12-02T23:59:30+02:00", "completed", true,
         false, "'stop'"); // the caller hung up mid-dialogue: ai_handled
    // Thursday 3 December.
    call(business, "CA07", "2026-12-03T00:00:00+02:00", "completed", true,
         false, "'socket closed'"); // dropped -> fallback: voicemail
    call(business, "CA08", "2026-12-03T12:00:00+02:00", "fallback", true, false,
         "'socket closed'", "NULL", "NULL",
         "'https://api.twilio.com/rec/RE1'"); // voicemail
    call(business, "CA09", "2026-12-03T12:30:00+02:00", "ringing",
         false); // never streamed: missed
    call(business, "CA10", "2026-12-03T13:00:00+02:00", "in-progress",
         true); // on the line now: ai_handled
    call(business, "CA11", "2026-12-03T13:30:00+02:00", "busy", false);
    call(business, "CA12", "2026-12-04T00:00:00+02:00", "completed", true,
         true); // the day after the range: not counted
    call(business, "CA13", "2026-12-03T14:00:00+02:00", "transferring", true,
         true, "'transfer'", tr); // being dialed: transferred
    // Another business, same days: never counted.
    call(other, "CAX1", "2026-12-01T10:00:00+02:00", "completed", true, true);
    call(other, "CAX2", "2026-12-03T00:30:00+02:00", "no-answer", false);
  }

  void lead(std::int64_t biz, const std::string& source,
            const std::string& status, const std::string& created) {
    c.sql("INSERT INTO leads (business_id, name, source, status, created_at)"
          " VALUES ("
          + std::to_string(biz) + ", 'ליד', '" + source + "', '" + status
          + "', '" + created + "')");
  }

  void seed_leads() {
    lead(business, "import", "new", "2026-11-30T23:59:00+02:00"); // before
    lead(business, "call", "new", "2026-12-01T00:05:00+02:00");
    lead(business, "call", "contacted", "2026-12-02T10:00:00+02:00");
    lead(business, "whatsapp", "new", "2026-12-03T23:50:00+02:00");
    lead(business, "manual", "won", "2026-12-02T11:00:00+02:00");
    lead(business, "portal", "qualified", "2026-12-03T08:00:00+02:00");
    lead(business, "web", "lost", "2026-12-04T00:00:00+02:00"); // after
    lead(other, "call", "new", "2026-12-02T10:00:00+02:00");
    lead(other, "whatsapp", "won", "2026-12-02T10:00:00+02:00");
  }

  void appointment(std::int64_t biz, const std::string& at,
                   const std::string& status) {
    c.sql("INSERT INTO appointments (business_id, starts_at, status) VALUES ("
          + std::to_string(biz) + ", '" + at + "', '" + status + "')");
  }

  /// A payment; `paid_at` (a paid payment_events row) unless "NULL".
  void payment(std::int64_t biz, std::int64_t minor,
               const std::string& currency, const std::string& status,
               const std::string& updated,
               const std::string& paid_at = "NULL") {
    auto id = c.sql("INSERT INTO payments (business_id, provider, amount_minor,"
                    " currency, status, created_at, updated_at) VALUES ("
                    + std::to_string(biz) + ", 'paypal', "
                    + std::to_string(minor) + ", '" + currency + "', '" + status
                    + "', '2026-11-01T10:00:00+02:00', '" + updated
                    + "') RETURNING id");
    if (paid_at != "NULL")
      c.sql("INSERT INTO payment_events (business_id, payment_id, event_key,"
            " from_status, to_status, created_at) VALUES ("
            + std::to_string(biz) + ", " + id
            + ", 'capture', 'pending', 'paid', '" + paid_at + "')");
  }

  api_result stats(const std::string& query, const std::string& token) {
    return c.call("GET", "/api/crm/stats" + query, token);
  }
};

/// by_day as "day ai/transferred/voicemail/missed" lines.
std::vector<std::string> days_of(const json::object& calls) {
  std::vector<std::string> out;
  for (auto& d : calls.at("by_day").as_array()) {
    auto& o = d.as_object();
    out.push_back(std::string{o.at("day").as_string()} + " "
                  + std::to_string(o.at("ai_handled").as_int64()) + "/"
                  + std::to_string(o.at("transferred").as_int64()) + "/"
                  + std::to_string(o.at("voicemail").as_int64()) + "/"
                  + std::to_string(o.at("missed").as_int64()));
  }
  return out;
}

std::vector<std::int64_t> ints(const json::value& v) {
  std::vector<std::int64_t> out;
  for (auto& x : v.as_array())
    out.push_back(x.as_int64());
  return out;
}

} // namespace

TEST_F(stats_test, calls_and_leads_of_a_range_counted_exactly) {
  seed_calls();
  seed_leads();
  auto r = stats("?from=2026-12-01&to=2026-12-03", reader.token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str_at("from"), "2026-12-01");
  EXPECT_EQ(r.str_at("to"), "2026-12-03");
  auto& calls = r.obj().at("calls").as_object();
  EXPECT_EQ(calls.at("total"), 11);
  EXPECT_EQ(days_of(calls), (std::vector<std::string>{
                              "2026-12-01 1/1/1/0",
                              "2026-12-02 1/0/0/1",
                              "2026-12-03 1/1/2/2",
                            }));
  std::vector<std::int64_t> hours(24, 0);
  hours[0] = 2;  // CA02, CA07
  hours[9] = 1;  // CA05
  hours[10] = 2; // CA03, CA04
  hours[12] = 2; // CA08, CA09
  hours[13] = 2; // CA10, CA11
  hours[14] = 1; // CA13
  hours[23] = 1; // CA06
  EXPECT_EQ(ints(calls.at("by_hour")), hours);

  auto& leads = r.obj().at("leads").as_object();
  EXPECT_EQ(leads.at("total"), 5);
  EXPECT_EQ(leads.at("by_source"), (json::object{{"call", 2},
                                                 {"whatsapp", 1},
                                                 {"manual", 1},
                                                 {"import", 0},
                                                 {"web", 0},
                                                 {"portal", 1}}));
  EXPECT_EQ(
    js(leads.at("funnel")),
    js(json::array{
      json::object{{"key", "new"}, {"label", "חדש"}, {"leads", 2}},
      json::object{{"key", "contacted"}, {"label", "נוצר קשר"}, {"leads", 1}},
      json::object{{"key", "qualified"}, {"label", "מתאים"}, {"leads", 1}},
      json::object{
        {"key", "appointment"}, {"label", "נקבעה פגישה"}, {"leads", 0}},
      json::object{{"key", "won"}, {"label", "נסגר בהצלחה"}, {"leads", 1}},
      json::object{{"key", "lost"}, {"label", "לא רלוונטי"}, {"leads", 0}},
    }));
  EXPECT_TRUE(r.obj().at("speed_to_lead").is_null());

  // One day: only Thursday's calls.
  auto one = stats("?from=2026-12-03&to=2026-12-03", owner.token);
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(days_of(one.obj().at("calls").as_object()),
            (std::vector<std::string>{"2026-12-03 1/1/2/2"}));
  EXPECT_EQ(one.obj().at("calls").at("total"), 6);

  // The other business sees only its own rows, whatever it asks for.
  auto theirs = stats("?from=2026-12-01&to=2026-12-03&business_id=" + b(),
                      other_owner.token);
  ASSERT_EQ(theirs.status, 200) << theirs.body;
  EXPECT_EQ(days_of(theirs.obj().at("calls").as_object()),
            (std::vector<std::string>{"2026-12-01 1/0/0/0",
                                      "2026-12-02 0/0/0/0",
                                      "2026-12-03 0/0/0/1"}));
  EXPECT_EQ(theirs.obj().at("leads").at("total"), 2);
  // The administrator picks the business.
  auto admin = stats("?from=2026-12-01&to=2026-12-03&business_id=" + o(),
                     admin_token);
  ASSERT_EQ(admin.status, 200) << admin.body;
  EXPECT_EQ(admin.obj().at("calls").at("total"), 2);
  auto admin_b = stats("?from=2026-12-01&to=2026-12-03&business_id=" + b(),
                       admin_token);
  EXPECT_EQ(admin_b.obj().at("calls").at("total"), 11);
  EXPECT_EQ(stats("?business_id=987654", admin_token).status, 404);
}

TEST_F(stats_test, the_funnel_follows_the_owners_pipeline) {
  seed_leads();
  auto put = c.call("PUT", "/api/crm/pipeline", owner.token,
                    R"({"statuses":[{"key":"won","label":"סגרנו"},
                      {"key":"new","label":"חדש"},{"key":"qualified","label":"מתאים"},
                      {"key":"contacted","label":"דיברנו"},{"key":"lost","label":"ירד"}]})");
  ASSERT_EQ(put.status, 200) << put.body;
  // A status the pipeline no longer has (written before the change).
  lead(business, "manual", "vip", "2026-12-02T12:00:00+02:00");
  auto r = stats("?from=2026-12-01&to=2026-12-03", owner.token);
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<std::string> funnel;
  for (auto& s : r.obj().at("leads").at("funnel").as_array())
    funnel.push_back(std::string{s.at("key").as_string()} + ":"
                     + std::string{s.at("label").as_string()} + ":"
                     + std::to_string(s.at("leads").as_int64()));
  EXPECT_EQ(funnel, (std::vector<std::string>{
                      "won:סגרנו:1", "new:חדש:2", "qualified:מתאים:1",
                      "contacted:דיברנו:1", "lost:ירד:0", "vip:vip:1"}));
  EXPECT_EQ(r.obj().at("leads").at("total"), 6);
}

TEST_F(stats_test, a_dst_switch_keeps_israel_days) {
  // Israel moved to summer time (UTC+3) on Friday 27 March 2026 at 02:00.
  call(business, "CAD1", "2026-03-27T01:30:00+02:00", "completed", true,
       true); // before the switch
  call(business, "CAD2", "2026-03-27T23:30:00+03:00", "completed", true,
       true); // 20:30 UTC
  call(business, "CAD3", "2026-03-28T00:30:00+03:00", "completed", true,
       true); // 21:30 UTC on the 27th, after midnight in Israel
  auto r = stats("?from=2026-03-27&to=2026-03-28", owner.token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(
    days_of(r.obj().at("calls").as_object()),
    (std::vector<std::string>{"2026-03-27 2/0/0/0", "2026-03-28 1/0/0/0"}));
  auto hours = ints(r.obj().at("calls").at("by_hour"));
  EXPECT_EQ(hours[0], 1);
  EXPECT_EQ(hours[1], 1);
  EXPECT_EQ(hours[23], 1);
}

TEST_F(stats_test, appointments_this_week_and_payments_this_month) {
  // Today is Wednesday 2026-12-09 (the week is Sunday 6 to Saturday 12),
  // now is its noon; run the pure function with that clock.
  appointment(business, "2026-12-05T23:30:00+02:00", "scheduled"); // last week
  appointment(business, "2026-12-06T00:00:00+02:00", "scheduled"); // week, past
  appointment(business, "2026-12-08T09:00:00+02:00", "no_show");   // week
  appointment(business, "2026-12-09T09:00:00+02:00", "done");      // week
  appointment(business, "2026-12-09T14:00:00+02:00", "scheduled"); // week, up
  appointment(business, "2026-12-10T10:00:00+02:00", "cancelled"); // neither
  appointment(business, "2026-12-12T23:30:00+02:00", "scheduled"); // week, up
  appointment(business, "2026-12-13T00:00:00+02:00", "scheduled"); // next, up
  appointment(other, "2026-12-09T15:00:00+02:00", "scheduled");

  // Paid in December (Israel time): 1 Dec 00:30 is still 30 Nov in UTC.
  payment(business, 25000, "ILS", "paid", "2026-12-01T00:30:00+02:00",
          "2026-12-01T00:30:00+02:00");
  // Paid in November, touched again in December: not this month.
  payment(business, 10000, "ILS", "paid", "2026-12-05T10:00:00+02:00",
          "2026-11-30T23:30:00+02:00");
  payment(business, 5000, "USD", "paid", "2026-12-02T10:00:00+02:00",
          "2026-12-02T10:00:00+02:00"); // not summed with shekels
  payment(business, 7550, "ILS", "paid",
          "2026-12-08T10:00:00+02:00"); // no event row: its last update
  payment(business, 9900, "ILS", "pending", "2026-10-01T10:00:00+02:00");
  payment(business, 100, "ILS", "pending", "2026-12-08T10:00:00+02:00");
  payment(business, 300, "ILS", "failed", "2026-12-08T10:00:00+02:00");
  payment(other, 99900, "ILS", "paid", "2026-12-03T10:00:00+02:00",
          "2026-12-03T10:00:00+02:00");
  payment(other, 500, "ILS", "pending", "2026-12-03T10:00:00+02:00");

  stats_range range;
  auto q = parse_form("from=2026-12-01&to=2026-12-03");
  ASSERT_TRUE(q);
  ASSERT_EQ(parse_stats_range(*q, wed_noon, range), "");
  pqxx::connection conn{c.cfg().database_url};
  pqxx::work tx{conn};
  auto reply = business_stats(tx, business, range);
  ASSERT_EQ(reply.code, crm_code::ok);
  auto& o = reply.body.as_object();
  EXPECT_EQ(o.at("appointments"),
            (json::object{{"this_week", 5}, {"upcoming", 3}}));
  EXPECT_EQ(js(o.at("payments")),
            js(json::object{{"this_month", json::object{{"count", 2},
                                                        {"paid_minor", 32550},
                                                        {"currency", "ILS"}}},
                            {"pending", 2}}));
  auto theirs = business_stats(tx, other, range);
  EXPECT_EQ(theirs.body.at("appointments"),
            (json::object{{"this_week", 1}, {"upcoming", 1}}));
  EXPECT_EQ(theirs.body.at("payments").at("this_month").at("paid_minor"),
            99900);
  EXPECT_EQ(theirs.body.at("payments").at("pending"), 1);
  // The first day of January: December's payments are last month.
  auto jan = range;
  jan.today = "2027-01-01";
  jan.now = wed_noon + 23 * 86400;
  auto next = business_stats(tx, business, jan);
  EXPECT_EQ(next.body.at("payments").at("this_month").at("count"), 0);
  EXPECT_EQ(next.body.at("appointments").at("upcoming"), 0);
}

TEST_F(stats_test, defaults_are_the_last_30_days_ending_today) {
  auto today = israel_at(std::time(nullptr)).date;
  c.sql("INSERT INTO calls (business_id, call_sid, status, started_at)"
        " VALUES ("
        + b() + ", 'CANOW', 'in-progress', now())");
  c.sql("INSERT INTO calls (business_id, call_sid, status, created_at)"
        " VALUES ("
        + b() + ", 'CAOLD', 'completed', now() - interval '31 days')");
  lead(business, "whatsapp", "new", "now");
  auto r = stats("", owner.token);
  ASSERT_EQ(r.status, 200) << r.body;
  if (r.str_at("to") != today) // the test ran across midnight in Israel
    today = israel_at(std::time(nullptr)).date;
  EXPECT_EQ(r.str_at("to"), today);
  EXPECT_EQ(r.str_at("from"), date_of_day(*day_number(today) - 29));
  auto& by_day = r.obj().at("calls").at("by_day").as_array();
  ASSERT_EQ(by_day.size(), 30u);
  EXPECT_EQ(std::string{by_day.back().at("day").as_string()}, today);
  EXPECT_EQ(by_day.back().at("ai_handled"), 1);
  EXPECT_EQ(r.obj().at("calls").at("total"), 1);
  EXPECT_EQ(r.obj().at("calls").at("by_hour").as_array().size(), 24u);
  EXPECT_EQ(r.obj().at("leads").at("by_source").at("whatsapp"), 1);
  EXPECT_TRUE(r.obj().at("speed_to_lead").is_null());
  // A business with nothing yet: every number is zero, nothing is missing.
  auto empty = stats("", other_owner.token);
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_EQ(empty.obj().at("calls").at("total"), 0);
  EXPECT_EQ(empty.obj().at("calls").at("by_day").as_array().size(), 30u);
  EXPECT_EQ(empty.obj().at("leads").at("funnel").as_array().size(), 6u);
  EXPECT_EQ(empty.obj().at("payments").at("this_month").at("paid_minor"), 0);
}

TEST_F(stats_test, bad_ranges_answer_400_and_roles_apply) {
  for (const char* q :
       {"?from=2026-12-32", "?to=2026/12/01", "?from=2026-12-05&to=2026-12-01",
        "?from=2020-01-01&to=2026-01-01", "?from=%ff%fe", "?to=%00",
        "?from=2026-12-01%27;DROP%20TABLE%20calls;--", "?from=%",
        "?from=99999-01-01", "?from=2026-12-01&from=2026-12-02&to=x"}) {
    auto r = stats(q, owner.token);
    EXPECT_EQ(r.status, 400) << q << " -> " << r.body;
    EXPECT_FALSE(r.str_at("error").empty()) << q;
  }
  auto r = stats("?from=2026-12-05&to=2026-12-01", owner.token);
  EXPECT_EQ(r.str_at("error"), "from must not be after to");
  EXPECT_EQ(c.call("GET", "/api/crm/stats", "").status, 401);
  EXPECT_EQ(c.call("GET", "/api/crm/stats", "al_nonsense").status, 401);
  EXPECT_EQ(c.call("POST", "/api/crm/stats", owner.token, "{}").status, 405);
  EXPECT_EQ(stats("", c.new_token(business, "agent").token).status, 200);
  EXPECT_EQ(stats("?from=2026-12-01&to=2026-12-03", reader.token).status, 200);
  EXPECT_EQ(c.sql("SELECT count(*) FROM calls"), "0");
}
