// The dashboard's server side against the whole service in-process: the
// static files under /app (types, caching, SPA fallback, no traversal), the
// live event stream GET /api/crm/events (auth by header or stream ticket,
// never a token in the URL; events of the token's business only, in order,
// each with an id; pushed through LISTEN/NOTIFY from any instance; resumed
// with Last-Event-ID without loss or duplicates; the stream ending with the
// client or the token), GET /api/crm/me and the greeting preview.
#include "tests/crm/crm_support.hpp"

#include "actors/event_feed.hpp"
#include "actors/event_listener.hpp"
#include "core/stream_ticket.hpp"
#include "transport/services.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

namespace al::test {
namespace {

namespace fs = std::filesystem;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

/// A client that keeps a GET open and collects everything it receives.
class raw_stream {
public:
  raw_stream(std::uint16_t port, const std::string& target,
             const std::string& extra_headers = {})
    : socket_(ioc_) {
    socket_.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      + extra_headers + "\r\n";
    net::write(socket_, net::buffer(req));
    reader_ = std::thread([this] {
      char buf[4096];
      boost::system::error_code ec;
      for (;;) {
        auto n = socket_.read_some(net::buffer(buf), ec);
        std::lock_guard<std::mutex> g{mu_};
        text_.append(buf, n);
        if (ec) {
          closed_ = true;
          return;
        }
      }
    });
  }
  ~raw_stream() {
    close();
  }

  std::string text() const {
    std::lock_guard<std::mutex> g{mu_};
    return text_;
  }
  bool has(const std::string& s) const {
    return text().find(s) != std::string::npos;
  }
  bool closed() const {
    std::lock_guard<std::mutex> g{mu_};
    return closed_;
  }
  void close() {
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    if (reader_.joinable())
      reader_.join();
    socket_.close(ec);
  }

private:
  net::io_context ioc_;
  tcp::socket socket_;
  std::thread reader_;
  mutable std::mutex mu_;
  std::string text_;
  bool closed_ = false;
};

/// One server-sent event as a client sees it.
struct sse_event {
  std::string id;
  std::string event;
  std::string data;
};

/// The events in what a raw_stream received: the headers skipped, the
/// chunk framing removed, comments and field-only frames (retry:) ignored.
/// An incomplete last chunk or frame is left for later.
std::vector<sse_event> events_in(const std::string& raw) {
  auto at = raw.find("\r\n\r\n");
  if (at == std::string::npos)
    return {};
  std::string body;
  for (at += 4;;) {
    auto eol = raw.find("\r\n", at);
    if (eol == std::string::npos)
      break;
    auto size = std::stoul(raw.substr(at, eol - at), nullptr, 16);
    if (size == 0 || eol + 2 + size > raw.size())
      break;
    body.append(raw, eol + 2, size);
    at = eol + 2 + size + 2;
  }
  std::vector<sse_event> out;
  for (std::size_t pos = 0;;) {
    auto end = body.find("\n\n", pos);
    if (end == std::string::npos)
      break;
    sse_event e;
    std::istringstream lines{body.substr(pos, end - pos)};
    pos = end + 2;
    for (std::string line; std::getline(lines, line);) {
      auto colon = line.find(": ");
      if (line.empty() || line[0] == ':' || colon == std::string::npos)
        continue;
      auto field = line.substr(0, colon);
      auto value = line.substr(colon + 2);
      if (field == "id")
        e.id = value;
      else if (field == "event")
        e.event = value;
      else if (field == "data")
        e.data += (e.data.empty() ? "" : "\n") + value;
    }
    if (!e.event.empty())
      out.push_back(std::move(e));
  }
  return out;
}

/// The `body` of each message event, in order.
std::vector<std::string> message_bodies(const std::vector<sse_event>& evs) {
  std::vector<std::string> out;
  for (auto& e : evs)
    if (e.event == "message")
      out.emplace_back(json::parse(e.data).at("body").as_string());
  return out;
}

/// How many times `needle` occurs in `text`.
std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1))
    ++n;
  return n;
}

/// POST /api/crm/events/ticket with `token` on `port`: the ticket.
std::string ticket_for(std::uint16_t port, const std::string& token,
                       const std::string& query = {}) {
  auto r = api_call(port, "POST", "/api/crm/events/ticket" + query, token,
                    "{}");
  EXPECT_EQ(r.status, 200) << r.body;
  if (r.status != 200)
    return {};
  return std::string{json::parse(r.body).at("ticket").as_string()};
}

/// "/api/crm/events?ticket=..." for `token`.
std::string events_target(std::uint16_t port, const std::string& token) {
  return "/api/crm/events?ticket=" + ticket_for(port, token);
}

/// A message row of business 1 (the test's own connection: any writer
/// notifies).
void insert_message(const crm_app& crm, const std::string& body) {
  crm.sql("INSERT INTO messages (business_id, direction, provider, body)"
          " VALUES (1, 'in', 'twilio', '"
          + body + "')");
}

// -- /app
// -----------------------------------------------------------------------

