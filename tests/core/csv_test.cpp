// CSV reader/writer (core/csv.hpp), listings input (core/listing_input.hpp)
// and the CSV import mapping of listings and leads (core/csv_import.hpp).
#include "core/csv.hpp"
#include "core/csv_import.hpp"
#include "core/listing_input.hpp"

#include <gtest/gtest.h>

#include <random>

namespace al {
namespace {

using fields_t = std::vector<std::string>;

std::vector<csv_record> parse_ok(std::string_view text) {
  std::vector<csv_record> out;
  auto err = parse_csv(text, out);
  EXPECT_FALSE(err) << (err ? err->message : "") << " in: " << text;
  return out;
}

csv_error parse_bad(std::string_view text, std::size_t max_records = 100000,
                    std::size_t max_field = 64 * 1024) {
  std::vector<csv_record> out;
  auto err = parse_csv(text, out, max_records, max_field);
  EXPECT_TRUE(err) << "accepted: " << text;
  return err ? *err : csv_error{};
}

// -- reader ------------------------------------------------------------------

TEST(Csv, SimpleAndLineEnds) {
  for (auto text : {"a,b\r\n1,2\r\n", "a,b\n1,2\n", "a,b\r1,2\r", "a,b\n1,2",
                    "a,b\r\n1,2"}) {
    auto r = parse_ok(text);
    ASSERT_EQ(r.size(), 2u) << text;
    EXPECT_EQ(r[0].fields, (fields_t{"a", "b"}));
    EXPECT_EQ(r[1].fields, (fields_t{"1", "2"}));
    EXPECT_EQ(r[0].line, 1u);
    EXPECT_EQ(r[1].line, 2u);
  }
  // Mixed line ends, each counted once.
  auto r = parse_ok("a\r\nb\rc\nd");
  ASSERT_EQ(r.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i)
    EXPECT_EQ(r[i].line, i + 1);
}

TEST(Csv, Bom) {
  auto r = parse_ok("\xEF\xBB\xBFtitle,price\r\nדירה,1\r\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].fields[0], "title");
  EXPECT_EQ(r[1].fields[0], "דירה");
  EXPECT_TRUE(parse_ok("\xEF\xBB\xBF").empty());
  EXPECT_TRUE(parse_ok("").empty());
  auto e = parse_bad("\xFF\xFEt\0i\0t\0", 10);
  EXPECT_EQ(e.line, 1u);
  EXPECT_NE(e.message.find("UTF-16"), std::string::npos);
}

TEST(Csv, QuotedFieldsKeepLaterLineNumbers) {
  auto r = parse_ok("title,desc\n"
                    "\"a, b\",\"line1\nline2\r\nline3\"\n"
                    "\"he said \"\"hi\"\"\",\"\"\n"
                    "x,\"\"\"\"\n");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[1].fields, (fields_t{"a, b", "line1\nline2\r\nline3"}));
  EXPECT_EQ(r[1].line, 2u);
  EXPECT_EQ(r[2].fields, (fields_t{"he said \"hi\"", ""}));
  EXPECT_EQ(r[2].line, 5u);
  EXPECT_EQ(r[3].fields, (fields_t{"x", "\""}));
  EXPECT_EQ(r[3].line, 6u);
  // A lone CR inside quotes is kept and counted.
  r = parse_ok("\"a\rb\",c\rd");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].fields[0], "a\rb");
  EXPECT_EQ(r[1].line, 3u);
  // Spaces after a closing quote are tolerated.
  r = parse_ok("\"a\"  ,b");
  EXPECT_EQ(r[0].fields, (fields_t{"a", "b"}));
}

TEST(Csv, EmptyFieldsAndBlankLines) {
  auto r = parse_ok("a,b,\n\n\r\n,x,\n,,\n\"\"\n\n1\n");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].fields, (fields_t{"a", "b", ""}));
  EXPECT_EQ(r[1].fields, (fields_t{"", "x", ""}));
  EXPECT_EQ(r[1].line, 4u);
  // ",," (line 5) is an empty spreadsheet row: skipped; a quoted "" is not.
  EXPECT_EQ(r[2].fields, (fields_t{""}));
  EXPECT_EQ(r[2].line, 6u);
  EXPECT_EQ(r[3].line, 8u);
}

TEST(Csv, Errors) {
  // A quote inside an unquoted field is a letter (ממ"ד, מ"ר).
  auto ok = parse_ok("a,b\nx\"y,\xD7\x9E\"\xD7\xA8\n");
  ASSERT_EQ(ok.size(), 2u);
  EXPECT_EQ(ok[1].fields, (fields_t{"x\"y", "\xD7\x9E\"\xD7\xA8"}));
  auto e = parse_bad("a,b\n x ,\"q\"z\n");
  EXPECT_EQ(e.line, 2u);
  EXPECT_NE(e.message.find("after a closing quote"), std::string::npos);
  e = parse_bad("a\n\"b\"\n\"open\nmore\n\nlines");
  EXPECT_EQ(e.line, 3u);
  EXPECT_NE(e.message.find("unterminated"), std::string::npos);
  EXPECT_NE(e.message.find("line 3"), std::string::npos) << e.message;
  // Invalid UTF-8 names its line, also inside a quoted field.
  e = parse_bad("a\nb\n\"x\n\xC3\x28\"\n");
  EXPECT_EQ(e.line, 4u);
  EXPECT_NE(e.message.find("UTF-8"), std::string::npos);
  for (auto bad : {"\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE0\x80",
                   "\x80", "\xF8"}) {
    e = parse_bad(std::string{"ok\n"} + bad);
    EXPECT_EQ(e.line, 2u) << bad;
  }
  e = parse_bad(std::string_view{"a\nb\0", 4});
  EXPECT_EQ(e.line, 2u);
  EXPECT_NE(e.message.find("NUL"), std::string::npos);
  // The first problem in the text is the one reported.
  e = parse_bad("a\n\"x\"y\n\xFF\n");
  EXPECT_EQ(e.line, 2u);
  EXPECT_NE(e.message.find("after a closing quote"), std::string::npos);
  e = parse_bad("a\n\xFF\nx\"y\n");
  EXPECT_EQ(e.line, 2u);
  EXPECT_NE(e.message.find("UTF-8"), std::string::npos);
  // Records read before the error stay in `out`.
  std::vector<csv_record> out;
  ASSERT_TRUE(parse_csv("a\nb\n\"c\"d\n", out));
  EXPECT_EQ(out.size(), 2u);
  ASSERT_TRUE(parse_csv("a\nb\nc\x93\nd\n", out));
  EXPECT_EQ(out.size(), 2u); // not the record with the bad byte
}

