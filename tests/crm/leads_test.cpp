// /api/crm/leads: create/get/patch/delete, validation, phone uniqueness and
// merging, filters, pagination edges, injection-shaped input, 10k leads.
#include "tests/crm/crm_support.hpp"

#include "actors/leads.hpp"
#include "transport/services.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <future>
#include <set>

namespace al::test {
namespace {

class Leads : public ::testing::Test {
protected:
  void SetUp() override {
    owner = crm.new_token(1, "owner").token;
    agent = crm.new_token(1, "agent");
  }

  /// Runs upsert_lead_by_phone through the store, as the voice and
  /// WhatsApp paths do.
  std::int64_t upsert(std::int64_t business, const std::string& e164,
                      const std::string& source, const std::string& name) {
    std::promise<std::int64_t> p;
    auto id = std::make_shared<std::int64_t>(0);
    crm.app().svc().db.run(
      [=](db_tx& tx) {
        *id = upsert_lead_by_phone(tx, business, e164, source, name);
      },
      [&p, id](const db_error& err) {
        if (!err.empty())
          p.set_exception(std::make_exception_ptr(std::runtime_error(err)));
        else
          p.set_value(*id);
      });
    return p.get_future().get();
  }

  crm_app crm;
  std::string owner;
  issued_token agent;
};

TEST_F(Leads, CreateGetPatchDelete) {
  auto r = crm.call("POST", "/api/crm/leads", agent.token, R"({
    "name": "דנה כהן", "phone": "050-123-4567", "deal": "buy",
    "city": "תל אביב", "rooms": 3.5, "budget_min": 1500000,
    "budget_max": 2500000, "notes": "prefers a balcony",
    "tags": ["hot", "north"]})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto id = r.int_at("id");
  EXPECT_EQ(r.str_at("name"), "דנה כהן");
  EXPECT_EQ(r.str_at("phone"), "+972501234567");
  EXPECT_EQ(r.str_at("source"), "manual");
  EXPECT_EQ(r.str_at("status"), "new");
  EXPECT_EQ(r.str_at("deal"), "buy");
  EXPECT_DOUBLE_EQ(r.obj().at("rooms").as_double(), 3.5);
  EXPECT_EQ(r.int_at("budget_min"), 1500000);
  EXPECT_EQ(js(r.obj().at("tags")), R"(["hot","north"])");
  EXPECT_EQ(r.str_at("created_at").back(), 'Z');

  auto g = crm.call("GET", "/api/crm/leads/" + std::to_string(id), owner);
  ASSERT_EQ(g.status, 200) << g.body;
  EXPECT_EQ(g.str_at("city"), "תל אביב");
  ASSERT_EQ(g.obj().at("history").as_array().size(), 1u);

  auto p = crm.call("PATCH", "/api/crm/leads/" + std::to_string(id),
                    agent.token,
                    R"({"status":"contacted","city":null,"rooms":4,
                        "tags":[],"budget_max":3000000})");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.str_at("status"), "contacted");
  EXPECT_TRUE(p.obj().at("city").is_null());
  EXPECT_DOUBLE_EQ(p.obj().at("rooms").as_double(), 4.0);
  EXPECT_EQ(js(p.obj().at("tags")), "[]");
  EXPECT_EQ(p.int_at("budget_max"), 3000000);
  EXPECT_EQ(p.str_at("name"), "דנה כהן"); // untouched
  EXPECT_EQ(p.str_at("deal"), "buy");

  // The status change is kept with who and when.
  g = crm.call("GET", "/api/crm/leads/" + std::to_string(id), owner);
  auto& hist = g.obj().at("history").as_array();
  ASSERT_EQ(hist.size(), 2u) << g.body;
  EXPECT_EQ(hist[1].at("from").as_string(), "new");
  EXPECT_EQ(hist[1].at("to").as_string(), "contacted");
  EXPECT_EQ(hist[1].at("actor").as_string(),
            "token:" + std::to_string(agent.id));
  EXPECT_FALSE(hist[1].at("at").as_string().empty());
  EXPECT_EQ(crm.sql("SELECT count(*) FROM lead_history WHERE lead_id = "
                    + std::to_string(id)),
            "2");

  // The same status again is not a change.
  crm.call("PATCH", "/api/crm/leads/" + std::to_string(id), agent.token,
           R"({"status":"contacted"})");
  EXPECT_EQ(crm.sql("SELECT count(*) FROM lead_history WHERE lead_id = "
                    + std::to_string(id)),
            "2");