TEST(AppStatic, ServesTheDashboardWithTypesAndCaching) {
  crm_app crm;
  auto port = crm.app().port();
  for (auto target : {"/app", "/app/", "/app/leads", "/app/leads/12"}) {
    auto r = http_call(port, "GET", target);
    EXPECT_EQ(r.status, 200) << target;
    EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8") << target;
    EXPECT_NE(r.body.find("dir=\"rtl\""), std::string::npos) << target;
    EXPECT_NE(r.body.find("lang=\"he\""), std::string::npos) << target;
    EXPECT_EQ(r.header("cache-control"), "no-cache");
    auto csp = r.header("content-security-policy");
    EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
    // No other origin for scripts, styles, fetches, fonts or media; only
    // images may come from https origins (listing photos on a portal's CDN).
    std::string rest = csp;
    auto img = rest.find("img-src 'self' data: blob: https:;");
    EXPECT_NE(img, std::string::npos) << csp;
    if (img != std::string::npos)
      rest.erase(img, std::string{"img-src 'self' data: blob: https:;"}.size());
    EXPECT_EQ(rest.find("http"), std::string::npos)
      << "no other origin: " << csp;
    EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;
    EXPECT_NE(csp.find("connect-src 'self';"), std::string::npos) << csp;
  }
  struct asset {
    const char* target;
    const char* type;
  };
  for (auto a :
       {asset{"/app/app.js", "text/javascript; charset=utf-8"},
        asset{"/app/js/api.js", "text/javascript; charset=utf-8"},
        asset{"/app/styles.css", "text/css; charset=utf-8"},
        asset{"/app/favicon.svg", "image/svg+xml"},
        asset{"/app/fonts/heebo-hebrew-400-normal.woff2", "font/woff2"}}) {
    auto r = http_call(port, "GET", a.target);
    EXPECT_EQ(r.status, 200) << a.target;
    EXPECT_EQ(r.header("content-type"), a.type) << a.target;
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
    EXPECT_FALSE(r.body.empty());
  }
  auto font = http_call(port, "GET",
                        "/app/fonts/heebo-hebrew-400-normal.woff2");
  EXPECT_EQ(font.body.substr(0, 4), "wOF2");
  EXPECT_NE(font.header("cache-control").find("max-age="), std::string::npos);
  // The same bytes as on disk.
  std::ifstream in{AL_SOURCE_DIR "/web/app.js", std::ios::binary};
  std::string disk{std::istreambuf_iterator<char>{in}, {}};
  EXPECT_EQ(http_call(port, "GET", "/app/app.js").body, disk);
  // Revalidation.
  auto js = http_call(port, "GET", "/app/app.js");
  auto etag = js.header("etag");
  ASSERT_FALSE(etag.empty());
  auto again = http_call(port, "GET", "/app/app.js", {},
                         {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(http_call(port, "GET", "/app/app.js", {},
                      {{"If-None-Match", "\"stale\""}})
              .status,
            200);
}

TEST(AppStatic, ServesOnlyTheFilesItLoaded) {
  crm_app crm;
  auto port = crm.app().port();
  // Unknown assets are 404, not the index page.
  EXPECT_EQ(http_call(port, "GET", "/app/nope.js").status, 404);
  EXPECT_EQ(http_call(port, "GET", "/app/js/nope.css").status, 404);
  // Files of the folder that are not web assets, and traversal attempts.
  EXPECT_EQ(http_call(port, "GET", "/app/fetch-font.sh").status, 404);
  for (auto target :
       {"/app/../schemas/0001_tenants.sql",
        "/app/%2e%2e/schemas/0001_tenants.sql",
        "/app/..%2fschemas%2f0001_tenants.sql", "/app/js/..%2f..%2fREADME.md",
        "/app/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/app/fonts/../../README.md"}) {
    auto r = http_call(port, "GET", target);
    EXPECT_NE(r.status, 200) << target;
    EXPECT_EQ(r.body.find("CREATE TABLE"), std::string::npos) << target;
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << target;
  }
  EXPECT_EQ(http_call(port, "POST", "/app").status, 405);
  EXPECT_EQ(http_call(port, "DELETE", "/app/app.js").status, 405);
}

TEST(AppStatic, WebRootFromConfigHiddenFilesSkipped) {
  auto dir = fs::temp_directory_path()
             / ("al-web-" + std::to_string(::getpid()));
  fs::create_directories(dir / "deep" / "er");
  std::ofstream{dir / "index.html"} << "<p>custom</p>";
  std::ofstream{dir / ".secret.js"} << "hidden";
  std::ofstream{dir / "deep" / "er" / "x.js"} << "too deep";
  auto cfg = test_config();
  cfg.web_root = dir.string();
  crm_app crm{cfg};
  auto port = crm.app().port();
  EXPECT_EQ(http_call(port, "GET", "/app").body, "<p>custom</p>");
  EXPECT_EQ(http_call(port, "GET", "/app/.secret.js").status, 404);
  EXPECT_EQ(http_call(port, "GET", "/app/app.js").status, 404);
  fs::remove_all(dir);
}

TEST(AppStatic, MissingWebRootIs503) {
  auto cfg = test_config();
  cfg.web_root = "/nonexistent/al-web";
  crm_app crm{cfg};
  auto r = http_call(crm.app().port(), "GET", "/app");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("WEB_ROOT"), std::string::npos);
}

// -- /api/crm/me
// ----------------------------------------------------------------

TEST(Me, SaysWhoTheTokenIs) {
  crm_app crm;
  auto owner = crm.new_token(1, "owner");
  auto r = crm.call("GET", "/api/crm/me", owner.token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.obj().at("role"), "owner");
  EXPECT_EQ(r.int_at("business_id"), 1);
  EXPECT_EQ(r.int_at("token_id"), owner.id);
  EXPECT_EQ(r.obj().at("can_write"), true);
  EXPECT_EQ(r.obj().at("can_manage"), true);
  auto b = crm.new_business("Other");
  auto viewer = crm.new_token(b, "read_only");
  auto v = crm.call("GET", "/api/crm/me", viewer.token);
  EXPECT_EQ(v.obj().at("role"), "read_only");
  EXPECT_EQ(v.int_at("business_id"), b);
  EXPECT_EQ(v.obj().at("can_write"), false);
  EXPECT_EQ(v.obj().at("can_manage"), false);
  auto agent = crm.call("GET", "/api/crm/me", crm.new_token(1, "agent").token);
  EXPECT_EQ(agent.obj().at("can_write"), true);
  EXPECT_EQ(agent.obj().at("can_manage"), false);
  EXPECT_EQ(crm.call("GET", "/api/crm/me", "").status, 401);
}

// -- /api/crm/events
// ------------------------------------------------------------

TEST(Events, AuthByHeaderOrTicketNeverATokenInTheUrl) {
  crm_app crm;
  auto port = crm.app().port();
  auto owner = crm.new_token(1, "owner");
  EXPECT_EQ(stream_start(port, "/api/crm/events").status, 401);
  // The API token itself is no longer taken from the URL.
  EXPECT_EQ(stream_start(port, "/api/crm/events?token=" + owner.token).status,
            401);
  EXPECT_EQ(stream_start(port, "/api/crm/events?ticket=").status, 401);
  EXPECT_EQ(stream_start(port, "/api/crm/events?ticket=al_nope").status, 401);
  EXPECT_EQ(stream_start(port, "/api/crm/events?ticket=%zz").status, 400);
  // A ticket: POST with the bearer, then the stream with the ticket.
  auto t = api_call(port, "POST", "/api/crm/events/ticket", owner.token, "{}");
  ASSERT_EQ(t.status, 200) << t.body;
  auto answer = json::parse(t.body);
  EXPECT_EQ(answer.at("expires_in"), 60);
  std::string ticket{answer.at("ticket").as_string()};
  EXPECT_EQ(t.header("cache-control"), "no-store");
  EXPECT_EQ(ticket.find(owner.token), std::string::npos);
  EXPECT_EQ(
    api_call(port, "POST", "/api/crm/events/ticket", "al_nope", "{}").status,
    401);
  // The body is a JSON object, like every POST's.
  EXPECT_EQ(
    api_call(port, "POST", "/api/crm/events/ticket", owner.token).status, 400);
  EXPECT_EQ(http_call(port, "GET", "/api/crm/events/ticket").status, 405);
  // A header wins over the ticket.
  EXPECT_EQ(stream_start(port, "/api/crm/events?ticket=" + ticket,
                         {{"Authorization", "Bearer al_nope"}})
              .status,
            401);
  auto q = stream_start(port, "/api/crm/events?ticket=" + ticket);
  EXPECT_EQ(q.status, 200);
  EXPECT_EQ(q.header("content-type"), "text/event-stream; charset=utf-8");
  EXPECT_EQ(q.header("cache-control"), "no-store");
  EXPECT_EQ(q.header("transfer-encoding"), "chunked");
  EXPECT_NE(q.body.find("retry: 3000"), std::string::npos) << q.body;
  EXPECT_NE(
    q.body.find("event: ready\ndata: {\"business_id\":1,\"role\":\"owner\"}"),
    std::string::npos)
    << q.body;
  // The ready event carries where the stream starts.
  EXPECT_NE(q.body.find("\nid: "), std::string::npos) << q.body;
  // A ticket opens streams until it expires (the same one again).
  EXPECT_EQ(stream_start(port, "/api/crm/events?ticket=" + ticket).status, 200);
  auto h = stream_start(port, "/api/crm/events",
                        {{"Authorization", "Bearer " + owner.token}});
  EXPECT_EQ(h.status, 200);
  // The admin token names an existing business, else 404.
  EXPECT_EQ(stream_start(port, "/api/crm/events?business_id=999",
                         {{"Authorization", "Bearer test-admin"}})
              .status,
            404);
  EXPECT_EQ(api_call(port, "POST", "/api/crm/events/ticket?business_id=999",
                     admin_token, "{}")
              .status,
            404);
  auto a = stream_start(port, "/api/crm/events?business_id=1",
                        {{"Authorization", "Bearer test-admin"}});
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.body.find("\"role\":\"admin\""), std::string::npos);
  auto b = crm.new_business("Other");
  auto at = stream_start(port,
                         "/api/crm/events?ticket="
                           + ticket_for(port, admin_token,
                                        "?business_id=" + std::to_string(b)));
  EXPECT_EQ(at.status, 200);
  EXPECT_NE(at.body.find("{\"business_id\":" + std::to_string(b)
                         + ",\"role\":\"admin\"}"),
            std::string::npos)
    << at.body;
  // A malformed resume point.
  EXPECT_EQ(stream_start(port, "/api/crm/events?last_event_id=x",
                         {{"Authorization", "Bearer " + owner.token}})
              .status,
            400);
  EXPECT_EQ(stream_start(port, "/api/crm/events?ticket=" + ticket,
                         {{"Last-Event-ID", "12-lead-3"}})
              .status,
            400);
}

