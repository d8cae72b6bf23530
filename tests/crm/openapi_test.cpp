// docs/openapi.json against the service: every route the router registers
// is an operation of the document and every operation a registered route;
// every operation answers with a schema (or explicitly with no content);
// every $ref resolves; GET /api/openapi.json serves exactly this file; and
// every route of docs/api.md is in it (api.md stays the human-readable
// reference; RouteTable.EveryRouteIsDocumentedInApiMd checks the router
// against api.md). Structural validation against the OpenAPI 3.1 schema is
// the ctest `openapi_validate` (tests/openapi/validate.mjs).
#include "tests/support/app_fixture.hpp"

#include "app/app.hpp"
#include "transport/router.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace al::test {
namespace {

namespace json = boost::json;

std::string read_source(const std::string& relative) {
  std::ifstream in{std::string{AL_SOURCE_DIR} + "/" + relative,
                   std::ios::binary};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// "GET /path" of every operation of the document.
std::set<std::string> document_operations(const json::object& doc) {
  static const std::set<std::string> methods{
    "get", "put", "post", "delete", "options", "head", "patch", "trace"};
  std::set<std::string> out;
  for (auto& [path, item] : doc.at("paths").as_object())
    for (auto& [method, op] : item.as_object())
      if (methods.count(std::string{method})) {
        std::string m{method};
        for (auto& c : m)
          c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        out.insert(m + " " + std::string{path});
      }
  return out;
}

/// Every "$ref" string anywhere in `v`, with where it was found.
void collect_refs(const json::value& v, const std::string& at,
                  std::vector<std::pair<std::string, std::string>>& out) {
  if (auto* o = v.if_object()) {
    for (auto& [k, x] : *o) {
      if (k == "$ref" && x.is_string())
        out.emplace_back(std::string{x.as_string()}, at);
      else
        collect_refs(x, at + "/" + std::string{k}, out);
    }
  } else if (auto* a = v.if_array()) {
    for (std::size_t i = 0; i < a->size(); ++i)
      collect_refs((*a)[i], at + "/" + std::to_string(i), out);
  }
}

/// `v` itself, or what its "$ref" points to (one level).
const json::value& deref(const json::value& doc, const json::value& v) {
  if (auto* o = v.if_object())
    if (auto* r = o->if_contains("$ref"); r && r->is_string()) {
      std::string ref{r->as_string()};
      json::error_code ec;
      if (ref.rfind("#", 0) == 0)
        if (auto* hit = doc.find_pointer(ref.substr(1), ec))
          return *hit;
    }
  return v;
}

class OpenApi : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    app_ = new running_app();
    text_ = new std::string(read_source("docs/openapi.json"));
    json::error_code ec;
    doc_ = new json::value(json::parse(*text_, ec));
    parse_error_ = ec ? ec.message() : "";
  }
  static void TearDownTestSuite() {
    delete doc_;
    delete text_;
    delete app_;
    doc_ = nullptr;
    text_ = nullptr;
    app_ = nullptr;
  }
  void SetUp() override {
    ASSERT_FALSE(text_->empty()) << "docs/openapi.json is missing";
    ASSERT_TRUE(parse_error_.empty())
      << "docs/openapi.json is not JSON: " << parse_error_;
    ASSERT_TRUE(doc_->is_object());
  }

  static const json::object& doc() {
    return doc_->as_object();
  }

  /// "METHOD /pattern" of every route, from a router built the way the
  /// application builds its own.
  static std::set<std::string> registered() {
    router r;
    add_all_routes(r, app_->svc());
    std::set<std::string> out;
    for (auto& rt : r.routes())
      out.insert(std::string{http::to_string(rt.method)} + " " + rt.pattern);
    return out;
  }

  static running_app* app_;
  static std::string* text_;
  static json::value* doc_;
  static std::string parse_error_;
};

running_app* OpenApi::app_ = nullptr;
std::string* OpenApi::text_ = nullptr;
json::value* OpenApi::doc_ = nullptr;
std::string OpenApi::parse_error_;

TEST_F(OpenApi, IsOpenApi31) {
  EXPECT_EQ(doc().at("openapi").as_string(), "3.1.0");
  EXPECT_TRUE(doc().at("info").as_object().contains("title"));
  EXPECT_TRUE(doc().at("components").as_object().contains("schemas"));
}

TEST_F(OpenApi, EveryRegisteredRouteIsAnOperation) {
  auto ops = document_operations(doc());
  auto routes = registered();
  ASSERT_GT(routes.size(), 30u);
  for (auto& r : routes)
    EXPECT_TRUE(ops.count(r)) << "docs/openapi.json has no operation for `" << r
                              << "` (a registered route)";
}

TEST_F(OpenApi, EveryOperationIsARegisteredRoute) {
  auto routes = registered();
  for (auto& op : document_operations(doc()))
    EXPECT_TRUE(routes.count(op)) << "docs/openapi.json describes `" << op
                                  << "`, which the router does not register";
}

