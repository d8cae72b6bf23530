#pragma once

// What route handlers may use: configuration, the store, metrics, the actor
// system and the domain managers. Built once by app/main.cpp; handlers keep
// a reference. Nothing here blocks.

#include "actors/call_protocol.hpp"
#include "actors/event_feed.hpp"
#include "actors/metrics.hpp"
#include "actors/payment_protocol.hpp"
#include "actors/store.hpp"
#include "actors/supervisor.hpp"
#include "actors/whatsapp_protocol.hpp"
#include "core/config.hpp"
#include "transport/early_greetings.hpp"

#include <caf/actor.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace caf {
class actor_system;
} // namespace caf

namespace al {

class auth_throttle;
class https_client;
class realtime_client;
class voice_cache;
struct call_env;
struct outbound_env;
struct payment_env;
struct whatsapp_context;
class url_builder;

/// The Twilio auth tokens of businesses with their own account, as last
/// read from the database (incoming_call refreshes them on every call), so
/// a media upgrade is verified without a query. Thread-safe.
class twilio_tokens {
public:
  void put(std::int64_t business, std::string token) {
    std::lock_guard<std::mutex> g{mtx_};
    tokens_[business] = std::move(token);
  }
  std::optional<std::string> get(std::int64_t business) const {
    std::lock_guard<std::mutex> g{mtx_};
    auto i = tokens_.find(business);
    if (i == tokens_.end())
      return std::nullopt;
    return i->second;
  }

private:
  mutable std::mutex mtx_;
  std::unordered_map<std::int64_t, std::string> tokens_;
};

struct build_info {
  std::string commit;
  std::string built_at;
};

struct services {
  services(const config& c, caf::actor_system& s, metrics& mt)
    : cfg(c)
    , sys(s)
    , m(mt) {}

  const config& cfg;
  caf::actor_system& sys;
  metrics& m;
  store db;
  /// The background jobs' own connections (after-call, webhook delivery,
  /// audio retention/import): their polls never take a request's slot, and
  /// their failed connects during an outage never leave a request's pooled
  /// connection waiting out a reconnect backoff.
  store jobs_db;
  build_info build;
  twilio_tokens tenant_tokens;

  supervision_stats call_stats{"call"};
  supervision_stats whatsapp_stats{"whatsapp"};
  supervision_stats payment_stats{"payment"};
  /// Background jobs (after-call processing, webhook delivery, audio
  /// retention): long-lived actors, one per job kind per instance.
  supervision_stats job_stats{"job"};
  // The domain managers take value requests (actors/supervisor.hpp's
  // manager_actor); the job manager takes its singletons' recipes at
  // start-up.
  call_manager_actor call_manager;
  whatsapp_manager_actor whatsapp_manager;
  payment_manager_actor payment_manager;
  supervisor_actor job_manager;
  /// The campaign engine's counters (actors/campaign.hpp; a child of
  /// job_manager): for tests and operators.
  std::shared_ptr<struct campaign_engine_stats> campaign_stats;
  /// This instance's lease owner id for campaigns and their dials.
  std::string campaign_instance;

  /// Outbound HTTP(S) to Twilio, Meta, PayPal, OpenAI (own io thread).
  https_client* http = nullptr;
  /// Outbound WebSockets (the OpenAI Realtime voice engine), same io thread.
  realtime_client* realtime = nullptr;
  /// Absolute URLs from PUBLIC_BASE_URL.
  const url_builder* urls = nullptr;
  /// The embedded voice's synthesised audio per business.
  voice_cache* voices = nullptr;
  /// Greetings incoming_call leaves for the media socket to start at once.
  early_greetings greetings;
  /// What call actors use (store, metrics, voices, REST redirect).
  std::shared_ptr<const call_env> calls;
  /// What payment actors use (store, providers, public URLs).
  std::shared_ptr<const payment_env> payments;
  /// What WhatsApp conversation actors share (store, providers, limits).
  std::shared_ptr<const whatsapp_context> whatsapp;
  /// Placing follow-up calls (actors/outbound_call.hpp); its
  /// on_dial_finished is set once at start-up by the campaign engine.
  std::shared_ptr<outbound_env> outbound;

  /// Repeated sign-in failures slow down, then 429 (null: no throttle).
  auth_throttle* throttle = nullptr;
  /// Runs `fn` after `delay` on a background timer (never an I/O thread's
  /// work): how a throttled 401 is held without holding a thread.
  std::function<void(std::chrono::milliseconds, std::function<void()>)> defer;

  /// The dashboard's live events: this instance's LISTEN connection and
  /// the options of each stream (actors/event_feed.hpp).
  live_events events;

  /// Set on SIGTERM: /readyz answers 503 and no new calls are taken.
  std::atomic<bool> draining{false};
  /// Set once start-up completed.
  std::atomic<bool> started{false};
};

} // namespace al