TEST(Events, ForgedExpiredAndForeignTicketsAre401) {
  crm_app crm;
  auto port = crm.app().port();
  auto key = crm.cfg().signing_key();
  auto other = crm.new_business("Other");
  auto agent = crm.new_token(1, "agent");
  auto theirs = crm.new_token(other, "owner");
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  auto try_open = [&](const std::string& ticket) {
    return stream_start(port, "/api/crm/events?ticket=" + ticket).status;
  };
  auto good = ticket_for(port, agent.token);
  ASSERT_EQ(try_open(good), 200);
  // Another business (or token, or role) in a real ticket: the MAC breaks.
  auto forged = good;
  forged.replace(forged.find(".1."), 3, "." + std::to_string(other) + ".");
  EXPECT_EQ(try_open(forged), 401) << forged;
  auto promoted = good;
  promoted.replace(promoted.find(".agent."), 7, ".owner.");
  EXPECT_EQ(try_open(promoted), 401);
  // Signed with another key (another deployment), or expired.
  stream_ticket t{1, agent.id, "agent", now + 60};
  EXPECT_EQ(try_open(issue_stream_ticket("another key", t)), 401);
  t.expires_at = now - 1;
  EXPECT_EQ(try_open(issue_stream_ticket(key, t)), 401);
  // Correctly signed, but the token is another business's: refused when
  // the stream opens (the token must be of the ticket's business).
  EXPECT_EQ(
    try_open(issue_stream_ticket(key, {1, theirs.id, "owner", now + 60})), 401);
  EXPECT_EQ(try_open(issue_stream_ticket(key, {1, 0, "owner", now + 60})), 401);
  EXPECT_EQ(
    try_open(issue_stream_ticket(key, {other, theirs.id, "owner", now + 60})),
    200);
  // A revoked token's ticket opens nothing any more.
  ASSERT_EQ(crm
              .call("DELETE", "/api/admin/tokens/" + std::to_string(agent.id),
                    admin_token)
              .status,
            200);
  EXPECT_EQ(try_open(good), 401);
  EXPECT_EQ(
    api_call(port, "POST", "/api/crm/events/ticket", agent.token, "{}").status,
    401);
}

