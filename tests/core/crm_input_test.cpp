// Pure input parsing of the CRM REST API: times, query filters, bodies.
#include "core/business_input.hpp"
#include "core/crm_input.hpp"
#include "core/input.hpp"

#include <gtest/gtest.h>

namespace al {
namespace {

form_params q(std::string_view s) {
  auto f = parse_query(s);
  EXPECT_TRUE(f) << s;
  return f ? *f : form_params{};
}

TEST(CrmInput, Timestamps) {
  for (auto ok : {"2025-03-10T10:30:00+02:00", "2025-03-10T10:30+02:00",
                  "2025-03-10T10:30:00Z", "2025-03-10t10:30:00z",
                  "2025-03-10 10:30:00.123456-05:00", "2024-02-29T00:00:00Z",
                  "2025-03-10T10:30:00+0200", "2025-03-10T10:30:00+02",
                  "2000-02-29T23:59:59.9Z"})
    EXPECT_TRUE(parse_timestamp(ok)) << ok;
  for (auto bad : {"",
                   "2025-03-10",
                   "2025-03-10T10:30:00",
                   "2025-02-29T10:00:00Z",
                   "1900-02-29T10:00:00Z",
                   "2025-13-01T10:00:00Z",
                   "2025-00-10T10:00Z",
                   "2025-04-31T10:00Z",
                   "2025-03-10T24:00:00Z",
                   "2025-03-10T10:60Z",
                   "2025-03-10T10:30:61Z",
                   "2025-03-10T10:30:00+15:00",
                   "2025-03-10T10:30:00+02:60",
                   "2025-03-10T10:30:00.Z",
                   "2025-03-10T10:30:00 Z",
                   "2025-3-10T10:30:00Z",
                   "1899-12-31T10:00Z",
                   "2025-03-10T10:30:00+02:00x",
                   "2025-03-10X10:30:00Z",
                   "now",
                   "2025-03-10T10:30:00+2:00",
                   "'; DROP TABLE x;--"})
    EXPECT_FALSE(parse_timestamp(bad)) << bad;
  EXPECT_TRUE(parse_date("2025-03-10"));
  EXPECT_FALSE(parse_date("2025-03-10T00:00Z"));
  EXPECT_FALSE(parse_date("2025-02-30"));
  EXPECT_FALSE(parse_date("20250310"));
}

TEST(CrmInput, IlikeEscapesWildcards) {
  EXPECT_EQ(ilike_contains("abc"), "%abc%");
  EXPECT_EQ(ilike_contains("100%"), "%100\\%%");
  EXPECT_EQ(ilike_contains("a_b"), "%a\\_b%");
  EXPECT_EQ(ilike_contains("c:\\x"), "%c:\\\\x%");
  EXPECT_EQ(ilike_contains(""), "%%");
}

TEST(CrmInput, Paging) {
  page_params p;
  EXPECT_EQ(parse_paging(q(""), p), "");
  EXPECT_EQ(p.page, 1);
  EXPECT_EQ(p.per_page, 50);
  EXPECT_EQ(parse_paging(q("page=3&per_page=200"), p), "");
  EXPECT_EQ(p.offset(), 400);
  for (auto bad : {"page=0", "page=-1", "page=1.5", "page=", "per_page=0",
                   "per_page=201", "per_page=1e2", "per_page=%201"}) {
    page_params x;
    EXPECT_NE(parse_paging(q(bad), x), "") << bad;
  }
}

TEST(CrmInput, LeadFilter) {
  lead_filter f;
  ASSERT_EQ(parse_lead_filter(q("status=won&source=call&q=050-123-4567"
                                "&sort=updated&order=asc&tag=vip"),
                              f),
            "");
  EXPECT_EQ(*f.status, "won");
  EXPECT_EQ(*f.phone, "+972501234567");
  EXPECT_TRUE(f.sort_updated);
  EXPECT_TRUE(f.ascending);
  lead_filter g;
  ASSERT_EQ(parse_lead_filter(q("q=dana"), g), "");
  EXPECT_FALSE(g.phone);
  EXPECT_FALSE(g.sort_updated);
  EXPECT_FALSE(g.ascending);
  for (auto bad : {"status=Won", "source=sms", "sort=name", "order=random",
                   "q=%00", "status=a;b"}) {
    lead_filter x;
    EXPECT_NE(parse_lead_filter(q(bad), x), "") << bad;
  }
}

bool parse(const char* text, lead_input& in, bool create,
           std::string* err = nullptr) {
  json_doc doc;
  EXPECT_TRUE(doc.parse(text)) << text;
  auto e = parse_lead(*doc.object(), in, create);
  if (err)
    *err = e;
  return e.empty();
}

TEST(CrmInput, LeadBodies) {
  lead_input in;
  ASSERT_TRUE(parse(R"({"name":"a","phone":"03-123-4567","rooms":3.54,
                        "city":null,"budget_min":1,"budget_max":1,
                        "tags":["x"],"deal":"rent"})",
                    in, true));
  EXPECT_EQ(**in.phone, "+97231234567");
  EXPECT_DOUBLE_EQ(**in.rooms, 3.5);
  ASSERT_TRUE(in.city.has_value());
  EXPECT_FALSE(in.city->has_value()); // given as null
  EXPECT_FALSE(in.notes.has_value()); // not given
  lead_input patch;
  ASSERT_TRUE(parse(R"({"phone":null,"name":null})", patch, false));
  EXPECT_TRUE(patch.phone && !*patch.phone);
  EXPECT_EQ(*patch.name, "");
  lead_input e;
  EXPECT_TRUE(parse(R"({})", e, false)); // an empty patch is fine
  std::string err;
  lead_input x;
  EXPECT_FALSE(parse(R"({})", x, true, &err));
  EXPECT_EQ(err, "name or phone is required");
  lead_input y;
  EXPECT_FALSE(
    parse(R"({"name":"a","budget_min":9,"budget_max":3})", y, true, &err));
  lead_input z;
  EXPECT_FALSE(parse(R"({"name":"a","rooms":1e300})", z, true));
}

