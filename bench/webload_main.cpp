// al-webload: webhook and API load at fixed concurrency over keep-alive
// connections, a fixed number of requests per route; prints throughput and
// latency percentiles per route (JSON on stdout or --out, a table on stderr).
//
//   al-webload --port P --auth-token T [--public-base URL]
//              [--admin-token A] [--concurrency 16] [--requests 2000]
//              [--rate 1000] [--rate-seconds 3] [--out FILE]
//              [--sweep "250 500 1000 ..."] [--sweep-seconds 1.5]
//              [--sweep-p99-ms 5] [--server-pid PID] [--pg-pid PID]
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
//   sweep (--sweep)     each route above again, open loop, at each rate of
//                       the list in turn for --sweep-seconds, until its p99
//                       reaches --sweep-p99-ms or a request fails: the
//                       route's capacity is the highest rate that passed.
//                       With --server-pid (and --pg-pid, PostgreSQL's
//                       postmaster: its children are summed) the CPU time
//                       each step cost per request is reported too.
// A route answering 404 to its first request is reported as absent.

#include "bench/bench_util.hpp"
#include "bench/http_pool.hpp"

#include "core/form.hpp"
#include "core/twilio_signature.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

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
  std::vector<double> sweep;
  double sweep_seconds = 1.5;
  double sweep_p99_ms = 5;
  int server_pid = 0;
  int pg_pid = 0;
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

/// utime + stime of a process in seconds, and its parent's pid; false when
/// it is gone. The command name is skipped to its last ')'.
bool proc_cpu(int pid, double& seconds, int& ppid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line))
    return false;
  auto close = line.rfind(')');
  if (close == std::string::npos)
    return false;
  std::istringstream in(line.substr(close + 2));
  std::string field;
  std::vector<std::string> fields;
  while (in >> field && fields.size() < 13)
    fields.push_back(field);
  if (fields.size() < 13)
    return false;
  // After the name: state(3) ppid(4) ... utime(14) stime(15).
  ppid = std::atoi(fields[1].c_str());
  static const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  seconds = (std::atof(fields[11].c_str()) + std::atof(fields[12].c_str()))
            / tick;
  return true;
}

