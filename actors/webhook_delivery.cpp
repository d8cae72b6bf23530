// The webhook deliverer.
//
//   idle --poll tick / wake--> claiming --rows--> posting (N in flight)
//    ^                            |                   |
//    |                            +--none / db error--+--all recorded-->
//    +------------------------------------------------------------------+
//       (claims again at once when the batch was full or a wake came in
//        meanwhile; otherwise waits for the next tick or wake)
//
// One claim or batch at a time: a wake while busy only marks `again`.
#include "actors/webhook_delivery.hpp"

#include "actors/log.hpp"
#include "actors/metrics.hpp"
#include "actors/secret_columns.hpp"
#include "actors/sql.hpp"
#include "actors/webhook_outbox.hpp"
#include "core/crypto.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

namespace al {
namespace {

// -- SQL, next to its use
// -------------------------------------------------------

// Claiming pushes next_attempt_at to the end of the lease: a claim that is
// never finished (a dead instance) is simply due again after it.
constexpr sql_statement claim_due{
  "WITH due AS (SELECT id FROM webhook_outbox"
  "  WHERE status = 'pending' AND next_attempt_at <= now()"
  "  ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
  " UPDATE webhook_outbox o SET attempts = o.attempts + 1,"
  "  lease_until = now() + $2::float8 * interval '1 millisecond',"
  "  next_attempt_at = now() + $2::float8 * interval '1 millisecond'"
  " FROM due, businesses b WHERE o.id = due.id AND b.id = o.business_id"
  " RETURNING o.id, o.business_id, o.event, o.body, o.attempts,"
  "  coalesce(b.webhook_url, ''), b.webhook_secret"};

constexpr sql_statement mark_delivered{
  "UPDATE webhook_outbox SET status = 'delivered', delivered_at = now(),"
  " lease_until = NULL, last_status = $2, last_error = NULL"
  " WHERE id = $1 AND status = 'pending'"};

// $2 last HTTP status (NULL: none), $3 error, $4 wait in ms, $5 give-up
// window in ms, $6 final (no retry whatever the window says), $7 the
// attempt count of the claim that failed: a claim whose lease ran out and
// was taken again must not reschedule the newer claim (a success is kept
// from any claim: the receiver got it).
constexpr sql_statement mark_attempt_failed{
  "UPDATE webhook_outbox SET"
  " status = CASE WHEN $6::boolean OR now() + $4::float8 * interval"
  "   '1 millisecond' > window_from + $5::float8 * interval '1 millisecond'"
  "   THEN 'failed' ELSE 'pending' END,"
  " next_attempt_at = now() + $4::float8 * interval '1 millisecond',"
  " lease_until = NULL, last_status = $2, last_error = $3"
  " WHERE id = $1 AND status = 'pending' AND attempts = $7"
  " RETURNING status"};

// -- the actor
// ------------------------------------------------------------------

struct delivery_state {
  webhook_delivery_options opts;
  bool claiming = false;
  int in_flight = 0;
  bool again = false;      // a wake came while busy
  bool batch_full = false; // the last claim may have left due rows
  bool db_failing = false; // the current outage was logged
  int waker = 0;
  std::mt19937 rng{std::random_device{}()};