TEST(Events, StreamsTheBusinessesChangesOnly) {
  crm_app crm;
  auto other = crm.new_business("Other");
  auto viewer = crm.new_token(1, "read_only");
  raw_stream s{crm.app().port(), events_target(crm.app().port(), viewer.token)};
  ASSERT_TRUE(eventually([&] { return s.has("event: ready"); }, 5s))
    << s.text();
  // Another business's row first, then ours: only ours arrives.
  crm.sql("INSERT INTO messages (business_id, direction, provider, body)"
          " VALUES ("
          + std::to_string(other) + ", 'in', 'twilio', 'secret')");
  crm.sql("INSERT INTO messages (business_id, direction, provider, body,"
          " from_address) VALUES (1, 'in', 'twilio', 'שלום\nשורה', "
          "'whatsapp:+972501234567')");
  ASSERT_TRUE(eventually([&] { return s.has("event: message"); }, 5s))
    << s.text();
  EXPECT_TRUE(s.has("\"body\":\"שלום\\nשורה\"")) << s.text();
  EXPECT_TRUE(s.has("\"direction\":\"in\""));
  EXPECT_FALSE(s.has("secret"));
  // A call starting, then ending.
  crm.sql("INSERT INTO calls (business_id, call_sid, from_number, status)"
          " VALUES (1, 'CAev1', '+972501234567', 'in-progress')");
  ASSERT_TRUE(eventually([&] { return s.has("\"sid\":\"CAev1\""); }, 5s))
    << s.text();
  EXPECT_TRUE(s.has("\"status\":\"in-progress\""));
  crm.sql("UPDATE calls SET status = 'completed', ended_at = now(),"
          " updated_at = now() WHERE call_sid = 'CAev1'");
  ASSERT_TRUE(eventually([&] { return s.has("\"status\":\"completed\""); }, 5s))
    << s.text();
  // An update that leaves updated_at alone is not a change the feed sees.
  crm.sql("UPDATE calls SET engine = 'local' WHERE call_sid = 'CAev1'");
  // A payment.
  crm.sql("INSERT INTO payments (business_id, provider, amount_minor, currency,"
          " status) VALUES (1, 'paypal', 12050, 'ILS', 'paid')");
  ASSERT_TRUE(eventually([&] { return s.has("event: payment"); }, 5s))
    << s.text();
  EXPECT_TRUE(s.has("\"amount\":\"120.50\""));
  EXPECT_TRUE(s.has("\"status\":\"paid\""));
  // Each write woke a read that re-read the overlap window before it; one
  // more, and everything so far is still sent once per change.
  insert_message(crm, "last");
  ASSERT_TRUE(eventually([&] { return s.has("\"body\":\"last\""); }, 5s))
    << s.text();
  auto text = s.text();
  EXPECT_EQ(count_of(text, "event: message"), 2u) << text;
  EXPECT_EQ(count_of(text, "event: payment"), 1u) << text;
  EXPECT_EQ(count_of(text, "\"sid\":\"CAev1\""), 2u) << text; // started, ended
  // Every event has an id, and the ids follow the stream's order.
  auto evs = events_in(text);
  ASSERT_EQ(evs.size(), 6u) << text; // ready + 5
  std::optional<feed_position> prev;
  for (auto& e : evs) {
    auto p = parse_event_id(e.id);
    ASSERT_TRUE(p) << e.event << " id '" << e.id << "'";
    if (prev) {
      EXPECT_FALSE(*p < *prev) << e.id;
    }
    prev = p;
    EXPECT_EQ(format_event_id(*p), e.id);
  }
  EXPECT_EQ(evs.back().id.find("-message-"), evs.back().id.find('-'))
    << evs.back().id;
  EXPECT_FALSE(s.closed());
}

