// The HTTP surface of the foundation over real sockets, against the whole
// service in-process: routing errors (404/405/413/400), X-Request-Id,
// keep-alive and pipelining, hostile input, health/version/metrics, bearer
// authentication and the admin provisioning routes (SPEC §2).
#include "tests/support/app_fixture.hpp"

#include "core/json.hpp"
#include "core/secret_box.hpp"
#include "transport/services.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <functional>
#include <regex>
#include <string>
#include <vector>

namespace al::test {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

const std::string admin = "test-admin";

/// One app for the whole suite: starting one costs a database and
/// migrations.
class http_test : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    app_ = new running_app();
  }
  static void TearDownTestSuite() {
    delete app_;
    app_ = nullptr;
  }

  static std::uint16_t port() {
    return app_->port();
  }

  static running_app* app_;
};

running_app* http_test::app_ = nullptr;

/// Parses `body` as a JSON object (the test fails otherwise).
struct parsed {
  json_doc doc;
  simdjson::dom::object obj;
  bool ok = false;
  explicit parsed(const std::string& body) {
    if (!doc.parse(body)) {
      ADD_FAILURE() << "not JSON: " << body.substr(0, 200);
      return;
    }
    auto o = doc.object();
    if (!o) {
      ADD_FAILURE() << "not a JSON object: " << body.substr(0, 200);
      return;
    }
    obj = *o;
    ok = true;
  }
  std::string str(std::string_view key) const {
    auto f = get_string(obj, key);
    return f.ok() ? std::string{f.value} : std::string{};
  }
  std::int64_t num(std::string_view key) const {
    auto f = get_int(obj, key);
    return f.ok() ? f.value : -1;
  }
};

/// A `{"success":false,"error":...}` body.
void expect_json_error(const http_result& r) {
  EXPECT_NE(r.header("Content-Type").find("application/json"),
            std::string::npos);
  parsed p{r.body};
  if (!p.ok)
    return;
  auto success = get_bool(p.obj, "success");
  EXPECT_TRUE(success.ok() && !success.value) << r.body;
  EXPECT_FALSE(p.str("error").empty()) << r.body;
}

/// Every response carries a request id.
void expect_request_id(const http_result& r) {
  EXPECT_FALSE(r.header("X-Request-Id").empty()) << r.status << " " << r.body;
}

/// Writes `bytes`, half-closes, reads until the server closes (or timeout).
std::string send_and_half_close(std::uint16_t port, const std::string& bytes,
                                std::chrono::milliseconds timeout
                                = std::chrono::seconds(3)) {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  stream.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
  stream.expires_after(timeout);
  beast::error_code ec;
  net::write(stream, net::buffer(bytes), ec);
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  // Asynchronous reads, so that the stream's deadline applies.
  std::string out;
  char buf[4096];
  std::function<void()> read_more = [&] {
    stream.async_read_some(net::buffer(buf),
                           [&](beast::error_code e, std::size_t n) {
                             out.append(buf, n);
                             if (!e)
                               read_more();
                           });
  };
  read_more();
  ioc.run();
  return out;
}

/// Status codes of every HTTP response in a raw byte stream, in order.
std::vector<int> statuses(const std::string& raw) {
  std::vector<int> out;
  std::regex re{"HTTP/1\\.1 (\\d{3}) "};
  for (auto i = std::sregex_iterator(raw.begin(), raw.end(), re);
       i != std::sregex_iterator(); ++i)
    out.push_back(std::stoi((*i)[1].str()));
  return out;
}

// -- routing ------------------------------------------------------------------

TEST_F(http_test, unknown_path_is_404_json) {
  for (auto path : {"/nope", "/api/nothing/here", "/healthz/", "/HEALTHZ"}) {
    auto r = http_call(port(), "GET", path);
    EXPECT_EQ(r.status, 404) << path;
    expect_json_error(r);
    expect_request_id(r);
  }
}