  static inline const char* name = "webhook_delivery";
};

using delivery_actor = webhook_delivery_actor::stateful_pointer<delivery_state>;

void claim(delivery_actor self);

void maybe_claim(delivery_actor self) {
  auto& st = self->state;
  if (st.claiming || st.in_flight > 0) {
    st.again = true;
    return;
  }
  claim(self);
}

void claim(delivery_actor self) {
  auto& st = self->state;
  st.claiming = true;
  st.again = false;
  auto rows = std::make_shared<std::vector<webhook_claim>>();
  auto me = caf::actor_cast<webhook_delivery_actor>(self);
  st.opts.db.run(
    [rows, batch = st.opts.batch,
     lease = static_cast<double>(st.opts.lease.count())](db_tx& tx) {
      for (auto r : exec(tx, claim_due, batch, lease)) {
        webhook_claim c;
        c.id = r[0].c_str();
        c.business = r[1].as<std::int64_t>();
        c.event = r[2].c_str();
        c.body = r[3].c_str();
        c.attempts = r[4].as<int>();
        c.url = r[5].c_str();
        c.secret = secret_or_empty(r[6], "webhook_secret");
        rows->push_back(std::move(c));
      }
    },
    [me, rows](const db_error& err) {
      caf::anon_send(me, webhook_claimed{std::move(*rows), err});
    });
}

/// Writes the outcome of one attempt, then tells the actor.
void record(delivery_actor self, const webhook_claim& row,
            const outbound_response& res) {
  auto& st = self->state;
  auto me = caf::actor_cast<webhook_delivery_actor>(self);
  auto result = std::make_shared<std::string>();
  std::chrono::milliseconds retry_in{0};
  std::function<void(db_tx&)> job;
  if (res.ok()) {
    job = [id = row.id, status = res.status, result](db_tx& tx) {
      exec(tx, mark_delivered, id, status);
      *result = "delivered";
    };
  } else {
    std::optional<int> status;
    if (res.status != 0)
      status = res.status;
    bool final = row.url.empty();
    std::string error = final ? std::string{"webhook_url removed"}
                        : !res.error.empty()
                          ? res.error
                          : "HTTP " + std::to_string(res.status);
    if (error.size() > 500)
      error.resize(500);
    std::uniform_real_distribution<double> jitter{0.8, 1.0};
    auto wait = webhook_backoff(row.attempts, st.opts.retry_base,
                                st.opts.retry_cap, jitter(st.rng));
    retry_in = wait;
    job = [id = row.id, status, error, final, result, attempt = row.attempts,
           wait = static_cast<double>(wait.count()),
           give_up = static_cast<double>(st.opts.give_up.count())](db_tx& tx) {
      auto r = exec(tx, mark_attempt_failed, id, status, error, wait, give_up,
                    final, attempt);
      if (!r.empty())
        *result = std::string_view{r[0][0].c_str()} == "failed" ? "failed"
                                                                : "retried";
    };
    log_safe(spdlog::level::info,
             "webhook {} ({}) for business {}: attempt {} failed: {}", row.id,
             row.event, row.business, row.attempts, error);
  }
  st.opts.db.run(std::move(job), [me, result, retry_in](const db_error& err) {
    caf::anon_send(me, webhook_recorded{err.empty() ? *result : "", retry_in});
  });
}

/// Posts one claimed row (or records at once why it cannot be posted).
void post(delivery_actor self, std::shared_ptr<webhook_claim> row) {
  auto& st = self->state;
  if (row->url.empty() || !st.opts.http) {
    outbound_response none;
    none.error = row->url.empty() ? "webhook_url removed" : "no HTTP client";
    return record(self, *row, none);
  }
  outbound_request req;
  req.method = "POST";
  req.url = row->url;
  req.timeout = st.opts.timeout;
  req.body = row->body;
  req.headers = {{"Content-Type", "application/json"},
                 {"User-Agent", "AgentLocator-Webhooks/1"},
                 {"X-AgentLocator-Event", row->event},
                 {"X-AgentLocator-Delivery", row->id}};
  if (!row->secret.empty())
    req.headers.emplace_back("X-AgentLocator-Signature",
                             webhook_signature(row->secret, row->body));
  row->secret.clear(); // not kept longer than needed
  auto me = caf::actor_cast<webhook_delivery_actor>(self);
  st.opts.http(std::move(req), [me, row](outbound_response res) {
    caf::anon_send(me, webhook_attempt{*row, res.status, std::move(res.error)});
  });
}

webhook_delivery_actor::behavior_type
webhook_delivery(delivery_actor self, webhook_delivery_options opts) {
  auto& st = self->state;
  st.opts = std::move(opts);
  if (st.opts.batch < 1)
    st.opts.batch = 1;
  // Wake at once when this process queues an event, and once more shortly
  // after: the wake may come before the enqueuing transaction commits.
  auto addr = self->address();
  st.waker = add_webhook_waker([addr] {
    if (auto me = caf::actor_cast<webhook_delivery_actor>(addr)) {
      caf::anon_send(me, wake_atom_v);
      caf::delayed_anon_send(me, std::chrono::milliseconds(100), wake_atom_v);
    }
  });
  self->attach_functor([h = st.waker] { remove_webhook_waker(h); });
  self->send(self, tick_atom_v);
  return {
    [self](tick_atom) {
      maybe_claim(self);
      self->delayed_send(self, self->state.opts.poll, tick_atom_v);
    },
    [self](wake_atom) { maybe_claim(self); },
    [self](webhook_claimed& c) {
      auto& st = self->state;
      st.claiming = false;
      if (!c.error.empty()) {
        if (!st.db_failing)
          log_safe(spdlog::level::warn, "webhook delivery: cannot claim: {}",
                   first_line(c.error));
        st.db_failing = true;
        return; // the next tick tries again
      }
      st.db_failing = false;
      st.batch_full = static_cast<int>(c.rows.size()) >= st.opts.batch;
      st.in_flight = static_cast<int>(c.rows.size());
      for (auto& r : c.rows)
        post(self, std::make_shared<webhook_claim>(std::move(r)));
      if (st.in_flight == 0 && st.again)
        claim(self);
    },
    [self](webhook_attempt& a) {
      outbound_response res;
      res.status = a.status;
      res.error = std::move(a.error);
      record(self, a.row, res);
    },
    [self](webhook_recorded& o) {
      auto& st = self->state;
      if (st.opts.m && !o.result.empty())
        st.opts.m->webhook_delivery(o.result);
      if (o.result == "retried") // due then: no need to wait for a tick
        self->delayed_send(self, o.retry_in + std::chrono::milliseconds(5),
                           wake_atom_v);
      if (--st.in_flight > 0)
        return;
      st.in_flight = 0;
      if (st.again || st.batch_full)
        claim(self);
    },
  };
}

} // namespace

std::string webhook_signature(std::string_view secret, std::string_view body) {
  return "sha256=" + crypto::to_hex(crypto::hmac_sha256(secret, body));
}

std::chrono::milliseconds
webhook_backoff(int attempts, std::chrono::milliseconds base,
                std::chrono::milliseconds cap, double jitter) {
  auto wait = base;
  for (int i = 1; i < attempts && wait < cap; ++i)
    wait *= 2;
  wait = std::min(wait, cap);
  jitter = std::clamp(jitter, 0.8, 1.0);
  return std::chrono::milliseconds{
    static_cast<std::int64_t>(static_cast<double>(wait.count()) * jitter)};
}

webhook_delivery_actor spawn_webhook_delivery(caf::actor_system& sys,
                                              webhook_delivery_options opts) {
  return sys.spawn(webhook_delivery, std::move(opts));
}

} // namespace al
