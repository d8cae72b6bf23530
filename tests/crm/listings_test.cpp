// Listings (SPEC §7): CRUD with roles and tenants, filters and Hebrew
// search, CSV import/export for listings and leads, matches -- against the
// real PostgreSQL through the real HTTP server.
#include "tests/crm/crm_support.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace al;
using namespace al::test;

namespace {

const std::string bom = "\xEF\xBB\xBF";

class listings_test : public ::testing::Test {
protected:
  crm_app c;
  std::int64_t business = 0;
  issued_token owner, agent, reader;

  void SetUp() override {
    business = c.new_business("כהן נדל\"ן");
    owner = c.new_token(business, "owner");
    agent = c.new_token(business, "agent");
    reader = c.new_token(business, "read_only");
  }

  api_result add(const std::string& body, const issued_token& who) {
    return c.call("POST", "/api/crm/listings", who.token, body);
  }

  std::int64_t add_ok(const std::string& body) {
    auto r = add(body, owner);
    EXPECT_EQ(r.status, 201) << body << " -> " << r.body;
    return r.status == 201 ? r.int_at("id") : 0;
  }

  /// POST of a CSV file as the body.
  http_result upload(const std::string& target, const std::string& csv,
                     const std::string& token) {
    return http_call(c.app().port(), "POST", target, csv,
                     {{"Authorization", "Bearer " + token},
                      {"Content-Type", "text/csv"}});
  }

  std::set<std::string> titles(const std::string& query) {
    auto r = c.call("GET", "/api/crm/listings" + query, reader.token);
    EXPECT_EQ(r.status, 200) << query << " -> " << r.body;
    std::set<std::string> out;
    if (r.status == 200)
      for (auto& l : r.items())
        out.insert(json::value_to<std::string>(l.as_object().at("title")));
    return out;
  }
};

} // namespace

TEST_F(listings_test, create_read_update_delete_with_validation) {
  auto r = add(
    R"({"title":"4 חדרים ברמת גן","deal":"buy","property_type":"apartment",
    "city":"רמת גן","neighborhood":"הבורסה","street":"ביאליק 5","rooms":3.5,"floor":4,
    "size_sqm":95,"price":2450000,"features":["parking","safe_room"],
    "photos":["https://img.example/1.jpg"],"external_ref":"yad2-77",
    "description":"דירה מוארת, ממ\"ד ומעלית"})",
    agent);
  ASSERT_EQ(r.status, 201) << r.body;
  auto id = r.int_at("id");
  EXPECT_EQ(r.str_at("status"), "available");
  EXPECT_EQ(r.obj().at("rooms").to_number<double>(), 3.5);
  EXPECT_EQ(r.obj().at("price").to_number<std::int64_t>(), 2450000);
  EXPECT_EQ(r.obj().at("features"), (json::array{"parking", "safe_room"}));
  EXPECT_EQ(r.obj().at("matching_leads"), 0);
  auto target = "/api/crm/listings/" + std::to_string(id);
  auto got = c.call("GET", target, reader.token);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.str_at("title"), "4 חדרים ברמת גן");

  auto patched
    = c.call("PATCH", target, owner.token,
             R"({"price":2390000,"status":"reserved","street":null})");
  EXPECT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.obj().at("price").to_number<std::int64_t>(), 2390000);
  EXPECT_EQ(patched.str_at("status"), "reserved");
  EXPECT_TRUE(patched.obj().at("street").is_null());
  EXPECT_EQ(patched.str_at("city"), "רמת גן"); // untouched

  // Clear 400s naming the field; nothing written.
  for (auto bad :
       {R"({"deal":"buy"})", R"({"title":"x","deal":"swap"})",
        R"({"title":"x","deal":"buy","rooms":3.3})",
        R"({"title":"x","deal":"buy","price":-1})",
        R"({"title":"x","deal":"buy","features":["pool"]})",
        R"x({"title":"x","deal":"buy","photos":["javascript:alert(1)"]})x",
        R"({"title":"x","deal":"buy","status":"gone"})",
        R"({"title":"x","deal":"buy","tracking_number":"not a phone"})",
        R"([1,2])", "not json"}) {
    auto b = add(bad, owner);
    EXPECT_EQ(b.status, 400) << bad << " -> " << b.body;
  }
  EXPECT_EQ(c.sql("SELECT count(*) FROM listings"), "1");
  // The same portal ad twice: 409.
  EXPECT_EQ(add(R"({"title":"again","deal":"buy","external_ref":"yad2-77"})",
                owner)
              .status,
            409);

  // Deleted: gone from reads, kept for the calls that mentioned it.
  c.sql("INSERT INTO calls (business_id, call_sid) VALUES ("
        + std::to_string(business) + ", 'CAmention') RETURNING id");
  c.sql("INSERT INTO listing_mentions (business_id, listing_id, call_sid)"
        " VALUES ("
        + std::to_string(business) + ", " + std::to_string(id)
        + ", 'CAmention') RETURNING id");
  EXPECT_EQ(c.call("DELETE", target, agent.token).status, 200);
  EXPECT_EQ(c.call("GET", target, owner.token).status, 404);
  EXPECT_EQ(c.call("PATCH", target, owner.token, R"({"price":1})").status, 404);
  EXPECT_TRUE(titles("").empty());
  auto call = c.call("GET", "/api/crm/calls/CAmention", reader.token);
  ASSERT_EQ(call.status, 200) << call.body;
  auto chips = call.obj().at("listings").as_array();
  ASSERT_EQ(chips.size(), 1u);
  EXPECT_EQ(chips[0].as_object().at("title"), "4 חדרים ברמת גן");
  // Its external_ref is free again.
  EXPECT_EQ(add(R"({"title":"again","deal":"buy","external_ref":"yad2-77"})",
                owner)
              .status,
            201);
}