  auto d = crm.call("DELETE", "/api/crm/leads/" + std::to_string(id),
                    agent.token);
  EXPECT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(
    crm.call("GET", "/api/crm/leads/" + std::to_string(id), owner).status, 404);
  EXPECT_EQ(
    crm.call("DELETE", "/api/crm/leads/" + std::to_string(id), agent.token)
      .status,
    404);
  EXPECT_EQ(crm
              .call("PATCH", "/api/crm/leads/" + std::to_string(id),
                    agent.token, R"({"name":"x"})")
              .status,
            404);
}

TEST_F(Leads, UnknownAndMalformedIdsAre404) {
  for (auto path :
       {"/api/crm/leads/999999", "/api/crm/leads/0", "/api/crm/leads/abc",
        "/api/crm/leads/-1", "/api/crm/leads/99999999999999999999999"})
    EXPECT_EQ(crm.call("GET", path, owner).status, 404) << path;
}

TEST_F(Leads, ValidationErrorsAre400) {
  struct bad_case {
    const char* body;
    const char* why;
  } cases[] = {
    {"{bad json", "malformed"},
    {"", "empty"},
    {"[1,2]", "not an object"},
    {R"("lead")", "a string"},
    {R"({})", "no name or phone"},
    {R"({"name":""})", "empty name"},
    {R"({"name":5})", "name not a string"},
    {R"({"name":"a","phone":"12ab"})", "bad phone"},
    {R"({"name":"a","phone":5})", "phone not a string"},
    {R"({"name":"a","source":"fax"})", "bad source"},
    {R"({"name":"a","deal":"lease"})", "bad deal"},
    {R"({"name":"a","rooms":"3"})", "rooms as string"},
    {R"({"name":"a","rooms":-1})", "negative rooms"},
    {R"({"name":"a","budget_min":"100"})", "budget as string"},
    {R"({"name":"a","budget_min":1.5})", "fractional budget"},
    {R"({"name":"a","budget_min":-5})", "negative budget"},
    {R"({"name":"a","budget_min":10,"budget_max":5})", "min > max"},
    {R"({"name":"a","tags":"hot"})", "tags not an array"},
    {R"({"name":"a","tags":[1]})", "tag not a string"},
    {R"({"name":"a","tags":[""]})", "empty tag"},
    {R"({"name":"a","status":"VIP!"})", "status not a key"},
    {R"({"name":"a","status":7})", "status not a string"},
    {R"({"name":"a\u0000b"})", "NUL byte"},
    {R"({"name":"a","business_id":"1"})", "business_id as string"},
  };
  for (auto& c : cases) {
    auto r = crm.call("POST", "/api/crm/leads", owner, c.body);
    EXPECT_EQ(r.status, 400) << c.why << ": " << r.body;
    ASSERT_TRUE(r.json.is_object()) << c.why;
    EXPECT_EQ(r.obj().at("success"), false) << c.why;
    EXPECT_TRUE(r.obj().at("error").is_string()) << c.why;
  }
  std::string deep(200, '[');
  EXPECT_EQ(crm.call("POST", "/api/crm/leads", owner, deep).status, 400);
  EXPECT_EQ(crm.sql("SELECT count(*) FROM leads"), "0");
}

