// transport/router: literal and {param} matching, 404 vs 405 with Allow,
// refused duplicates, trailing-slash routes as routes of their own.
#include "transport/dispatcher.hpp"
#include "transport/router.hpp"

#include <gtest/gtest.h>

#include <string>

namespace al {
namespace {

/// A handler that records which route ran into `hit`.
handler tag(std::string* hit, std::string name) {
  return [hit, name](request_ptr, responder) { *hit = name; };
}

class router_test : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(r.add(http::verb::get, "/a", tag(&ran, "get a")));
    ASSERT_TRUE(r.add(http::verb::post, "/a", tag(&ran, "post a")));
    ASSERT_TRUE(r.add(http::verb::get, "/items/{id}", tag(&ran, "get item")));
    ASSERT_TRUE(
      r.add(http::verb::patch, "/items/{id}", tag(&ran, "patch item")));
    ASSERT_TRUE(
      r.add(http::verb::delete_, "/items/{id}", tag(&ran, "delete item")));
    ASSERT_TRUE(r.add(http::verb::get, "/items/{id}/messages",
                      tag(&ran, "item messages")));
    ASSERT_TRUE(r.add(http::verb::get, "/a/{x}/b/{y}", tag(&ran, "two")));
    ASSERT_TRUE(r.add(http::verb::get, "/slash/", tag(&ran, "slash")));
  }

  /// Runs the matched handler; returns its tag ("" when none matched).
  std::string run(http::verb v, const std::string& path) {
    ran.clear();
    auto m = r.match(v, path);
    if (m.hit)
      m.hit->fn(std::make_shared<request>(), responder{});
    return ran;
  }

  router r;
  std::string ran;
};

TEST_F(router_test, literal_routes_match_by_method) {
  EXPECT_EQ(run(http::verb::get, "/a"), "get a");
  EXPECT_EQ(run(http::verb::post, "/a"), "post a");
  auto m = r.match(http::verb::get, "/a");
  ASSERT_TRUE(m.hit);
  EXPECT_EQ(m.hit->pattern, "/a");
  EXPECT_TRUE(m.params.empty());
  EXPECT_TRUE(m.allow.empty());
}

TEST_F(router_test, placeholders_capture_segments) {
  auto m = r.match(http::verb::get, "/items/42");
  ASSERT_TRUE(m.hit);
  EXPECT_EQ(m.hit->pattern, "/items/{id}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0], "42");

  m = r.match(http::verb::get, "/items/abc-1/messages");
  ASSERT_TRUE(m.hit);
  EXPECT_EQ(m.hit->pattern, "/items/{id}/messages");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0], "abc-1");

  m = r.match(http::verb::get, "/a/1/b/2");
  ASSERT_TRUE(m.hit);
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0], "1");
  EXPECT_EQ(m.params[1], "2");
}

TEST_F(router_test, placeholder_never_matches_empty_or_many_segments) {
  EXPECT_EQ(run(http::verb::get, "/items/"), "");
  EXPECT_EQ(run(http::verb::get, "/items"), "");
  EXPECT_EQ(run(http::verb::get, "/items/1/2"), "");
  EXPECT_EQ(run(http::verb::get, "/items/1/"), "");
  EXPECT_EQ(run(http::verb::get, "/a//b/2"), "");
  EXPECT_TRUE(r.match(http::verb::get, "/items/").allow.empty());
}

TEST_F(router_test, unknown_path_is_404) {
  for (auto path :
       {"/", "", "/b", "/ab", "/a/", "/aa", "/items/1/messagesx", "/A"}) {
    auto m = r.match(http::verb::get, path);
    EXPECT_FALSE(m.hit) << path;
    EXPECT_TRUE(m.allow.empty()) << path << " allow=" << m.allow;
  }
}

TEST_F(router_test, wrong_method_is_405_listing_all_methods) {
  auto m = r.match(http::verb::delete_, "/a");
  EXPECT_FALSE(m.hit);
  EXPECT_EQ(m.allow, "GET, POST");

  m = r.match(http::verb::put, "/items/7");
  EXPECT_FALSE(m.hit);
  EXPECT_EQ(m.allow, "GET, PATCH, DELETE");

  m = r.match(http::verb::post, "/items/7/messages");
  EXPECT_FALSE(m.hit);
  EXPECT_EQ(m.allow, "GET");
}

TEST_F(router_test, duplicates_are_refused_and_listed) {
  EXPECT_FALSE(r.add(http::verb::get, "/a", tag(&ran, "second get a")));
  EXPECT_FALSE(r.add(http::verb::patch, "/items/{id}", tag(&ran, "again")));
  ASSERT_EQ(r.rejected().size(), 2u);
  EXPECT_EQ(r.rejected()[0], "GET /a");
  EXPECT_EQ(r.rejected()[1], "PATCH /items/{id}");
  // The first registration stays in charge.
  EXPECT_EQ(run(http::verb::get, "/a"), "get a");
  EXPECT_EQ(run(http::verb::patch, "/items/1"), "patch item");
  // The same pattern with another method is not a duplicate.
  EXPECT_TRUE(r.add(http::verb::put, "/a", tag(&ran, "put a")));
  EXPECT_EQ(r.rejected().size(), 2u);
}