TEST_F(listings_test, a_tracking_number_must_be_one_of_the_offices_own) {
  // Another office's number (or any number the office was not given):
  // calls are routed by the business's numbers, never by a listing.
  auto other = c.new_business("אחר");
  ASSERT_EQ(c.call("PATCH", "/api/admin/businesses/" + std::to_string(other),
                   admin_token, R"({"phone_numbers":["+97235550000"]})")
              .status,
            200);
  auto r = add(R"({"title":"t","deal":"buy","tracking_number":"+97235550000"})",
               owner);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("tracking_number"), std::string::npos);
  auto csv = upload("/api/crm/listings/import",
                    "title,deal,tracking_number\nt,buy,+97235550000\n",
                    owner.token);
  EXPECT_EQ(json::parse(csv.body).as_object().at("errors").as_array().size(),
            1u)
    << csv.body;
  EXPECT_EQ(c.sql("SELECT count(*) FROM listings"), "0");
  // Its own number: fine.
  ASSERT_EQ(c.call("PATCH", "/api/admin/businesses/" + std::to_string(business),
                   admin_token, R"({"phone_numbers":["+97236660000"]})")
              .status,
            200);
  auto ok = add(R"({"title":"t","deal":"buy","tracking_number":"03-666-0000"})",
                owner);
  EXPECT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(ok.str_at("tracking_number"), "+97236660000");
}