TEST_F(http_test, wrong_method_is_405_with_allow) {
  auto r = http_call(port(), "DELETE", "/healthz");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "GET");
  expect_json_error(r);
  expect_request_id(r);

  r = http_call(port(), "GET", "/webhook/incoming_call");
  EXPECT_EQ(r.status, 405);
  EXPECT_NE(r.header("Allow").find("POST"), std::string::npos)
    << r.header("Allow");

  // Every method of the path is listed.
  r = http_call(port(), "PUT", "/api/admin/businesses");
  EXPECT_EQ(r.status, 405);
  auto allow = r.header("Allow");
  EXPECT_NE(allow.find("GET"), std::string::npos) << allow;
  EXPECT_NE(allow.find("POST"), std::string::npos) << allow;
}

TEST_F(http_test, body_over_one_mib_is_413) {
  // Just over the limit, and far over it: the client, still busy sending
  // the body, must get the answer rather than a reset connection.
  for (std::size_t size : {1024 * 1024 + 1, 6 * 1024 * 1024}) {
    std::string big(size, 'x');
    http_result r;
    try {
      r = http_call(port(), "POST", "/api/admin/businesses", big,
                    {{"Authorization", "Bearer " + admin},
                     {"Content-Type", "application/json"}});
    } catch (const std::exception& e) {
      ADD_FAILURE() << size << " bytes: " << e.what();
      continue;
    }
    EXPECT_EQ(r.status, 413) << size;
    expect_json_error(r);
    expect_request_id(r);
  }
  // The declared length alone is enough: no need to send the body.
  auto raw = raw_exchange(port(), "POST /api/admin/businesses HTTP/1.1\r\n"
                                  "Host: t\r\nContent-Length: 5000000\r\n\r\n");
  EXPECT_EQ(statuses(raw), std::vector<int>{413}) << raw;
}

TEST_F(http_test, body_of_exactly_one_mib_is_accepted) {
  std::string head = R"({"name":"Big body","pad":")";
  std::string tail = R"("})";
  std::string body
    = head + std::string(1024 * 1024 - head.size() - tail.size(), 'p') + tail;
  ASSERT_EQ(body.size(), 1024u * 1024u);
  auto r = api_call(port(), "POST", "/api/admin/businesses", admin, body);
  EXPECT_EQ(r.status, 201) << r.body.substr(0, 200);
}

TEST_F(http_test, malformed_json_is_400) {
  const std::vector<std::string> bodies
    = {"{bad",
       "",
       "[1,2]",
       "\"text\"",
       "{\"name\":\"x\"} extra",
       std::string(200, '[') + std::string(200, ']'),
       "{\"name\":\"\xff\"}"};
  for (auto& body : bodies) {
    auto r = api_call(port(), "POST", "/api/admin/businesses", admin, body);
    EXPECT_EQ(r.status, 400) << body.substr(0, 40) << " -> " << r.body;
    expect_json_error(r);
    expect_request_id(r);
  }
}

TEST_F(http_test, malformed_form_is_400) {
  auto r = http_call(port(), "POST", "/webhook/stream_ended", "CallSid=%zz",
                     {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(r.status, 400);
  expect_json_error(r);
}

// -- request ids --------------------------------------------------------------

TEST_F(http_test, request_id_is_echoed_when_sane) {
  auto r = http_call(port(), "GET", "/healthz", {},
                     {{"X-Request-Id", "trace-abc_123.4"}});
  EXPECT_EQ(r.header("X-Request-Id"), "trace-abc_123.4");
  // Unsafe or oversized ids are replaced, never reflected.
  for (std::string bad : {std::string{"has space"}, std::string{"a\"b<c>"},
                          std::string(65, 'a')}) {
    r = http_call(port(), "GET", "/healthz", {}, {{"X-Request-Id", bad}});
    EXPECT_EQ(r.status, 200);
    auto id = r.header("X-Request-Id");
    EXPECT_FALSE(id.empty());
    EXPECT_NE(id, bad);
  }
  // Generated ids differ.
  auto a = http_call(port(), "GET", "/healthz").header("X-Request-Id");
  auto b = http_call(port(), "GET", "/healthz").header("X-Request-Id");
  EXPECT_NE(a, b);
}

// -- connections ------------------------------------------------------------

TEST_F(http_test, keep_alive_serves_two_requests_on_one_connection) {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port()});
  beast::flat_buffer buf;
  for (auto target : {"/healthz", "/version"}) {
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "t");
    http::write(stream, req);
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    EXPECT_EQ(res.result_int(), 200) << target;
    EXPECT_TRUE(res.keep_alive()) << target;
    EXPECT_FALSE(res["X-Request-Id"].empty());
  }
  // HTTP/1.0 without keep-alive: answered, then closed.
  http::request<http::string_body> req{http::verb::get, "/healthz", 10};
  http::write(stream, req);
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  EXPECT_EQ(res.result_int(), 200);
  beast::error_code ec;
  char c;
  stream.read_some(net::buffer(&c, 1), ec);
  EXPECT_EQ(ec, net::error::eof);
}