/// CPU seconds of `pid` (and, with children, of every process whose parent
/// it is: PostgreSQL's backends); 0 when pid is 0.
double cpu_seconds(int pid, bool children) {
  if (pid <= 0)
    return 0;
  double total = 0;
  int ppid = 0;
  double s = 0;
  if (proc_cpu(pid, s, ppid))
    total += s;
  if (!children)
    return total;
  if (DIR* d = ::opendir("/proc")) {
    while (auto* e = ::readdir(d)) {
      int child = std::atoi(e->d_name);
      if (child > 0 && child != pid && proc_cpu(child, s, ppid) && ppid == pid)
        total += s;
    }
    ::closedir(d);
  }
  return total;
}

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
        auto due = t0
                   + std::chrono::duration_cast<clock::duration>(
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
  j.headers.emplace_back("X-Twilio-Signature",
                         twilio_signature(o.auth_token, o.public_base + path,
                                          form_params{params}));
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
  o.public_base = f.str("public-base",
                        "http://" + o.host + ":" + std::to_string(o.port));
  o.auth_token = f.str("auth-token");
  o.admin_token = f.str("admin-token");
  o.concurrency = static_cast<int>(f.num("concurrency", o.concurrency));
  o.requests = static_cast<int>(f.num("requests", o.requests));
  o.rate = f.real("rate", o.rate);
  o.rate_seconds = f.real("rate-seconds", o.rate_seconds);
  o.out = f.str("out");
  {
    std::istringstream list(f.str("sweep"));
    for (std::string item; std::getline(list, item, ' ');)
      if (!item.empty() && std::atof(item.c_str()) > 0)
        o.sweep.push_back(std::atof(item.c_str()));
  }
  o.sweep_seconds = f.real("sweep-seconds", o.sweep_seconds);
  o.sweep_p99_ms = f.real("sweep-p99-ms", o.sweep_p99_ms);
  o.server_pid = static_cast<int>(f.num("server-pid", 0));
  o.pg_pid = static_cast<int>(f.num("pg-pid", 0));
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
      auto from = "+97252"
                  + std::to_string(1000000 + (i < 0 ? 0 : i) % 9000000);
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

  auto stream_status = [&](const std::string&) {
    // Status callbacks for the calls of the closed-loop incoming_call phase.
    return [&](int i) {
      auto sid = call_sid("c", i < 0 ? i : i % o.requests);
      return signed_form(o, "/webhook/stream_status",
                         {{"AccountSid", "ACbench"},
                          {"CallSid", sid},
                          {"StreamSid", "MZ" + sid},
                          {"StreamEvent", "stream-started"},
                          {"Timestamp", "2024-01-01T00:00:00Z"}});
    };
  };
  auto whatsapp = [&](const std::string& tag) {
    return [&, tag](int i) {
      auto sender = "whatsapp:+97254"
                    + std::to_string(1000000 + (i < 0 ? 0 : i) % 50);
      return signed_form(
        o, "/webhook/whatsapp/incoming",
        {{"AccountSid", "ACbench"},
         {"MessageSid",
          "SMweb" + run_id + tag + "_" + std::to_string(i < 0 ? 999999 : i)},
         {"From", sender},
         {"To", "whatsapp:" + o.to},
         {"Body", "שלום, אני מחפש דירה להשכרה"},
         {"NumMedia", "0"},
         {"ProfileName", "Bench"}});
    };
  };
  auto crm_leads = [&](const std::string&) {
    return [&](int) {
      http_job j;
      j.method = http::verb::get;
      j.target = "/api/crm/leads?per_page=50";
      j.headers.emplace_back("Authorization", "Bearer " + o.admin_token);
      return j;
    };
  };
  struct route {
    std::string name;
    std::string method;
    std::string path;
    std::function<make_job(const std::string&)> make;
  };
  std::vector<route> routes_under_test{
    {"incoming_call", "POST", "/webhook/incoming_call", incoming},
    {"stream_status", "POST", "/webhook/stream_status", stream_status},
    {"whatsapp_incoming", "POST", "/webhook/whatsapp/incoming", whatsapp}};
  if (!o.admin_token.empty())
    routes_under_test.push_back(
      {"crm_leads", "GET", "/api/crm/leads", crm_leads});

  if (o.rate > 0) {
    phase_result r;
    r.name = "incoming_call@" + std::to_string(static_cast<int>(o.rate))
             + "rps";
    r.method = "POST";
    r.path = "/webhook/incoming_call";
    run_phase(ioc, o, r, incoming("r"),
              static_cast<int>(o.rate * o.rate_seconds), o.rate);
    results.push_back(std::move(r));
  }
  for (auto& rt : routes_under_test) {
    phase_result r;
    r.name = rt.name;
    r.method = rt.method;
    r.path = rt.path;
    run_phase(ioc, o, r, rt.make("c"), o.requests, 0);
    results.push_back(std::move(r));
  }

  // The sweep: per route, ascending open-loop rates until one fails.
  json::array sweeps;
  for (auto& rt : routes_under_test) {
    json::array steps;
    double capacity = 0;
    std::string stopped_by;
    for (double rate : o.sweep) {
      phase_result r;
      r.name = rt.name + "@" + std::to_string(static_cast<int>(rate));
      r.method = rt.method;
      r.path = rt.path;
      int n = std::max(1, static_cast<int>(rate * o.sweep_seconds));
      auto tag = "s" + std::to_string(static_cast<int>(rate));
      double svc0 = cpu_seconds(o.server_pid, false);
      double pg0 = cpu_seconds(o.pg_pid, true);
      run_phase(ioc, o, r, rt.make(tag), n, rate);
      double svc_cpu = cpu_seconds(o.server_pid, false) - svc0;
      double pg_cpu = cpu_seconds(o.pg_pid, true) - pg0;
      if (r.absent) {
        stopped_by = "absent";
        break;
      }
      double p99 = r.latency.percentile_ms(0.99);
      bool pass = r.errors == 0 && p99 < o.sweep_p99_ms;
      json::object step{{"rate", rate},
                        {"requests", n},
                        {"errors", r.errors},
                        {"throughput_rps",
                         round3(r.seconds > 0 ? n / r.seconds : 0)},
                        {"latency_ms", r.latency.summary()},
                        {"pass", pass}};
      if (o.server_pid > 0)
        step["server_cpu_us_per_request"] = round3(svc_cpu * 1e6 / n);
      if (o.pg_pid > 0)
        step["pg_cpu_us_per_request"] = round3(pg_cpu * 1e6 / n);
      std::fprintf(stderr,
                   "sweep %-18s %6.0f req/s: p50 %7.2f ms, p99 %7.2f ms,"
                   " %llu errors, server %.0f us/req, PostgreSQL %.0f us/req"
                   " -> %s\n",
                   rt.name.c_str(), rate, r.latency.percentile_ms(0.5), p99,
                   static_cast<unsigned long long>(r.errors), svc_cpu * 1e6 / n,
                   pg_cpu * 1e6 / n, pass ? "pass" : "fail");
      steps.push_back(std::move(step));
      if (!pass) {
        stopped_by = r.errors ? "errors" : "p99";
        break;
      }
      capacity = rate;
    }
    if (!o.sweep.empty())
      sweeps.push_back(json::object{{"route", rt.name},
                                    {"method", rt.method},
                                    {"path", rt.path},
                                    {"p99_limit_ms", o.sweep_p99_ms},
                                    {"step_seconds", o.sweep_seconds},
                                    {"capacity_rps", capacity},
                                    {"stopped_by", stopped_by},
                                    {"steps", std::move(steps)}});
  }

  json::array routes;
  std::fprintf(stderr, "%-26s %7s %5s %8s %10s %8s %8s %8s\n", "route", "reqs",
               "conc", "errors", "req/s", "p50 ms", "p99 ms", "max ms");
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
  if (!sweeps.empty())
    out["sweep"] = sweeps;
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
