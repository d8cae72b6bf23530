// Hostile input against the whole service in-process (issue 10): malformed
// HTTP, hostile JSON and form bodies sent to EVERY registered route (taken
// from application::routes(), so a new route is covered the day it lands),
// hostile query strings on every GET route, WebSocket abuse on
// /ws/twilio-media and forged Twilio signatures. Whatever is sent: never a
// 500, the server still answers /healthz, every JSON answer parses, and
// the database is untouched by requests that must be refused.
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/twilio_signature.hpp"
#include "tests/support/app_fixture.hpp"
#include "tests/support/media_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

using namespace al;
using namespace al::test;
using namespace std::chrono_literals;

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

const std::string admin = "test-admin";
const std::string meta_secret = "hostile-meta-secret";
const std::string office = "+97231234567";
const std::string caller = "+972501234567";

// -- a client that never hangs on a streaming answer --------------------------

struct answer {
  int status = 0; // 0: no HTTP response at all
  std::string content_type;
  std::string body; // only for length-delimited answers
  bool has_body = false;
};

/// One request on a new connection. Reads the header, and the body only when
/// it is length-delimited (a streaming answer, such as server-sent events,
/// is not waited for).
answer probe(const std::string& method, const std::string& target,
             const std::string& body, const header_list& headers,
             std::uint16_t port) {
  answer out;
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  stream.expires_after(10s);
  beast::error_code ec;
  stream.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port}, ec);
  if (ec)
    return out;
  http::request<http::string_body> req{http::string_to_verb(method), target,
                                       11};
  req.set(http::field::host, "al.example.test");
  for (auto& [k, v] : headers)
    req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  // The server may answer (413, 401) and close before the body is all
  // written: read the answer anyway.
  http::write(stream, req, ec);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read_header(stream, buf, parser, ec);
  if (ec)
    return out;
  out.status = parser.get().result_int();
  out.content_type = std::string{parser.get()[http::field::content_type]};
  if (parser.content_length() || parser.is_done()) {
    http::read(stream, buf, parser, ec);
    if (!ec) {
      out.body = parser.get().body();
      out.has_body = true;
    }
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

/// Writes raw bytes, half-closes, reads until the server closes or 3 s pass.
std::string raw_half_close(std::uint16_t port, const std::string& bytes) {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  stream.expires_after(3s);
  beast::error_code ec;
  stream.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port}, ec);
  if (ec)
    return {};
  net::write(stream, net::buffer(bytes), ec);
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  std::string out;
  char chunk[4096];
  for (;;) {
    auto n = stream.read_some(net::buffer(chunk), ec);
    out.append(chunk, n);
    if (ec)
      break;
  }
  return out;
}

/// Status codes of every response in a raw exchange.
std::vector<int> statuses(const std::string& raw) {
  std::vector<int> out;
  std::regex re("HTTP/1\\.[01] ([0-9]{3}) ");
  for (auto it = std::sregex_iterator(raw.begin(), raw.end(), re);
       it != std::sregex_iterator(); ++it)
    out.push_back(std::stoi((*it)[1].str()));
  return out;
}

/// A string literal with its embedded NUL bytes.
template <std::size_t N>
std::string lit(const char (&s)[N]) {
  return std::string(s, N - 1);
}

std::size_t open_fds() {
  std::size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)e;
    ++n;
  }
  return n;
}

// -- hostile bodies -----------------------------------------------------------

struct body_case {
  std::string what;
  std::string body;
  bool must_reject; // never valid for any route: 4xx and no write
};

std::string repeat(const std::string& s, std::size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (std::size_t i = 0; i < n; ++i)
    out += s;
  return out;
}

/// A string member padding the object to `total` bytes.
std::string padded_object(const std::string& key, std::size_t total) {
  std::string head = "{\"" + key + "\":\"";
  return head + std::string(total - head.size() - 2, 'x') + "\"}";
}