TEST_F(listings_test,
       a_sold_listing_stays_sold_when_the_portal_file_comes_again) {
  add_ok(R"({"title":"t","deal":"buy","external_ref":"p-1","status":"sold"})");
  auto r = upload("/api/crm/listings/import",
                  "title,deal,external_ref,price\n"
                  "t,buy,p-1,100\n",
                  owner.token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(c.sql("SELECT status || '|' || price FROM listings"), "sold|100");
  upload("/api/crm/listings/import",
         "title,deal,external_ref,status\n"
         "t,buy,p-1,available\n",
         owner.token);
  EXPECT_EQ(c.sql("SELECT status FROM listings"), "available");
}

TEST_F(listings_test, roles_and_tenants) {
  auto id = add_ok(R"({"title":"דירת גן","deal":"rent","city":"חיפה"})");
  auto target = "/api/crm/listings/" + std::to_string(id);
  EXPECT_EQ(add(R"({"title":"t","deal":"buy"})", reader).status, 403);
  EXPECT_EQ(c.call("PATCH", target, reader.token, R"({"price":1})").status,
            403);
  EXPECT_EQ(c.call("DELETE", target, reader.token).status, 403);
  EXPECT_EQ(upload("/api/crm/listings/import", "title,deal\nx,buy\n",
                   reader.token)
              .status,
            403);
  // Another office sees none of it: 404, never the data.
  auto other = c.new_business("אחר");
  auto stranger = c.new_token(other, "owner");
  for (auto [method, body] :
       {std::pair{"GET", ""}, std::pair{"PATCH", R"({"price":5})"},
        std::pair{"DELETE", ""}}) {
    auto r = c.call(method, target, stranger.token, body);
    EXPECT_EQ(r.status, 404) << method << " " << r.body;
    EXPECT_EQ(r.body.find("דירת גן"), std::string::npos);
  }
  auto theirs = c.call("GET", "/api/crm/listings", stranger.token);
  EXPECT_TRUE(theirs.items().empty());
  EXPECT_EQ(c.call("GET", "/api/crm/leads/1/matches", stranger.token).status,
            404);
  auto csv = http_call(c.app().port(), "GET", "/api/crm/listings.csv", "",
                       {{"Authorization", "Bearer " + stranger.token}});
  EXPECT_EQ(csv.body.find("דירת גן"), std::string::npos);
}

TEST_F(listings_test, filters_search_and_pages) {
  add_ok(
    R"({"title":"4 חדרים ברמת גן","deal":"buy","city":"רמת גן","rooms":4,"price":2900000})");
  add_ok(
    R"({"title":"3.5 חדרים ברמת גן","deal":"buy","city":"רמת גן","rooms":3.5,"price":2300000,"description":"משופצת עם ממ\"ד"})");
  add_ok(
    R"({"title":"פנטהאוז בתל אביב","deal":"buy","city":"תל אביב","rooms":5,"price":6500000})");
  add_ok(
    R"({"title":"להשכרה בגבעתיים","deal":"rent","city":"גבעתיים","rooms":3,"price":7200})");
  add_ok(
    R"({"title":"נמכרה ברמת גן","deal":"buy","city":"רמת גן","rooms":4,"price":2800000,"status":"sold"})");

  EXPECT_EQ(titles("?deal=rent"), (std::set<std::string>{"להשכרה בגבעתיים"}));
  EXPECT_EQ(titles("?city=%D7%A8%D7%9E%D7%AA%20%D7%92%D7%9F&status=available"),
            (std::set<std::string>{"4 חדרים ברמת גן", "3.5 חדרים ברמת גן"}));
  EXPECT_EQ(titles("?rooms_min=4&rooms_max=5&price_max=3000000"),
            (std::set<std::string>{"4 חדרים ברמת גן", "נמכרה ברמת גן"}));
  // Hebrew words, anywhere in the text (title, place, description).
  EXPECT_EQ(titles("?q=%D7%9E%D7%9E%22%D7%93"), // ממ"ד
            (std::set<std::string>{"3.5 חדרים ברמת גן"}));
  EXPECT_EQ(titles("?q=%D7%92%D7%9F%20%D7%97%D7%93%D7%A8%D7%99%D7%9D&status="
                   "available"), // גן חדרים
            (std::set<std::string>{"4 חדרים ברמת גן", "3.5 חדרים ברמת גן"}));
  auto page = c.call("GET", "/api/crm/listings?per_page=2&page=2",
                     reader.token);
  EXPECT_EQ(page.obj().at("total"), 5);
  EXPECT_EQ(page.items().size(), 2u);
  for (auto bad : {"?rooms_min=x", "?price_max=-5", "?deal=swap", "?per_page=0",
                   "?rooms_min=5&rooms_max=3", "?status=gone"})
    EXPECT_EQ(c.call("GET", std::string{"/api/crm/listings"} + bad,
                     reader.token)
                .status,
              400)
      << bad;
}

