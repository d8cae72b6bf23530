#pragma once

// The campaign engine (SPEC §7 "Follow-up calls"): one campaign_manager per
// instance (a child of the job manager) and, under its own supervisor, one
// campaign actor per running campaign this instance holds the lease of
// (actors/campaign_store.hpp).
//
// The manager scans every CAMPAIGN_SCAN_MS for running campaigns whose
// lease is free or expired (an instance that died lets go after
// CAMPAIGN_LEASE_S) and starts their actors. A campaign actor ticks every
// CAMPAIGN_TICK_MS, and at once when woken (a dial finished, a new
// speed-to-lead row): it renews its lease, fails dials whose lease ran out,
// and inside the business's working hours (and not on a holiday closure)
// claims as many due rows as the campaign's max_concurrent and the
// service-wide OUTBOUND_MAX_CALLS leave free, then places each dial. A
// paused campaign's actor lets go and ends (its live calls finish through
// the webhooks); a campaign with nothing left to dial is completed.

#include "actors/job_protocols.hpp"
#include "actors/outbound_call.hpp"
#include "actors/store.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>

namespace al {

struct metrics;
struct child_spec;

/// Places one dial and reports back exactly once (place_outbound_call in
/// production; tests inject their own).
using campaign_dial_fn = std::function<void(
  outbound_dial, std::function<void(outbound_dial_result)>)>;

struct campaign_engine_options {
  store db;
  metrics* m = nullptr;
  /// This process's lease owner id (unique per process and start).
  std::string instance;
  campaign_dial_fn dial;
  std::chrono::milliseconds scan{2000};    // CAMPAIGN_SCAN_MS
  std::chrono::milliseconds tick{1000};    // CAMPAIGN_TICK_MS
  std::chrono::seconds campaign_lease{30}; // CAMPAIGN_LEASE_S
  std::chrono::seconds dial_lease{120};    // DIAL_LEASE_S
  int global_cap = 50;                     // OUTBOUND_MAX_CALLS
  int scan_limit = 100;                    // campaigns taken per scan
  /// Skip holiday closure days (HOLIDAY_CLOSURES), like transfers do.
  bool holiday_closures = true;
  /// The wall clock for working hours (tests move it); empty: std::time.
  /// Called on a database thread.
  std::function<std::time_t()> clock;
};

/// What the engine did, readable from any thread (tests, /metrics).
struct campaign_engine_stats {
  std::atomic<long> scans{0};
  std::atomic<long> ticks{0};
  std::atomic<long> claimed{0};
  std::atomic<long> dial_failures{0};
  std::atomic<long> expired{0};
  std::atomic<long> closed_ticks{0}; // ticks outside working hours
  std::atomic<long> completed{0};
};

/// The manager's child spec, for the job manager (key "campaigns").
child_spec
campaign_manager_spec(std::shared_ptr<const campaign_engine_options> opts,
                      std::shared_ptr<campaign_engine_stats> stats);

/// Spawns one campaign actor directly (tests: no manager, no scan). It
/// runs until the campaign is paused, completed or leased elsewhere. Its
/// interface (campaign_actor) and the manager's (campaign_manager_actor)
/// are in actors/job_protocols.hpp.
campaign_actor
spawn_campaign_actor(caf::actor_system& sys,
                     std::shared_ptr<const campaign_engine_options> opts,
                     std::shared_ptr<campaign_engine_stats> stats,
                     std::int64_t campaign_id);

/// A lease owner id for this process: "<host>:<pid>:<random>".
std::string campaign_instance_id();

} // namespace al