const std::vector<body_case>& json_bodies() {
  static const std::vector<body_case> cases = [] {
    std::vector<body_case> c;
    // Not a JSON object at all: every JSON route must refuse these.
    c.push_back({"empty", "", true});
    c.push_back({"not json", "hello", true});
    c.push_back({"truncated", "{\"name\":\"x", true});
    c.push_back({"trailing garbage", "{\"name\":\"x\"} {}", true});
    c.push_back({"array root", "[{\"name\":\"x\"}]", true});
    c.push_back({"string root", "\"name\"", true});
    c.push_back({"number root", "12345678901234567890", true});
    c.push_back({"null root", "null", true});
    c.push_back(
      {"deep arrays", repeat("[", 100000) + repeat("]", 100000), true});
    c.push_back({"deep objects",
                 repeat("{\"a\":", 5000) + "1" + repeat("}", 5000), true});
    c.push_back(
      {"deep 65", repeat("{\"a\":", 65) + "1" + repeat("}", 65), true});
    c.push_back(
      {"invalid UTF-8 in a string", "{\"name\":\"\xff\xfe\xc3\x28\"}", true});
    c.push_back({"invalid UTF-8 in a key", "{\"\xc0\xaf\":1}", true});
    c.push_back({"lone surrogate escape", "{\"name\":\"\\ud800\"}", true});
    c.push_back({"raw NUL byte", lit("{\"name\":\"a\0b\"}"), true});
    c.push_back({"raw control char", "{\"name\":\"a\x01z\"}", true});
    c.push_back({"single quotes", "{'name':'x'}", true});
    c.push_back({"comments", "{/*c*/\"name\":\"x\"}", true});
    c.push_back({"NaN", "{\"amount\":NaN}", true});
    c.push_back({"leading zero", "{\"amount\":007}", true});
    c.push_back({"BOM", "\xef\xbb\xbf{\"name\":\"x\"}", true});
    c.push_back({"over 1 MiB", padded_object("name", 1024 * 1024 + 10), true});
    // Objects: may be accepted by some route, never a 500.
    c.push_back(
      {"1 MiB string", padded_object("name", 1024 * 1024 - 64), false});
    c.push_back(
      {"1 MiB unknown key", padded_object("zz", 1024 * 1024 - 64), false});
    c.push_back({"escaped NUL",
                 "{\"name\":\"a\\u0000b\",\"title\":\"\\u0000\","
                 "\"body\":\"\\u0000\",\"phone\":\"\\u0000\","
                 "\"notes\":\"\\u0000\",\"greeting\":\"\\u0000\"}",
                 false});
    c.push_back({"wrong types",
                 "{\"name\":[],\"phone\":{},\"title\":7,\"body\":[1],"
                 "\"statuses\":\"x\",\"amount\":{},\"currency\":5,\"to\":[],"
                 "\"business_id\":\"x\",\"role\":[],\"starts_at\":true,"
                 "\"lead_id\":\"abc\",\"tags\":\"x\",\"done\":\"yes\","
                 "\"greeting\":1,\"status\":[],\"message\":{},\"text\":[],"
                 "\"phone_numbers\":\"+972\",\"rooms\":\"many\","
                 "\"budget_min\":true,\"due_at\":[],\"description\":{}}",
                 false});
    c.push_back({"numbers as strings",
                 "{\"name\":\"n\",\"lead_id\":\"1\",\"amount\":\"100\","
                 "\"business_id\":\"1\",\"rooms\":\"3\",\"budget_min\":\"1\","
                 "\"max_live_calls\":\"2\",\"done\":\"true\"}",
                 false});
    c.push_back({"huge numbers",
                 "{\"lead_id\":1e400,\"amount\":18446744073709551616,"
                 "\"business_id\":-9223372036854775809,\"rooms\":1e308,"
                 "\"budget_min\":-0,\"max_live_calls\":99999999999999999999}",
                 false});
    c.push_back({"arrays instead of objects",
                 "{\"twilio\":[],\"whatsapp\":[1],\"payments\":\"x\","
                 "\"working_hours\":[[\"09:00\"]],\"statuses\":[[],1,null]}",
                 false});
    c.push_back({"nulls everywhere",
                 "{\"name\":null,\"phone\":null,\"title\":null,\"body\":null,"
                 "\"amount\":null,\"to\":null,\"statuses\":null,"
                 "\"business_id\":null,\"role\":null,\"starts_at\":null}",
                 false});
    c.push_back({"duplicate keys",
                 "{\"name\":\"first\",\"name\":\"second\",\"role\":\"owner\","
                 "\"role\":\"admin\",\"amount\":1,\"amount\":\"x\"}",
                 false});
    c.push_back({"empty object", "{}", false});
    c.push_back({"huge array",
                 "{\"tags\":[" + repeat("\"t\",", 100000)
                   + "\"t\"],\"statuses\":["
                   + repeat("{\"key\":\"k\",\"label\":\"l\"},", 1000) + "{}]}",
                 false});
    c.push_back(
      {"hebrew and emoji",
       "{\"name\":\"\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xf0\x9f\x8f\xa0\","
       "\"body\":\"\xe2\x80\xae\xd7\x90\"}",
       false});
    return c;
  }();
  return cases;
}

/// Form bodies for the Twilio webhooks (signed correctly, so that they get
/// past the signature to the parsing and the database).
const std::vector<std::pair<std::string, std::string>>& form_bodies() {
  static const std::vector<std::pair<std::string, std::string>> cases = [] {
    std::vector<std::pair<std::string, std::string>> c;
    c.emplace_back("empty", "");
    c.emplace_back("no CallSid", "From=%2B972501234567&To=%2B97231234567");
    c.emplace_back("NUL bytes",
                   "CallSid=CA%00x&From=%00&To=%00&MessageSid=SM%00"
                   "&MessageStatus=%00&Body=%00&CallStatus=%00");
    c.emplace_back("invalid UTF-8",
                   "CallSid=CA%FF%FE&From=%C3%28&To=%ED%A0%80&MessageSid=SM%FF"
                   "&MessageStatus=delivered&Body=%FF&ProfileName=%C0%AF"
                   "&CallStatus=%FF");
    c.emplace_back("huge values", "CallSid=CA" + std::string(100000, 'a')
                                    + "&From=" + std::string(50000, '9')
                                    + "&Body=" + std::string(200000, 'b')
                                    + "&MessageSid=SM" + std::string(10000, 's')
                                    + "&MessageStatus=sent");
    c.emplace_back("many parameters", [] {
      std::string s = "CallSid=CAmany";
      for (int i = 0; i < 20000; ++i)
        s += "&p" + std::to_string(i) + "=v";
      return s;
    }());
    c.emplace_back("repeated keys",
                   "CallSid=CA1&CallSid=CA2&From=%2B972501234567&From=x"
                   "&MessageSid=SM1&MessageSid=SM2&MessageStatus=read"
                   "&MessageStatus=failed");
    c.emplace_back("odd numbers",
                   "CallSid=CAodd&CallDuration=-99999999999999999999"
                   "&RecordingDuration=1e9&NumMedia=99999999999&NumMedia=-1"
                   "&SequenceNumber=abc&ErrorCode=%00&CallStatus=completed"
                   "&RecordingUrl=http%3A%2F%2F169.254.169.254%2Flatest");
    c.emplace_back("invalid UTF-8 in text fields only",
                   "CallSid=CAutf8&From=%2B972501234567&To=%2B97231234567"
                   "&AccountSid=ACtest&CallStatus=in-%FFprogress"
                   "&MessageSid=SMutf8&MessageStatus=deli%C3vered"
                   "&Body=%FF%FE&ProfileName=%ED%A0%80&ErrorMessage=%C0%AF"
                   "&StreamSid=MZ%FF&RecordingUrl=https%3A%2F%2Fx%FF");
    c.emplace_back("bad phones",
                   "CallSid=CAphone&From=whatsapp%3A%2B%2B%2B&To=%2B0000"
                   "&MessageSid=SMphone&Body=hi&Caller=%2B"
                     + std::string(40, '9'));
    c.emplace_back("a JSON body", "{\"CallSid\":\"CA1\"}");
    return c;
  }();
  return cases;
}