TEST(Events, EachConnectionEndsWithItsClient) {
  crm_app crm;
  auto owner = crm.new_token(1, "owner");
  auto port = crm.app().port();
  auto target = events_target(port, owner.token);
  for (int i = 0; i < 5; ++i) {
    raw_stream s{port, target};
    ASSERT_TRUE(eventually([&] { return s.has("event: ready"); }, 5s));
  }
  // The feeds of the streams that left unsubscribe (the listener monitors
  // them).
  auto& stats = *crm.app().svc().events.stats;
  EXPECT_TRUE(eventually([&] { return stats.feeds.load() == 0; }, 5s))
    << stats.feeds.load();
  // The service keeps answering, and streams still work after the others
  // left.
  raw_stream s{port, target};
  ASSERT_TRUE(eventually([&] { return s.has("event: ready"); }, 5s));
  EXPECT_TRUE(eventually([&] { return stats.feeds.load() == 1; }, 5s));
  crm.sql("INSERT INTO messages (business_id, direction, provider, body)"
          " VALUES (1, 'out', 'twilio', 'after')");
  EXPECT_TRUE(eventually([&] { return s.has("\"body\":\"after\""); }, 5s));
  EXPECT_EQ(crm.call("GET", "/api/crm/me", owner.token).status, 200);
}

TEST(Events, ARevokedTokensStreamEnds) {
  crm_app crm;
  // No safety re-read in this test: the revocation itself wakes the feed.
  crm.app().svc().events.feed.resync = std::chrono::hours(1);
  auto agent = crm.new_token(1, "agent");
  raw_stream s{crm.app().port(), events_target(crm.app().port(), agent.token)};
  ASSERT_TRUE(eventually([&] { return s.has("event: ready"); }, 5s));
  EXPECT_FALSE(s.closed());
  ASSERT_EQ(crm
              .call("DELETE", "/api/admin/tokens/" + std::to_string(agent.id),
                    admin_token)
              .status,
            200);
  EXPECT_TRUE(eventually([&] { return s.closed(); }, 5s));
  EXPECT_NE(s.text().find("0\r\n\r\n"), std::string::npos)
    << "ended with the terminating chunk";
}

// -- live events: pushed, across instances, resumed
// -----------------------------