TEST_F(listings_test, a_csv_that_excel_saved_in_hebrew_imports_and_upserts) {
  std::string csv
    = bom
      + "כותרת,עסקה,עיר,שכונה,חדרים,קומה,מחיר,מאפיינים,מספר מודעה,עמודה לא "
        "מוכרת,מ\"ר\r\n"
        "\"4 חדרים, משופצת\",למכירה,רמת "
        "גן,הבורסה,4,3,\"₪2,450,000\",\"חניה;ממ\"\"ד\",yad2-1,x,95\r\n"
        "\"דירה עם\nשתי שורות "
        "בתיאור\",להשכרה,גבעתיים,,\"3,5\",1,7200,מרפסת,yad2-2,,70\r\n"
        "שורה שבורה,החלפה,חיפה,,3,,1000000,,yad2-3,,\r\n"
        "דירת גן,מכירה,חיפה,,5,0,3100000,גינה|מעלית,yad2-4,,120\r\n";
  auto r = upload("/api/crm/listings/import", csv, agent.token);
  ASSERT_EQ(r.status, 200) << r.body;
  auto o = json::parse(r.body).as_object();
  EXPECT_EQ(o.at("created"), 3) << r.body;
  EXPECT_EQ(o.at("updated"), 0);
  auto errors = o.at("errors").as_array();
  ASSERT_EQ(errors.size(), 1u) << r.body;
  EXPECT_EQ(errors[0].as_object().at("line"),
            5); // the record after a 2-line one
  EXPECT_EQ(o.at("ignored_columns"), (json::array{"עמודה לא מוכרת"}));
  EXPECT_EQ(
    c.sql(
      "SELECT price || '|' || rooms || '|' || array_to_string(features, ',')"
      " || '|' || size_sqm FROM listings WHERE external_ref = 'yad2-1'"),
    "2450000|4.0|parking,safe_room|95");
  EXPECT_EQ(c.sql("SELECT rooms || '|' || deal FROM listings WHERE "
                  "external_ref = 'yad2-2'"),
            "3.5|rent");

  // The same file again: every good row updates, none is created.
  auto again = upload("/api/crm/listings/import", csv, agent.token);
  auto a = json::parse(again.body).as_object();
  EXPECT_EQ(a.at("created"), 0) << again.body;
  EXPECT_EQ(a.at("updated"), 3);
  EXPECT_EQ(c.sql("SELECT count(*) FROM listings"), "3");

  // A broken file changes nothing at all.
  auto before
    = c.sql("SELECT string_agg(title || price, ',' ORDER BY id) FROM listings");
  auto broken = upload(
    "/api/crm/listings/import",
    "title,deal,price\nnew one,buy,5\n\"unterminated,buy,6\n", agent.token);
  EXPECT_EQ(broken.status, 400) << broken.body;
  EXPECT_NE(broken.body.find("line 3"), std::string::npos) << broken.body;
  auto no_header = upload("/api/crm/listings/import", "deal,price\nbuy,5\n",
                          agent.token);
  EXPECT_EQ(no_header.status, 400) << no_header.body;
  auto dry = upload("/api/crm/listings/import?dry_run=1",
                    "title,deal\nnew,buy\n", agent.token);
  EXPECT_EQ(dry.status, 200);
  EXPECT_EQ(
    c.sql("SELECT string_agg(title || price, ',' ORDER BY id) FROM listings"),
    before);

  // Export: a BOM, the header an import accepts, and a round trip.
  auto out = http_call(c.app().port(), "GET", "/api/crm/listings.csv", "",
                       {{"Authorization", "Bearer " + reader.token}});
  ASSERT_EQ(out.status, 200);
  EXPECT_EQ(out.header("content-type").rfind("text/csv", 0), 0u);
  EXPECT_EQ(out.body.rfind(bom + "title,", 0), 0u) << out.body.substr(0, 80);
  auto round = upload("/api/crm/listings/import", out.body, owner.token);
  auto ro = json::parse(round.body).as_object();
  EXPECT_EQ(ro.at("created"), 0) << round.body;
  EXPECT_EQ(ro.at("updated"), 3);
  EXPECT_TRUE(ro.at("errors").as_array().empty()) << round.body;
  EXPECT_EQ(
    c.sql("SELECT string_agg(title || price, ',' ORDER BY id) FROM listings"),
    before);
}

TEST_F(listings_test, an_import_over_a_megabyte_is_taken_whole) {
  // Above the 1 MiB of JSON routes, within the 16 MiB of an import.
  std::string csv = "title,deal,city,rooms,price,external_ref,description\n";
  for (int i = 0; i < 15000; ++i)
    csv += "דירה " + std::to_string(i) + ",buy,חיפה,4,"
           + std::to_string(1000000 + i) + ",ad-" + std::to_string(i)
           + ",תיאור של הדירה עם מרפסת ומעלית\n";
  ASSERT_GT(csv.size(), 1024u * 1024u);
  auto r = upload("/api/crm/listings/import", csv, agent.token);
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 200);
  EXPECT_EQ(json::parse(r.body).as_object().at("created"), 15000);
  EXPECT_EQ(c.sql("SELECT count(*) FROM listings"), "15000");
  // A JSON route still refuses more than 1 MiB.
  auto big = c.call("POST", "/api/crm/listings", agent.token,
                    "{\"title\":\"" + std::string(1100000, 'x')
                      + "\",\"deal\":\"buy\"}");
  EXPECT_EQ(big.status, 413);
}