TEST(CrmInput, PipelineBodies) {
  json_doc doc;
  ASSERT_TRUE(doc.parse(R"({"statuses":[{"key":"a_1","label":"א"},
                                        {"key":"b","label":"ב"}]})"));
  std::vector<pipeline_status> s;
  EXPECT_EQ(parse_pipeline(*doc.object(), s), "");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].key, "b");
  EXPECT_EQ(default_pipeline().size(), 6u);
  EXPECT_EQ(default_pipeline().front().key, "new");
  EXPECT_TRUE(valid_key("appointment"));
  EXPECT_FALSE(valid_key(""));
  EXPECT_FALSE(valid_key("Hot"));
  EXPECT_FALSE(valid_key(std::string(33, 'a')));
}

TEST(CrmInput, OwnerMayNotTouchAdminFields) {
  json_doc doc;
  ASSERT_TRUE(doc.parse(R"({"greeting":"x","payments":{"enabled":false}})"));
  business_input in;
  EXPECT_EQ(parse_business(*doc.object(), in, false), "");
  EXPECT_EQ(admin_only_field(in), "");
  json_doc d2;
  ASSERT_TRUE(d2.parse(R"({"phone_numbers":["031234567"]})"));
  business_input in2;
  EXPECT_EQ(parse_business(*d2.object(), in2, false), "");
  EXPECT_EQ(admin_only_field(in2), "phone_numbers");
  json_doc d3;
  ASSERT_TRUE(d3.parse(R"({"name":"a\u0000"})"));
  business_input in3;
  EXPECT_NE(parse_business(*d3.object(), in3, false), "");
}

} // namespace
} // namespace al