/// The GET query strings tried on every GET route.
const std::vector<std::string>& hostile_queries() {
  static const std::vector<std::string> q = {
    "?page=%zz",
    "?page=-1&per_page=100000000000000000000",
    "?page=0&per_page=0",
    "?q=%00&status=%FF%FE&tag=%C0%AF",
    "?from=9999-99-99&to=2024-02-30T25:61:00%2B99:99&lead_id=1e99",
    "?sort=%27%3B+DROP+TABLE+leads%3B--&order=sideways",
    "?q=" + std::string(6000, 'q'),
    "?" + repeat("a=1&", 1500),
    "?token=%00&hub.mode=subscribe&hub.verify_token=&hub.challenge="
      + std::string(300, 'c'),
    "?token=" + std::string(500, 't') + "&payment=-1&done=maybe",
  };
  return q;
}

// -- the fixture --------------------------------------------------------------

class hostile : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    auto cfg = test_config();
    cfg.meta_app_secret = meta_secret; // so that signed bodies get through
    cfg.meta_verify_token = "hostile-verify";
    // Calls made by hostile webhooks must not time out (and write) while a
    // later test compares database fingerprints.
    cfg.start_timeout = std::chrono::minutes(10);
    app_ = new running_app(cfg);
    auto biz = api_call(port(), "POST", "/api/admin/businesses", admin,
                        R"({"name":"Hostile Realty","phone_numbers":[")"
                          + office + R"("]})");
    ASSERT_EQ(biz.status, 201) << biz.body;
    json_doc d;
    ASSERT_TRUE(d.parse(biz.body));
    business_ = get_int(*d.object(), "id").value;
    auto tok = api_call(port(), "POST", "/api/admin/tokens", admin,
                        R"({"business_id":)" + std::to_string(business_)
                          + R"(,"role":"owner","name":"hostile"})");
    ASSERT_EQ(tok.status, 201) << tok.body;
    json_doc t;
    ASSERT_TRUE(t.parse(tok.body));
    owner_ = std::string{get_string(*t.object(), "token").value};
    auto lead = api_call(port(), "POST", "/api/crm/leads", owner_,
                         R"({"name":"Dana","phone":")" + caller + R"("})");
    ASSERT_EQ(lead.status, 201) << lead.body;
  }
  static void TearDownTestSuite() {
    delete app_;
    app_ = nullptr;
  }

  static std::uint16_t port() {
    return app_->port();
  }
  static const config& cfg() {
    return app_->cfg();
  }

  /// Every registered route as (method, pattern).
  static std::vector<std::pair<std::string, std::string>> routes() {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& r : app_->app().routes()) {
      auto sp = r.find(' ');
      out.emplace_back(r.substr(0, sp), r.substr(sp + 1));
    }
    return out;
  }

  /// A concrete target for `pattern`: ids that exist (1 is the business, the
  /// lead, the token of this suite), except for DELETE (an id that does not,
  /// so that no hostile request removes what the suite relies on).
  static std::string concrete(const std::string& method,
                              const std::string& pattern) {
    static const std::regex placeholder("\\{([a-z_]+)\\}");
    std::string out;
    auto begin = std::sregex_iterator(pattern.begin(), pattern.end(),
                                      placeholder);
    std::size_t last = 0;
    for (auto it = begin; it != std::sregex_iterator(); ++it) {
      out += pattern.substr(last, it->position() - last);
      auto name = (*it)[1].str();
      if (method == "DELETE")
        out += "987654321";
      else if (name == "sid")
        out += "CAhostile1";
      else
        out += "1";
      last = it->position() + it->length();
    }
    return out + pattern.substr(last);
  }

  /// The credentials a route of this path needs.
  static header_list credentials(const std::string& path) {
    if (path.rfind("/api/admin", 0) == 0)
      return {{"Authorization", "Bearer " + admin}};
    if (path.rfind("/api/", 0) == 0)
      return {{"Authorization", "Bearer " + owner_}};
    return {};
  }

  /// A text that changes when any row of any table changes.
  static std::string fingerprint() {
    auto tables = sql_value(cfg(),
                            "SELECT string_agg(quote_ident(tablename), ',' "
                            "ORDER BY tablename) FROM pg_tables "
                            "WHERE schemaname = 'public'");
    std::string out;
    std::stringstream ss{tables};
    std::string t;
    while (std::getline(ss, t, ',')) {
      out += t + "="
             + sql_value(cfg(), "SELECT count(*)::text || ':' || "
                                "coalesce(md5(string_agg(x::text, '|' "
                                "ORDER BY x::text)), '') FROM "
                                  + t + " x")
             + "\n";
    }
    return out;
  }

  /// fingerprint() once background writes (a call ending, queued writes)
  /// have settled: equal twice in a row, 300 ms apart.
  static std::string settled_fingerprint() {
    auto last = fingerprint();
    for (int i = 0; i < 30; ++i) {
      std::this_thread::sleep_for(300ms);
      auto now = fingerprint();
      if (now == last)
        return now;
      last = now;
    }
    ADD_FAILURE() << "the database never settled";
    return last;
  }

  /// The service is alive and well.
  static void expect_healthy(const std::string& after) {
    auto h = http_call(port(), "GET", "/healthz");
    ASSERT_EQ(h.status, 200) << "server unhealthy after " << after;
    auto r = http_call(port(), "GET", "/readyz");
    ASSERT_EQ(r.status, 200) << "not ready after " << after << ": " << r.body;
  }

  /// Never a 500 (nor no answer); a JSON answer parses as JSON.
  static void expect_sane(const answer& a, const std::string& what) {
    EXPECT_NE(a.status, 0) << what << ": no HTTP answer";
    EXPECT_NE(a.status, 500) << what << ": " << a.body.substr(0, 300);
    EXPECT_LT(a.status, 600) << what;
    if (a.has_body && a.content_type.find("json") != std::string::npos
        && !a.body.empty()) {
      json_doc d;
      EXPECT_TRUE(d.parse(a.body))
        << what << ": invalid JSON answer " << a.body.substr(0, 300);
    }
  }

  static running_app* app_;
  static std::int64_t business_;
  static std::string owner_;
};