TEST(Csv, Limits) {
  auto e = parse_bad("a\nb\n\nc\n", 2);
  EXPECT_EQ(e.line, 4u);
  EXPECT_NE(e.message.find("more than 2 records"), std::string::npos);
  std::vector<csv_record> out;
  EXPECT_FALSE(parse_csv("a\nb\n", out, 2));
  e = parse_bad("ab,abcde\n", 10, 4);
  EXPECT_EQ(e.line, 1u);
  EXPECT_NE(e.message.find("longer than 4 bytes"), std::string::npos);
  e = parse_bad("x\n\"ab\ncde\"\n", 10, 4);
  EXPECT_EQ(e.line, 2u);
  EXPECT_FALSE(parse_csv("abcd,\"ab\"\"\"", out, 10, 4));
}

TEST(Csv, Delimiters) {
  auto r = parse_ok("title;price;rooms\r\nדירה;2450000;3,5\r\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].fields, (fields_t{"דירה", "2450000", "3,5"}));
  r = parse_ok("title\tprice\nx\t1,000\n");
  EXPECT_EQ(r[1].fields, (fields_t{"x", "1,000"}));
  // A comma inside quotes does not count; one outside does.
  r = parse_ok("\"a,b\";c\nx;y\n");
  EXPECT_EQ(r[0].fields, (fields_t{"a,b", "c"}));
  r = parse_ok("a;b,c\n");
  EXPECT_EQ(r[0].fields, (fields_t{"a;b", "c"}));
  // Excel's sep= line, after blank lines.
  r = parse_ok("\nsep=|\na|b\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].fields, (fields_t{"a", "b"}));
  EXPECT_EQ(r[0].line, 3u);
  r = parse_ok("title\nx;y\n"); // one column: the comma default
  EXPECT_EQ(r[1].fields, (fields_t{"x;y"}));
}

// -- writer ------------------------------------------------------------------

std::string row(const fields_t& f) {
  std::string out;
  csv_append_row(out, f);
  return out;
}

TEST(Csv, Writer) {
  EXPECT_EQ(row({"a", "b"}), "a,b\r\n");
  EXPECT_EQ(row({"a,b", "x\"y", "l1\nl2", " lead", "trail ", "a;b", ""}),
            "\"a,b\",\"x\"\"y\",\"l1\nl2\",\" lead\",\"trail \",\"a;b\",\r\n");
  EXPECT_EQ(row({"", ""}), "\"\",\r\n");
  EXPECT_EQ(row({}), "\r\n");
  EXPECT_EQ(row({"דירה 4 חד'", "₪"}), "דירה 4 חד',₪\r\n");
  EXPECT_EQ(csv_bom(), "\xEF\xBB\xBF");
}

TEST(Csv, FormulaGuard) {
  for (auto risky : {"=1+1", "=HYPERLINK(\"http://x\")", "+A1", "-A1",
                     "@SUM(1)", "\tx", "\rx", "-", "+", "+972-50-1234567",
                     "-5e3", "-.5", "=", "-1+cmd|' /C calc'!A0"})
    EXPECT_TRUE(csv_needs_formula_guard(risky)) << risky;
  for (auto plain : {"", "abc", "5", "-5", "+972501234567", "-3.5", "3.5",
                     "050-1234567", " =x", "'=x"})
    EXPECT_FALSE(csv_needs_formula_guard(plain)) << plain;
  EXPECT_EQ(row({"=1+1", "-5", "+972501234567", "@x"}),
            "'=1+1,-5,+972501234567,'@x\r\n");
  EXPECT_EQ(row({"\tx"}), "\"'\tx\"\r\n");
  for (auto v : {"=1+1", "-A1", "@x", "\tx", "+"})
    EXPECT_EQ(csv_strip_formula_guard(std::string{"'"} + v), v);
  for (auto v : {"'5", "'abc", "'", "''=x", "=x", "", "'-5"})
    EXPECT_EQ(csv_strip_formula_guard(v), v);
}

TEST(Csv, WriterRoundTrip) {
  std::mt19937 rng(20250301);
  const std::vector<std::string> atoms{
    "a",    "Z",     "1", "0",   " ", ",",  ";", "\t", "\"",   "\r",
    "\n",   "\r\n",  "=", "+",   "-", "@",  "'", "|",  "sep=", "\xEF\xBB\xBF",
    "דירה", "ממ\"ד", "₪", "3.5", "😀", "ש״ח"};
  for (int iter = 0; iter < 2000; ++iter) {
    std::vector<fields_t> rows(1 + rng() % 4);
    auto width = 1 + rng() % 5;
    std::string text = iter % 2 ? csv_bom() : "";
    for (auto& r : rows) {
      r.resize(width);
      for (auto& f : r) {
        auto n = rng() % 5;
        for (std::size_t k = 0; k < n; ++k)
          f += atoms[rng() % atoms.size()];
      }
      csv_append_row(text, r);
    }
    std::vector<csv_record> back;
    auto err = parse_csv(text, back);
    ASSERT_FALSE(err) << err->message << " line " << err->line << ": " << text;
    ASSERT_EQ(back.size(), rows.size()) << text;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      fields_t want;
      for (auto& f : rows[i])
        want.push_back(csv_needs_formula_guard(f) ? "'" + f : f);
      EXPECT_EQ(back[i].fields, want) << text;
      if (i > 0) {
        EXPECT_GT(back[i].line, back[i - 1].line);
      }
    }
  }
}

// -- listings: JSON ----------------------------------------------------------

std::string listing_json(const char* body, listing_input& in, bool create) {
  json_doc doc;
  EXPECT_TRUE(doc.parse(body)) << body;
  return parse_listing(*doc.object(), in, create);
}

TEST(ListingInput, CreateBody) {
  listing_input in;
  ASSERT_EQ(listing_json(R"({"title":"דירת 4 חדרים ברמת אביב","deal":"buy",
    "property_type":"apartment","city":"תל אביב","neighborhood":"רמת אביב",
    "street":"איינשטיין 40","rooms":3.5,"floor":-1,"size_sqm":95,
    "price":2450000,"status":"reserved","description":"שקטה",
    "features":["parking","safe_room"],
    "photos":["https://cdn.example.com/a.jpg","http://x.co/b?w=1,2"],
    "external_ref":"yad2-123","tracking_number":"03-555-1234"})",
                         in, true),
            "");
  EXPECT_EQ(*in.title, "דירת 4 חדרים ברמת אביב");
  EXPECT_EQ(*in.deal, "buy");
  EXPECT_DOUBLE_EQ(**in.rooms, 3.5);
  EXPECT_EQ(**in.floor, -1);
  EXPECT_EQ(**in.price, 2450000);
  EXPECT_EQ(*in.status, "reserved");
  EXPECT_EQ(*in.features, (fields_t{"parking", "safe_room"}));
  EXPECT_EQ(in.photos->size(), 2u);
  EXPECT_EQ(**in.tracking_number, "+97235551234");
  EXPECT_EQ(**in.external_ref, "yad2-123");

  listing_input minimal;
  EXPECT_EQ(listing_json(R"({"title":"x"})", minimal, true), "");
  EXPECT_FALSE(minimal.deal);   // the store's default (buy)
  EXPECT_FALSE(minimal.status); // the store's default (available)
  listing_input none;
  EXPECT_EQ(listing_json(R"({"deal":"rent"})", none, true),
            "title is required");
}

