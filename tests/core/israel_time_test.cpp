// core/israel_time: Israel wall clock (tzdata via cctz), holidays (libhdate,
// Israel mode), working hours in Hebrew and appointment slot checks.

#include "core/israel_time.hpp"
#include "core/working_hours.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace al {
namespace {

std::time_t utc(int y, int mo, int d, int h, int mi, int s = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return timegm(&tm);
}

// Sunday to Thursday 09:00-18:00, Friday 09:00-13:00, Saturday closed.
const std::string office
  = R"({"sun":["09:00","18:00"],"mon":["09:00","18:00"],)"
    R"("tue":["09:00","18:00"],"wed":["09:00","18:00"],)"
    R"("thu":["09:00","18:00"],"fri":["09:00","13:00"]})";

// -- wall clock ---------------------------------------------------------------

TEST(israel_time, daylight_time_starts_friday_27_march_2026) {
  auto before = israel_at(utc(2026, 3, 26, 23, 59, 59));
  EXPECT_EQ(before.date, "2026-03-27");
  EXPECT_EQ(before.time, "01:59");
  EXPECT_EQ(before.weekday, 5);
  EXPECT_EQ(before.weekday_he, "יום שישי");
  EXPECT_EQ(before.utc_offset_s, 7200);
  EXPECT_EQ(iso_israel(utc(2026, 3, 26, 23, 59, 59)),
            "2026-03-27T01:59:59+02:00");
  // 02:00 IST becomes 03:00 IDT.
  auto after = israel_at(utc(2026, 3, 27, 0, 0));
  EXPECT_EQ(after.date, "2026-03-27");
  EXPECT_EQ(after.time, "03:00");
  EXPECT_EQ(after.utc_offset_s, 10800);
  EXPECT_EQ(iso_israel(utc(2026, 3, 27, 0, 0)), "2026-03-27T03:00:00+03:00");
}

TEST(israel_time, daylight_time_ends_sunday_25_october_2026) {
  auto before = israel_at(utc(2026, 10, 24, 22, 59, 59));
  EXPECT_EQ(before.date, "2026-10-25");
  EXPECT_EQ(before.time, "01:59");
  EXPECT_EQ(before.weekday, 0);
  EXPECT_EQ(before.weekday_he, "יום ראשון");
  EXPECT_EQ(before.utc_offset_s, 10800);
  EXPECT_EQ(iso_israel(utc(2026, 10, 24, 22, 59, 59)),
            "2026-10-25T01:59:59+03:00");
  // 02:00 IDT becomes 01:00 IST: the hour repeats.
  auto after = israel_at(utc(2026, 10, 24, 23, 0));
  EXPECT_EQ(after.time, "01:00");
  EXPECT_EQ(after.utc_offset_s, 7200);
  EXPECT_EQ(iso_israel(utc(2026, 10, 24, 23, 0)), "2026-10-25T01:00:00+02:00");
}

TEST(israel_time, winter_moment_and_israel_midnight) {
  auto m = israel_at(utc(2026, 12, 8, 8, 0));
  EXPECT_EQ(m.date, "2026-12-08");
  EXPECT_EQ(m.time, "10:00");
  EXPECT_EQ(m.weekday, 2);
  EXPECT_EQ(m.weekday_he, "יום שלישי");
  EXPECT_EQ(iso_israel(utc(2026, 12, 8, 8, 0)), "2026-12-08T10:00:00+02:00");
  // 22:30 UTC on the 7th is already the 8th in Israel.
  auto late = israel_at(utc(2026, 12, 7, 22, 30));
  EXPECT_EQ(late.date, "2026-12-08");
  EXPECT_EQ(late.time, "00:30");
  EXPECT_EQ(israel_at(utc(2026, 12, 12, 10, 0)).weekday_he, "יום שבת");
}

TEST(israel_time, working_hours_clock_agrees_with_israel_at) {
  // jerusalem_utc_offset / jerusalem_clock now read the same tzdata.
  for (auto t = utc(2026, 1, 1, 0, 0); t < utc(2027, 1, 1, 0, 0);
       t += 86400 / 4 + 1800) {
    auto m = israel_at(t);
    EXPECT_EQ(jerusalem_utc_offset(t), m.utc_offset_s) << t;
    auto c = jerusalem_clock(t);
    EXPECT_EQ(c.weekday, m.weekday) << t;
    EXPECT_EQ(c.minutes, std::stoi(m.time.substr(0, 2)) * 60
                           + std::stoi(m.time.substr(3, 2)))
      << t;
  }
}

// -- parsing appointment times
// --------------------------------------------------

TEST(israel_time, parses_instants_with_an_offset) {
  auto want = utc(2026, 12, 8, 8, 0);
  EXPECT_EQ(parse_appointment_time("2026-12-08T10:00:00+02:00"), want);
  EXPECT_EQ(parse_appointment_time("2026-12-08T10:00:00+0200"), want);
  EXPECT_EQ(parse_appointment_time("2026-12-08 10:00+02:00"), want);
  EXPECT_EQ(parse_appointment_time("2026-12-08T08:00:00Z"), want);
  EXPECT_EQ(parse_appointment_time("2026-12-08T08:00Z"), want);
  EXPECT_EQ(parse_appointment_time("2026-12-08T08:00:00.123Z"), want);
  EXPECT_EQ(parse_appointment_time("2026-07-01T10:00:00-04:00"),
            utc(2026, 7, 1, 14, 0));
  // An explicit offset wins over Israel's: +03:00 in winter is still 07:00Z.
  EXPECT_EQ(parse_appointment_time("2026-12-08T10:00:00+03:00"),
            utc(2026, 12, 8, 7, 0));
}

TEST(israel_time, parses_israel_wall_time_without_an_offset) {
  EXPECT_EQ(parse_appointment_time("2026-12-08T10:00"), utc(2026, 12, 8, 8, 0));
  EXPECT_EQ(parse_appointment_time("  2026-12-08 10:00:30 "),
            utc(2026, 12, 8, 8, 0, 30));
  EXPECT_EQ(parse_appointment_time("2026-07-01T10:00"), utc(2026, 7, 1, 7, 0));
  EXPECT_EQ(parse_appointment_time("2026-07-01 10:00:00"),
            utc(2026, 7, 1, 7, 0));
}

TEST(israel_time, wall_times_at_dst_switches_take_the_earlier_offset) {
  // 02:30 on 27 March 2026 does not exist; read as 02:30+02:00 (03:30 IDT).
  auto skipped = parse_appointment_time("2026-03-27T02:30");
  ASSERT_TRUE(skipped);
  EXPECT_EQ(*skipped, utc(2026, 3, 27, 0, 30));
  EXPECT_EQ(iso_israel(*skipped), "2026-03-27T03:30:00+03:00");
  // 01:30 on 25 October 2026 happens twice; the first one (+03:00) is taken.
  EXPECT_EQ(parse_appointment_time("2026-10-25T01:30"),
            utc(2026, 10, 24, 22, 30));
  EXPECT_EQ(parse_appointment_time("2026-10-25T02:30"),
            utc(2026, 10, 25, 0, 30));
}

TEST(israel_time, rejects_garbage_appointment_times) {
  for (const char* bad : {"",
                          "   ",
                          "tomorrow at ten",
                          "2026-12-08",
                          "2026-12-08T10",
                          "2026-12-08T1000",
                          "2026/12/08 10:00",
                          "2026-13-01T10:00",
                          "2026-00-10T10:00",
                          "2026-02-30T10:00",
                          "2026-12-32T10:00",
                          "2026-12-08T24:00",
                          "2026-12-08T10:60",
                          "2026-12-08T10:00:60",
                          "2026-12-08T10:00+2",
                          "2026-12-08T10:00+02:",
                          "2026-12-08T10:00+25:00",
                          "2026-12-08T10:00:00+02:00junk",
                          "2026-12-08T10:00:00.Z",
                          "2026-12-08T10:00ZZ",
                          "2026-12-08X10:00",
                          "+2026-12-08T10:00",
                          "26-12-08T10:00",
                          "2026-12-08T10:00:00.1234567890Z"})
    EXPECT_FALSE(parse_appointment_time(bad)) << bad;
}

// -- holidays
// -------------------------------------------------------------------

TEST(israel_time, closure_days_from_libhdate_in_israel_mode) {
  // Dates as libhdate 1.6.02 (Israel mode) reports them.
  for (const char* day :
       {"2026-09-12", "2026-09-13", // Rosh Hashana 5787
        "2026-09-21",               // Yom Kippur
        "2026-09-26",               // Sukkot
        "2026-10-03",               // Shemini Atzeret / Simchat Torah
        "2026-04-02", "2026-04-08", // Pesach I and VII (5786)
        "2026-04-22",               // Yom HaAtzmaut
        "2026-05-22",               // Shavuot
        "2027-04-22", "2027-04-28", // Pesach 5787
        "2027-05-12", "2027-06-11", "2027-10-02", "2027-10-11"})
    EXPECT_TRUE(is_closure(day)) << day;
  for (const char* day :
       {"2026-09-20", // Erev Yom Kippur
        "2026-09-28", // Hol HaMoed Sukkot
        "2026-10-04", // Simchat Torah in the diaspora only
        "2026-04-09", // Pesach VIII in the diaspora only
        "2026-05-23", // Shavuot II in the diaspora only
        "2026-04-21", // Yom HaZikaron
        "2026-12-08", // Chanukah
        "2026-03-03", // Purim
        "2026-07-23", // Tisha B'Av
        "2026-12-09", "2026-9-12", "2026-09-31", "2026-09-12T00:00", ""})
    EXPECT_FALSE(is_closure(day)) << day;
  EXPECT_EQ(closure_name_he("2026-09-21"), "יום כיפור");
  EXPECT_EQ(closure_name_he("2027-04-22"), "פסח");
  EXPECT_EQ(closure_name_he("2026-05-22"), "שבועות");
  EXPECT_EQ(closure_name_he("2026-12-08"), "");
}

TEST(israel_time, coming_closures_in_order_from_the_israel_date) {
  auto c = coming_closures(utc(2026, 9, 1, 9, 0), 40);
  std::vector<std::string> dates;
  for (const auto& x : c)
    dates.push_back(x.date);
  EXPECT_EQ(dates,
            (std::vector<std::string>{"2026-09-12", "2026-09-13", "2026-09-21",
                                      "2026-09-26", "2026-10-03"}));
  ASSERT_EQ(c.size(), 5u);
  EXPECT_EQ(c[0].name_he, "ראש השנה (יום א׳)");
  EXPECT_EQ(c[1].name_he, "ראש השנה (יום ב׳)");
  EXPECT_EQ(c[2].name_he, "יום כיפור");
  EXPECT_EQ(c[4].name_he, "שמיני עצרת ושמחת תורה");
  // 21:30 UTC on 11 September is 00:30 on the 12th in Israel (today counts).
  auto at_midnight = coming_closures(utc(2026, 9, 11, 21, 30), 1);
  ASSERT_EQ(at_midnight.size(), 1u);
  EXPECT_EQ(at_midnight[0].date, "2026-09-12");
  EXPECT_TRUE(coming_closures(utc(2026, 9, 11, 20, 30), 1).empty());
  EXPECT_EQ(coming_closures(utc(2026, 9, 11, 20, 30), 2).size(), 1u);
  EXPECT_TRUE(coming_closures(utc(2026, 9, 1, 9, 0), 0).empty());
  EXPECT_TRUE(coming_closures(utc(2026, 9, 1, 9, 0), -5).empty());
  EXPECT_TRUE(coming_closures(utc(2026, 12, 1, 9, 0), 60).empty());
}

// -- working hours in Hebrew
// ------------------------------------------------------

TEST(israel_time, working_hours_he_groups_consecutive_days) {
  EXPECT_EQ(working_hours_he(office),
            "ראשון–חמישי 09:00–18:00, שישי 09:00–13:00, שבת סגור");
  EXPECT_EQ(
    working_hours_he(R"({"sun":["09:00","18:00"],"tue":["09:00","18:00"]})"),
    "ראשון 09:00–18:00, שני סגור, שלישי 09:00–18:00, רביעי–שבת סגור");
  EXPECT_EQ(working_hours_he(
              R"({"thu":["20:00","02:00"],)"
              R"("fri":["00:00","00:00"],"sat":["00:00","00:00"]})"),
            "ראשון–רביעי סגור, חמישי 20:00–02:00, שישי–שבת 24 שעות");
  for (const char* always : {"{}", "", "nonsense", "[1]", "null"})
    EXPECT_EQ(working_hours_he(always), "פתוח תמיד") << always;
}

TEST(israel_time, office_context_he_open_now) {
  auto text = office_context_he(office, utc(2026, 12, 8, 8, 0));
  for (const char* part :
       {"היום: 2026-12-08, יום שלישי, השעה 10:00", "מחר: 2026-12-09, יום רביעי",
        "ראשון–חמישי 09:00–18:00, שישי 09:00–13:00, שבת סגור",
        "אין חגים בשבועות הקרובים", "המשרד פתוח עכשיו עד 18:00"})
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
  EXPECT_EQ(text.find("סגור עכשיו"), std::string::npos) << text;
}

TEST(israel_time, office_context_he_closed_and_holidays) {
  auto evening = office_context_he(office, utc(2026, 12, 8, 17, 0));
  EXPECT_NE(evening.find("המשרד סגור עכשיו; ייפתח מחר, יום רביעי, בשעה 09:00"),
            std::string::npos)
    << evening;
  auto september = office_context_he(office, utc(2026, 9, 1, 9, 0));
  EXPECT_NE(september.find("2026-09-01, יום שלישי, השעה 12:00"),
            std::string::npos)
    << september;
  EXPECT_NE(september.find("2026-09-12 ראש השנה (יום א׳)"), std::string::npos)
    << september;
  EXPECT_NE(september.find("2026-09-21 יום כיפור"), std::string::npos)
    << september;
  EXPECT_EQ(september.find("אין חגים"), std::string::npos) << september;
  // With a 10-day window Rosh Hashana (11 days away) is not listed.
  auto short_window = office_context_he(office, utc(2026, 9, 1, 9, 0), 10);
  EXPECT_NE(short_window.find("אין חגים בשבועות הקרובים"), std::string::npos);
  auto yom_kippur = office_context_he(office, utc(2026, 9, 21, 7, 0));
  EXPECT_NE(yom_kippur.find("המשרד סגור עכשיו (יום כיפור); ייפתח מחר, "
                            "יום שלישי, בשעה 09:00"),
            std::string::npos)
    << yom_kippur;
}

// -- next opening
// -----------------------------------------------------------------

TEST(israel_time, next_opening_across_the_weekend) {
  // Friday 11 December 2026, 14:00 Israel: closed until Sunday 09:00.
  auto friday = utc(2026, 12, 11, 12, 0);
  EXPECT_EQ(next_opening(office, friday), utc(2026, 12, 13, 7, 0));
  EXPECT_EQ(next_opening_he(office, friday),
            "ביום ראשון, 2026-12-13, בשעה 09:00");
  // Saturday evening: tomorrow.
  EXPECT_EQ(next_opening_he(office, utc(2026, 12, 12, 20, 0)),
            "מחר, יום ראשון, בשעה 09:00");
  // Friday 12:00 Israel: open now.
  auto open = utc(2026, 12, 11, 10, 0);
  EXPECT_EQ(next_opening(office, open), open);
  EXPECT_EQ(next_opening_he(office, open), "עכשיו");
  // Tuesday 07:00: later today; 19:00: tomorrow.
  EXPECT_EQ(next_opening(office, utc(2026, 12, 8, 5, 0)),
            utc(2026, 12, 8, 7, 0));
  EXPECT_EQ(next_opening_he(office, utc(2026, 12, 8, 5, 0)), "היום בשעה 09:00");
  EXPECT_EQ(next_opening_he(office, utc(2026, 12, 8, 17, 0)),
            "מחר, יום רביעי, בשעה 09:00");
}

TEST(israel_time, next_opening_across_holidays) {
  // Friday 11 September 2026, 14:00 IDT; Sat 12 and Sun 13 are Rosh Hashana.
  auto friday = utc(2026, 9, 11, 11, 0);
  EXPECT_EQ(next_opening(office, friday), utc(2026, 9, 14, 6, 0));
  EXPECT_EQ(next_opening_he(office, friday),
            "ביום שני, 2026-09-14, בשעה 09:00");
  // Sunday 20 September, 19:00; Monday 21 is Yom Kippur.
  EXPECT_EQ(next_opening(office, utc(2026, 9, 20, 16, 0)),
            utc(2026, 9, 22, 6, 0));
  // On Yom Kippur at 10:00 the office is closed although it is a Monday.
  EXPECT_EQ(next_opening(office, utc(2026, 9, 21, 7, 0)),
            utc(2026, 9, 22, 6, 0));
  // Always open, except the holiday itself: opens at midnight after it.
  EXPECT_EQ(next_opening("{}", utc(2026, 9, 21, 7, 0)),
            utc(2026, 9, 21, 21, 0));
  EXPECT_EQ(next_opening("{}", utc(2026, 9, 22, 7, 0)), utc(2026, 9, 22, 7, 0));
}

TEST(israel_time, next_opening_late_shift_and_never) {
  const std::string late = R"({"thu":["20:00","02:00"]})";
  // Friday 11 December 01:00 Israel: Thursday's shift is still on.
  auto night = utc(2026, 12, 10, 23, 0);
  EXPECT_EQ(next_opening(late, night), night);
  // Friday 02:00: next Thursday 20:00.
  EXPECT_EQ(next_opening(late, utc(2026, 12, 11, 0, 0)),
            utc(2026, 12, 17, 18, 0));
  // Listed keys but no days: never open.
  EXPECT_FALSE(next_opening(R"({"holidays":true})", utc(2026, 12, 8, 8, 0)));
  EXPECT_EQ(next_opening_he(R"({"holidays":true})", utc(2026, 12, 8, 8, 0)),
            "");
}

// -- appointment slots
// ------------------------------------------------------------

TEST(israel_time, check_slot_finds_each_problem) {
  auto now = utc(2026, 12, 7, 8, 0); // Monday 10:00
  std::vector<time_span> none;
  // Tuesday 8 December, Israel 10:00 = 08:00 UTC.
  EXPECT_EQ(check_slot(office, utc(2026, 12, 8, 8, 0), 60, now, none),
            slot_problem::none);
  EXPECT_EQ(check_slot(office, now, 60, now, none), slot_problem::none);
  EXPECT_EQ(check_slot(office, now - 60, 60, now, none), slot_problem::past);
  // 17:00-18:00 fits; 17:30-18:30, 08:30-09:30 and Saturday do not.
  EXPECT_EQ(check_slot(office, utc(2026, 12, 8, 15, 0), 60, now, none),
            slot_problem::none);
  EXPECT_EQ(check_slot(office, utc(2026, 12, 8, 15, 30), 60, now, none),
            slot_problem::outside_hours);
  EXPECT_EQ(check_slot(office, utc(2026, 12, 8, 6, 30), 60, now, none),
            slot_problem::outside_hours);
  EXPECT_EQ(check_slot(office, utc(2026, 12, 12, 8, 0), 60, now, none),
            slot_problem::outside_hours);
  // Friday closes at 13:00.
  EXPECT_EQ(check_slot(office, utc(2026, 12, 11, 10, 30), 30, now, none),
            slot_problem::none);
  EXPECT_EQ(check_slot(office, utc(2026, 12, 11, 10, 30), 60, now, none),
            slot_problem::outside_hours);
  // A zero duration counts as one minute.
  EXPECT_EQ(check_slot(office, utc(2026, 12, 8, 15, 59), 0, now, none),
            slot_problem::none);
  EXPECT_EQ(check_slot(office, utc(2026, 12, 8, 16, 0), 0, now, none),
            slot_problem::outside_hours);
}

TEST(israel_time, check_slot_holidays_and_taken) {
  auto now = utc(2026, 9, 1, 6, 0);
  std::vector<time_span> none;
  // Yom Kippur, Monday 21 September 10:00 IDT.
  EXPECT_EQ(check_slot(office, utc(2026, 9, 21, 7, 0), 60, now, none),
            slot_problem::closed_day);
  // The Tuesday after is an ordinary day.
  EXPECT_EQ(check_slot(office, utc(2026, 9, 22, 7, 0), 60, now, none),
            slot_problem::none);
  // Rosh Hashana on Sunday 13 September.
  EXPECT_EQ(check_slot(office, utc(2026, 9, 13, 7, 0), 60, now, none),
            slot_problem::closed_day);
  // Taken: Tuesday 22 September 10:00-11:00 IDT.
  std::vector<time_span> taken{
    {utc(2026, 9, 22, 7, 0), utc(2026, 9, 22, 8, 0)}};
  EXPECT_EQ(check_slot(office, utc(2026, 9, 22, 7, 30), 60, now, taken),
            slot_problem::taken);
  EXPECT_EQ(check_slot(office, utc(2026, 9, 22, 6, 30), 60, now, taken),
            slot_problem::taken);
  EXPECT_EQ(check_slot(office, utc(2026, 9, 22, 6, 0), 60, now, taken),
            slot_problem::none); // ends as the taken one starts
  EXPECT_EQ(check_slot(office, utc(2026, 9, 22, 8, 0), 30, now, taken),
            slot_problem::none); // starts as it ends
  // Past beats everything else.
  EXPECT_EQ(check_slot(office, utc(2026, 9, 21, 7, 0), 60,
                       utc(2026, 9, 21, 8, 0), none),
            slot_problem::past);
}

TEST(israel_time, check_slot_always_open_and_late_shift) {
  auto now = utc(2026, 9, 1, 6, 0);
  std::vector<time_span> none;
  EXPECT_EQ(check_slot("{}", utc(2026, 12, 8, 1, 0), 60, now, none),
            slot_problem::none); // 03:00
  EXPECT_EQ(check_slot("", utc(2026, 12, 8, 21, 30), 60, now, none),
            slot_problem::none); // 23:30 to 00:30
  EXPECT_EQ(check_slot("{}", utc(2026, 9, 21, 7, 0), 60, now, none),
            slot_problem::closed_day);
  // Friday 11 September 23:30 IDT to 00:30 on Rosh Hashana.
  EXPECT_EQ(check_slot("{}", utc(2026, 9, 11, 20, 30), 60, now, none),
            slot_problem::closed_day);
  const std::string late = R"({"thu":["20:00","02:00"]})";
  // Friday 11 December 01:00-02:00 Israel is inside Thursday's shift.
  EXPECT_EQ(check_slot(late, utc(2026, 12, 10, 23, 0), 60, now, none),
            slot_problem::none);
  EXPECT_EQ(check_slot(late, utc(2026, 12, 10, 23, 30), 60, now, none),
            slot_problem::outside_hours);
  EXPECT_EQ(check_slot(late, utc(2026, 12, 10, 17, 30), 60, now, none),
            slot_problem::outside_hours);
}

TEST(israel_time, slot_problem_texts) {
  EXPECT_STREQ(slot_problem_code(slot_problem::none), "none");
  EXPECT_STREQ(slot_problem_code(slot_problem::past), "past");
  EXPECT_STREQ(slot_problem_code(slot_problem::outside_hours),
               "outside_working_hours");
  EXPECT_STREQ(slot_problem_code(slot_problem::closed_day),
               "closed_for_holiday");
  EXPECT_STREQ(slot_problem_code(slot_problem::taken), "slot_taken");
  EXPECT_STREQ(slot_problem_he(slot_problem::none), "");
  std::vector<std::string> he;
  for (auto p : {slot_problem::past, slot_problem::outside_hours,
                 slot_problem::closed_day, slot_problem::taken}) {
    std::string s = slot_problem_he(p);
    EXPECT_FALSE(s.empty());
    for (const auto& other : he)
      EXPECT_NE(s, other);
    he.push_back(s);
  }
}

void expect_valid_and_sorted(const std::vector<std::time_t>& alts,
                             const std::string& wh, std::time_t wanted,
                             int duration, std::time_t now,
                             const std::vector<time_span>& taken) {
  std::time_t last = 0;
  for (auto t : alts) {
    EXPECT_GE(t, now);
    EXPECT_EQ(t % 1800, 0);
    EXPECT_EQ(check_slot(wh, t, duration, now, taken), slot_problem::none)
      << iso_israel(t);
    auto d = t < wanted ? wanted - t : t - wanted;
    EXPECT_GE(d, last) << iso_israel(t);
    last = d;
  }
}

TEST(israel_time, slot_alternatives_nearest_first) {
  auto now = utc(2026, 12, 7, 8, 0);
  // Tuesday 10:00-11:00 Israel is taken; 10:15 is wanted.
  std::vector<time_span> taken{
    {utc(2026, 12, 8, 8, 0), utc(2026, 12, 8, 9, 0)}};
  auto wanted = utc(2026, 12, 8, 8, 15);
  auto alts = slot_alternatives(office, wanted, 60, now, taken);
  EXPECT_EQ(alts, (std::vector<std::time_t>{utc(2026, 12, 8, 9, 0),     // 11:00
                                            utc(2026, 12, 8, 7, 0),     // 09:00
                                            utc(2026, 12, 8, 9, 30)})); // 11:30
  expect_valid_and_sorted(alts, office, wanted, 60, now, taken);
  EXPECT_EQ(slot_alternatives(office, wanted, 60, now, taken, 6).size(), 6u);
  EXPECT_TRUE(slot_alternatives(office, wanted, 60, now, taken, 0).empty());
  EXPECT_TRUE(
    slot_alternatives(R"({"holidays":true})", wanted, 60, now, taken).empty());
}

TEST(israel_time, slot_alternatives_never_in_the_past) {
  auto now = utc(2026, 12, 8, 8, 40); // Tuesday 10:40
  auto wanted = utc(2026, 12, 8, 8, 0);
  auto alts = slot_alternatives(office, wanted, 60, now, {});
  EXPECT_EQ(alts, (std::vector<std::time_t>{utc(2026, 12, 8, 9, 0),
                                            utc(2026, 12, 8, 9, 30),
                                            utc(2026, 12, 8, 10, 0)}));
  expect_valid_and_sorted(alts, office, wanted, 60, now, {});
}

TEST(israel_time, slot_alternatives_skip_a_holiday) {
  auto now = utc(2026, 9, 18, 6, 0);    // Friday 09:00 IDT
  auto wanted = utc(2026, 9, 21, 7, 0); // Yom Kippur 10:00
  ASSERT_EQ(check_slot(office, wanted, 60, now, {}), slot_problem::closed_day);
  // Sunday 17:00 is 17 hours away, Tuesday 09:00 is 23.
  auto alts = slot_alternatives(office, wanted, 60, now, {});
  EXPECT_EQ(alts, (std::vector<std::time_t>{utc(2026, 9, 20, 14, 0),
                                            utc(2026, 9, 20, 13, 30),
                                            utc(2026, 9, 20, 13, 0)}));
  expect_valid_and_sorted(alts, office, wanted, 60, now, {});
  // Sunday fully booked: Tuesday morning.
  std::vector<time_span> sunday{
    {utc(2026, 9, 20, 6, 0), utc(2026, 9, 20, 15, 0)}};
  alts = slot_alternatives(office, wanted, 60, now, sunday);
  EXPECT_EQ(alts, (std::vector<std::time_t>{utc(2026, 9, 22, 6, 0),
                                            utc(2026, 9, 22, 6, 30),
                                            utc(2026, 9, 22, 7, 0)}));
  expect_valid_and_sorted(alts, office, wanted, 60, now, sunday);
  for (auto t : slot_alternatives(office, wanted, 60, now, sunday, 40))
    EXPECT_NE(israel_at(t).date, "2026-09-21") << iso_israel(t);
}

} // namespace
} // namespace al