TEST(LiveEvents, AWriteThroughOneInstanceReachesAStreamOnAnother) {
  auto cfg = test_config();
  crm_app a{cfg};
  running_app b{cfg}; // the same database
  // An hour between safety re-reads, and nothing else reads on a timer:
  // only a notification can bring B's stream what A wrote.
  b.svc().events.feed.resync = std::chrono::hours(1);
  auto viewer = a.new_token(1, "read_only");
  // A ticket from A opens a stream on B (the same signing key).
  raw_stream s{b.port(), events_target(a.app().port(), viewer.token)};
  ASSERT_TRUE(eventually([&] { return s.has("event: ready"); }, 5s))
    << s.text();
  ASSERT_TRUE(
    eventually([&] { return b.svc().events.stats->listening.load(); }, 5s));
  auto arrives = [&](const std::string& needle) {
    auto sent = std::chrono::steady_clock::now();
    bool ok = eventually([&] { return s.has(needle); }, 5s);
    // Informational only: latency is measured in bench/, not asserted.
    std::fprintf(stderr, "LIVE: %s on B after %lld ms\n", needle.c_str(),
                 static_cast<long long>(
                   std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - sent)
                     .count()));
    return ok;
  };
  // A call through A's voice webhook (its lead comes with it).
  auto call = twilio_post(a.app().port(), cfg.public_base_url,
                          cfg.twilio_auth_token, "/webhook/incoming_call",
                          {{"CallSid", "CAxinst"},
                           {"From", "+972501234567"},
                           {"To", "+97231234567"},
                           {"AccountSid", "ACtest"},
                           {"CallStatus", "ringing"}});
  ASSERT_EQ(call.status, 200) << call.body;
  EXPECT_TRUE(arrives("\"sid\":\"CAxinst\"")) << s.text();
  // A WhatsApp message through A's webhook.
  auto msg = twilio_post(a.app().port(), cfg.public_base_url,
                         cfg.twilio_auth_token, "/webhook/whatsapp/incoming",
                         {{"MessageSid", "SMxinst"},
                          {"AccountSid", "ACtest"},
                          {"From", "whatsapp:+972501234567"},
                          {"To", "whatsapp:+14155238886"},
                          {"Body", "from instance A"}});
  ASSERT_EQ(msg.status, 204) << msg.body;
  EXPECT_TRUE(arrives("\"body\":\"from instance A\"")) << s.text();
  // The lead both made (leads are not events of their own: the dashboard
  // reloads them on call and message events).
  auto lead
    = a.sql("SELECT lead_id FROM messages WHERE provider_sid = 'SMxinst'");
  ASSERT_FALSE(lead.empty());
  // A payment (payments are off in the test config: the row directly; the
  // trigger notifies for any writer).
  a.sql("INSERT INTO payments (business_id, lead_id, provider, amount_minor,"
        " currency, status) VALUES (1, "
        + lead
        + ", 'paypal', 500, 'ILS',"
          " 'pending')");
  EXPECT_TRUE(arrives("event: payment")) << s.text();
  EXPECT_TRUE(s.has("\"lead_id\":" + lead));
  // The call ends (Twilio's status callback to A): its update arrives too.
  auto done = twilio_post(a.app().port(), cfg.public_base_url,
                          cfg.twilio_auth_token, "/webhook/call_status",
                          {{"CallSid", "CAxinst"},
                           {"AccountSid", "ACtest"},
                           {"CallStatus", "completed"},
                           {"CallDuration", "3"}});
  EXPECT_LT(done.status, 300) << done.body;
  EXPECT_TRUE(arrives("\"status\":\"completed\"")) << s.text();
  EXPECT_GE(b.svc().events.stats->notifications.load(), 4);
}

TEST(LiveEvents, AResumedStreamGetsWhatItMissedOnce) {
  crm_app crm;
  crm.app().svc().events.feed.resync = std::chrono::hours(1);
  auto port = crm.app().port();
  auto owner = crm.new_token(1, "owner");

  // Dropped right after `ready`: its id alone brings what came next.
  std::string ready_id;
  {
    raw_stream s{port, events_target(port, owner.token)};
    ASSERT_TRUE(eventually([&] { return !events_in(s.text()).empty(); }, 5s));
    ready_id = events_in(s.text()).front().id;
    ASSERT_TRUE(parse_event_id(ready_id)) << ready_id;
  }
  insert_message(crm, "m1");
  insert_message(crm, "m2");

  raw_stream s1{port, events_target(port, owner.token),
                "Last-Event-ID: " + ready_id + "\r\n"};
  ASSERT_TRUE(eventually(
    [&] { return message_bodies(events_in(s1.text())).size() == 2; }, 5s))
    << s1.text();
  EXPECT_EQ(message_bodies(events_in(s1.text())),
            (std::vector<std::string>{"m1", "m2"}));
  auto last = events_in(s1.text()).back().id;
  s1.close();

  // Written while nobody listened on this business's behalf.
  insert_message(crm, "m3");
  crm.sql("UPDATE messages SET status = 'read', updated_at = now()"
          " WHERE body = 'm1'"); // a new change of an old row
  insert_message(crm, "m4");

  // EventSource's own reconnect: the Last-Event-ID header.
  raw_stream s2{port, events_target(port, owner.token),
                "Last-Event-ID: " + last + "\r\n"};
  ASSERT_TRUE(eventually([&] { return s2.has("\"body\":\"m4\""); }, 5s))
    << s2.text();
  // One more change after the catch-up: anything sent twice would have come
  // before it.
  insert_message(crm, "m5");
  ASSERT_TRUE(eventually([&] { return s2.has("\"body\":\"m5\""); }, 5s))
    << s2.text();
  auto evs = events_in(s2.text());
  EXPECT_EQ(message_bodies(evs),
            (std::vector<std::string>{"m3", "m1", "m4", "m5"}))
    << s2.text();
  EXPECT_EQ(count_of(s2.text(), "\"status\":\"read\""), 1u);
  // The dashboard's reconnect: a new EventSource, ?last_event_id=.
  auto after_m3 = evs[1].id; // ready, m3, ...
  raw_stream s3{port, events_target(port, owner.token)
                        + "&last_event_id=" + after_m3};
  insert_message(crm, "m6");
  ASSERT_TRUE(eventually([&] { return s3.has("\"body\":\"m6\""); }, 5s))
    << s3.text();
  EXPECT_EQ(message_bodies(events_in(s3.text())),
            (std::vector<std::string>{"m1", "m4", "m5", "m6"}))
    << s3.text();
  // A resume point far in the past starts at most max_resume back (here:
  // from before every row).
  raw_stream s4{port, events_target(port, owner.token),
                "Last-Event-ID: 1-call-1\r\n"};
  insert_message(crm, "m7");
  ASSERT_TRUE(eventually([&] { return s4.has("\"body\":\"m7\""); }, 5s));
  EXPECT_EQ(
    message_bodies(events_in(s4.text())),
    (std::vector<std::string>{"m2", "m3", "m1", "m4", "m5", "m6", "m7"}))
    << s4.text();
}