TEST(ListingInput, PatchBody) {
  listing_input in;
  EXPECT_EQ(listing_json("{}", in, false), "");
  ASSERT_EQ(listing_json(R"({"city":null,"rooms":null,"price":null,
    "features":null,"photos":null,"external_ref":"","tracking_number":null,
    "description":null})",
                         in, false),
            "");
  EXPECT_TRUE(in.city && !*in.city);
  EXPECT_TRUE(in.rooms && !*in.rooms);
  EXPECT_TRUE(in.price && !*in.price);
  EXPECT_TRUE(in.features && in.features->empty());
  EXPECT_TRUE(in.photos && in.photos->empty());
  EXPECT_TRUE(in.external_ref && !*in.external_ref); // "" = null
  EXPECT_TRUE(in.tracking_number && !*in.tracking_number);
  EXPECT_FALSE(in.title);
  EXPECT_FALSE(in.street);
  for (auto [body, msg] :
       std::initializer_list<std::pair<const char*, const char*>>{
         {R"({"title":null})", "title cannot be cleared"},
         {R"({"deal":null})", "deal cannot be cleared"},
         {R"({"status":null})", "status cannot be cleared"},
         {R"({"title":"  "})", "title must not be empty"},
         {R"({"title":""})", "title must not be empty"}}) {
    listing_input x;
    EXPECT_EQ(listing_json(body, x, false), msg) << body;
  }
}

