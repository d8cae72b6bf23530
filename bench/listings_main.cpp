// al-listings-bench: listings at an office's scale (issue 17's benchmark).
// Runs the service in-process against DATABASE_URL and measures, in the same
// invocation and on the same store:
//   import    one CSV of N listings (default 50 000) through
//             POST /api/crm/listings/import, then the same file again
//             (the update path): rows per second;
//   search    the AI's search_listings query (search_listings_for_ai in a
//             store job) with random deal/city/rooms/price: p50/p99, and
//             the same through GET /api/crm/listings (HTTP + JSON);
//   baseline  a store job that runs `SELECT 1`, and GET /healthz: the floor
//             of each path, so the figures are ratios, not absolutes.
// Writes a JSON line to stdout; bench/listings.sh wraps it.
#include "actors/listings.hpp"
#include "actors/sql.hpp"
#include "app/app.hpp"
#include "bench/bench_util.hpp"
#include "core/config.hpp"
#include "core/csv.hpp"
#include "transport/services.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <random>
#include <string>
#include <thread>

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using al::bench::clock;
using al::bench::histogram;
using al::bench::micros;

const char* const cities[] = {"רמת גן",  "תל אביב",  "גבעתיים", "חיפה",
                              "ירושלים", "חולון",    "בת ים",   "הרצליה",
                              "רעננה",   "פתח תקווה"};

/// One persistent HTTP/1.1 connection.
class client {
public:
  explicit client(unsigned short port)
    : socket_(ioc_) {
    socket_.connect({net::ip::make_address("127.0.0.1"), port});
  }

  http::response<http::string_body>
  call(http::verb method, const std::string& target, const std::string& token,
       std::string body = {}, const char* type = "text/csv") {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!token.empty())
      req.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) {
      req.set(http::field::content_type, type);
      req.body() = std::move(body);
      req.prepare_payload();
    }
    http::write(socket_, req);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(socket_, buffer_, parser);
    return parser.release();
  }

private:
  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

std::string make_csv(int n, std::mt19937& rng) {
  std::string out = al::csv_bom();
  al::csv_append_row(out, {"title", "deal", "city", "neighborhood", "rooms",
                           "floor", "size_sqm", "price", "features",
                           "external_ref", "description"});
  std::uniform_int_distribution<int> city(0, 9), rooms2(2, 12), floor(0, 20),
    size(40, 250), deal(0, 3);
  for (int i = 0; i < n; ++i) {
    bool rent = deal(rng) == 0;
    double rooms = rooms2(rng) / 2.0;
    auto price = rent ? 3000 + 1000 * static_cast<int>(rooms)
                      : 800000 + 450000 * static_cast<int>(rooms)
                          + 10000 * (i % 50);
    const char* c = cities[city(rng)];
    al::csv_append_row(
      out, {std::to_string(rooms).substr(0, 3) + " חדרים ב" + c,
            rent ? "rent" : "buy", c, "שכונה " + std::to_string(i % 40),
            std::to_string(rooms), std::to_string(floor(rng)),
            std::to_string(size(rng)), std::to_string(price),
            i % 3 ? "parking;elevator" : "safe_room;balcony",
            "ad-" + std::to_string(i), "דירה מוארת ומרווחת, קרובה לתחבורה"});
  }
  return out;
}

/// Runs `job` in a store job and waits for it.
template <class F>
void in_store(al::services& svc, F job) {
  std::promise<void> done;
  svc.db.run([&job](al::db_tx& tx) { job(tx); },
             [&done](const al::db_error&) { done.set_value(); });
  done.get_future().wait();
}