running_app* hostile::app_ = nullptr;
std::int64_t hostile::business_ = 0;
std::string hostile::owner_;

bool has_body(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH"
         || method == "DELETE";
}

/// "METHOD /pattern" of routes that take no body (an action): they may
/// answer 2xx to a body that is not JSON.
const std::set<std::string> routes_without_body
  = {"DELETE /api/crm/settings/greeting-audio", "POST /api/auth/sign-out"};

/// Actions that take no body and change state when they succeed (pause the
/// AI, rotate the intake key, ...): a body is ignored, so the must-reject
/// JSON probes (a refusal and no write) do not apply to them.
const std::set<std::string> actions_ignoring_body
  = {"POST /api/crm/leads/{id}/takeover",
     "POST /api/crm/leads/{id}/release",
     "POST /api/crm/settings/intake-key",
     "POST /api/crm/whatsapp/conversations/{phone}/read",
     "POST /api/crm/campaigns/{id}/start",
     "POST /api/crm/campaigns/{id}/pause"};

/// Webhooks SPEC §2 leaves unsigned, answering 204 to anything at once
/// (a malformed body included): they may answer 204 where others refuse.
const std::set<std::string> unsigned_by_spec = {"/webhook/stream_status"};

/// /api/ routes that need no token (they answer anyone, 2xx included): the
/// document, and the CORS preflight of a web form's lead intake.
const std::set<std::string> public_api = {"GET /api/openapi.json",
                                          "OPTIONS /api/leads/intake"};

// -- JSON bodies to every route that takes a body -----------------------------

TEST_F(hostile, json_bodies_to_every_route) {
  auto all = routes();
  ASSERT_GT(all.size(), 20u) << "routes() lists too few routes";
  auto fds = open_fds();
  // Bodies no route may accept: 4xx everywhere, and not one row written.
  auto before = settled_fingerprint();
  int sent = 0;
  for (auto& [method, pattern] : all) {
    if (!has_body(method)
        || actions_ignoring_body.count(method + " " + pattern))
      continue;
    auto target = concrete(method, pattern);
    auto headers = credentials(pattern);
    headers.emplace_back("Content-Type", "application/json");
    for (auto& c : json_bodies()) {
      if (!c.must_reject)
        continue;
      auto what = method + " " + target + " <- " + c.what;
      auto a = probe(method, target, c.body, headers, port());
      expect_sane(a, what);
      if (routes_without_body.count(method + " " + pattern)
          || (unsigned_by_spec.count(pattern) && a.status == 204))
        continue;
      EXPECT_GE(a.status, 400) << what << ": " << a.body.substr(0, 200);
      EXPECT_LT(a.status, 500) << what << ": " << a.body.substr(0, 200);
      ++sent;
    }
  }
  EXPECT_EQ(fingerprint(), before) << "a refused request wrote to the database";
  expect_healthy("must-reject JSON bodies");

  // Objects of every odd shape: anything but a 500.
  for (auto& [method, pattern] : all) {
    if (!has_body(method))
      continue;
    auto target = concrete(method, pattern);
    auto headers = credentials(pattern);
    headers.emplace_back("Content-Type", "application/json");
    for (auto& c : json_bodies()) {
      if (c.must_reject)
        continue;
      auto a = probe(method, target, c.body, headers, port());
      expect_sane(a, method + " " + target + " <- " + c.what);
      ++sent;
    }
  }
  expect_healthy("JSON objects");
  std::fprintf(stderr, "HOSTILE json: %d requests\n", sent);
  EXPECT_TRUE(eventually([&] { return open_fds() <= fds + 8; }, 10s))
    << "file descriptors: " << fds << " -> " << open_fds();
}

// -- hostile query strings on every GET route ---------------------------------