TEST(LiveEvents, ABacklogLargerThanOneReadArrivesWhole) {
  crm_app crm;
  auto& feed = crm.app().svc().events.feed;
  feed.resync = std::chrono::hours(1);
  feed.max_rows = 2; // a read takes two rows per table
  feed.max_pages = 1;
  auto port = crm.app().port();
  auto owner = crm.new_token(1, "owner");
  raw_stream s{port, events_target(port, owner.token)};
  ASSERT_TRUE(eventually([&] { return s.has("event: ready"); }, 5s));
  // Seven rows of one transaction: one updated_at, one notification.
  crm.sql("INSERT INTO messages (business_id, direction, provider, body)"
          " SELECT 1, 'in', 'twilio', 'b' || g FROM generate_series(1, 7) g");
  ASSERT_TRUE(eventually([&] { return s.has("\"body\":\"b7\""); }, 5s))
    << s.text();
  EXPECT_EQ(
    message_bodies(events_in(s.text())),
    (std::vector<std::string>{"b1", "b2", "b3", "b4", "b5", "b6", "b7"}));
  // A backlog of separate transactions, read by a resuming stream.
  auto last = events_in(s.text()).back().id;
  s.close();
  for (int i = 1; i <= 5; ++i)
    insert_message(crm, "c" + std::to_string(i));
  raw_stream r{port, events_target(port, owner.token),
               "Last-Event-ID: " + last + "\r\n"};
  ASSERT_TRUE(eventually([&] { return r.has("\"body\":\"c5\""); }, 5s))
    << r.text();
  insert_message(crm, "end");
  ASSERT_TRUE(eventually([&] { return r.has("\"body\":\"end\""); }, 5s));
  EXPECT_EQ(message_bodies(events_in(r.text())),
            (std::vector<std::string>{"c1", "c2", "c3", "c4", "c5", "end"}));
}

TEST(LiveEvents, AListenerThatLostItsConnectionReReadsWhenBack) {
  crm_app crm;
  auto& svc = crm.app().svc();
  svc.events.feed.resync = std::chrono::hours(1);
  auto& stats = *svc.events.stats;
  auto owner = crm.new_token(1, "owner");
  raw_stream s{crm.app().port(), events_target(crm.app().port(), owner.token)};
  ASSERT_TRUE(eventually([&] { return s.has("event: ready"); }, 5s));
  ASSERT_TRUE(eventually([&] { return stats.listening.load(); }, 5s));
  auto connects = stats.connects.load();

  // Keep the listener out: no new connection to this database (said from
  // another database: PostgreSQL refuses it for the current one), then end
  // its current one. The instance's pool keeps its open connections.
  pqxx::connection db{crm.cfg().database_url};
  pqxx::nontransaction nt{db};
  pqxx::connection cluster{std::getenv("AL_TEST_DATABASE_URL")};
  pqxx::nontransaction admin{cluster};
  auto name = db.quote_name(db.dbname());
  admin.exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS false");
  struct reopen {
    pqxx::nontransaction& admin;
    std::string name;
    ~reopen() {
      try {
        admin.exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true");
      } catch (...) {
      }
    }
  } guard{admin, name};
  auto ended = nt.exec(
    "SELECT count(pg_terminate_backend(pid))"
    " FROM pg_stat_activity WHERE datname = current_database()"
    " AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()");
  ASSERT_EQ(ended[0][0].as<int>(), 1);
  ASSERT_TRUE(eventually([&] { return !stats.listening.load(); }, 10s));

  // Its notification goes nowhere: nobody listens.
  nt.exec("INSERT INTO messages (business_id, direction, provider, body)"
          " VALUES (1, 'in', 'twilio', 'while away')");
  admin.exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true");

  // Back: LISTEN again, and every feed re-reads.
  EXPECT_TRUE(eventually([&] { return s.has("\"body\":\"while away\""); }, 15s))
    << s.text();
  EXPECT_GT(stats.connects.load(), connects);
  EXPECT_TRUE(stats.listening.load());
  // And notifications work again.
  insert_message(crm, "after");
  EXPECT_TRUE(eventually([&] { return s.has("\"body\":\"after\""); }, 5s));
}

// -- the listener's registry, without a database ------------------------------

