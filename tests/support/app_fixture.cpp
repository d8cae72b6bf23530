#include "tests/support/app_fixture.hpp"

#include "actors/store.hpp"
#include "app/app.hpp"
#include "core/twilio_signature.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <libpq-fe.h>
#include <pqxx/pqxx>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace al::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

std::string base_url() {
  auto v = std::getenv("AL_TEST_DATABASE_URL");
  if (!v || !*v)
    throw std::runtime_error("AL_TEST_DATABASE_URL is not set: run the tests"
                             " through deploy/test.sh");
  return v;
}

std::string replace_dbname(const std::string& url, const std::string& name) {
  // postgresql://user@host:port/dbname[?params]
  auto scheme = url.find("://");
  auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (slash == std::string::npos)
    return url + "/" + name;
  auto q = url.find('?', slash);
  return url.substr(0, slash + 1) + name
         + (q == std::string::npos ? "" : url.substr(q));
}

// Every database a test process creates is dropped when the process exits:
// a full run creates a few thousand (about 10 MB each), and CI once ran out
// of disk keeping them all. One suite's databases at most are alive at a
// time; deploy/test.sh drops what a crashed process left behind. Only the
// creating process drops (a forked child that exits must not).
class database_reaper {
public:
  void add(const std::string& url, const std::string& name) {
    std::lock_guard<std::mutex> lock{mutex_};
    url_ = url;
    names_.push_back(name);
  }
  ~database_reaper() {
    if (::getpid() != owner_ || names_.empty())
      return;
    // libpq, not libpqxx: this runs among the exit-time destructors, and
    // libpqxx's own statics may be gone by now. Best effort: the cluster
    // may already be gone too.
    PGconn* conn = PQconnectdb(url_.c_str());
    if (PQstatus(conn) == CONNECTION_OK)
      for (const auto& name : names_)
        PQclear(PQexec(
          conn, ("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").c_str()));
    PQfinish(conn);
  }

private:
  std::mutex mutex_;
  pid_t owner_ = ::getpid();
  std::string url_;
  std::vector<std::string> names_;
};

database_reaper& reaper() {
  static database_reaper r;
  return r;
}

} // namespace

std::string fresh_database() {
  static std::atomic<int> counter{0};
  auto url = base_url();
  auto& dbs = reaper(); // constructed before any app that may outlive it
  auto name = "al_t_" + std::to_string(::getpid()) + "_"
              + std::to_string(++counter);
  pqxx::connection conn{url};
  pqxx::nontransaction nt{conn};
  nt.exec("DROP DATABASE IF EXISTS " + name);
  nt.exec("CREATE DATABASE " + name);
  dbs.add(url, name);
  return replace_dbname(url, name);
}

std::string migrated_database() {
  auto url = fresh_database();
  if (auto err = apply_migrations(url, AL_SOURCE_DIR "/schemas"); !err.empty())
    throw std::runtime_error("migrations: " + err);
  return url;
}

config test_config() {
  config cfg;
  cfg.port = 0;
  cfg.database_url = fresh_database();
  cfg.public_base_url = "https://al.example.test";
  cfg.admin_token = "test-admin";
  cfg.twilio_account_sid = "ACtest";
  cfg.twilio_auth_token = "test-auth-token";
  cfg.db_pool_size = 2;
  cfg.drain_timeout = std::chrono::seconds(2);
  cfg.recordings_dir = "./var/test-recordings-" + std::to_string(::getpid());
  // Suites that wait on the caller's side choose their own silence timer.
  cfg.silence_reprompt = std::chrono::seconds(600);
  // Transfers are tested "inside working hours" on any date, Yom Kippur
  // included; the holiday rules have their own tests (core_time_test).
  cfg.holiday_closures = false;
  // Tenant secrets are sealed in every suite (the security suite checks
  // the dump); the sign-in throttle is off except where a suite tests it
  // (the role matrix alone presents dozens of invalid tokens).
  cfg.secret_key = "test-secret-key-0123456789abcdef-0123456789";
  cfg.auth_fail_block_after = 0;
  // Outgoing webhooks: retries within milliseconds, a short poll.
  cfg.webhook_poll = std::chrono::milliseconds(200);
  cfg.webhook_retry_base = std::chrono::milliseconds(50);
  // After-call jobs: quick polls and retries (a call's own hang-up starts
  // its job at once anyway).
  cfg.after_call_poll = std::chrono::milliseconds(100);
  cfg.after_call_retry_base = std::chrono::milliseconds(50);
  cfg.after_call_settle = std::chrono::milliseconds(5000);
  cfg.after_call_http_timeout = std::chrono::milliseconds(5000);
  return cfg;
}