TEST(ListingInput, BadFieldsNameTheField) {
  std::string long201(201, 'a'), long41(41, 'a'), long101(101, 'a'),
    long5001(5001, 'a'), url1001 = "https://x.co/" + std::string(988, 'a');
  auto s = [](const std::string& v) { return "\"" + v + "\""; };
  std::vector<std::pair<std::string, std::string>> cases{
    {"title", s(long201)},
    {"title", "5"},
    {"deal", s("sell")},
    {"deal", s("מכירה")}, // Hebrew only in CSV
    {"property_type", s(long41)},
    {"city", s(long101)},
    {"neighborhood", s(long101)},
    {"street", s(long101)},
    {"rooms", "0"},
    {"rooms", "3.3"},
    {"rooms", "30.5"},
    {"rooms", "\"3.5\""},
    {"rooms", "true"},
    {"rooms", "-1"},
    {"floor", "-6"},
    {"floor", "201"},
    {"floor", "2.5"},
    {"size_sqm", "0"},
    {"size_sqm", "100001"},
    {"price", "-1"},
    {"price", "2000000001"},
    {"price", "1.5"},
    {"price", "\"2,450,000\""},
    {"status", s("gone")},
    {"description", s(long5001)},
    {"features", s("parking")},
    {"features", "[\"jacuzzi\"]"},
    {"features", "[\"parking\",\"parking\"]"},
    {"features", "[1]"},
    {"photos", "[\"ftp://x.co/a.jpg\"]"},
    {"photos", "[\"javascript:alert(1)\"]"},
    {"photos", "[\"https://\"]"},
    {"photos", "[\"not a url\"]"},
    {"photos", "[" + s(url1001) + "]"},
    {"external_ref", s(long101)},
    {"tracking_number", s("12")},
    {"tracking_number", s("abc")},
  };
  std::string many = "[";
  for (int i = 0; i < 21; ++i)
    many += std::string{i ? "," : ""} + "\"https://x.co/" + std::to_string(i)
            + ".jpg\"";
  cases.emplace_back("photos", many + "]");
  for (auto& [key, value] : cases) {
    auto body = key == "title"
                  ? "{\"title\":" + value + "}"
                  : R"({"title":"t",")" + key + "\":" + value + "}";
    listing_input in;
    auto err = listing_json(body.c_str(), in, true);
    EXPECT_NE(err, "") << body;
    EXPECT_EQ(err.rfind(key, 0), 0u) << err << " for " << body;
  }
  listing_input in;
  auto err = listing_json(R"({"title":"t","features":["jacuzzi"]})", in, true);
  EXPECT_NE(err.find("\"jacuzzi\""), std::string::npos) << err;
  EXPECT_NE(err.find("parking"), std::string::npos) << err;
  // Edges that are fine.
  for (auto ok :
       {R"("rooms":0.5)", R"("rooms":30)", R"("rooms":4)", R"("floor":-5)",
        R"("floor":200)", R"("price":0)", R"("price":2000000000)",
        R"("size_sqm":100000)", R"("status":"rented")", R"("deal":"rent")",
        R"("photos":["HTTPS://Example.com/x.jpg#f"])"}) {
    auto body = std::string{R"({"title":"t",)"} + ok + "}";
    listing_input x;
    EXPECT_EQ(listing_json(body.c_str(), x, true), "") << body;
  }
}

form_params q(std::string_view s) {
  auto f = parse_query(s);
  EXPECT_TRUE(f) << s;
  return f ? *f : form_params{};
}

TEST(ListingInput, Filter) {
  listing_filter f;
  ASSERT_EQ(parse_listing_filter(
              q("deal=rent&city=%D7%97%D7%99%D7%A4%D7%94&rooms_min=3"
                "&rooms_max=4.5&price_max=7500&status=available&q=%D7%92"
                "&page=2&per_page=20"),
              f),
            "");
  EXPECT_EQ(*f.deal, "rent");
  EXPECT_EQ(*f.city, "חיפה");
  EXPECT_DOUBLE_EQ(*f.rooms_min, 3);
  EXPECT_DOUBLE_EQ(*f.rooms_max, 4.5);
  EXPECT_EQ(*f.price_max, 7500);
  EXPECT_EQ(*f.status, "available");
  EXPECT_EQ(*f.q, "ג");
  EXPECT_EQ(f.paging.offset(), 20);
  listing_filter empty;
  ASSERT_EQ(parse_listing_filter(q("deal=&city=&rooms_min=&price_max="), empty),
            "");
  EXPECT_FALSE(empty.deal || empty.city || empty.rooms_min || empty.price_max);
  listing_filter eq;
  EXPECT_EQ(parse_listing_filter(q("rooms_min=3.5&rooms_max=3.5"), eq), "");
  for (auto [query, field] :
       std::initializer_list<std::pair<const char*, const char*>>{
         {"deal=sell", "deal"},
         {"status=gone", "status"},
         {"rooms_min=abc", "rooms_min"},
         {"rooms_min=-1", "rooms_min"},
         {"rooms_max=31", "rooms_max"},
         {"rooms_max=1e1", "rooms_max"},
         {"price_max=-1", "price_max"},
         {"price_max=2000000001", "price_max"},
         {"price_max=1.5", "price_max"},
         {"rooms_min=4&rooms_max=3", "rooms_min"},
         {"per_page=500", "per_page"},
         {"page=0", "page"},
         {"city=%00", "city"},
         {"q=%FF", "q"}}) {
    listing_filter x;
    auto err = parse_listing_filter(q(query), x);
    EXPECT_EQ(err.rfind(field, 0), 0u) << query << ": " << err;
  }
}

// -- CSV import: headers -----------------------------------------------------

csv_record rec(fields_t f, std::size_t line = 1) {
  return csv_record{line, std::move(f)};
}

