// The dashboard's server side against the whole service in-process: the
// static files under /app (types, caching, SPA fallback, no traversal), the
// live event stream GET /api/crm/events (auth by header or ?token=, events
// of the token's business only, in order, the stream ending with the
// client), GET /api/crm/me and the greeting preview.
#include "tests/crm/crm_support.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
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

// -- /app -----------------------------------------------------------------------

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
    EXPECT_EQ(rest.find("http"), std::string::npos) << "no other origin: " << csp;
    EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;
    EXPECT_NE(csp.find("connect-src 'self';"), std::string::npos) << csp;
  }
  struct asset {
    const char* target;
    const char* type;
  };
  for (auto a : {asset{"/app/app.js", "text/javascript; charset=utf-8"},
                 asset{"/app/js/api.js", "text/javascript; charset=utf-8"},
                 asset{"/app/styles.css", "text/css; charset=utf-8"},
                 asset{"/app/favicon.svg", "image/svg+xml"},
                 asset{"/app/fonts/heebo-hebrew-400-normal.woff2",
                       "font/woff2"}}) {
    auto r = http_call(port, "GET", a.target);
    EXPECT_EQ(r.status, 200) << a.target;
    EXPECT_EQ(r.header("content-type"), a.type) << a.target;
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
    EXPECT_FALSE(r.body.empty());
  }
  auto font = http_call(port, "GET", "/app/fonts/heebo-hebrew-400-normal.woff2");
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
       {"/app/../schemas/0001_tenants.sql", "/app/%2e%2e/schemas/0001_tenants.sql",
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

// -- /api/crm/me ----------------------------------------------------------------

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

// -- /api/crm/events ------------------------------------------------------------

TEST(Events, AuthByHeaderOrQuery) {
  crm_app crm;
  auto port = crm.app().port();
  auto owner = crm.new_token(1, "owner");
  EXPECT_EQ(stream_start(port, "/api/crm/events").status, 401);
  EXPECT_EQ(stream_start(port, "/api/crm/events?token=al_nope").status, 401);
  EXPECT_EQ(stream_start(port, "/api/crm/events?token=").status, 401);
  EXPECT_EQ(stream_start(port, "/api/crm/events?token=%zz").status, 400);
  // A header wins over the query.
  EXPECT_EQ(stream_start(port, "/api/crm/events?token=" + owner.token,
                         {{"Authorization", "Bearer al_nope"}})
              .status,
            401);
  auto q = stream_start(port, "/api/crm/events?token=" + owner.token);
  EXPECT_EQ(q.status, 200);
  EXPECT_EQ(q.header("content-type"), "text/event-stream; charset=utf-8");
  EXPECT_EQ(q.header("cache-control"), "no-store");
  EXPECT_EQ(q.header("transfer-encoding"), "chunked");
  EXPECT_NE(q.body.find("retry: 3000"), std::string::npos) << q.body;
  EXPECT_NE(q.body.find("event: ready\ndata: {\"business_id\":1,\"role\":\"owner\"}"),
            std::string::npos)
    << q.body;
  auto h = stream_start(port, "/api/crm/events",
                        {{"Authorization", "Bearer " + owner.token}});
  EXPECT_EQ(h.status, 200);
  // The admin token names an existing business, else 404.
  EXPECT_EQ(stream_start(port, "/api/crm/events?business_id=999",
                         {{"Authorization", "Bearer test-admin"}})
              .status,
            404);
  auto a = stream_start(port, "/api/crm/events?business_id=1",
                        {{"Authorization", "Bearer test-admin"}});
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.body.find("\"role\":\"admin\""), std::string::npos);
}

TEST(Events, StreamsTheBusinessesChangesOnly) {
  crm_app crm;
  auto other = crm.new_business("Other");
  auto viewer = crm.new_token(1, "read_only");
  raw_stream s{crm.app().port(), "/api/crm/events?token=" + viewer.token};
  ASSERT_TRUE(eventually([&] { return s.has("event: ready"); }, 5s))
    << s.text();
  // Another business's row first, then ours: only ours arrives.
  crm.sql("INSERT INTO messages (business_id, direction, provider, body)"
          " VALUES (" + std::to_string(other) + ", 'in', 'twilio', 'secret')");
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
  // A payment.
  crm.sql("INSERT INTO payments (business_id, provider, amount_minor, currency,"
          " status) VALUES (1, 'paypal', 12050, 'ILS', 'paid')");
  ASSERT_TRUE(eventually([&] { return s.has("event: payment"); }, 5s))
    << s.text();
  EXPECT_TRUE(s.has("\"amount\":\"120.50\""));
  EXPECT_TRUE(s.has("\"status\":\"paid\""));
  // The overlap window re-reads rows: each change is sent once.
  std::this_thread::sleep_for(2500ms); // two more polls
  auto text = s.text();
  auto count = [&](const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(count("event: message"), 1u) << text;
  EXPECT_EQ(count("event: payment"), 1u) << text;
  EXPECT_EQ(count("\"sid\":\"CAev1\""), 2u) << text; // started, ended
  EXPECT_FALSE(s.closed());
}

TEST(Events, EachConnectionEndsWithItsClient) {
  crm_app crm;
  auto owner = crm.new_token(1, "owner");
  auto port = crm.app().port();
  for (int i = 0; i < 5; ++i) {
    raw_stream s{port, "/api/crm/events?token=" + owner.token};
    ASSERT_TRUE(eventually([&] { return s.has("event: ready"); }, 5s));
  }
  // The service keeps answering, and streams still work after the others
  // left.
  raw_stream s{port, "/api/crm/events?token=" + owner.token};
  ASSERT_TRUE(eventually([&] { return s.has("event: ready"); }, 5s));
  crm.sql("INSERT INTO messages (business_id, direction, provider, body)"
          " VALUES (1, 'out', 'twilio', 'after')");
  EXPECT_TRUE(eventually([&] { return s.has("\"body\":\"after\""); }, 5s));
  EXPECT_EQ(crm.call("GET", "/api/crm/me", owner.token).status, 200);
}

TEST(Events, ARevokedTokensStreamEnds) {
  crm_app crm;
  auto agent = crm.new_token(1, "agent");
  raw_stream s{crm.app().port(), "/api/crm/events?token=" + agent.token};
  ASSERT_TRUE(eventually([&] { return s.has("event: ready"); }, 5s));
  EXPECT_FALSE(s.closed());
  ASSERT_EQ(crm.call("DELETE", "/api/admin/tokens/" + std::to_string(agent.id),
                     admin_token)
              .status,
            200);
  EXPECT_TRUE(eventually([&] { return s.closed(); }, 5s));
  EXPECT_NE(s.text().find("0\r\n\r\n"), std::string::npos)
    << "ended with the terminating chunk";
}

// -- /api/crm/voice/preview -----------------------------------------------------

TEST(VoicePreview, SpeaksTheTextAsPcmWav) {
  crm_app crm;
  auto viewer = crm.new_token(1, "read_only");
  auto port = crm.app().port();
  auto r = http_call(port, "GET",
                     "/api/crm/voice/preview?text=%D7%A9%D7%9C%D7%95%D7%9D",
                     {}, {{"Authorization", "Bearer " + viewer.token}});
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