TEST_F(hostile, query_strings_on_every_get_route) {
  auto before = settled_fingerprint();
  int sent = 0;
  for (auto& [method, pattern] : routes()) {
    if (method != "GET")
      continue;
    auto base = concrete(method, pattern);
    for (auto& q : hostile_queries()) {
      auto a = probe("GET", base + q, {}, credentials(pattern), port());
      expect_sane(a, "GET " + base + q.substr(0, 60));
      ++sent;
    }
    // Hostile path parameters too.
    if (pattern.find('{') != std::string::npos) {
      for (std::string bad : std::vector<std::string>{
             "-1", "0", "99999999999999999999", "1e3", "%00", "%FF%FE",
             "..%2F..%2Fetc", "1%20OR%201=1", std::string(3000, '7')}) {
        auto target = std::regex_replace(pattern, std::regex("\\{[a-z_]+\\}"),
                                         bad);
        auto a = probe("GET", target, {}, credentials(pattern), port());
        expect_sane(a, "GET " + target.substr(0, 80));
        EXPECT_EQ(a.body.find("root:x:0:0"), std::string::npos)
          << "path traversal: GET " << target;
        ++sent;
      }
    }
  }
  for (std::string t : {"/app/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
                        "/app/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                        "/app/..%5C..%5Cetc%5Cpasswd", "/app/.%00./passwd",
                        "/app/assets/..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd"}) {
    auto a = probe("GET", t, {}, {}, port());
    expect_sane(a, "GET " + t);
    EXPECT_EQ(a.body.find("root:x:0:0"), std::string::npos) << t;
  }
  EXPECT_EQ(fingerprint(), before) << "a GET wrote to the database";
  expect_healthy("hostile queries");
  std::fprintf(stderr, "HOSTILE queries: %d requests\n", sent);
}

// -- no credentials: refused, nothing written ---------------------------------

TEST_F(hostile, every_protected_route_refuses_anonymous_requests) {
  auto before = settled_fingerprint();
  for (auto& [method, pattern] : routes()) {
    bool api = pattern.rfind("/api/", 0) == 0;
    bool hook = pattern.rfind("/webhook/", 0) == 0 && method == "POST";
    if (!api && !hook)
      continue;
    auto target = concrete(method, pattern);
    for (auto& hdr : std::vector<header_list>{
           {},
           {{"Authorization", "Bearer not-a-token"}},
           {{"Authorization", "Basic dGVzdC1hZG1pbg=="}},
           {{"Authorization", "Bearer " + std::string(5000, 'A')}},
           {{"Authorization", lit("Bearer test-admin\x01")}},
           {{"X-Twilio-Signature", "AAAA"}}}) {
      auto h = hdr;
      h.emplace_back("Content-Type", "application/x-www-form-urlencoded");
      auto a = probe(method, target,
                     "CallSid=CAanon&From=%2B972501234567&To=%2B97231234567"
                     "&MessageSid=SManon&MessageStatus=read&Body=hi",
                     h, port());
      auto what = method + " " + target + " anonymous";
      expect_sane(a, what);
      // /api/crm/events streams only after authenticating: still a 401.
      EXPECT_TRUE(
        a.status == 401 || a.status == 403 || a.status == 400 || a.status == 404
        || (unsigned_by_spec.count(pattern) && a.status == 204)
        || (public_api.count(method + " " + pattern) && a.status / 100 == 2))
        << what << " -> " << a.status << " " << a.body.substr(0, 200);
    }
  }
  EXPECT_EQ(fingerprint(), before)
    << "an unauthenticated request wrote to the database";
  expect_healthy("anonymous requests");
}

// -- form bodies to every webhook, correctly signed ---------------------------

TEST_F(hostile, signed_hostile_forms_to_every_webhook) {
  int sent = 0;
  for (auto& [method, pattern] : routes()) {
    if (method != "POST" || pattern.rfind("/webhook/", 0) != 0)
      continue;
    auto target = concrete(method, pattern);
    for (auto& [what, body] : form_bodies()) {
      auto form = parse_form(body);
      auto sig = twilio_signature(cfg().twilio_auth_token,
                                  cfg().public_base_url + target,
                                  form ? *form : form_params{});
      auto a = probe("POST", target, body,
                     {{"Content-Type", "application/x-www-form-urlencoded"},
                      {"X-Twilio-Signature", sig}},
                     port());
      expect_sane(a, "POST " + target + " <- " + what);
      ++sent;
    }
  }
  expect_healthy("signed hostile forms");
  // NUL bytes and invalid UTF-8 never reached a text column.
  EXPECT_EQ(sql_value(cfg(), "SELECT count(*) FROM calls WHERE call_sid LIKE "
                             "'CA%' AND call_sid !~ '^[ -~]*$'"),
            "0");
  std::fprintf(stderr, "HOSTILE forms: %d requests\n", sent);
}

// -- JSON bodies to the Cloud API webhook, correctly signed
// --------------------

TEST_F(hostile, signed_hostile_json_to_the_meta_webhook) {
  auto sign = [](const std::string& body) {
    return "sha256=" + crypto::to_hex(crypto::hmac_sha256(meta_secret, body));
  };
  std::vector<body_case> cases = json_bodies();
  // Cloud API shapes with hostile members.
  cases.push_back(
    {"meta: wrong types",
     R"({"object":"whatsapp_business_account","entry":{"changes":1}})", false});
  cases.push_back(
    {"meta: hostile message",
     R"({"object":"whatsapp_business_account","entry":[{"changes":[{"value":)"
     R"({"metadata":{"display_phone_number":"\u0000"},"contacts":[{"wa_id":)"
     R"([],"profile":{"name":"\u0000\ud83c\udfe0"}}],"messages":[{"from":)"
     R"("972501234567","id":"wamid.\u0000x","type":"text","text":{"body":)"
     R"("\u0000 '); DROP TABLE messages; --"}},{"from":"+++","id":""},)"
     R"({"from":"972501234567","id":"wamid.)"
       + std::string(5000, 'i')
       + R"(","type":"image","image":{"id":7}}],"statuses":[{"id":)"
         R"("wamid.\u0000","status":{"x":1}},{"id":"wamid.none","status":)"
         R"("READ","errors":[{"code":"x","title":[]}]}]}}]}]})",
     false});
  int sent = 0;
  for (auto& c : cases) {
    auto a = probe("POST", "/webhook/whatsapp/meta", c.body,
                   {{"Content-Type", "application/json"},
                    {"X-Hub-Signature-256", sign(c.body)}},
                   port());
    expect_sane(a, "meta <- " + c.what);
    if (c.must_reject) {
      EXPECT_GE(a.status, 400) << c.what;
      EXPECT_LT(a.status, 500) << c.what;
    }
    ++sent;
  }
  // The subscription handshake with hostile queries: never verified.
  for (auto& q : hostile_queries()) {
    auto a = probe("GET", "/webhook/whatsapp/meta" + q, {}, {}, port());
    expect_sane(a, "meta handshake " + q.substr(0, 40));
    EXPECT_NE(a.status, 200) << q.substr(0, 60);
  }
  expect_healthy("signed Cloud API bodies");
  std::fprintf(stderr, "HOSTILE meta: %d requests\n", sent);
}