TEST_F(Leads, StatusMustBeInThePipelineAndBudgetsStayOrdered) {
  auto r = crm.call("POST", "/api/crm/leads", owner,
                    R"({"name":"a","status":"vip"})");
  EXPECT_EQ(r.status, 422) << r.body;
  auto id = crm.new_lead(owner, R"({"name":"a","budget_max":100})");
  r = crm.call("PATCH", "/api/crm/leads/" + std::to_string(id), owner,
               R"({"budget_min":200})");
  EXPECT_EQ(r.status, 422) << r.body;
  r = crm.call("PATCH", "/api/crm/leads/" + std::to_string(id), owner,
               R"({"status":"nope"})");
  EXPECT_EQ(r.status, 422) << r.body;
  r = crm.call("PATCH", "/api/crm/leads/" + std::to_string(id), owner,
               R"({"budget_min":50,"status":"won"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str_at("status"), "won");
}

TEST_F(Leads, PhoneIsUniquePerBusinessWith409NamingTheLead) {
  auto first = crm.new_lead(owner, R"({"name":"a","phone":"+972501112233"})");
  // Another format of the same number.
  auto r = crm.call("POST", "/api/crm/leads", owner,
                    R"({"name":"b","phone":"050-111-2233"})");
  ASSERT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.obj().at("success"), false);
  EXPECT_EQ(r.int_at("lead_id"), first);

  auto second = crm.new_lead(owner, R"({"name":"b","phone":"0521112233"})");
  r = crm.call("PATCH", "/api/crm/leads/" + std::to_string(second), owner,
               R"({"phone":"972501112233"})");
  ASSERT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.int_at("lead_id"), first);
  // Patching a lead to its own phone is fine; clearing it too.
  r = crm.call("PATCH", "/api/crm/leads/" + std::to_string(first), owner,
               R"({"phone":"0501112233"})");
  EXPECT_EQ(r.status, 200) << r.body;
  r = crm.call("PATCH", "/api/crm/leads/" + std::to_string(second), owner,
               R"({"phone":null})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.obj().at("phone").is_null());

  // Another business may have a lead with the same phone.
  auto other = crm.new_business("Other");
  auto other_owner = crm.new_token(other, "owner").token;
  EXPECT_EQ(crm
              .call("POST", "/api/crm/leads", other_owner,
                    R"({"name":"c","phone":"+972501112233"})")
              .status,
            201);
}

TEST_F(Leads, CallAndWhatsAppMergeIntoOneLead) {
  auto by_call = upsert(1, "+972541234567", "call", "");
  auto by_wa = upsert(1, "+972541234567", "whatsapp", "Yossi");
  EXPECT_EQ(by_call, by_wa);
  auto r = crm.call("GET", "/api/crm/leads/" + std::to_string(by_call), owner);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.str_at("source"), "call"); // the first channel
  EXPECT_EQ(r.str_at("name"), "Yossi");  // filled in because it was empty
  EXPECT_EQ(r.str_at("status"), "new");
  upsert(1, "+972541234567", "whatsapp", "Someone else");
  r = crm.call("GET", "/api/crm/leads/" + std::to_string(by_call), owner);
  EXPECT_EQ(r.str_at("name"), "Yossi"); // never overwritten
  EXPECT_EQ(r.obj().at("history").as_array().size(), 1u);
  EXPECT_EQ(r.obj().at("history").as_array()[0].at("actor").as_string(),
            "system");

  // A manual create of the same person is a 409 naming the merged lead.
  auto c = crm.call("POST", "/api/crm/leads", owner,
                    R"({"name":"x","phone":"054-123-4567"})");
  EXPECT_EQ(c.status, 409);
  EXPECT_EQ(c.int_at("lead_id"), by_call);
  // A lead created by the API is found by the call path too.
  auto api = crm.new_lead(owner, R"({"name":"y","phone":"0547654321"})");
  EXPECT_EQ(upsert(1, "+972547654321", "call", "z"), api);
  // Per business.
  auto other = crm.new_business("Other");
  EXPECT_NE(upsert(other, "+972541234567", "call", ""), by_call);
  EXPECT_EQ(crm.sql("SELECT count(*) FROM leads WHERE phone = '+972541234567'"),
            "2");
  EXPECT_THROW(upsert(1, "0541234567", "call", ""), std::runtime_error);
  EXPECT_THROW(upsert(1, "+972541234567", "fax", ""), std::runtime_error);
}

