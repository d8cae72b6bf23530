// al-webload: webhook and API load at fixed concurrency over keep-alive
// connections, a fixed number of requests per route; prints throughput and
// latency percentiles per route (JSON on stdout or --out, a table on stderr).
//
//   al-webload --port P --auth-token T [--public-base URL]
//              [--admin-token A] [--concurrency 16] [--requests 2000]
//              [--rate 1000] [--rate-seconds 3] [--out FILE]
//
// Phases, in this order:
//   incoming_call@rate  signed POST /webhook/incoming_call (unique CallSids)
//                       open loop at --rate req/s (latency from the
//                       scheduled send time: waiting for a connection counts)
//   incoming_call       the same, closed loop (throughput)
//   stream_status       POST /webhook/stream_status for those calls
//   whatsapp_incoming   signed POST /webhook/whatsapp/incoming (unique
//                       MessageSids, 50 senders)
//   crm_leads           GET /api/crm/leads with the admin bearer token
// A route answering 404 to its first request is reported as absent.

#include "bench/bench_util.hpp"
#include "bench/http_pool.hpp"

#include "core/form.hpp"
#include "core/twilio_signature.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>

namespace al::bench {

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace {

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 5000;
  std::string public_base;
  std::string auth_token;
  std::string admin_token;
  std::string to = "+97231234567";
  int concurrency = 16;
  int requests = 2000;
  double rate = 1000;
  double rate_seconds = 3;
  std::string out;
};

struct phase_result {
  std::string name;
  std::string method;
  std::string path;
  int requests = 0;
  int concurrency = 0;
  double rate = 0; // 0: closed loop
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  std::map<int, std::uint64_t> statuses;
  double seconds = 0;
  histogram latency{20000};
  bool absent = false;
  std::string first_error;
};

using make_job = std::function<http_job(int i)>;

/// Runs `n` requests made by `make` at fixed concurrency; open loop at
/// `rate` req/s when rate > 0.
void run_phase(net::io_context& ioc, const options& o, phase_result& r,
               const make_job& make, int n, double rate) {
  r.requests = n;
  r.concurrency = o.concurrency;
  r.rate = rate;
  tcp::endpoint ep{net::ip::make_address(o.host), o.port};

  // Probe: a missing route is reported, not hammered.
  {
    http_pool probe(ioc, ep, 1);
    auto job = make(-1);
    job.done = [&r](http_result& res) {
      if (res.status == 404)
        r.absent = true;
    };
    probe.submit(std::move(job));
    ioc.restart();
    ioc.run();
  }
  if (r.absent)
    return;

  http_pool pool(ioc, ep, o.concurrency);
  int done = 0;
  auto on_done = [&](http_result& res) {
    r.latency.add(res.latency_us);
    ++r.statuses[res.status];
    if (res.status >= 200 && res.status < 300) {
      ++r.ok;
    } else {
      ++r.errors;
      if (r.first_error.empty())
        r.first_error = std::to_string(res.status) + " " + res.error + " "
                        + res.body.substr(0, 200);
    }
    ++done;
  };
  // Requests are built before the clock starts (signatures included).
  std::vector<http_job> jobs;
  jobs.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    jobs.push_back(make(i));
    jobs.back().done = on_done;
  }
  auto t0 = clock::now();
  net::steady_timer timer(ioc);
  std::function<void()> tick; // outlives the loop below
  if (rate <= 0) {
    for (auto& j : jobs)
      pool.submit(std::move(j));
  } else {
    // Open loop: a 1 ms timer releases the requests that are due.
    auto next = std::make_shared<std::size_t>(0);
    auto interval = std::chrono::duration<double>(1.0 / rate);
    tick = [&, next, interval] {
      auto now = clock::now();
      while (*next < jobs.size()) {
        auto due = t0 + std::chrono::duration_cast<clock::duration>(
                          interval * static_cast<double>(*next));
        if (due > now)
          break;
        jobs[*next].scheduled = due;
        pool.submit(std::move(jobs[*next]));
        ++*next;
      }
      if (*next < jobs.size()) {
        timer.expires_after(std::chrono::milliseconds(1));
        timer.async_wait([&tick](boost::system::error_code ec) {
          if (!ec)
            tick();
        });
      }
    };
    tick();
  }
  ioc.restart();
  while (done < n && !ioc.stopped())
    ioc.run_one();
  r.seconds = std::chrono::duration<double>(clock::now() - t0).count();
  pool.close();
  ioc.restart();
  ioc.poll();
}

http_job signed_form(const options& o, const std::string& path,
                     std::vector<std::pair<std::string, std::string>> params) {
  http_job j;
  j.target = path;
  j.headers.emplace_back(
    "X-Twilio-Signature",
    twilio_signature(o.auth_token, o.public_base + path, form_params{params}));
  j.body = encode_form(params);
  return j;
}

json::object to_json(const phase_result& r) {
  json::object statuses;
  for (auto& [k, v] : r.statuses)
    statuses[std::to_string(k)] = v;
  double rps = r.seconds > 0 ? r.requests / r.seconds : 0;
  return {{"name", r.name},
          {"method", r.method},
          {"path", r.path},
          {"absent", r.absent},
          {"requests", r.requests},
          {"concurrency", r.concurrency},
          {"rate", r.rate},
          {"ok", r.ok},
          {"errors", r.errors},
          {"statuses", statuses},
          {"seconds", round3(r.seconds)},
          {"throughput_rps", round3(rps)},
          {"latency_ms", r.latency.summary()},
          {"first_error", r.first_error}};
}

} // namespace

