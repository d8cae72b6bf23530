#pragma once

// The webhook deliverer: one actor per instance (a child of the job
// manager) that drains the durable outbox (actors/webhook_outbox.hpp,
// schemas/0020_webhooks.sql). It claims due rows with FOR UPDATE SKIP
// LOCKED and a lease, so several instances deliver each event once and a
// dead instance's claims are taken again after the lease; posts each body
// signed with the business's webhook_secret (read, like the URL, at
// delivery time); and records the outcome: a 2xx is delivered, anything
// else is retried with exponential backoff and jitter until the give-up
// window ends (then failed, shown by GET /api/crm/webhooks/deliveries).
//
// Wakes on its poll timer (an actor-clock timer, never a sleep) and, at
// once, whenever this process queues an event.

#include "actors/job_protocols.hpp"
#include "actors/store.hpp"
#include "core/outbound.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace al {

struct metrics;

struct webhook_delivery_options {
  store db;
  http_send_fn http;
  metrics* m = nullptr;
  std::chrono::milliseconds poll{5000};         // WEBHOOK_POLL_MS
  std::chrono::milliseconds lease{60000};       // WEBHOOK_LEASE_S
  std::chrono::milliseconds timeout{10000};     // WEBHOOK_TIMEOUT_MS
  std::chrono::milliseconds retry_base{30000};  // WEBHOOK_RETRY_BASE_S
  std::chrono::milliseconds retry_cap{3600000}; // one hour
  std::chrono::milliseconds give_up{86400000};  // WEBHOOK_GIVE_UP_S
  int batch = 20; // rows claimed (and posted concurrently) at once
};

/// Spawns the deliverer (its interface, webhook_delivery_actor, is in
/// actors/job_protocols.hpp). Stop it with an exit message.
webhook_delivery_actor spawn_webhook_delivery(caf::actor_system& sys,
                                              webhook_delivery_options opts);

/// "sha256=" + hex HMAC-SHA256 of `body` keyed with `secret`. Pure.
std::string webhook_signature(std::string_view secret, std::string_view body);

/// The wait before retry number `attempts` (1 after the first failure):
/// base * 2^(attempts-1), capped, then scaled by `jitter` in [0.8, 1].
/// Pure.
std::chrono::milliseconds
webhook_backoff(int attempts, std::chrono::milliseconds base,
                std::chrono::milliseconds cap, double jitter);

} // namespace al