TEST_F(http_test, a_target_with_raw_utf8_reads_as_its_percent_encoded_form) {
  // What curl sends for the README's example: Hebrew as typed.
  auto ask = [&](const std::string& target) {
    return raw_exchange(port(), "GET " + target
                                  + " HTTP/1.1\r\nHost: t\r\n"
                                    "Authorization: Bearer "
                                  + admin + "\r\nConnection: close\r\n\r\n");
  };
  auto raw = ask("/api/crm/leads?q=\xD7\x9B\xD7\x94\xD7\x9F&business_id=1");
  auto encoded = ask("/api/crm/leads?q=%D7%9B%D7%94%D7%9F&business_id=1");
  EXPECT_EQ(statuses(raw), std::vector<int>{200}) << raw;
  EXPECT_EQ(statuses(encoded), std::vector<int>{200});
  EXPECT_NE(raw.find("\"items\""), std::string::npos) << raw;
  // Bytes that are not UTF-8, or a space: still a clear 400.
  auto bad = ask("/api/crm/leads?q=\xFF\xFE");
  EXPECT_EQ(statuses(bad), std::vector<int>{400}) << bad;
  EXPECT_NE(bad.find("percent-encode"), std::string::npos) << bad;
}

TEST_F(http_test, pipelined_requests_are_answered_in_order) {
  // A database round trip first, then two instant answers: the order holds.
  auto raw = raw_exchange(port(),
                          "GET /readyz HTTP/1.1\r\nHost: t\r\n"
                          "X-Request-Id: pipe-1\r\n\r\n"
                          "GET /nope HTTP/1.1\r\nHost: t\r\n"
                          "X-Request-Id: pipe-2\r\n\r\n"
                          "GET /healthz HTTP/1.1\r\nHost: t\r\n"
                          "X-Request-Id: pipe-3\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(statuses(raw), (std::vector<int>{200, 404, 200})) << raw;
  auto p1 = raw.find("pipe-1");
  auto p2 = raw.find("pipe-2");
  auto p3 = raw.find("pipe-3");
  ASSERT_NE(p1, std::string::npos) << raw;
  ASSERT_NE(p2, std::string::npos) << raw;
  ASSERT_NE(p3, std::string::npos) << raw;
  EXPECT_LT(p1, p2);
  EXPECT_LT(p2, p3);
  EXPECT_LT(raw.find("\"ready\""), p2);
}

TEST_F(http_test, hostile_input_never_crashes) {
  struct hostile {
    const char* what;
    std::string bytes;
    std::vector<int> allowed; // acceptable statuses; empty = no answer ok
  };
  std::string huge_header = "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: "
                            + std::string(20 * 1024, 'a') + "\r\n\r\n";
  std::string many_headers = "GET /healthz HTTP/1.1\r\nHost: t\r\n";
  for (int i = 0; i < 2000; ++i)
    many_headers += "X-H" + std::to_string(i) + ": v\r\n";
  many_headers += "\r\n";
  std::string garbage;
  for (int i = 0; i < 4096; ++i)
    garbage.push_back(static_cast<char>((i * 7919 + 13) % 256));
  const std::vector<hostile> cases = {
    {"truncated headers", "GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: b", {400}},
    {"truncated body",
     "POST /api/admin/businesses HTTP/1.1\r\nHost: t\r\n"
     "Authorization: Bearer test-admin\r\nContent-Length: 100\r\n\r\n{\"na",
     {400}},
    {"20 KB header", huge_header, {431}},
    {"many headers", many_headers, {431}},
    {"raw invalid UTF-8 in path",
     "GET /\xff\xfe\xfd HTTP/1.1\r\nHost: t\r\n\r\n",
     {400, 404}},
    {"encoded invalid UTF-8 in path",
     "GET /api/crm/leads/%ff%fe HTTP/1.1\r\nHost: t\r\n\r\n",
     {400, 401, 404}},
    {"encoded NUL in path",
     "GET /healthz%00 HTTP/1.1\r\nHost: t\r\n\r\n",
     {400, 404}},
    {"non-numeric Content-Length",
     "POST /api/admin/businesses HTTP/1.1\r\nHost: t\r\n"
     "Content-Length: abc\r\n\r\n{}",
     {400}},
    {"negative Content-Length",
     "POST /api/admin/businesses HTTP/1.1\r\nHost: t\r\n"
     "Content-Length: -5\r\n\r\n{}",
     {400}},
    {"conflicting Content-Length",
     "POST /api/admin/businesses HTTP/1.1\r\nHost: t\r\n"
     "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
     {400}},
    {"bad chunk size",
     "POST /api/admin/businesses HTTP/1.1\r\nHost: t\r\n"
     "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
     {400}},
    {"garbage bytes", garbage, {400}},
    {"spaces in request line", "GET /a b c HTTP/1.1\r\nHost: t\r\n\r\n", {400}},
    {"no version", "GET /healthz\r\n\r\n", {400}},
    {"header without colon",
     "GET /healthz HTTP/1.1\r\nHost t\r\nBroken\r\n\r\n",
     {400}},
    {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {400}},
    {"absolute-form target",
     "GET http://evil.example/healthz HTTP/1.1\r\nHost: t\r\n\r\n",
     {400}},
    {"only CRLFs", std::string(1000, '\n'), {400}},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto raw = send_and_half_close(port(), c.bytes);
    auto got = statuses(raw);
    if (got.empty()) {
      // Closing without an answer is acceptable only for pure noise.
      EXPECT_TRUE(c.allowed.empty() || std::string{c.what} == "garbage bytes"
                  || std::string{c.what} == "only CRLFs")
        << "no response for " << c.what;
    } else {
      EXPECT_NE(std::find(c.allowed.begin(), c.allowed.end(), got.front()),
                c.allowed.end())
        << c.what << " -> " << got.front();
      EXPECT_NE(raw.find("X-Request-Id"), std::string::npos) << raw;
    }
    ASSERT_EQ(http_call(port(), "GET", "/healthz").status, 200)
      << "server unhealthy after: " << c.what;
  }
  // A connection that just goes away mid-request.
  auto t0 = std::chrono::steady_clock::now();
  raw_exchange(port(),
               "POST /api/admin/businesses HTTP/1.1\r\nHost: t\r\n"
               "Content-Length: 50\r\n\r\n{",
               std::chrono::milliseconds(100));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(http_call(port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(http_call(port(), "GET", "/readyz").status, 200);
}

// -- health -------------------------------------------------------------------

TEST_F(http_test, health_endpoints) {
  for (auto path : {"/", "/healthz", "/readyz"}) {
    auto r = http_call(port(), "GET", path);
    EXPECT_EQ(r.status, 200) << path << " " << r.body;
    expect_request_id(r);
  }
  auto ready = parsed{http_call(port(), "GET", "/readyz").body};
  EXPECT_EQ(ready.str("status"), "ready");
}

TEST_F(http_test, version_reports_build) {
  auto r = http_call(port(), "GET", "/version");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.header("Content-Type").find("application/json"),
            std::string::npos);
  parsed p{r.body};
  EXPECT_FALSE(p.str("commit").empty()) << r.body;
  EXPECT_FALSE(p.str("built_at").empty()) << r.body;
  // Without DEPLOY_ID the deploy id is the commit.
  EXPECT_EQ(p.str("deploy_id"), p.str("commit"));
}

TEST(http_version, deploy_id_overrides) {
  auto cfg = test_config();
  cfg.deploy_id = "release-2026-11-30";
  running_app app{cfg};
  auto r = http_call(app.port(), "GET", "/version");
  ASSERT_EQ(r.status, 200);
  parsed p{r.body};
  EXPECT_EQ(p.str("deploy_id"), "release-2026-11-30");
  EXPECT_NE(p.str("commit"), "release-2026-11-30");
  EXPECT_FALSE(p.str("commit").empty());
}

TEST_F(http_test, metrics_are_prometheus_text) {
  http_call(port(), "GET", "/healthz");
  http_call(port(), "GET", "/definitely-missing");
  auto r = http_call(port(), "GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.header("Content-Type").find("text/plain"), std::string::npos);
  for (auto name : {"al_http_requests_total", "al_db_write_queue_depth",
                    "al_http_request_duration_seconds", "al_db_pool_in_use",
                    "al_supervisor_restarts_total", "al_active_calls",
                    "al_webhook_duration_seconds", "al_first_audio_seconds"})
    EXPECT_NE(r.body.find(name), std::string::npos) << name;
  EXPECT_NE(r.body.find("# TYPE al_http_requests_total counter"),
            std::string::npos);
  // Requests are labelled by route pattern, not by raw path.
  EXPECT_NE(r.body.find("/healthz"), std::string::npos);
  EXPECT_EQ(r.body.find("/definitely-missing"), std::string::npos);
}

// -- authentication and provisioning ----------------------------------------

TEST_F(http_test, admin_routes_need_the_admin_token) {
  auto r = http_call(port(), "GET", "/api/admin/businesses");
  EXPECT_EQ(r.status, 401);
  expect_json_error(r);
  r = api_call(port(), "GET", "/api/admin/businesses", "wrong-token");
  EXPECT_EQ(r.status, 401);
  expect_json_error(r);
  r = http_call(port(), "GET", "/api/admin/businesses", {},
                {{"Authorization", "Basic dGVzdC1hZG1pbg=="}});
  EXPECT_EQ(r.status, 401);
  r = http_call(port(), "GET", "/api/admin/businesses", {},
                {{"Authorization", "Bearer "}});
  EXPECT_EQ(r.status, 401);
  r = api_call(port(), "GET", "/api/admin/businesses", admin);
  EXPECT_EQ(r.status, 200) << r.body;
  parsed p{r.body};
  EXPECT_TRUE(get_array(p.obj, "items").ok());
  // The default business exists from the first start.
  r = api_call(port(), "GET", "/api/admin/businesses/1", admin);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(parsed{r.body}.str("name"), "Default");
}

TEST_F(http_test, create_business_full_shape) {
  auto r = api_call(port(), "POST", "/api/admin/businesses", admin, R"({
    "name": "Sharon Realty",
    "phone_numbers": ["+97231234567", "+972 3-765-4321"],
    "greeting": "shalom",
    "prompt": "be kind",
    "voice_engine": "local",
    "twilio": {"account_sid": "ACsharon", "auth_token": "TWILIO-SECRET-1"},
    "whatsapp": {"from": "whatsapp:+97231234567", "provider": "twilio"},
    "payments": {"enabled": true, "default_provider": "paypal",
                 "paypal_client_id": "pp-id", "paypal_secret": "PP-SECRET-2",
                 "tranzila_terminal": "term1"},
    "working_hours": {"sun": ["09:00", "18:00"]}
  })");
  ASSERT_EQ(r.status, 201) << r.body;
  parsed p{r.body};
  auto id = p.num("id");
  EXPECT_GT(id, 1);
  EXPECT_EQ(p.str("name"), "Sharon Realty");
  // Secrets are write-only: never in any answer.
  EXPECT_EQ(r.body.find("TWILIO-SECRET-1"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("PP-SECRET-2"), std::string::npos) << r.body;
  auto again = api_call(port(), "GET",
                        "/api/admin/businesses/" + std::to_string(id), admin);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body.find("TWILIO-SECRET-1"), std::string::npos);
  EXPECT_EQ(again.body.find("PP-SECRET-2"), std::string::npos);
  auto list = api_call(port(), "GET", "/api/admin/businesses", admin);
  EXPECT_EQ(list.body.find("TWILIO-SECRET-1"), std::string::npos);
  // ... but stored, sealed under SECRET_KEY (AES-256-GCM, core/secret_box).
  auto stored = sql_value(app_->cfg(),
                          "SELECT twilio_auth_token FROM businesses WHERE id = "
                            + std::to_string(id));
  EXPECT_EQ(stored.rfind("enc:v1:", 0), 0u) << stored;
  EXPECT_EQ(stored.find("TWILIO-SECRET-1"), std::string::npos);
  EXPECT_EQ(secrets::reveal(stored, "twilio_auth_token"),
            std::optional<std::string>{"TWILIO-SECRET-1"});
  EXPECT_EQ(sql_value(app_->cfg(),
                      "SELECT count(*) FROM phone_numbers WHERE business_id = "
                        + std::to_string(id)),
            "2");
  EXPECT_EQ(sql_value(app_->cfg(), "SELECT business_id FROM phone_numbers"
                                   " WHERE number = '+97237654321'"),
            std::to_string(id));

  // A number claimed by another business: 409.
  r = api_call(port(), "POST", "/api/admin/businesses", admin,
               R"({"name":"Copycat","phone_numbers":["+97231234567"]})");
  EXPECT_EQ(r.status, 409) << r.body;
  expect_json_error(r);
  EXPECT_EQ(sql_value(app_->cfg(),
                      "SELECT count(*) FROM businesses WHERE name = 'Copycat'"),
            "0");
}

TEST_F(http_test, create_business_validation) {
  auto r = api_call(port(), "POST", "/api/admin/businesses", admin,
                    R"({"greeting":"no name"})");
  EXPECT_EQ(r.status, 400);
  expect_json_error(r);
  EXPECT_NE(r.body.find("name"), std::string::npos) << r.body;
  for (auto body : {R"({"name":5})", R"({"name":""})", R"({"name":null})",
                    R"({"name":"x","phone_numbers":"+97231234567"})",
                    R"({"name":"x","phone_numbers":[5]})",
                    R"({"name":"x","phone_numbers":["not a phone"]})",
                    R"({"name":"x","voice_engine":"robot"})",
                    R"({"name":"x","twilio":"AC"})",
                    R"({"name":"x","payments":{"enabled":"yes"}})",
                    R"({"name":"x","payments":{"default_provider":"stripe"}})",
                    R"({"name":"x","working_hours":{"mon":"all day"}})"}) {
    r = api_call(port(), "POST", "/api/admin/businesses", admin, body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    expect_json_error(r);
  }
}

TEST_F(http_test, patch_business_subset) {
  auto r = api_call(port(), "POST", "/api/admin/businesses", admin,
                    R"({"name":"Patchable","greeting":"old",)"
                    R"("phone_numbers":["+97239990001"]})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto id = std::to_string(parsed{r.body}.num("id"));
  r = api_call(port(), "PATCH", "/api/admin/businesses/" + id, admin,
               R"({"greeting":"new greeting"})");
  ASSERT_EQ(r.status, 200) << r.body;
  parsed p{r.body};
  EXPECT_EQ(p.str("greeting"), "new greeting");
  EXPECT_EQ(p.str("name"), "Patchable");
  EXPECT_NE(r.body.find("+97239990001"), std::string::npos) << r.body;

  r = api_call(port(), "PATCH", "/api/admin/businesses/" + id, admin,
               R"({"twilio":{"auth_token":"PATCHED-SECRET"}})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("PATCHED-SECRET"), std::string::npos);

  // Claimed elsewhere: 409; unknown id: 404; bad body: 400.
  r = api_call(port(), "POST", "/api/admin/businesses", admin,
               R"({"name":"Other","phone_numbers":["+97239990002"]})");
  ASSERT_EQ(r.status, 201);
  r = api_call(port(), "PATCH", "/api/admin/businesses/" + id, admin,
               R"({"phone_numbers":["+97239990002"]})");
  EXPECT_EQ(r.status, 409) << r.body;
  r = api_call(port(), "PATCH", "/api/admin/businesses/999999", admin,
               R"({"greeting":"x"})");
  EXPECT_EQ(r.status, 404);
  r = api_call(port(), "PATCH", "/api/admin/businesses/abc", admin,
               R"({"greeting":"x"})");
  EXPECT_EQ(r.status, 404);
  r = api_call(port(), "PATCH", "/api/admin/businesses/" + id, admin,
               R"({"name":7})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(sql_value(app_->cfg(),
                      "SELECT name FROM businesses WHERE id = " + id),
            "Patchable");
}

TEST_F(http_test, api_tokens_issue_use_revoke) {
  auto r = api_call(port(), "POST", "/api/admin/businesses", admin,
                    R"({"name":"Token Co"})");
  ASSERT_EQ(r.status, 201);
  auto business = std::to_string(parsed{r.body}.num("id"));

  r = api_call(port(), "POST", "/api/admin/tokens", admin,
               R"({"business_id":)" + business
                 + R"(,"role":"agent","name":"desk"})");
  ASSERT_EQ(r.status, 201) << r.body;
  parsed tok{r.body};
  auto token = tok.str("token");
  auto token_id = tok.num("id");
  ASSERT_FALSE(token.empty());
  ASSERT_GT(token_id, 0);
  // Stored hashed, never in clear.
  EXPECT_EQ(sql_value(app_->cfg(),
                      "SELECT count(*) FROM api_tokens WHERE token_hash = '"
                        + token + "'"),
            "0");

  // The token reads its business's CRM.
  r = api_call(port(), "GET", "/api/crm/leads", token);
  EXPECT_EQ(r.status, 200) << r.body;
  // ... but is not an administrator.
  r = api_call(port(), "GET", "/api/admin/businesses", token);
  EXPECT_EQ(r.status, 403) << r.body;
  expect_json_error(r);

  // Revoked: 401 from then on; revoking again: 404.
  r = api_call(port(), "DELETE",
               "/api/admin/tokens/" + std::to_string(token_id), admin);
  EXPECT_EQ(r.status, 200) << r.body;
  r = api_call(port(), "GET", "/api/crm/leads", token);
  EXPECT_EQ(r.status, 401);
  r = api_call(port(), "DELETE",
               "/api/admin/tokens/" + std::to_string(token_id), admin);
  EXPECT_EQ(r.status, 404);
}

TEST_F(http_test, api_token_validation) {
  for (auto body :
       {R"({"role":"agent"})", R"({"business_id":1,"role":"admin"})",
        R"({"business_id":1})", R"({"business_id":"1","role":"agent"})",
        R"({"business_id":0,"role":"agent"})",
        R"({"business_id":1,"role":"agent","name":5})"}) {
    auto r = api_call(port(), "POST", "/api/admin/tokens", admin, body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    expect_json_error(r);
  }
  auto r = api_call(port(), "POST", "/api/admin/tokens", admin,
                    R"({"business_id":424242,"role":"agent"})");
  EXPECT_EQ(r.status, 404) << r.body;
  // Tokens are for administrators only.
  r = http_call(port(), "POST", "/api/admin/tokens",
                R"({"business_id":1,"role":"owner"})",
                {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 401);
}

TEST(http_admin, admin_api_disabled_without_admin_token) {
  auto cfg = test_config();
  cfg.admin_token.clear();
  running_app app{cfg};
  auto r = api_call(app.port(), "GET", "/api/admin/businesses", "");
  EXPECT_EQ(r.status, 401);
  r = api_call(app.port(), "GET", "/api/admin/businesses", "anything");
  EXPECT_EQ(r.status, 401);
}

} // namespace
} // namespace al::test