running_app::running_app(config cfg)
  : cfg_(std::move(cfg)) {
  app_ = std::make_unique<application>(cfg_, AL_SOURCE_DIR "/schemas");
  auto err = app_->start("127.0.0.1");
  if (!err.empty())
    throw std::runtime_error("app start failed: " + err);
}

running_app::~running_app() {
  app_->shutdown();
}

std::string http_result::header(const std::string& name) const {
  std::string lower;
  for (char c : name)
    lower.push_back(
      static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  auto i = headers.find(lower);
  return i == headers.end() ? std::string{} : i->second;
}

http_result http_call(std::uint16_t port, const std::string& method,
                      const std::string& target, const std::string& body,
                      const header_list& headers) {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  stream.expires_after(std::chrono::seconds(15));
  stream.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{http::string_to_verb(method), target,
                                       11};
  req.set(http::field::host, "127.0.0.1");
  for (auto& [k, v] : headers)
    req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(stream, buf, parser);
  auto res = parser.release();
  http_result out;
  out.status = res.result_int();
  out.body = res.body();
  for (auto& f : res) {
    std::string name{f.name_string()};
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string{f.value()};
  }
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

http_result api_call(std::uint16_t port, const std::string& method,
                     const std::string& target, const std::string& token,
                     const std::string& json_body) {
  header_list h{{"Authorization", "Bearer " + token}};
  if (!json_body.empty())
    h.emplace_back("Content-Type", "application/json");
  return http_call(port, method, target, json_body, h);
}

http_result
twilio_post(std::uint16_t port, const std::string& public_base,
            const std::string& auth_token, const std::string& target,
            const std::vector<std::pair<std::string, std::string>>& params) {
  form_params fp{params};
  auto sig = twilio_signature(auth_token, public_base + target, fp);
  return http_call(port, "POST", target, encode_form(params),
                   {{"Content-Type", "application/x-www-form-urlencoded"},
                    {"X-Twilio-Signature", sig}});
}

http_result stream_start(std::uint16_t port, const std::string& target,
                         const header_list& headers,
                         std::chrono::milliseconds wait) {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  stream.expires_after(std::chrono::seconds(15));
  stream.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (auto& [k, v] : headers)
    req.set(k, v);
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response_parser<http::empty_body> parser;
  http::read_header(stream, buf, parser); // the body may never end

  http_result out;
  out.status = static_cast<int>(parser.get().result_int());
  for (auto& f : parser.get()) {
    std::string name{f.name_string()};
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string{f.value()};
  }
  auto data = buf.data();
  out.body.assign(static_cast<const char*>(data.data()), data.size());
  // Whatever else arrives within `wait` (or until the server closes); only
  // asynchronous operations honour the stream's timeout.
  char more[4096];
  std::function<void(beast::error_code, std::size_t)> on_read
    = [&](beast::error_code ec, std::size_t n) {
        out.body.append(more, n);
        if (!ec)
          stream.async_read_some(net::buffer(more), on_read);
      };
  stream.expires_after(wait);
  stream.async_read_some(net::buffer(more), on_read);
  ioc.restart();
  ioc.run();
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout) {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  stream.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
  stream.expires_after(timeout);
  beast::error_code ec;
  net::write(stream, net::buffer(bytes), ec);
  // Asynchronous reads: tcp_stream's deadline applies only to those (a
  // blocking read_some would wait for the server however long it takes).
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

std::string sql_value(const config& cfg, const std::string& sql) {
  pqxx::connection conn{cfg.database_url};
  pqxx::nontransaction nt{conn};
  auto r = nt.exec(sql);
  if (r.empty() || r[0][0].is_null())
    return {};
  return r[0][0].c_str();
}

bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

std::string param_value(const std::string& twiml, const std::string& name) {
  std::smatch m;
  std::regex re("<Parameter name=\"" + name + "\" value=\"([^\"]*)\"");
  return std::regex_search(twiml, m, re) ? m[1].str() : std::string{};
}

} // namespace al::test