TEST_F(OpenApi, EveryOperationIsComplete) {
  // An id and a tag (client generators name methods and classes by them),
  // path parameters for every {placeholder}, and an answer that is either a
  // body with a schema or an explicit "no content".
  std::set<std::string> ids;
  const json::value& whole = *doc_;
  for (auto& [path, item_v] : doc().at("paths").as_object()) {
    auto& item = item_v.as_object();
    std::set<std::string> wanted;
    static const std::regex placeholder("\\{([^}]+)\\}");
    std::string p{path};
    for (auto it = std::sregex_iterator(p.begin(), p.end(), placeholder);
         it != std::sregex_iterator(); ++it)
      wanted.insert((*it)[1].str());
    for (auto& [method, op_v] : item) {
      if (method == "parameters")
        continue;
      auto where = std::string{method} + " " + p;
      auto& op = op_v.as_object();
      ASSERT_TRUE(op.contains("operationId")) << where;
      EXPECT_TRUE(
        ids.insert(std::string{op.at("operationId").as_string()}).second)
        << where << ": operationId used twice";
      EXPECT_TRUE(op.contains("tags") && !op.at("tags").as_array().empty())
        << where << ": no tag";
      EXPECT_TRUE(op.contains("summary")) << where << ": no summary";

      std::set<std::string> declared;
      for (auto* list :
           {item.if_contains("parameters"), op.if_contains("parameters")})
        if (list)
          for (auto& prm : list->as_array()) {
            auto& q = deref(whole, prm).as_object();
            if (q.at("in").as_string() == "path")
              declared.insert(std::string{q.at("name").as_string()});
          }
      EXPECT_EQ(declared, wanted) << where << ": path parameters";

      bool answers = false;
      for (auto& [code, resp_v] : op.at("responses").as_object()) {
        if (code.empty() || code[0] != '2')
          continue;
        auto& resp = deref(whole, resp_v).as_object();
        auto* content = resp.if_contains("content");
        if (code == "204") {
          EXPECT_TRUE(!content || content->as_object().empty())
            << where << ": a 204 with a body";
          answers = true;
          continue;
        }
        if (!content || content->as_object().empty())
          continue;
        bool all_have_schema = true;
        for (auto& [type, media] : content->as_object())
          all_have_schema = all_have_schema
                            && media.as_object().contains("schema");
        EXPECT_TRUE(all_have_schema)
          << where << " " << code << ": a media type without a schema";
        answers = answers || all_have_schema;
      }
      EXPECT_TRUE(answers) << where
                           << ": no 2xx response with a schema, and no 204";

      // /api/* needs the bearer token, but for the routes meant for anyone
      // (this document, the sign-in that hands out a token, and the CORS
      // preflight of a web form's lead intake).
      static const std::set<std::string> public_api{
        "get /api/openapi.json", "post /api/auth/sign-in",
        "options /api/leads/intake"};
      bool api = p.rfind("/api/", 0) == 0 && !public_api.count(where);
      bool bearer = false;
      if (auto* sec = op.if_contains("security"))
        for (auto& req : sec->as_array())
          bearer = bearer || req.as_object().contains("bearerAuth");
      EXPECT_EQ(bearer, api) << where << ": security";
    }
  }
  EXPECT_GT(ids.size(), 30u);
}

TEST_F(OpenApi, EveryRefResolves) {
  std::vector<std::pair<std::string, std::string>> refs;
  collect_refs(*doc_, "", refs);
  ASSERT_FALSE(refs.empty());
  std::set<std::string> used;
  for (auto& [ref, at] : refs) {
    ASSERT_EQ(ref.rfind("#/", 0), 0u)
      << at << ": $ref " << ref << " is not local to the document";
    json::error_code ec;
    EXPECT_NE(doc_->find_pointer(ref.substr(1), ec), nullptr)
      << at << ": $ref " << ref << " does not resolve";
    used.insert(ref);
  }
  // And nothing in components/schemas is dead weight.
  for (auto& [name, schema] : doc().at("components").at("schemas").as_object())
    EXPECT_TRUE(used.count("#/components/schemas/" + std::string{name})
                || name == "Page")
      << "components/schemas/" << name << " is never used";
}

TEST_F(OpenApi, ServedAtApiOpenapiJsonWithoutAuth) {
  auto r = http_call(app_->port(), "GET", "/api/openapi.json");
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_TRUE(r.body == *text_)
    << "GET /api/openapi.json is not docs/openapi.json (rebuild: CMake "
       "embeds the file at configure time)";
  auto etag = r.header("etag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(r.header("cache-control"), "no-cache");

  auto again = http_call(app_->port(), "GET", "/api/openapi.json", {},
                         {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.header("etag"), etag);

  auto stale = http_call(app_->port(), "GET", "/api/openapi.json", {},
                         {{"If-None-Match", "\"0000\""}});
  EXPECT_EQ(stale.status, 200);
  // Another method is a 405 like everywhere.
  EXPECT_EQ(http_call(app_->port(), "POST", "/api/openapi.json", "{}").status,
            405);
}

TEST_F(OpenApi, EveryRouteOfApiMdIsInTheDocument) {
  auto md = read_source("docs/api.md");
  ASSERT_FALSE(md.empty()) << "docs/api.md is missing";
  auto ops = document_operations(doc());
  static const std::regex heading(
    "### `(GET|POST|PUT|PATCH|DELETE|OPTIONS) ([^`]+)`.*");
  std::set<std::string> documented;
  std::istringstream lines{md};
  std::smatch m;
  for (std::string line; std::getline(lines, line);)
    if (std::regex_match(line, m, heading))
      documented.insert(m[1].str() + " " + m[2].str());
  ASSERT_GT(documented.size(), 30u);
  for (auto& d : documented)
    EXPECT_TRUE(ops.count(d))
      << "docs/api.md documents `" << d << "`, docs/openapi.json does not";
  for (auto& op : ops)
    EXPECT_TRUE(documented.count(op)) << "docs/openapi.json describes `" << op
                                      << "`, docs/api.md has no heading for it";
}

} // namespace
} // namespace al::test