TEST(CsvImport, HebrewListingHeaders) {
  std::string err;
  std::vector<std::string> ignored;
  auto cols = map_listing_columns(
    rec({"כותרת", "סוג עסקה", "סוג נכס", "עיר", "שכונה", "כתובת", "מספר חדרים",
         "קומה", "מ״ר", "מחיר", "מצב", "תיאור", "מאפיינים", "תמונות",
         "מס׳ מודעה", "מספר מעקב", "הערות פנימיות"}),
    err, ignored);
  ASSERT_EQ(err, "");
  EXPECT_EQ(ignored, (fields_t{"הערות פנימיות"}));
  auto want = listing_csv_header();
  want.push_back("");
  EXPECT_EQ(cols.fields, want);
  EXPECT_EQ(*cols.column("price"), 9u);
  EXPECT_FALSE(cols.column("nope"));

  cols = map_listing_columns(
    rec({" Title ", "Property Type", "SIZE_SQM", "מ\"ר", "", "id"}), err,
    ignored);
  EXPECT_NE(err, ""); // size_sqm twice
  EXPECT_NE(err.find("size_sqm"), std::string::npos) << err;
  cols = map_listing_columns(rec({" Title ", "Property Type", "SIZE_SQM", "",
                                  "id", "עסקה", "מזהה", "מספר מודעה"}),
                             err, ignored);
  EXPECT_NE(err.find("external_ref"), std::string::npos) << err;
  cols = map_listing_columns(
    rec({" Title ", "Property-Type", "SIZE_SQM", "", "id", "Deal"}), err,
    ignored);
  ASSERT_EQ(err, "");
  EXPECT_EQ(cols.fields,
            (fields_t{"title", "property_type", "size_sqm", "", "", "deal"}));
  EXPECT_EQ(ignored, (fields_t{"(column 4)", "id"}));
  cols = map_listing_columns(rec({"price", "עיר"}), err, ignored);
  EXPECT_NE(err.find("no title column"), std::string::npos) << err;
  // Exports map back without loss.
  map_listing_columns(rec(listing_csv_header()), err, ignored);
  EXPECT_EQ(err, "");
  EXPECT_TRUE(ignored.empty());
}

TEST(CsvImport, LeadHeaders) {
  std::string err;
  std::vector<std::string> ignored;
  auto cols = map_lead_columns(rec({"שם", "נייד", "סוג עסקה", "עיר", "חדרים",
                                    "תקציב מינימלי", "תקציב", "סטטוס", "מקור",
                                    "הערות", "תגיות"}),
                               err, ignored);
  ASSERT_EQ(err, "");
  EXPECT_TRUE(ignored.empty());
  EXPECT_EQ(cols.fields, lead_csv_header());
  map_lead_columns(rec({"name", "budget", "Budget_Max", "phone"}), err,
                   ignored);
  EXPECT_NE(err.find("budget_max"), std::string::npos) << err;
  map_lead_columns(rec({"name", "city"}), err, ignored);
  EXPECT_NE(err.find("no phone column"), std::string::npos) << err;
  map_lead_columns(rec(lead_csv_header()), err, ignored);
  EXPECT_EQ(err, "");
}

// -- CSV import: listing rows ------------------------------------------------

/// The row under a header from CSV text ("header\nrow").
std::string listing_csv(std::string_view text, listing_input& out) {
  std::vector<csv_record> recs;
  auto perr = parse_csv(text, recs);
  EXPECT_FALSE(perr) << text;
  EXPECT_EQ(recs.size(), 2u) << text;
  if (perr || recs.size() != 2)
    return "bad test CSV";
  std::string err;
  std::vector<std::string> ignored;
  auto cols = map_listing_columns(recs[0], err, ignored);
  EXPECT_EQ(err, "") << text;
  return listing_from_csv(cols, recs[1], out);
}

/// One listing field: title,<field>\nt,<value>.
std::string listing_cell(std::string_view field, std::string_view value,
                         listing_input& out) {
  std::string text = "title,";
  text += field;
  text += "\r\n";
  csv_append_row(text, {"t", std::string{value}});
  return listing_csv(text, out);
}

TEST(CsvImport, ListingHebrewRow) {
  listing_input in;
  ASSERT_EQ(
    listing_csv(
      "\xEF\xBB\xBF"
      "כותרת,עסקה,סוג נכס,עיר,שכונה,כתובת,חדרים,קומה,\"מ\"\"ר\",מחיר,מצב,"
      "תיאור,מאפיינים,תמונות,מס' מודעה,מספר מעקב\r\n"
      "\"דירת גן, 4 חדרים\",למכירה,דירת גן,רמת גן,הבורסה,ז'בוטינסקי 1,"
      "\"3,5\",קרקע,\"120 מ\"\"ר\",\"₪2,450,000\",זמין,\"שקטה\nמוארת\","
      "\"חניה; מעלית | ממ\"\"ד, מרחב מוגן\",https://a.co/1.jpg "
      "https://a.co/2.jpg,Y2-77,501234567\r\n",
      in),
    "");
  EXPECT_EQ(*in.title, "דירת גן, 4 חדרים");
  EXPECT_EQ(*in.deal, "buy");
  EXPECT_EQ(**in.property_type, "דירת גן");
  EXPECT_EQ(**in.street, "ז'בוטינסקי 1");
  EXPECT_DOUBLE_EQ(**in.rooms, 3.5);
  EXPECT_EQ(**in.floor, 0);
  EXPECT_EQ(**in.size_sqm, 120);
  EXPECT_EQ(**in.price, 2450000);
  EXPECT_EQ(*in.status, "available");
  EXPECT_EQ(**in.description, "שקטה\nמוארת");
  EXPECT_EQ(*in.features, (fields_t{"parking", "elevator", "safe_room"}));
  EXPECT_EQ(*in.photos, (fields_t{"https://a.co/1.jpg", "https://a.co/2.jpg"}));
  EXPECT_EQ(**in.external_ref, "Y2-77");
  EXPECT_EQ(**in.tracking_number, "+972501234567");
}