TEST(EventListener, WakesTheFeedsOfABusinessAndEveryFeedAfterAReconnect) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto stats = std::make_shared<event_listener_stats>();
  auto listener = spawn_event_listener(sys, listener_options{}, stats);
  caf::scoped_actor f1{sys};
  caf::scoped_actor f2{sys};
  auto h1 = caf::actor_cast<event_sink_actor>(f1.ptr());
  auto h2 = caf::actor_cast<event_sink_actor>(f2.ptr());
  auto next = [](caf::scoped_actor& f) {
    events_changed got{-1, "nothing"};
    f->receive([&](events_changed& c) { got = c; },
               caf::after(std::chrono::seconds(5)) >> [] {});
    return std::make_pair(got.business, got.kind);
  };
  using change = std::pair<std::int64_t, std::string>;
  caf::anon_send(listener, events_subscribe{1, h1});
  caf::anon_send(listener, events_subscribe{1, h1}); // once is enough
  caf::anon_send(listener, events_subscribe{2, h2});
  // A change reaches the feeds of its business only: f2's first message is
  // its own business's change, not business 1's.
  caf::anon_send(listener, events_changed{1, "call"});
  caf::anon_send(listener, events_changed{2, "payment"});
  EXPECT_EQ(next(f1), (change{1, "call"}));
  EXPECT_EQ(next(f2), (change{2, "payment"}));
  EXPECT_EQ(stats->feeds.load(), 2);
  // LISTEN (re)established: every feed re-reads.
  caf::anon_send(listener, events_link{true});
  EXPECT_EQ(next(f1), (change{1, "resync"}));
  EXPECT_EQ(next(f2), (change{2, "resync"}));
  EXPECT_TRUE(stats->listening.load());
  EXPECT_EQ(stats->connects.load(), 1);
  caf::anon_send(listener, events_link{false});
  caf::anon_send(listener, events_link{true});
  EXPECT_EQ(next(f1), (change{1, "resync"}));
  EXPECT_EQ(stats->connects.load(), 2);
  // Unsubscribed from 1, subscribed to 3: business 1 no longer reaches f1.
  caf::anon_send(listener, events_unsubscribe{1, h1});
  caf::anon_send(listener, events_subscribe{3, h1});
  caf::anon_send(listener, events_changed{1, "message"});
  caf::anon_send(listener, events_changed{3, "message"});
  EXPECT_EQ(next(f1), (change{3, "message"}));
  // A feed that ends is dropped.
  auto gone = sys.spawn(
    [](event_sink_actor::pointer) -> event_sink_actor::behavior_type {
      return {[](const events_changed&) {}};
    });
  caf::anon_send(listener, events_subscribe{4, gone});
  EXPECT_TRUE(eventually([&] { return stats->feeds.load() == 3; }, 5s));
  caf::anon_send_exit(gone, caf::exit_reason::kill);
  EXPECT_TRUE(eventually([&] { return stats->feeds.load() == 2; }, 5s));
  caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
}

TEST(EventListener, PayloadsAndEventIds) {
  auto c = parse_event_payload("12:call");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->business, 12);
  EXPECT_EQ(c->kind, "call");
  for (auto bad : {"", ":", "12", "12:", ":call", "x:call", "0:call", "-1:call",
                   "12:Call", "12:call:x", "1234567890123456789:call"})
    EXPECT_FALSE(parse_event_payload(bad)) << bad;

  feed_position p{1716300000123456, "message", 42};
  EXPECT_EQ(format_event_id(p), "1716300000123456-message-42");
  auto back = parse_event_id("1716300000123456-message-42");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->micros, p.micros);
  EXPECT_EQ(back->kind, "message");
  EXPECT_EQ(back->row, 42);
  auto start = parse_event_id("1716300000123456");
  ASSERT_TRUE(start);
  EXPECT_EQ(start->kind, "");
  EXPECT_TRUE(*start < p); // before every row of its µs
  EXPECT_TRUE((feed_position{1, "call", 9} < feed_position{1, "message", 1}));
  EXPECT_TRUE((feed_position{1, "payment", 1} < feed_position{2, "call", 1}));
  for (auto bad :
       {"", "-", "x", "1-", "1-call", "1-call-", "1-lead-2", "1-call-x",
        "-1-call-2", "1-call-2-3", "1 -call-2", "1234567890123456789"})
    EXPECT_FALSE(parse_event_id(bad)) << bad;
}

// -- /api/crm/voice/preview
// -----------------------------------------------------

TEST(VoicePreview, SpeaksTheTextAsPcmWav) {
  crm_app crm;
  auto viewer = crm.new_token(1, "read_only");
  auto port = crm.app().port();
  auto r = http_call(port, "GET",
                     "/api/crm/voice/preview?text=%D7%A9%D7%9C%D7%95%D7%9D", {},
                     {{"Authorization", "Bearer " + viewer.token}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "audio/wav");
  ASSERT_GT(r.body.size(), 44u + 1600u); // more than 0.1 s
  EXPECT_EQ(r.body.substr(0, 4), "RIFF");
  EXPECT_EQ(r.body[20], 1); // PCM
  // Empty text: the default greeting.
  auto d = http_call(port, "GET", "/api/crm/voice/preview", {},
                     {{"Authorization", "Bearer " + viewer.token}});
  EXPECT_EQ(d.status, 200);
  EXPECT_GT(d.body.size(), 44u + 8000u);
  std::string longer(1001, 'a');
  EXPECT_EQ(http_call(port, "GET", "/api/crm/voice/preview?text=" + longer, {},
                      {{"Authorization", "Bearer " + viewer.token}})
              .status,
            400);
  EXPECT_EQ(http_call(port, "GET", "/api/crm/voice/preview?text=a%00b", {},
                      {{"Authorization", "Bearer " + viewer.token}})
              .status,
            400);
  EXPECT_EQ(http_call(port, "GET", "/api/crm/voice/preview").status, 401);
}

} // namespace
} // namespace al::test