// -- signatures: wrong, missing, replayed for another URL ---------------------

TEST_F(hostile, forged_and_replayed_signatures_are_refused) {
  const std::vector<std::pair<std::string, std::string>> params
    = {{"CallSid", "CAforged1"},
       {"From", caller},
       {"To", office},
       {"AccountSid", "ACtest"},
       {"CallStatus", "completed"},
       {"MessageSid", "SMforged1"},
       {"MessageStatus", "read"},
       {"Body", "hi"}};
  const form_params fp{params};
  auto body = encode_form(params);
  auto base = cfg().public_base_url;
  auto before = settled_fingerprint();
  std::vector<std::string> hooks;
  for (auto& [method, pattern] : routes())
    if (method == "POST" && pattern.rfind("/webhook/", 0) == 0
        && pattern.find("/payments/") == std::string::npos
        && pattern.find("/meta") == std::string::npos
        && !unsigned_by_spec.count(pattern))
      hooks.push_back(pattern); // the Twilio-signed ones
  ASSERT_GE(hooks.size(), 5u);
  for (auto& hook : hooks) {
    auto other = hook == "/webhook/call_status" ? "/webhook/stream_ended"
                                                : "/webhook/call_status";
    auto right = twilio_signature(cfg().twilio_auth_token, base + hook, fp);
    const std::vector<std::pair<std::string, std::string>> forged = {
      {"missing", ""},
      {"wrong token", twilio_signature("not-the-token", base + hook, fp)},
      {"replayed from another URL",
       twilio_signature(cfg().twilio_auth_token, base + other, fp)},
      {"replayed with a query string",
       twilio_signature(cfg().twilio_auth_token, base + hook + "?x=1", fp)},
      {"replayed for another host",
       twilio_signature(cfg().twilio_auth_token, "https://evil.example" + hook,
                        fp)},
      {"for other parameters",
       twilio_signature(cfg().twilio_auth_token, base + hook,
                        form_params{std::vector<form_params::value_type>{
                          {"CallSid", "CAother"}}})},
      {"truncated", right.substr(0, right.size() - 2)},
      {"case flipped",
       [&] {
         auto s = right;
         for (auto& ch : s)
           ch = std::isupper(static_cast<unsigned char>(ch))
                  ? static_cast<char>(std::tolower(ch))
                  : static_cast<char>(std::toupper(ch));
         return s;
       }()},
      {"one character more", right + "A"},
      {"huge", std::string(10000, 'A')},
    };
    for (auto& [what, sig] : forged) {
      header_list h{{"Content-Type", "application/x-www-form-urlencoded"}};
      if (!sig.empty())
        h.emplace_back("X-Twilio-Signature", sig);
      auto a = probe("POST", hook, body, h, port());
      expect_sane(a, hook + " " + what);
      EXPECT_EQ(a.status, 403)
        << hook << " signature " << what << ": " << a.body.substr(0, 200);
    }
    // Replayed to another URL: the right signature, the wrong target.
    auto replay = probe("POST", hook + "?replay=1", body,
                        {{"Content-Type", "application/x-www-form-urlencoded"},
                         {"X-Twilio-Signature", right}},
                        port());
    EXPECT_EQ(replay.status, 403) << hook << " replayed with a query";
  }
  EXPECT_EQ(fingerprint(), before) << "a forged webhook wrote to the database";

  // The WebSocket upgrade: a wrong signature is refused before the upgrade.
  media_client ws;
  auto hs = ws.connect(
    port(), "/ws/twilio-media", "audio.twilio.com",
    {{"X-Twilio-Signature",
      twilio_signature(cfg().twilio_auth_token,
                       "wss://al.example.test/ws/other", form_params{})}});
  EXPECT_FALSE(hs.ok);
  EXPECT_EQ(hs.status, 403);
  expect_healthy("forged signatures");
}

// -- malformed HTTP
// -------------------------------------------------------------