TEST(CsvImport, ListingEmptyCellsAreNotGiven) {
  listing_input in;
  ASSERT_EQ(listing_csv("title,price,city,features,rooms\nx,, ,,\n", in), "");
  EXPECT_EQ(*in.title, "x");
  EXPECT_FALSE(in.price || in.city || in.features || in.rooms || in.deal);
  EXPECT_EQ(listing_csv("title,price\n,5\n", in), "title is required");
  EXPECT_EQ(listing_csv("title,price\n\" \",5\n", in), "title is required");
  // Fewer cells than columns: the rest are empty.
  EXPECT_EQ(listing_csv("title,price,city\nx\n", in), "");
  // More: an unquoted 2,450,000.
  auto err = listing_csv("title,price,city\nx,2,450,000,חיפה\n", in);
  EXPECT_NE(err.find("in quotes"), std::string::npos) << err;
  EXPECT_EQ(listing_csv("title,price\nx,5,,\n", in), ""); // empty extras
}

TEST(CsvImport, ListingValues) {
  struct good {
    const char* field;
    const char* cell;
  };
  auto check_good = [](good g, auto&& check) {
    listing_input in;
    auto err = listing_cell(g.field, g.cell, in);
    EXPECT_EQ(err, "") << g.field << "=" << g.cell;
    if (err.empty())
      check(in);
  };
  for (auto [cell, deal] :
       std::initializer_list<std::pair<const char*, const char*>>{
         {"buy", "buy"},
         {"Sale", "buy"},
         {"SELL", "buy"},
         {"For sale", "buy"},
         {"מכירה", "buy"},
         {"למכירה", "buy"},
         {"קנייה", "buy"},
         {"קניה", "buy"},
         {"rent", "rent"},
         {"Rent", "rent"},
         {"השכרה", "rent"},
         {"להשכרה", "rent"},
         {"שכירות", "rent"},
         {" להשכרה ", "rent"}})
    check_good({"deal", cell}, [&](auto& in) { EXPECT_EQ(*in.deal, deal); });
  for (auto [cell, v] : std::initializer_list<std::pair<const char*, double>>{
         {"3.5", 3.5},
         {"3,5", 3.5},
         {"4", 4},
         {"0.5", 0.5},
         {"30", 30},
         {"4 חדרים", 4},
         {"2.5 rooms", 2.5}})
    check_good({"rooms", cell},
               [&](auto& in) { EXPECT_DOUBLE_EQ(**in.rooms, v); });
  for (auto [cell, v] :
       std::initializer_list<std::pair<const char*, std::int64_t>>{
         {"₪2,450,000", 2450000},
         {"2,450,000 ₪", 2450000},
         {"₪ 2,450,000", 2450000},
         {"2450000 ש\"ח", 2450000},
         {"2450000 ש״ח", 2450000},
         {"2450000 שח", 2450000},
         {"NIS 5,500", 5500},
         {"5500 ils", 5500},
         {"2450000.00", 2450000},
         {"0", 0},
         {"2,000,000,000", 2000000000},
         {"\xE2\x80\x8F"
          "2,450,000\xE2\x80\x8F",
          2450000},
         {"\xC2\xA0"
          "7500",
          7500}})
    check_good({"price", cell}, [&](auto& in) { EXPECT_EQ(**in.price, v); });
  for (auto [cell, v] :
       std::initializer_list<std::pair<const char*, std::int64_t>>{
         {"85", 85},
         {"1,200", 1200},
         {"85 מ\"ר", 85},
         {"85 מ״ר", 85},
         {"85מ\"ר", 85},
         {"85 sqm", 85},
         {"85 m²", 85}})
    check_good({"size_sqm", cell},
               [&](auto& in) { EXPECT_EQ(**in.size_sqm, v); });
  for (auto [cell, v] :
       std::initializer_list<std::pair<const char*, std::int64_t>>{{"-1", -1},
                                                                   {"3", 3},
                                                                   {"קרקע", 0},
                                                                   {"קומה 7",
                                                                    7},
                                                                   {"200", 200},
                                                                   {"-5", -5}})
    check_good({"floor", cell}, [&](auto& in) { EXPECT_EQ(**in.floor, v); });
  for (auto [cell, v] :
       std::initializer_list<std::pair<const char*, const char*>>{
         {"Available", "available"},
         {"SOLD", "sold"},
         {"נמכר", "sold"},
         {"הושכרה", "rented"},
         {"שמור", "reserved"},
         {"פנוי", "available"}})
    check_good({"status", cell}, [&](auto& in) { EXPECT_EQ(*in.status, v); });
  check_good(
    {"features", "Parking|ELEVATOR|safe room|Air-Conditioning"}, [](auto& in) {
      EXPECT_EQ(*in.features, (fields_t{"parking", "elevator", "safe_room",
                                        "air_conditioning"}));
    });
  check_good({"features", "מרפסת,מחסן,נגישות,מרוהטת,מיזוג אוויר,גינה,משופץ,"
                          "חנייה,balcony,ממ״ד"},
             [](auto& in) {
               EXPECT_EQ(*in.features,
                         (fields_t{"balcony", "storage", "accessible",
                                   "furnished", "air_conditioning", "garden",
                                   "renovated", "parking", "safe_room"}));
             });
  check_good({"features", "נגיש\nריהוט\nמזגן\nמיזוג"}, [](auto& in) {
    EXPECT_EQ(*in.features,
              (fields_t{"accessible", "furnished", "air_conditioning"}));
  });
  check_good({"photos", "https://a.co/x.jpg|http://b.co/w_300,h_200/y.jpg; "
                        "HTTPS://c.co/z.png,\nhttps://d.co/q"},
             [](auto& in) {
               EXPECT_EQ(*in.photos,
                         (fields_t{"https://a.co/x.jpg",
                                   "http://b.co/w_300,h_200/y.jpg",
                                   "HTTPS://c.co/z.png", "https://d.co/q"}));
             });
  for (auto [cell, v] :
       std::initializer_list<std::pair<const char*, const char*>>{
         {"0501234567", "+972501234567"},
         {"501234567", "+972501234567"},
         {"35551234", "+97235551234"},
         {"+972-50-123-4567", "+972501234567"},
         {"077-1234567", "+972771234567"}})
    check_good({"tracking_number", cell},
               [&](auto& in) { EXPECT_EQ(**in.tracking_number, v); });
}