TEST_F(Leads, FiltersSearchAndSort) {
  auto a = crm.new_lead(owner, R"({"name":"Avi Levi","phone":"0501000001",
      "notes":"wants 100% financing","tags":["vip"]})");
  auto b = crm.new_lead(owner, R"({"name":"Bat_Sheva","phone":"0501000002",
      "source":"whatsapp","status":"contacted"})");
  auto c = crm.new_lead(owner, R"({"name":"Chen","phone":"0501000003",
      "source":"call","notes":"back\\slash"})");
  auto ids = [](const api_result& r) {
    std::vector<std::int64_t> out;
    for (auto& i : r.items())
      out.push_back(i.at("id").as_int64());
    return out;
  };
  auto list = [&](const std::string& q) {
    auto r = crm.call("GET", "/api/crm/leads" + q, owner);
    EXPECT_EQ(r.status, 200) << q << ": " << r.body;
    return r;
  };
  auto all = list("");
  EXPECT_EQ(all.int_at("total"), 3);
  EXPECT_EQ(all.int_at("page"), 1);
  EXPECT_EQ(all.int_at("per_page"), 50);
  EXPECT_EQ(ids(all), (std::vector<std::int64_t>{c, b, a})); // newest first
  EXPECT_EQ(ids(list("?sort=created&order=asc")),
            (std::vector<std::int64_t>{a, b, c}));
  EXPECT_EQ(ids(list("?status=contacted")), (std::vector<std::int64_t>{b}));
  EXPECT_EQ(ids(list("?source=call")), (std::vector<std::int64_t>{c}));
  EXPECT_EQ(ids(list("?tag=vip")), (std::vector<std::int64_t>{a}));
  EXPECT_EQ(ids(list("?q=avi")), (std::vector<std::int64_t>{a}));     // name
  EXPECT_EQ(ids(list("?q=FINANC")), (std::vector<std::int64_t>{a}));  // notes
  EXPECT_EQ(ids(list("?q=1000002")), (std::vector<std::int64_t>{b})); // phone
  EXPECT_EQ(ids(list("?q=050-100-0003")), (std::vector<std::int64_t>{c}));
  // % and _ are literal characters, not wildcards.
  EXPECT_EQ(ids(list("?q=%25")), (std::vector<std::int64_t>{a}));
  EXPECT_EQ(ids(list("?q=_")), (std::vector<std::int64_t>{b}));
  EXPECT_EQ(ids(list("?q=%5C")), (std::vector<std::int64_t>{c}));
  EXPECT_EQ(list("?q=zzz").int_at("total"), 0);
  EXPECT_EQ(ids(list("?q=e&status=new&source=call")),
            (std::vector<std::int64_t>{c}));
  // Updating moves a lead to the front of sort=updated.
  crm.call("PATCH", "/api/crm/leads/" + std::to_string(a), owner,
           R"({"notes":"updated"})");
  EXPECT_EQ(ids(list("?sort=updated"))[0], a);
  EXPECT_EQ(ids(list("?sort=updated&order=asc")).back(), a);

  for (auto bad :
       {"?page=0", "?page=-1", "?page=abc", "?page=", "?per_page=0",
        "?per_page=201", "?per_page=x", "?per_page=-5", "?sort=name",
        "?order=up", "?source=fax", "?status=A%20B", "?q=%00", "?q=%ZZ"})
    EXPECT_EQ(
      crm.call("GET", std::string{"/api/crm/leads"} + bad, owner).status, 400)
      << bad;
}

TEST_F(Leads, PaginationEdges) {
  for (int i = 0; i < 7; ++i)
    crm.new_lead(owner,
                 js(json::object{{"name", "lead " + std::to_string(i)}}));
  auto page = [&](int p, int n) {
    return crm.call("GET",
                    "/api/crm/leads?sort=created&order=asc&page="
                      + std::to_string(p) + "&per_page=" + std::to_string(n),
                    owner);
  };
  auto r = page(1, 3);
  EXPECT_EQ(r.items().size(), 3u);
  EXPECT_EQ(r.int_at("total"), 7);
  EXPECT_EQ(r.int_at("per_page"), 3);
  EXPECT_EQ(r.items()[0].at("name").as_string(), "lead 0");
  r = page(3, 3);
  EXPECT_EQ(r.int_at("page"), 3);
  ASSERT_EQ(r.items().size(), 1u);
  EXPECT_EQ(r.items()[0].at("name").as_string(), "lead 6");
  r = page(4, 3); // past the end: empty, total still known
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.items().size(), 0u);
  EXPECT_EQ(r.int_at("total"), 7);
  EXPECT_EQ(page(1, 1).items().size(), 1u);
  EXPECT_EQ(page(1, 200).items().size(), 7u);
  EXPECT_EQ(page(1000000000, 200).items().size(), 0u);
  EXPECT_EQ(page(1, 201).status, 400);
}

