// al-campaign-bench: the campaign engine's dispatch cost (issue 20).
// Against DATABASE_URL (migrated from SCHEMAS_DIR), with N queued leads
// (default 1000) in one running campaign, measures in one invocation:
//   baseline      a transaction that runs `SELECT 1` (BEGIN, SELECT,
//                 COMMIT): the floor of any store job on this database;
//   tick          one campaign tick as the actor runs it (renew the lease,
//                 expire dead dials, claim_due_leads under the dispatch
//                 lock), with the claimed rows then ended as the status
//                 callbacks would (not timed): claims per second and the
//                 tick's cost as a ratio to the baseline, at
//                 max_concurrent 3 and 50 (the batch a tick may claim);
//   contention    two dispatchers (two connections, two lease owners, as
//                 during a takeover) claiming the same campaign at once:
//                 claims per second, and a check that no row was claimed
//                 twice (every row ends with attempts_made = 1).
// Round trips per dial are counted by construction: a tick is BEGIN,
// renew, expire, advisory lock, live counts, do-not-contact sweep, claim,
// COMMIT (8), so per dial 8 / rows claimed by the tick.
// Writes one JSON line to stdout; bench/campaign.sh wraps it.
#include "actors/campaign_store.hpp"
#include "actors/sql.hpp"
#include "actors/store.hpp"

#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace al;
using clk = std::chrono::steady_clock;

constexpr int tick_round_trips = 8;

double seconds_since(clk::time_point t0) {
  return std::chrono::duration<double>(clk::now() - t0).count();
}

constexpr sql_statement bench_business{
  "INSERT INTO businesses (name) VALUES ('campaign bench') RETURNING id"};

constexpr sql_statement bench_leads{
  "INSERT INTO leads (business_id, name, phone)"
  " SELECT $1, 'lead ' || g, '+9725' || lpad(g::text, 8, '0')"
  " FROM generate_series(1, $2) g"};

constexpr sql_statement bench_start{
  "UPDATE campaigns SET state = 'running', max_concurrent = $2,"
  " lease_owner = $3, lease_until = now() + interval '1 hour'"
  " WHERE id = $1"};

constexpr sql_statement bench_reset{
  "UPDATE campaign_leads SET outcome = 'queued', attempts_made = 0,"
  " next_attempt_at = now(), lease_owner = NULL, lease_until = NULL"
  " WHERE campaign_id = $1"};

constexpr sql_statement bench_end{
  "UPDATE campaign_leads SET outcome = 'completed', lease_owner = NULL,"
  " lease_until = NULL WHERE id = ANY($1::bigint[])"};

constexpr sql_statement bench_twice{
  "SELECT count(*) FILTER (WHERE attempts_made <> 1),"
  " count(*) FILTER (WHERE outcome <> 'completed')"
  " FROM campaign_leads WHERE campaign_id = $1"};

constexpr sql_statement bench_select1{"SELECT 1"};

std::string id_array(const std::vector<claimed_lead>& rows) {
  std::string s = "{";
  for (auto& r : rows)
    s += (s.size() > 1 ? "," : "") + std::to_string(r.id);
  return s + "}";
}

struct dispatch_result {
  long claimed = 0;
  long ticks = 0;
  double claim_s = 0; // inside the tick transactions
};

/// Ticks campaign `id` as `owner` until nothing is left to claim.
dispatch_result dispatch(const std::string& url, std::int64_t id,
                         const std::string& owner, int max_concurrent,
                         int global_cap) {
  pqxx::connection conn{url};
  dispatch_result out;
  int idle = 0;
  while (idle < 3) {
    std::vector<claimed_lead> rows;
    auto t0 = clk::now();
    {
      pqxx::work tx{conn};
      auto s = renew_campaign_lease(tx, id, owner, std::chrono::seconds(3600));
      campaign_settings c;
      if (s) {
        c = *s;
      } else { // the other dispatcher holds the lease: claim regardless
        c.id = id;
        c.business_id = 0;
      }
      if (!s) {
        auto r = tx.exec_params(
          "SELECT business_id FROM campaigns WHERE id = $1", id);
        c.business_id = r[0][0].as<std::int64_t>();
        c.attempts = 2;
      }
      c.max_concurrent = max_concurrent;
      expire_dial_leases(tx, c);
      rows = claim_due_leads(tx, c, owner, std::chrono::seconds(120),
                             global_cap)
               .claimed;
      tx.commit();
    }
    out.claim_s += seconds_since(t0);
    ++out.ticks;
    if (rows.empty()) {
      ++idle; // the other dispatcher's rows may still be live
      pqxx::work tx{conn};
      auto r = tx.exec_params(
        "SELECT count(*) FROM campaign_leads WHERE campaign_id = $1 AND"
        " outcome IN ('queued', 'dialing')",
        id);
      if (r[0][0].as<long>() == 0)
        break;
      continue;
    }
    idle = 0;
    out.claimed += static_cast<long>(rows.size());
    pqxx::work tx{conn};
    exec(tx, bench_end, id_array(rows));
    tx.commit();
  }
  return out;
}

} // namespace