constexpr al::sql_statement select_one{"SELECT 1"};

} // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 50000;
  int queries = argc > 2 ? std::atoi(argv[2]) : 2000;
  const char* url = std::getenv("DATABASE_URL");
  const char* schemas = std::getenv("SCHEMAS_DIR");
  if (!url || !schemas || n <= 0 || queries <= 0) {
    std::fprintf(stderr,
                 "usage: DATABASE_URL=... SCHEMAS_DIR=... %s [listings]"
                 " [queries]\n",
                 argv[0]);
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  al::config cfg;
  cfg.port = 0;
  cfg.database_url = url;
  cfg.admin_token = "bench-admin";
  cfg.public_base_url = "http://127.0.0.1";
  cfg.recordings_dir = "/tmp/al-listings-bench";
  al::application app{cfg, schemas};
  if (auto err = app.start("127.0.0.1"); !err.empty()) {
    std::fprintf(stderr, "start: %s\n", err.c_str());
    return 1;
  }
  client http_client{app.port()};
  // An owner token of the default business.
  auto tok = http_client.call(http::verb::post, "/api/admin/tokens",
                              "bench-admin",
                              R"({"business_id":1,"role":"owner"})",
                              "application/json");
  auto token = boost::json::value_to<std::string>(
    boost::json::parse(tok.body()).at("token"));

  std::mt19937 rng{42};
  auto csv = make_csv(n, rng);
  auto t0 = clock::now();
  auto first = http_client.call(http::verb::post, "/api/crm/listings/import",
                                token, csv);
  auto import_s = micros(clock::now() - t0) / 1e6;
  t0 = clock::now();
  auto second = http_client.call(http::verb::post, "/api/crm/listings/import",
                                 token, csv);
  auto update_s = micros(clock::now() - t0) / 1e6;
  if (first.result() != http::status::ok
      || second.result() != http::status::ok) {
    std::fprintf(stderr, "import failed: %s\n",
                 first.body().substr(0, 300).c_str());
    return 1;
  }
  in_store(app.svc(), [](al::db_tx& tx) { tx.exec0("ANALYZE listings"); });

  // The AI's query, as a call runs it, against the baseline store job.
  histogram ai{2000}, floor_job{2000}, api{2000}, floor_http{2000};
  std::uniform_int_distribution<int> city(0, 9), rooms(3, 5), deal(0, 3);
  for (int i = 0; i < queries; ++i) {
    al::listing_query q;
    q.deal = deal(rng) ? "buy" : "rent";
    q.city = cities[city(rng)];
    q.rooms_min = rooms(rng);
    q.rooms_max = *q.rooms_min + 0.5;
    q.price_max = *q.deal == "buy" ? 3500000 : 9000;
    auto s = clock::now();
    in_store(app.svc(), [&q](al::db_tx& tx) {
      al::search_listings_for_ai(tx, 1, q, 0, "");
    });
    ai.add(micros(clock::now() - s));
    s = clock::now();
    in_store(app.svc(), [](al::db_tx& tx) { al::exec(tx, select_one); });
    floor_job.add(micros(clock::now() - s));
    auto target = std::string{"/api/crm/listings?status=available&deal="}
                  + *q.deal + "&rooms_min=" + std::to_string(*q.rooms_min)
                  + "&per_page=20";
    s = clock::now();
    auto r = http_client.call(http::verb::get, target, token);
    api.add(micros(clock::now() - s));
    if (r.result() != http::status::ok)
      return 1;
    s = clock::now();
    http_client.call(http::verb::get, "/healthz", "");
    floor_http.add(micros(clock::now() - s));
  }
  boost::json::object out{
    {"listings", n},
    {"cores", std::thread::hardware_concurrency()},
    {"import_s", import_s},
    {"import_rows_per_s", n / import_s},
    {"reimport_s", update_s},
    {"reimport_rows_per_s", n / update_s},
    {"search_ai_p50_ms", ai.percentile_ms(0.5)},
    {"search_ai_p99_ms", ai.percentile_ms(0.99)},
    {"store_select1_p50_ms", floor_job.percentile_ms(0.5)},
    {"store_select1_p99_ms", floor_job.percentile_ms(0.99)},
    {"api_list_p50_ms", api.percentile_ms(0.5)},
    {"api_list_p99_ms", api.percentile_ms(0.99)},
    {"healthz_p50_ms", floor_http.percentile_ms(0.5)},
    {"healthz_p99_ms", floor_http.percentile_ms(0.99)},
  };
  std::printf("%s\n", boost::json::serialize(out).c_str());
  app.shutdown();
  return 0;
}