TEST_F(Leads, InjectionShapedInputIsStoredVerbatimAndHarmless) {
  std::string evil = "Robert'); DROP TABLE leads;-- \" \\ %_ $1 ${x} <b>";
  auto r = crm.call("POST", "/api/crm/leads", owner,
                    js(json::object{{"name", evil},
                                    {"notes", "' OR '1'='1"},
                                    {"tags", json::array{"'; DELETE FROM"}}}));
  ASSERT_EQ(r.status, 201) << r.body;
  auto id = r.int_at("id");
  auto g = crm.call("GET", "/api/crm/leads/" + std::to_string(id), owner);
  EXPECT_EQ(g.str_at("name"), evil);
  EXPECT_EQ(g.str_at("notes"), "' OR '1'='1");
  EXPECT_EQ(g.obj().at("tags").as_array()[0].as_string(), "'; DELETE FROM");
  crm.new_lead(owner, R"({"name":"innocent"})");
  // Searches with injection text match literally only.
  auto l = crm.call("GET", "/api/crm/leads?q=%27%20OR%20%271%27%3D%271", owner);
  ASSERT_EQ(l.status, 200);
  EXPECT_EQ(l.int_at("total"), 1);
  l = crm.call("GET", "/api/crm/leads?q=x%27%20OR%201%3D1%20--", owner);
  EXPECT_EQ(l.int_at("total"), 0);
  l = crm.call("GET", "/api/crm/leads?status=new%27--", owner);
  EXPECT_EQ(l.status, 400);
  EXPECT_EQ(crm.sql("SELECT count(*) FROM leads"), "2");
  EXPECT_EQ(crm.sql("SELECT name FROM leads WHERE id = " + std::to_string(id)),
            evil);
}

TEST_F(Leads, TenThousandLeadsListedAndSearched) {
  constexpr int n = 10000;
  // Bulk insert straight into the table (the API path is covered above).
  crm.sql("INSERT INTO leads (business_id, name, phone, source, status, notes,"
          " created_at, updated_at)"
          " SELECT 1, 'bulk lead ' || g, '+97250' || lpad(g::text, 7, '0'),"
          " CASE WHEN g % 3 = 0 THEN 'call' WHEN g % 3 = 1 THEN 'whatsapp'"
          " ELSE 'manual' END, CASE WHEN g % 10 = 0 THEN 'won' ELSE 'new' END,"
          " CASE WHEN g % 100 = 7 THEN 'needs parking' ELSE '' END,"
          " now() - g * interval '1 second', now() - g * interval '1 second'"
          " FROM generate_series(1, 10000) g");
  // Noise in another business must never show.
  auto other = crm.new_business("Other");
  crm.sql("INSERT INTO leads (business_id, name, phone) SELECT "
          + std::to_string(other)
          + ", 'bulk lead ' || g, '+97252' || lpad(g::text, 7, '0')"
            " FROM generate_series(1, 500) g");
  crm.sql("ANALYZE leads"); // what autovacuum does after a bulk load

  auto first = crm.call("GET", "/api/crm/leads?per_page=200", owner);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.int_at("total"), n);
  // Newest first: g = 1 was created last.
  EXPECT_EQ(first.items()[0].at("name").as_string(), "bulk lead 1");

  std::set<std::int64_t> seen;
  std::string previous = "~";
  for (int p = 1; p <= n / 200 + 1; ++p) {
    auto r = crm.call(
      "GET", "/api/crm/leads?per_page=200&page=" + std::to_string(p), owner);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.items().size(), p <= n / 200 ? 200u : 0u) << p;
    for (auto& i : r.items()) {
      seen.insert(i.at("id").as_int64());
      std::string created{i.at("created_at").as_string()};
      EXPECT_LE(created, previous); // non-increasing across pages
      previous = created;
    }
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(n));

  // Searches, checked against the numbers we inserted.
  auto count = [&](const std::string& q) {
    auto r = crm.call("GET", "/api/crm/leads?per_page=1&" + q, owner);
    EXPECT_EQ(r.status, 200) << q;
    return r.int_at("total");
  };
  int expected = 0;
  for (int g = 1; g <= n; ++g)
    if (("bulk lead " + std::to_string(g)).find("lead 123")
        != std::string::npos)
      ++expected;
  EXPECT_EQ(count("q=lead%20123"), expected);
  EXPECT_EQ(count("q=needs%20parking"), n / 100);
  EXPECT_EQ(count("status=won"), n / 10);
  EXPECT_EQ(count("source=call"), n / 3);
  EXPECT_EQ(count("source=call&status=won"), n / 30);
  EXPECT_EQ(count("q=%2B972500004242"), 1); // exact phone
  EXPECT_EQ(count("q=050-000-4242"), 1);    // local form
  auto one = crm.call("GET", "/api/crm/leads?q=bulk%20lead%204242", owner);
  ASSERT_EQ(one.items().size(), 1u);
  EXPECT_EQ(one.items()[0].at("phone").as_string(), "+972500004242");
}

} // namespace
} // namespace al::test