int run(int argc, char** argv) {
  flags f(argc, argv);
  options o;
  o.host = f.str("host", o.host);
  o.port = static_cast<std::uint16_t>(f.num("port", o.port));
  o.public_base = f.str("public-base", "http://" + o.host + ":"
                                         + std::to_string(o.port));
  o.auth_token = f.str("auth-token");
  o.admin_token = f.str("admin-token");
  o.concurrency = static_cast<int>(f.num("concurrency", o.concurrency));
  o.requests = static_cast<int>(f.num("requests", o.requests));
  o.rate = f.real("rate", o.rate);
  o.rate_seconds = f.real("rate-seconds", o.rate_seconds);
  o.out = f.str("out");
  if (f.has("help") || o.auth_token.empty() || o.requests <= 0) {
    std::fprintf(stderr,
                 "usage: al-webload --port P --auth-token T [--admin-token A]"
                 " [--public-base URL] [--concurrency C] [--requests N]"
                 " [--rate R] [--rate-seconds S] [--out FILE]\n");
    return 2;
  }
  std::mt19937_64 rng{std::random_device{}()};
  auto run_id = std::to_string(rng() % 1000000000ull);

  net::io_context ioc{1};
  std::vector<phase_result> results;
  auto call_sid = [&](const std::string& tag, int i) {
    return "CAweb" + run_id + tag + std::to_string(i < 0 ? 999999 : i);
  };
  auto incoming = [&](const std::string& tag) {
    return [&, tag](int i) {
      auto from = "+97252" + std::to_string(1000000 + (i < 0 ? 0 : i) % 9000000);
      return signed_form(o, "/webhook/incoming_call",
                         {{"AccountSid", "ACbench"},
                          {"ApiVersion", "2010-04-01"},
                          {"CallSid", call_sid(tag, i)},
                          {"CallStatus", "ringing"},
                          {"Direction", "inbound"},
                          {"From", from},
                          {"To", o.to}});
    };
  };

  if (o.rate > 0) {
    phase_result r;
    r.name = "incoming_call@" + std::to_string(static_cast<int>(o.rate)) + "rps";
    r.method = "POST";
    r.path = "/webhook/incoming_call";
    run_phase(ioc, o, r, incoming("r"),
              static_cast<int>(o.rate * o.rate_seconds), o.rate);
    results.push_back(std::move(r));
  }
  {
    phase_result r;
    r.name = "incoming_call";
    r.method = "POST";
    r.path = "/webhook/incoming_call";
    run_phase(ioc, o, r, incoming("c"), o.requests, 0);
    results.push_back(std::move(r));
  }
  {
    phase_result r;
    r.name = "stream_status";
    r.method = "POST";
    r.path = "/webhook/stream_status";
    run_phase(ioc, o, r,
              [&](int i) {
                auto sid = call_sid("c", i);
                return signed_form(o, "/webhook/stream_status",
                                   {{"AccountSid", "ACbench"},
                                    {"CallSid", sid},
                                    {"StreamSid", "MZ" + sid},
                                    {"StreamEvent", "stream-started"},
                                    {"Timestamp", "2024-01-01T00:00:00Z"}});
              },
              o.requests, 0);
    results.push_back(std::move(r));
  }
  {
    phase_result r;
    r.name = "whatsapp_incoming";
    r.method = "POST";
    r.path = "/webhook/whatsapp/incoming";
    run_phase(ioc, o, r,
              [&](int i) {
                auto sender = "whatsapp:+97254"
                              + std::to_string(1000000 + (i < 0 ? 0 : i) % 50);
                return signed_form(
                  o, "/webhook/whatsapp/incoming",
                  {{"AccountSid", "ACbench"},
                   {"MessageSid", "SMweb" + run_id + "_"
                                    + std::to_string(i < 0 ? 999999 : i)},
                   {"From", sender},
                   {"To", "whatsapp:" + o.to},
                   {"Body", "שלום, אני מחפש דירה להשכרה"},
                   {"NumMedia", "0"},
                   {"ProfileName", "Bench"}});
              },
              o.requests, 0);
    results.push_back(std::move(r));
  }
  if (!o.admin_token.empty()) {
    phase_result r;
    r.name = "crm_leads";
    r.method = "GET";
    r.path = "/api/crm/leads";
    run_phase(ioc, o, r,
              [&](int) {
                http_job j;
                j.method = http::verb::get;
                j.target = "/api/crm/leads?per_page=50";
                j.headers.emplace_back("Authorization",
                                       "Bearer " + o.admin_token);
                return j;
              },
              o.requests, 0);
    results.push_back(std::move(r));
  }

  json::array routes;
  std::fprintf(stderr, "%-26s %7s %5s %8s %10s %8s %8s %8s\n", "route",
               "reqs", "conc", "errors", "req/s", "p50 ms", "p99 ms",
               "max ms");
  for (auto& r : results) {
    routes.push_back(to_json(r));
    if (r.absent) {
      std::fprintf(stderr, "%-26s absent (404)\n", r.name.c_str());
      continue;
    }
    std::fprintf(stderr, "%-26s %7d %5d %8llu %10.1f %8.2f %8.2f %8.2f\n",
                 r.name.c_str(), r.requests, r.concurrency,
                 static_cast<unsigned long long>(r.errors),
                 r.seconds > 0 ? r.requests / r.seconds : 0.0,
                 r.latency.percentile_ms(0.5), r.latency.percentile_ms(0.99),
                 r.latency.max_ms());
    if (!r.first_error.empty())
      std::fprintf(stderr, "  first error: %s\n", r.first_error.c_str());
  }
  json::object out{{"routes", routes}};
  auto text = json::serialize(out);
  if (o.out.empty()) {
    std::cout << text << "\n";
  } else {
    std::ofstream file(o.out);
    file << text << "\n";
  }
  return 0;
}

} // namespace al::bench

int main(int argc, char** argv) {
  try {
    return al::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "al-webload: %s\n", e.what());
    return 1;
  }
}