TEST(CsvImport, ListingBadValuesNameTheField) {
  std::vector<std::pair<const char*, std::string>> cases{
    {"deal", "exchange"},
    {"deal", "sold"},
    {"rooms", "3.3"},
    {"rooms", "31"},
    {"rooms", "0"},
    {"rooms", "abc"},
    {"rooms", "-1"},
    {"rooms", "3-4"},
    {"floor", "-6"},
    {"floor", "201"},
    {"floor", "2.5"},
    {"floor", "מרתף"},
    {"size_sqm", "0"},
    {"size_sqm", "100,001"},
    {"size_sqm", "85.5"},
    {"price", "2,45,000"},
    {"price", "2.450.000"},
    {"price", "abc"},
    {"price", "-1"},
    {"price", "2000000001"},
    {"price", "99999999999999999999"},
    {"price", "1.5"},
    {"price", "₪"},
    {"status", "gone"},
    {"property_type", std::string(41, 'a')},
    {"city", std::string(101, 'a')},
    {"neighborhood", std::string(101, 'a')},
    {"street", std::string(101, 'a')},
    {"description", std::string(5001, 'a')},
    {"features", "חניה; jacuzzi"},
    {"features", "parking, swimming pool"},
    {"photos", "ftp://a.co/x.jpg"},
    {"photos", "see https://a.co/x.jpg"},
    {"external_ref", std::string(101, 'a')},
    {"tracking_number", "12"},
    {"tracking_number", "9.72501E+11"},
  };
  std::string many;
  for (int i = 0; i < 21; ++i)
    many += "https://x.co/" + std::to_string(i) + ".jpg;";
  cases.emplace_back("photos", many);
  for (auto& [field, cell] : cases) {
    listing_input in;
    auto err = listing_cell(field, cell, in);
    EXPECT_EQ(err.rfind(field, 0), 0u)
      << field << "=" << cell << " gave: " << err;
  }
  listing_input in;
  auto err = listing_cell("features", "חניה; jacuzzi", in);
  EXPECT_NE(err.find("jacuzzi"), std::string::npos) << err;
  err = listing_csv("title\r\n" + std::string(201, 'a') + "\r\n", in);
  EXPECT_EQ(err.rfind("title", 0), 0u) << err;
}

TEST(CsvImport, ListingSemicolonFile) {
  listing_input in;
  ASSERT_EQ(listing_csv("כותרת;מחיר;חדרים\r\nדירה;2.450.000x;3,5\r\n", in)
              .rfind("price", 0),
            0u);
  ASSERT_EQ(listing_csv("כותרת;מחיר;חדרים\r\nדירה;2,450,000;3,5\r\n", in), "");
  EXPECT_EQ(**in.price, 2450000);
  EXPECT_DOUBLE_EQ(**in.rooms, 3.5);
}

TEST(CsvImport, ListingExportImportRoundTrip) {
  std::string text = csv_bom();
  csv_append_row(text, listing_csv_header());
  csv_append_row(
    text, {"=דירה \"מיוחדת\", 3 חד'", "rent", "penthouse", "תל אביב",
           "הצפון הישן", "דיזנגוף 100", "3.5", "-1", "95", "7500", "rented",
           "שורה 1\r\nשורה 2", csv_join_list({"parking", "safe_room"}),
           csv_join_list({"https://a.co/1.jpg", "https://a.co/w_1,h_2/2.jpg"}),
           "ref-1", "+972501234567"});
  listing_input in;
  ASSERT_EQ(listing_csv(text, in), "");
  EXPECT_EQ(*in.title, "=דירה \"מיוחדת\", 3 חד'"); // the guard is undone
  EXPECT_EQ(*in.deal, "rent");
  EXPECT_DOUBLE_EQ(**in.rooms, 3.5);
  EXPECT_EQ(**in.floor, -1);
  EXPECT_EQ(**in.price, 7500);
  EXPECT_EQ(*in.status, "rented");
  EXPECT_EQ(**in.description, "שורה 1\r\nשורה 2");
  EXPECT_EQ(*in.features, (fields_t{"parking", "safe_room"}));
  EXPECT_EQ(*in.photos,
            (fields_t{"https://a.co/1.jpg", "https://a.co/w_1,h_2/2.jpg"}));
  EXPECT_EQ(**in.tracking_number, "+972501234567");
}

// -- CSV import: lead rows ---------------------------------------------------