TEST_F(router_test, trailing_slash_routes_are_distinct) {
  EXPECT_EQ(run(http::verb::get, "/slash/"), "slash");
  EXPECT_EQ(run(http::verb::get, "/slash"), "");
  EXPECT_TRUE(r.match(http::verb::get, "/slash").allow.empty());
  EXPECT_EQ(run(http::verb::get, "/a/"), "");
  // Registering the other variant is allowed and separate.
  ASSERT_TRUE(r.add(http::verb::get, "/slash", tag(&ran, "no slash")));
  ASSERT_TRUE(r.add(http::verb::get, "/a/", tag(&ran, "a slash")));
  EXPECT_EQ(run(http::verb::get, "/slash"), "no slash");
  EXPECT_EQ(run(http::verb::get, "/slash/"), "slash");
  EXPECT_EQ(run(http::verb::get, "/a/"), "a slash");
  EXPECT_EQ(run(http::verb::get, "/a"), "get a");
  EXPECT_TRUE(r.rejected().empty());
}

TEST_F(router_test, routes_listed_in_registration_order) {
  ASSERT_EQ(r.routes().size(), 8u);
  EXPECT_EQ(r.routes().front().pattern, "/a");
  EXPECT_EQ(r.routes().front().method, http::verb::get);
  EXPECT_EQ(r.routes().back().pattern, "/slash/");
}

TEST(router, earliest_matching_route_wins) {
  router r;
  std::string ran;
  ASSERT_TRUE(r.add(http::verb::get, "/leads/export", tag(&ran, "export")));
  ASSERT_TRUE(r.add(http::verb::get, "/leads/{id}", tag(&ran, "lead")));
  auto m = r.match(http::verb::get, "/leads/export");
  ASSERT_TRUE(m.hit);
  EXPECT_EQ(m.hit->pattern, "/leads/export");
  m = r.match(http::verb::get, "/leads/5");
  ASSERT_TRUE(m.hit);
  EXPECT_EQ(m.hit->pattern, "/leads/{id}");
}

TEST(router, allow_lists_methods_by_name_not_substring) {
  // UNLOCK contains LOCK; both must be listed.
  router r;
  std::string ran;
  ASSERT_TRUE(r.add(http::verb::unlock, "/dav", tag(&ran, "unlock")));
  ASSERT_TRUE(r.add(http::verb::lock, "/dav", tag(&ran, "lock")));
  auto m = r.match(http::verb::get, "/dav");
  EXPECT_FALSE(m.hit);
  EXPECT_EQ(m.allow, "UNLOCK, LOCK");
}

// -- dispatcher: the one place every answer passes ---------------------------

using answers = std::shared_ptr<std::vector<http_response>>;

/// Dispatches `method path`; the answers given so far (and later ones).
answers dispatch_live(const dispatcher& d, http::verb method,
                      const std::string& path,
                      const std::string& request_id = {}) {
  auto req = std::make_shared<request>();
  req->msg.method(method);
  req->msg.target(path);
  if (!request_id.empty())
    req->msg.set("X-Request-Id", request_id);
  req->path = path;
  auto out = std::make_shared<std::vector<http_response>>();
  d.dispatch(req, [out](http_response res) { out->push_back(std::move(res)); });
  return out;
}

std::vector<http_response> dispatch(const dispatcher& d, http::verb method,
                                    const std::string& path,
                                    const std::string& request_id = {}) {
  return *dispatch_live(d, method, path, request_id);
}

TEST(dispatcher, answers_404_405_and_handler_responses_with_ids) {
  router r;
  r.add(http::verb::get, "/ok", [](request_ptr req, responder res) {
    res(json_response(http::status::ok, "{}"));
    res(json_response(http::status::accepted, "{}")); // ignored
  });
  dispatcher d{std::move(r), nullptr};
  auto got = dispatch(d, http::verb::get, "/ok", "given-id");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].result(), http::status::ok);
  EXPECT_EQ(got[0]["X-Request-Id"], "given-id");
  got = dispatch(d, http::verb::get, "/missing");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].result(), http::status::not_found);
  EXPECT_FALSE(got[0]["X-Request-Id"].empty());
  got = dispatch(d, http::verb::post, "/ok");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].result(), http::status::method_not_allowed);
  EXPECT_EQ(got[0][http::field::allow], "GET");
}

TEST(dispatcher, a_throwing_handler_gets_500) {
  router r;
  r.add(http::verb::get, "/throw",
        [](request_ptr, responder) { throw std::runtime_error("boom"); });
  dispatcher d{std::move(r), nullptr};
  auto got = dispatch(d, http::verb::get, "/throw");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].result(), http::status::internal_server_error);
  EXPECT_EQ(got[0].body().find("boom"), std::string::npos); // no internals
}

TEST(dispatcher, a_dropped_responder_gets_500_not_silence) {
  router r;
  responder kept;
  r.add(http::verb::get, "/drop", [](request_ptr, responder) {
    // Forgets to answer: the responder goes away unanswered.
  });
  r.add(http::verb::get, "/later", [&kept](request_ptr, responder res) {
    kept = res; // answers later
  });
  dispatcher d{std::move(r), nullptr};
  auto got = dispatch(d, http::verb::get, "/drop");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].result(), http::status::internal_server_error);
  EXPECT_FALSE(got[0]["X-Request-Id"].empty());

  auto later = dispatch_live(d, http::verb::get, "/later");
  EXPECT_TRUE(later->empty()); // still pending, not failed
  kept(json_response(http::status::ok, "{}"));
  kept = responder{};
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ((*later)[0].result(), http::status::ok);
}

} // namespace
} // namespace al