TEST_F(listings_test, leads_import_and_export) {
  c.new_lead(
    owner.token,
    R"({"name":"דנה לוי","phone":"0501111111","city":"חיפה","notes":"הקלידה סוכנת"})");
  std::string csv = bom
                    + "שם,טלפון,עסקה,עיר,חדרים,תקציב,הערות\n"
                      ",050-111-1111,קנייה,,4,\"2,900,000\",מהיבוא\n"
                      "יוסי כהן,052-222-2222,שכירות,תל אביב,3,8000,\n"
                      "בלי טלפון,,קנייה,,,,\n";
  auto r = upload("/api/crm/leads/import", csv, agent.token);
  ASSERT_EQ(r.status, 200) << r.body;
  auto o = json::parse(r.body).as_object();
  EXPECT_EQ(o.at("created"), 1) << r.body;
  EXPECT_EQ(o.at("updated"), 1);
  ASSERT_EQ(o.at("errors").as_array().size(), 1u);
  EXPECT_EQ(o.at("errors").as_array()[0].as_object().at("line"), 4);
  // What an agent typed stays; the file adds what it knows.
  EXPECT_EQ(c.sql(
              "SELECT name || '|' || city || '|' || deal || '|' || rooms || '|'"
              " || budget_max || '|' || notes FROM leads WHERE phone = "
              "'+972501111111'"),
            "דנה לוי|חיפה|buy|4.0|2900000|הקלידה סוכנת\nמהיבוא");
  EXPECT_EQ(c.sql("SELECT source FROM leads WHERE phone = '+972522222222'"),
            "import");
  auto out = http_call(c.app().port(), "GET", "/api/crm/leads.csv", "",
                       {{"Authorization", "Bearer " + reader.token}});
  ASSERT_EQ(out.status, 200);
  EXPECT_EQ(out.body.rfind(bom + "name,phone,", 0), 0u)
    << out.body.substr(0, 80);
  EXPECT_NE(out.body.find("+972522222222"), std::string::npos);
}

TEST_F(listings_test, matches_fit_the_lead_best_first) {
  auto lead = c.new_lead(
    owner.token,
    R"({"name":"מחפש","phone":"0503333333","deal":"buy","city":"רמת גן",
                            "rooms":4,"budget_max":3000000})");
  auto best = add_ok(
    R"({"title":"בדיוק","deal":"buy","city":"רמת גן","rooms":4,"price":2900000})");
  auto near = add_ok(
    R"({"title":"קצת יקר","deal":"buy","city":"רמת גן","rooms":4.5,"price":3200000})");
  add_ok(
    R"({"title":"יקר מדי","deal":"buy","city":"רמת גן","rooms":4,"price":3400000})");
  add_ok(
    R"({"title":"עיר אחרת","deal":"buy","city":"חיפה","rooms":4,"price":2000000})");
  add_ok(
    R"({"title":"שכירות","deal":"rent","city":"רמת גן","rooms":4,"price":8000})");
  add_ok(
    R"({"title":"נמכרה","deal":"buy","city":"רמת גן","rooms":4,"price":2900000,"status":"sold"})");
  add_ok(
    R"({"title":"קטנה","deal":"buy","city":"רמת גן","rooms":2,"price":1900000})");
  auto r = c.call("GET", "/api/crm/leads/" + std::to_string(lead) + "/matches",
                  reader.token);
  ASSERT_EQ(r.status, 200) << r.body;
  auto items = r.items();
  ASSERT_EQ(items.size(), 2u) << r.body;
  EXPECT_EQ(items[0].as_object().at("id"), best);
  EXPECT_EQ(items[1].as_object().at("id"), near);
  EXPECT_GT(items[0].as_object().at("score").to_number<double>(),
            items[1].as_object().at("score").to_number<double>());
  // And from the listing's side: how many leads it fits.
  auto l = c.call("GET", "/api/crm/listings/" + std::to_string(best),
                  reader.token);
  EXPECT_EQ(l.obj().at("matching_leads"), 1);
  EXPECT_EQ(c.call("GET", "/api/crm/leads/999999/matches", reader.token).status,
            404);
}