int main(int argc, char** argv) {
  const char* url_env = std::getenv("DATABASE_URL");
  const char* schemas = std::getenv("SCHEMAS_DIR");
  if (!url_env || !schemas) {
    std::fprintf(stderr, "DATABASE_URL and SCHEMAS_DIR are required\n");
    return 2;
  }
  std::string url = url_env;
  long n = argc > 1 ? std::atol(argv[1]) : 1000;
  if (auto err = apply_migrations(url, schemas); !err.empty()) {
    std::fprintf(stderr, "migrations: %s\n", err.c_str());
    return 1;
  }
  pqxx::connection conn{url};
  std::int64_t business = 0, campaign = 0;
  {
    pqxx::work tx{conn};
    business = exec(tx, bench_business)[0][0].as<std::int64_t>();
    exec(tx, bench_leads, business, n);
    campaign_input in;
    in.name = "bench";
    in.attempts = 1;
    auto r = create_campaign(tx, business, in);
    campaign = r.body.as_object().at("id").as_int64();
    tx.commit();
  }
  // Baseline: the floor of a store job.
  const int base_n = 2000;
  auto t0 = clk::now();
  for (int i = 0; i < base_n; ++i) {
    pqxx::work tx{conn};
    exec(tx, bench_select1);
    tx.commit();
  }
  double base_us = seconds_since(t0) / base_n * 1e6;

  std::string json = "{\"leads\":" + std::to_string(n)
                     + ",\"baseline_tx_us\":" + std::to_string(base_us);
  for (int mc : {3, 50}) {
    {
      pqxx::work tx{conn};
      exec(tx, bench_reset, campaign);
      exec(tx, bench_start, campaign, mc, std::string{"bench-a"});
      tx.commit();
    }
    auto r = dispatch(url, campaign, "bench-a", mc, 50);
    double tick_us = r.claim_s / static_cast<double>(r.ticks) * 1e6;
    double per_tick = static_cast<double>(r.claimed)
                      / static_cast<double>(r.ticks);
    auto key = "_mc" + std::to_string(mc);
    json += ",\"claimed" + key + "\":" + std::to_string(r.claimed)
            + ",\"claims_per_s" + key
            + "\":" + std::to_string(r.claimed / r.claim_s) + ",\"tick_us" + key
            + "\":" + std::to_string(tick_us) + ",\"tick_vs_baseline" + key
            + "\":" + std::to_string(tick_us / base_us)
            + ",\"round_trips_per_dial" + key
            + "\":" + std::to_string(tick_round_trips / per_tick);
  }
  // Two dispatchers on one campaign at once.
  {
    pqxx::work tx{conn};
    exec(tx, bench_reset, campaign);
    exec(tx, bench_start, campaign, 50, std::string{"bench-a"});
    tx.commit();
  }
  dispatch_result a, b;
  auto t1 = clk::now();
  std::thread ta{[&] { a = dispatch(url, campaign, "bench-a", 50, 50); }};
  std::thread tb{[&] { b = dispatch(url, campaign, "bench-b", 50, 50); }};
  ta.join();
  tb.join();
  double wall = seconds_since(t1);
  long twice = 0, left = 0;
  {
    pqxx::work tx{conn};
    auto r = exec(tx, bench_twice, campaign);
    twice = r[0][0].as<long>();
    left = r[0][1].as<long>();
  }
  json += ",\"two_dispatchers_claims_per_s\":"
          + std::to_string((a.claimed + b.claimed) / wall)
          + ",\"two_dispatchers_claimed\":[" + std::to_string(a.claimed) + ","
          + std::to_string(b.claimed) + "]"
          + ",\"claimed_twice\":" + std::to_string(twice)
          + ",\"not_completed\":" + std::to_string(left) + "}";
  std::printf("%s\n", json.c_str());
  return twice == 0 && left == 0 ? 0 : 1;
}