std::string lead_csv(std::string_view text, lead_input& out) {
  std::vector<csv_record> recs;
  auto perr = parse_csv(text, recs);
  EXPECT_FALSE(perr) << text;
  EXPECT_EQ(recs.size(), 2u) << text;
  if (perr || recs.size() != 2)
    return "bad test CSV";
  std::string err;
  std::vector<std::string> ignored;
  auto cols = map_lead_columns(recs[0], err, ignored);
  EXPECT_EQ(err, "") << text;
  return lead_from_csv(cols, recs[1], out);
}

std::string lead_cell(std::string_view field, std::string_view value,
                      lead_input& out) {
  std::string text = "phone,";
  text += field;
  text += "\r\n";
  csv_append_row(text, {"0501234567", std::string{value}});
  return lead_csv(text, out);
}

TEST(CsvImport, LeadHebrewRow) {
  lead_input in;
  ASSERT_EQ(lead_csv("שם,טלפון,סוג עסקה,עיר,חדרים,תקציב מינימלי,תקציב,סטטוס,"
                     "מקור,הערות,תגיות\n"
                     "דנה כהן,050-123-4567,קנייה,תל אביב,\"3,5\","
                     "\"₪1,500,000\",\"2,000,000 ש\"\"ח\",חדש,WhatsApp,"
                     "\"מחפשת, דחוף\",\"vip; משקיעה|צפון\"\n",
                     in),
            "");
  EXPECT_EQ(*in.name, "דנה כהן");
  EXPECT_EQ(**in.phone, "+972501234567");
  EXPECT_EQ(**in.deal, "buy");
  EXPECT_EQ(**in.city, "תל אביב");
  EXPECT_DOUBLE_EQ(**in.rooms, 3.5);
  EXPECT_EQ(**in.budget_min, 1500000);
  EXPECT_EQ(**in.budget_max, 2000000);
  EXPECT_EQ(*in.status, "new");
  EXPECT_EQ(*in.source, "whatsapp");
  EXPECT_EQ(*in.notes, "מחפשת, דחוף");
  EXPECT_EQ(*in.tags, (fields_t{"vip", "משקיעה", "צפון"}));
}

TEST(CsvImport, LeadValues) {
  for (auto [cell, deal] :
       std::initializer_list<std::pair<const char*, const char*>>{
         {"buy", "buy"},
         {"Rent", "rent"},
         {"SELL", "sell"},
         {"קנייה", "buy"},
         {"קניה", "buy"},
         {"שכירות", "rent"},
         {"השכרה", "rent"},
         {"מכירה", "sell"}}) {
    lead_input in;
    ASSERT_EQ(lead_cell("deal", cell, in), "") << cell;
    EXPECT_EQ(**in.deal, deal) << cell;
  }
  lead_input in;
  ASSERT_EQ(lead_csv("name,phone\nx,501234567\n", in), "");
  EXPECT_EQ(**in.phone, "+972501234567"); // Excel dropped the 0
  ASSERT_EQ(lead_cell("status", "Won", in), "");
  EXPECT_EQ(*in.status, "won");
  ASSERT_EQ(lead_cell("status", "נקבעה פגישה", in), "");
  EXPECT_EQ(*in.status, "appointment");
  ASSERT_EQ(lead_cell("status", "custom_1", in), "");
  EXPECT_EQ(*in.status, "custom_1");
  ASSERT_EQ(lead_cell("budget_max", "NIS 7,500", in), "");
  EXPECT_EQ(**in.budget_max, 7500);
  EXPECT_EQ(lead_csv("name,phone\nx,\n", in), "phone is required");
  EXPECT_EQ(lead_csv("name,phone,city\nx\n", in), "phone is required");
  auto err = lead_csv("name,phone\nx,050,123\n", in);
  EXPECT_NE(err.find("in quotes"), std::string::npos) << err;
  for (auto [field, cell] :
       std::initializer_list<std::pair<const char*, const char*>>{
         {"deal", "exchange"},
         {"rooms", "abc"},
         {"rooms", "100"},
         {"budget_min", "abc"},
         {"budget_min", "2,45,000"},
         {"budget_max", "-5"},
         {"status", "not a key!"},
         {"source", "fax"},
         {"phone", "12345"}}) {
    lead_input x;
    auto e = std::string_view{field} == "phone"
               ? lead_csv(std::string{"phone\n"} + cell + "\n", x)
               : lead_cell(field, cell, x);
    EXPECT_EQ(e.rfind(field, 0), 0u) << field << "=" << cell << ": " << e;
  }
  lead_input y;
  EXPECT_EQ(lead_csv("phone,budget_min,budget_max\n0501234567,9,3\n", y),
            "budget_min must not exceed budget_max");
}

TEST(CsvImport, LeadExportImportRoundTrip) {
  std::string text = csv_bom();
  csv_append_row(text, lead_csv_header());
  csv_append_row(text, {"-משה-", "+972501234567", "rent", "חיפה", "2.5", "0",
                        "6000", "qualified", "manual", "שורה\nשנייה",
                        csv_join_list({"a b", "ג"})});
  lead_input in;
  ASSERT_EQ(lead_csv(text, in), "");
  EXPECT_EQ(*in.name, "-משה-");
  EXPECT_EQ(**in.phone, "+972501234567");
  EXPECT_EQ(**in.budget_min, 0);
  EXPECT_EQ(**in.budget_max, 6000);
  EXPECT_EQ(*in.notes, "שורה\nשנייה");
  EXPECT_EQ(*in.tags, (fields_t{"a b", "ג"}));
}

} // namespace
} // namespace al
