#pragma once

// One actor per payment-link request, supervised by payment_manager under
// the key "pay:<payment id>". It writes the pending row, asks the provider
// for a pay link (PayPal: OAuth token + Orders v2 create; Tranzila: a
// hosted-page URL, no call), stores the reference and link, answers the
// HTTP request once and exits. Its checkpoint is the row itself: a
// restarted actor re-reads it and carries on (PayPal sees the same
// PayPal-Request-Id, so a repeated create returns the same order).
//
//   start -> row written -> provider called -> link stored -> created
//                 |               `-- error / timeout -> row failed,
//                 bad_gateway
//                 `-- key taken by another request -> that payment (replay)
//
// The actor is a payment_actor (actors/payment_protocol.hpp): the
// completions of its store jobs and provider exchange come back to it as
// typed values. Outbound HTTP comes in as an http_send_fn
// (core/outbound.hpp), so this library does not depend on transport/.

#include "actors/domain.hpp"
#include "actors/payment_protocol.hpp"
#include "actors/payment_rows.hpp"
#include "actors/store.hpp"
#include "actors/supervisor.hpp"
#include "core/outbound.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace al {

struct metrics;

/// PayPal OAuth tokens per (API base, credentials), shared by every payment
/// actor and webhook: cached until shortly before they expire, fetched once
/// for concurrent callers (single flight), dropped on a 401. Thread-safe.
class paypal_token_cache
  : public std::enable_shared_from_this<paypal_token_cache> {
public:
  using clock = std::chrono::steady_clock;
  /// The token, or nullopt and a reason.
  using token_fn = std::function<void(std::optional<std::string>, std::string)>;

  /// Calls `done` with a valid token, fetching one through `send` when none
  /// is cached (or one fetch is already on its way: then it waits for it).
  void acquire(const http_send_fn& send, const std::string& api_base,
               const paypal_credentials& creds, clock::time_point deadline,
               token_fn done);

  /// Forgets `token` (PayPal answered 401 to it).
  void invalidate(const std::string& api_base, const paypal_credentials& creds,
                  const std::string& token);

private:
  struct entry {
    std::string token;
    clock::time_point fresh_until{};
    bool fetching = false;
    std::vector<token_fn> waiters;
  };
  static std::string key_of(const std::string& api_base,
                            const paypal_credentials& creds);

  std::mutex mtx_;
  std::map<std::string, entry> entries_;
};

/// What payment actors and the payment use cases (domain/payments.hpp) need.
struct payment_env {
  store db;
  metrics* m = nullptr;
  http_send_fn send;
  std::string signing_key;
  std::string paypal_api_base;
  std::string tranzila_base;
  /// The global provider settings, for a business without its own.
  std::optional<paypal_credentials> paypal;
  std::string tranzila_terminal;
  /// Absolute URL for a path (+query) on our PUBLIC_BASE_URL.
  std::function<std::string(std::string_view)> absolute;
  /// Budget of one provider exchange (token + request).
  std::chrono::milliseconds provider_timeout{5000};
  std::shared_ptr<paypal_token_cache> tokens
    = std::make_shared<paypal_token_cache>();
};

using payment_env_ptr = std::shared_ptr<const payment_env>;

/// Counts a payment that reached `s` (al_payments_total), when `env` has
/// metrics.
void count_payment(const payment_env& env, payment_status s);

/// Sends the request `make(token)` to PayPal with a cached OAuth token; on
/// a 401 drops that token, fetches a new one and sends once more. `done`
/// gets the last response (with `error` set when no token could be had).
/// Each exchange gets the time left until `deadline`.
void paypal_call(const payment_env_ptr& env, const paypal_credentials& creds,
                 std::function<outbound_request(const std::string&)> make,
                 std::chrono::steady_clock::time_point deadline,
                 std::function<void(outbound_response)> done);

/// One create request; shared by every incarnation of its actor, so the
/// answer is given exactly once whatever happens.
struct payment_job {
  payment_job(payment_request r, payment_requester_actor to)
    : req(std::move(r))
    , reply_to(std::move(to)) {}
  payment_request req;
  /// Answers once (a payment_reply to reply_to); later calls are ignored.
  void reply(const payment_reply& r);
  bool replied() const noexcept {
    return replied_.load();
  }

private:
  payment_requester_actor reply_to;
  std::atomic<bool> replied_{false};
};

using payment_job_ptr = std::shared_ptr<payment_job>;

/// The manager key of a payment.
inline std::string payment_key(std::int64_t payment_id) {
  return "pay:" + std::to_string(payment_id);
}

/// The reply for an existing payment found under the request's key
/// (created with its link, bad_gateway when it failed, conflict while still
/// in progress or when the key was used for a different payment).
payment_reply replay_reply(const payment_row& row, const payment_draft& asked);

/// The supervisor spec of a payment actor. Giving up (a crash loop) marks
/// the row failed and answers bad_gateway.
///
/// Fault injection needs no hook in the actor: tests send it an exit
/// message with an abnormal reason, exactly what a crash produces.
child_spec payment_child(payment_env_ptr env, payment_job_ptr job);

/// Spawns the payment_manager: each (spawn_atom, payment_start) request
/// becomes payment_child(env, job of the request).
payment_manager_actor spawn_payment_manager(caf::actor_system& sys,
                                            supervision_stats& stats,
                                            metrics* m, payment_env_ptr env,
                                            supervisor_options opts = {});

/// Asks `manager` for the payment `req` and calls `done` exactly once with
/// its answer (unavailable when the manager does not answer), from an
/// actor thread. The closure stays in a one-shot requester actor spawned
/// here; the manager and the payment actor see only values.
void request_payment(caf::actor_system& sys,
                     const payment_manager_actor& manager, payment_request req,
                     std::function<void(const payment_reply&)> done);

} // namespace al