TEST_F(hostile, malformed_http_requests) {
  struct raw_case {
    std::string what;
    std::string bytes;
  };
  std::string pipelined;
  for (int i = 0; i < 300; ++i)
    pipelined += "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
  const std::vector<raw_case> cases = {
    {"CL and TE together (smuggling)",
     "POST /api/crm/leads HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\n"
     "Host: t\r\n\r\n"},
    {"TE chunked twice",
     "POST /api/crm/leads HTTP/1.1\r\nHost: t\r\n"
     "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
     "2\r\n{}\r\n0\r\n\r\n"},
    {"TE not chunked", "POST /api/crm/leads HTTP/1.1\r\nHost: t\r\n"
                       "Transfer-Encoding: gzip\r\n\r\n{}"},
    {"chunk size overflow",
     "POST /api/crm/leads HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked"
     "\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n"},
    {"huge chunk extension",
     "POST /api/crm/leads HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked"
     "\r\n\r\n2;"
       + std::string(100000, 'e') + "\r\n{}\r\n0\r\n\r\n"},
    {"chunked body over 1 MiB",
     "POST /api/crm/leads HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked"
     "\r\n\r\n"
       + repeat("10000\r\n" + std::string(0x10000, 'a') + "\r\n", 17)
       + "0\r\n\r\n"},
    {"obs-fold header",
     "GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: b\r\n c\r\n\r\n"},
    {"NUL in a header value",
     lit("GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n")},
    {"NUL in the target", lit("GET /heal\0thz HTTP/1.1\r\nHost: t\r\n\r\n")},
    {"unknown method", "BREW /healthz HTTP/1.1\r\nHost: t\r\n\r\n"},
    {"lower-case method", "get /healthz HTTP/1.1\r\nHost: t\r\n\r\n"},
    {"HTTP/1.2", "GET /healthz HTTP/1.2\r\nHost: t\r\n\r\n"},
    {"HTTP/9.9", "GET /healthz HTTP/9.9\r\nHost: t\r\n\r\n"},
    {"HTTP/0.9", "GET /healthz\r\n"},
    {"no Host", "GET /healthz HTTP/1.1\r\n\r\n"},
    {"8 KB path",
     "GET /" + std::string(8000, 'p') + " HTTP/1.1\r\nHost: t\r\n\r\n"},
    {"100 KB path",
     "GET /" + std::string(100000, 'p') + " HTTP/1.1\r\nHost: t\r\n\r\n"},
    {"dot segments",
     "GET /api/../../../etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n"},
    {"encoded dot segments",
     "GET /api/crm/%2e%2e/%2e%2e/healthz HTTP/1.1\r\nHost: t\r\n\r\n"},
    {"double slashes", "GET //api//crm//leads HTTP/1.1\r\nHost: t\r\n\r\n"},
    {"malformed query", "GET /api/crm/leads?page=%zz HTTP/1.1\r\nHost: t\r\n"
                        "Authorization: Bearer test-admin\r\n\r\n"},
    {"fragment in target", "GET /healthz#frag HTTP/1.1\r\nHost: t\r\n\r\n"},
    {"asterisk target", "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n"},
    {"CONNECT", "CONNECT al.example.test:443 HTTP/1.1\r\nHost: t\r\n\r\n"},
    {"Expect 100-continue",
     "POST /api/crm/leads HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
     "Content-Length: 2\r\n\r\n{}"},
    {"bare LF line endings", "GET /healthz HTTP/1.1\nHost: t\n\n"},
    {"space before colon", "GET /healthz HTTP/1.1\r\nHost : t\r\n\r\n"},
    {"upgrade on a plain route",
     "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n"
     "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"},
    {"upgrade without a key",
     "GET /ws/twilio-media HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n"
     "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n"},
    {"upgrade with version 7",
     "GET /ws/twilio-media HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n"
     "Upgrade: websocket\r\nSec-WebSocket-Version: 7\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"},
    {"POST upgrade",
     "POST /ws/twilio-media HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n"
     "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: "
     "0\r\n\r\n"},
    {"GET /ws/twilio-media without upgrade",
     "GET /ws/twilio-media HTTP/1.1\r\nHost: t\r\n\r\n"},
    {"300 pipelined requests", pipelined},
    {"binary after the headers",
     "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n\x16\x03\x01\x02\x00\x01"},
    {"TLS hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"},
  };
  for (auto& c : cases) {
    auto raw = raw_half_close(port(), c.bytes);
    auto got = statuses(raw);
    std::fprintf(stderr, "HOSTILE raw %s: %zu answers, first %d\n",
                 c.what.c_str(), got.size(), got.empty() ? 0 : got.front());
    for (int s : got)
      EXPECT_LT(s, 500) << c.what << " -> " << raw.substr(0, 300);
    // 101 only for a real upgrade; never a socket to a non-WS route.
    if (c.what == "upgrade on a plain route" || c.what == "POST upgrade") {
      EXPECT_TRUE(std::find(got.begin(), got.end(), 101) == got.end())
        << c.what;
    }
    if (c.what == "300 pipelined requests") {
      EXPECT_EQ(got.size(), 300u);
    }
    if (c.what == "TE not chunked") { // RFC 9112 6.3: 400, then close
      EXPECT_EQ(got, std::vector<int>{400}) << raw;
    }
    if (c.what == "CL and TE together (smuggling)") {
      EXPECT_LE(got.size(), 1u) << "smuggled a second request: " << raw;
    }
    expect_healthy(c.what);
  }
}

// -- the media WebSocket
// ----------------------------------------------------------

/// The call token from the TwiML of an incoming call.
std::string start_call(std::uint16_t port, const config& cfg,
                       const std::string& sid) {
  auto r = twilio_post(port, cfg.public_base_url, cfg.twilio_auth_token,
                       "/webhook/incoming_call",
                       {{"CallSid", sid},
                        {"From", caller},
                        {"To", office},
                        {"AccountSid", "ACtest"},
                        {"CallStatus", "ringing"}});
  EXPECT_EQ(r.status, 200) << r.body;
  std::smatch m;
  std::regex re("<Parameter name=\"call_token\" value=\"([^\"]*)\"");
  return std::regex_search(r.body, m, re) ? m[1].str() : std::string{};
}

std::string media_json(const std::string& stream, const std::string& payload) {
  return R"({"event":"media","sequenceNumber":"3","streamSid":")" + stream
         + R"(","media":{"track":"inbound","chunk":"1","timestamp":"20",)"
           R"("payload":")"
         + payload + "\"}}";
}

TEST_F(hostile, media_socket_survives_hostile_frames_then_works) {
  auto token = start_call(port(), cfg(), "CAhostilews1");
  ASSERT_FALSE(token.empty());
  media_client ws;
  ASSERT_TRUE(ws.connect(port(), "/ws/twilio-media").ok);
  const std::string stream = "MZhostile1";
  // Before start, and malformed: each dropped, the socket stays.
  ws.send_connected();
  ws.send_media(stream, silence_frames(1)); // media before start
  ws.send_mark(stream, "early");
  ws.send_dtmf(stream, "5");
  ws.send_binary(std::string(320, '\xff'));
  ws.send_binary({});
  ws.send("not json at all");
  ws.send("");
  ws.send("{\"event\":");
  ws.send("[1,2,3]");
  ws.send("{\"event\":\"media\"} trailing");
  ws.send(R"({"event":"bogus","streamSid":"MZ"})");
  ws.send(R"({"event":42})");
  ws.send(R"({"event":"start","start":{"callSid":"CAhostilews1"}})");
  ws.send(R"({"event":"media","streamSid":"MZ","media":{"payload":"!!!!"}})");
  ws.send(R"({"event":"media","streamSid":"MZ","media":{"payload":"QUJD="}})");
  ws.send(media_json(stream, std::string(8000, 'A'))); // > 4096 bytes
  ws.send(std::string(200, '{') + std::string(200, '}'));
  ws.send_fragments({R"({"event":"conn)", R"(ected","protocol")",
                     R"(:"Call","version":"1.0.0"})"});
  ws.send_fragments({"{\"event\":", "\"nothing", "\"}"});
  // A valid start after all that: the call proceeds (greeting audio).
  ws.send_start(stream, "CAhostilews1", {{"call_token", token}});
  ws.send(R"({"event":"start","start":{"callSid":"CAother","streamSid":"MZ2",)"
          R"("customParameters":{"call_token":"forged"}},"streamSid":"MZ2"})");
  EXPECT_TRUE(ws.wait_for(
    [](auto& msgs) {
      for (auto& m : msgs)
        if (event_of(m.text) == "media")
          return true;
      return false;
    },
    15s))
    << "no greeting audio after hostile frames";
  EXPECT_FALSE(ws.closed());
  // Everything we receive is one of the three events Twilio accepts.
  for (auto& m : ws.messages()) {
    auto ev = event_of(m.text);
    EXPECT_TRUE(ev == "media" || ev == "mark" || ev == "clear") << m.text;
    EXPECT_EQ(field_of(m.text, "streamSid"), stream) << m.text;
  }
  // The forged second start was ignored: no call row for it.
  EXPECT_EQ(sql_value(cfg(), "SELECT count(*) FROM calls WHERE call_sid = "
                             "'CAother'"),
            "0");
  ws.send_stop(stream, "CAhostilews1");
  ws.close();
  EXPECT_TRUE(ws.wait_closed(15s));
  expect_healthy("hostile media frames");
}

TEST_F(hostile, oversize_media_message_closes_the_socket) {
  for (bool fragmented : {false, true}) {
    media_client ws;
    ASSERT_TRUE(ws.connect(port(), "/ws/twilio-media").ok);
    std::string big = "{\"event\":\"media\",\"pad\":\""
                      + std::string(70 * 1024, 'x') + "\"}";
    if (fragmented) {
      std::vector<std::string> parts;
      for (std::size_t i = 0; i < big.size(); i += 4096)
        parts.push_back(big.substr(i, 4096));
      ws.send_fragments(parts);
    } else {
      ws.send(big);
    }
    EXPECT_TRUE(ws.wait_closed(10s)) << "fragmented=" << fragmented;
    EXPECT_EQ(ws.close_code(), 1009) << "fragmented=" << fragmented;
  }
  expect_healthy("oversize frames");
}

TEST_F(hostile, invalid_utf8_in_a_text_frame_fails_the_connection) {
  // RFC 6455 8.1: the endpoint must fail the connection (1007).
  media_client ws;
  ASSERT_TRUE(ws.connect(port(), "/ws/twilio-media").ok);
  ws.send(std::string("{\"event\":\"media\",\"x\":\"\xff\xfe\"}"));
  EXPECT_TRUE(ws.wait_closed(10s));
  EXPECT_EQ(ws.close_code(), 1007);
  expect_healthy("invalid UTF-8 frame");
}

TEST_F(hostile, a_stream_of_bad_frames_ends_the_session) {
  auto before = settled_fingerprint();
  media_client ws;
  ASSERT_TRUE(ws.connect(port(), "/ws/twilio-media").ok);
  for (int i = 0; i < 60; ++i)
    i % 2 ? ws.send("{bad json " + std::to_string(i))
          : ws.send_binary("\x01\x02\x03");
  EXPECT_TRUE(ws.wait_closed(10s));
  EXPECT_EQ(ws.close_code(), 1008); // policy violation
  // A start with a forged token: closed, nothing written.
  media_client forged;
  ASSERT_TRUE(forged.connect(port(), "/ws/twilio-media").ok);
  forged.send_start("MZforged", "CAforgedws", {{"call_token", "AAAA"}});
  EXPECT_TRUE(forged.wait_closed(10s));
  EXPECT_EQ(forged.close_code(), 1008);
  EXPECT_EQ(fingerprint(), before);
  expect_healthy("bad frame streams");
}

} // namespace
