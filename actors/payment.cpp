#include "actors/payment.hpp"

#include "actors/log.hpp"
#include "actors/manager.hpp"
#include "actors/metrics.hpp"
#include "actors/type_ids.hpp"
#include "core/call_token.hpp"
#include "core/crypto.hpp"
#include "core/payment_wire.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace al {

namespace {

using clock = std::chrono::steady_clock;

/// Time left until `deadline` (0 when it has passed).
std::chrono::milliseconds remaining(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
    deadline - clock::now());
  return left.count() > 0 ? left : std::chrono::milliseconds{0};
}

outbound_response failed_response(std::string error) {
  outbound_response r;
  r.error = std::move(error);
  return r;
}

} // namespace

void count_payment(const payment_env& env, payment_status s) {
  if (env.m)
    env.m->payment(std::string{to_string(s)});
}

// -- PayPal tokens ------------------------------------------------------------

std::string paypal_token_cache::key_of(const std::string& api_base,
                                       const paypal_credentials& creds) {
  // The secret only as a digest: the map never holds it in clear.
  return api_base + '\n' + creds.client_id + '\n'
         + crypto::to_hex(crypto::sha256(creds.secret));
}

void paypal_token_cache::acquire(const http_send_fn& send,
                                 const std::string& api_base,
                                 const paypal_credentials& creds,
                                 clock::time_point deadline, token_fn done) {
  auto key = key_of(api_base, creds);
  {
    std::unique_lock<std::mutex> guard{mtx_};
    auto& e = entries_[key];
    if (!e.token.empty() && clock::now() < e.fresh_until) {
      auto token = e.token;
      guard.unlock();
      done(std::move(token), {});
      return;
    }
    e.waiters.push_back(std::move(done));
    if (e.fetching)
      return; // single flight: the running fetch answers everyone
    e.fetching = true;
  }
  auto left = remaining(deadline);
  auto finish = [self = shared_from_this(), key](std::optional<std::string> tok,
                                                 std::int64_t ttl,
                                                 std::string err) {
    std::vector<token_fn> waiters;
    {
      std::lock_guard<std::mutex> guard{self->mtx_};
      auto& e = self->entries_[key];
      e.fetching = false;
      waiters.swap(e.waiters);
      // Cached until shortly before it expires.
      if (tok && ttl > 1) {
        auto margin = ttl > 120 ? 60 : ttl / 2;
        e.token = *tok;
        e.fresh_until = clock::now() + std::chrono::seconds(ttl - margin);
      }
    }
    for (auto& w : waiters)
      w(tok, err);
  };
  if (left.count() == 0)
    return finish(std::nullopt, 0, "timeout");
  outbound_request req;
  req.method = "POST";
  req.url = api_base + "/v1/oauth2/token";
  req.headers
    = {{"Authorization", paypal_basic_auth(creds.client_id, creds.secret)},
       {"Content-Type", "application/x-www-form-urlencoded"},
       {"Accept", "application/json"}};
  req.body = std::string{paypal_token_body};
  req.timeout = left;
  send(std::move(req), [finish](outbound_response resp) {
    if (!resp.error.empty())
      return finish(std::nullopt, 0, resp.error);
    if (!resp.ok())
      return finish(std::nullopt, 0,
                    paypal_error_summary(resp.status, resp.body));
    auto t = parse_paypal_token(resp.body);
    if (!t)
      return finish(std::nullopt, 0, "malformed token response");
    finish(t->access_token, t->expires_in, {});
  });
}

void paypal_token_cache::invalidate(const std::string& api_base,
                                    const paypal_credentials& creds,
                                    const std::string& token) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find(key_of(api_base, creds));
  if (i != entries_.end() && i->second.token == token) {
    i->second.token.clear();
    i->second.fresh_until = {};
  }
}

namespace {

void paypal_call_once(payment_env_ptr env, paypal_credentials creds,
                      std::function<outbound_request(const std::string&)> make,
                      clock::time_point deadline,
                      std::function<void(outbound_response)> done,
                      bool retried) {
  auto tokens = env->tokens;
  tokens->acquire(
    env->send, env->paypal_api_base, creds, deadline,
    [env, creds, make, deadline, done,
     retried](std::optional<std::string> token, std::string err) {
      if (!token)
        return done(failed_response("PayPal token: " + err));
      auto left = remaining(deadline);
      if (left.count() == 0)
        return done(failed_response("timeout"));
      auto req = make(*token);
      req.timeout = left;
      env->send(std::move(req), [env, creds, make, deadline, done, retried,
                                 tok = *token](outbound_response resp) {
        if (resp.error.empty() && resp.status == 401 && !retried) {
          // The token was revoked or expired early: one fresh try.
          env->tokens->invalidate(env->paypal_api_base, creds, tok);
          return paypal_call_once(env, creds, make, deadline, done, true);
        }
        done(std::move(resp));
      });
    });
}

} // namespace

void paypal_call(const payment_env_ptr& env, const paypal_credentials& creds,
                 std::function<outbound_request(const std::string&)> make,
                 clock::time_point deadline,
                 std::function<void(outbound_response)> done) {
  paypal_call_once(env, creds, std::move(make), deadline, std::move(done),
                   false);
}

// -- replies ------------------------------------------------------------------

void payment_job::reply(const payment_reply& r) {
  if (replied_.exchange(true))
    return;
  if (reply_to)
    caf::anon_send(reply_to, r);
}

namespace {

/// The answer that describes `row` as it is.
payment_reply reply_for(const payment_row& row) {
  payment_reply r;
  r.payment_id = row.id;
  r.provider = row.provider;
  r.state = row.status;
  if (row.status == payment_status::failed) {
    r.status
      = {domain_code::bad_gateway,
         "Payment provider error: " + row.failure_reason.value_or("unknown")};
  } else if (row.pay_url) {
    r.status = {domain_code::created, ""};
    r.pay_url = *row.pay_url;
  } else {
    r.status = {domain_code::conflict,
                "A payment with this Idempotency-Key is still being created"};
  }
  return r;
}

} // namespace

payment_reply replay_reply(const payment_row& row, const payment_draft& asked) {
  if (row.provider != asked.provider || row.amount_minor != asked.amount_minor
      || row.currency != asked.currency) {
    payment_reply r;
    r.status = {domain_code::conflict,
                "Idempotency-Key was already used for a different payment"};
    r.payment_id = row.id;
    return r;
  }
  auto r = reply_for(row);
  r.replayed = true;
  return r;
}

// -- the actor ----------------------------------------------------------------

namespace {

struct payment_state {
  payment_env_ptr env;
  payment_job_ptr job;
  std::uint64_t attempt = 0; // provider attempt; stale completions ignored
  bool calling = false;      // a provider exchange is running
  bool done = false;
};

using payment_self = payment_actor::stateful_pointer<payment_state>;

void finish(payment_self self, const payment_reply& r) {
  self->state.done = true;
  self->state.calling = false;
  self->state.job->reply(r);
  self->quit();
}

/// Unavailable whatever the failure (the message still tells them apart).
payment_reply db_failure(const db_error& err, std::int64_t id) {
  payment_reply r;
  r.status = {domain_code::unavailable, from_db_error(err).message};
  r.payment_id = id;
  return r;
}

/// The provider failed: the payment is failed.
payment_reply provider_error(std::int64_t id, payment_provider provider,
                             const std::string& reason) {
  payment_reply r;
  r.status = {domain_code::bad_gateway, "Payment provider error: " + reason};
  r.payment_id = id;
  r.provider = provider;
  r.state = payment_status::failed;
  return r;
}

void provider_failed(payment_self self, const std::string& reason) {
  auto& st = self->state;
  if (st.done || !st.calling)
    return;
  st.calling = false;
  auto env = st.env;
  auto& d = st.job->req.draft;
  log_safe(spdlog::level::warn, "payment {} ({}): provider failed: {}", d.id,
           to_string(d.provider), reason);
  auto out = std::make_shared<payment_fail_saved>();
  out->reason = reason;
  auto me = caf::actor_cast<payment_actor>(self);
  auto business = d.business_id;
  auto id = d.id;
  auto detail = boost::json::serialize(boost::json::object{{"reason", reason}});
  env->db.run(
    [business, id, reason, detail, out](db_tx& tx) {
      out->changed = transition_payment(tx, business, id,
                                        payment_status::failed, "create_failed",
                                        reason, detail)
                     == transition_result::changed;
      out->row = load_payment(tx, business, id);
    },
    [me, out](const db_error& err) {
      out->error = err;
      caf::anon_send(me, std::move(*out));
    });
}

void fail_saved(payment_self self, const payment_fail_saved& m) {
  auto& st = self->state;
  if (st.done)
    return;
  auto id = st.job->req.draft.id;
  if (m.changed)
    count_payment(*st.env, payment_status::failed);
  payment_reply r;
  if (!m.error.empty())
    r = db_failure(m.error, id);
  else if (m.row && m.row->status != payment_status::failed)
    r = reply_for(*m.row); // settled meanwhile (e.g. paid by a webhook)
  else
    r = provider_error(id, st.job->req.draft.provider, m.reason);
  finish(self, r);
}

void got_link(payment_self self, std::uint64_t attempt,
              std::optional<std::string> ref, std::string url) {
  auto& st = self->state;
  if (st.done || !st.calling || attempt != st.attempt)
    return;
  st.calling = false;
  auto env = st.env;
  auto& d = st.job->req.draft;
  auto business = d.business_id;
  auto id = d.id;
  auto out = std::make_shared<payment_linked>();
  auto me = caf::actor_cast<payment_actor>(self);
  env->db.run(
    [business, id, ref, url, out](db_tx& tx) {
      store_link(tx, business, id, ref, url);
      out->row = load_payment(tx, business, id);
    },
    [me, out](const db_error& err) {
      out->error = err;
      caf::anon_send(me, std::move(*out));
    });
}

void linked(payment_self self, const payment_linked& m) {
  auto& st = self->state;
  if (st.done)
    return;
  auto id = st.job->req.draft.id;
  if (!m.error.empty())
    return finish(self, db_failure(m.error, id));
  if (!m.row)
    return finish(self, db_failure("payment row vanished", id));
  finish(self, reply_for(*m.row));
}

void on_order(payment_self self, const payment_answer& resp) {
  auto& st = self->state;
  if (st.done || !st.calling || resp.attempt != st.attempt)
    return;
  if (!resp.error.empty())
    return provider_failed(self, resp.error.rfind("PayPal", 0) == 0
                                   ? resp.error
                                   : "PayPal unreachable: " + resp.error);
  if (resp.status < 200 || resp.status >= 300)
    return provider_failed(self, paypal_error_summary(resp.status, resp.body));
  auto order = parse_paypal_order(resp.body);
  if (!order)
    return provider_failed(self, "PayPal answered without an approve link");
  got_link(self, resp.attempt, order->id, order->approve_url);
}

void call_provider(payment_self self) {
  auto& st = self->state;
  auto env = st.env;
  auto& req = st.job->req;
  auto& d = req.draft;
  auto attempt = ++st.attempt;
  st.calling = true;
  self->delayed_send(self, env->provider_timeout, timeout_atom_v, attempt);
  if (d.provider == payment_provider::tranzila) {
    tranzila_link_input in;
    in.base = env->tranzila_base;
    in.terminal = req.tranzila_terminal;
    in.amount_minor = d.amount_minor;
    in.currency = d.currency;
    in.description = d.description;
    in.notify_url
      = env->absolute(tranzila_notify_target(env->signing_key, d.id));
    in.payment_id = d.id;
    auto url = tranzila_pay_url(in);
    if (!url)
      return provider_failed(self, "Tranzila does not take " + d.currency);
    return got_link(self, attempt, std::nullopt, *url);
  }
  paypal_order_input in;
  in.payment_id = d.id;
  in.amount_minor = d.amount_minor;
  in.currency = d.currency;
  in.description = d.description;
  in.brand_name = req.brand_name;
  in.return_url = env->absolute("/payments/paypal/return");
  in.cancel_url = env->absolute("/payments/paypal/cancel");
  auto body = paypal_order_body(in);
  // Stable per payment, so a restarted actor's create returns the same order.
  auto request_id = issue_token(env->signing_key, "paypal-order",
                                std::to_string(d.id));
  auto url = env->paypal_api_base + "/v2/checkout/orders";
  auto me = caf::actor_cast<payment_actor>(self);
  paypal_call(
    env, req.paypal,
    [body, request_id, url](const std::string& token) {
      outbound_request r;
      r.method = "POST";
      r.url = url;
      r.headers = {{"Authorization", "Bearer " + token},
                   {"Content-Type", "application/json"},
                   {"Accept", "application/json"},
                   {"PayPal-Request-Id", request_id},
                   {"Prefer", "return=minimal"}};
      r.body = body;
      return r;
    },
    clock::now() + env->provider_timeout,
    [me, attempt](outbound_response resp) {
      caf::anon_send(me,
                     payment_answer{attempt, resp.status, std::move(resp.body),
                                    std::move(resp.error)});
    });
}

/// Writes (or finds) the row; the actor then decides what is left to do.
void start(payment_self self) {
  auto env = self->state.env;
  auto job = self->state.job;
  auto out = std::make_shared<payment_loaded>();
  auto me = caf::actor_cast<payment_actor>(self);
  env->db.run(
    [job, out](db_tx& tx) {
      auto& d = job->req.draft;
      out->inserted = insert_pending(tx, d);
      out->row = load_payment(tx, d.business_id, d.id);
      if (!out->row && d.idempotency_key)
        out->other = load_payment_by_key(tx, d.business_id, *d.idempotency_key);
    },
    [me, out](const db_error& err) {
      out->error = err;
      caf::anon_send(me, std::move(*out));
    });
}

void loaded(payment_self self, const payment_loaded& m) {
  auto& st = self->state;
  if (st.done)
    return;
  auto& d = st.job->req.draft;
  if (!m.error.empty())
    return finish(self, db_failure(m.error, d.id));
  if (m.inserted)
    count_payment(*st.env, payment_status::pending);
  if (!m.row && m.other)
    return finish(self, replay_reply(*m.other, d));
  if (!m.row)
    return finish(self, db_failure("payment row missing", d.id));
  auto& row = *m.row;
  if (row.status == payment_status::pending && !row.pay_url)
    return call_provider(self);
  finish(self, reply_for(row)); // a restart after the link was stored
}

payment_actor::behavior_type
payment_behavior(payment_self self, payment_env_ptr env, payment_job_ptr job) {
  self->state.env = std::move(env);
  self->state.job = std::move(job);
  start(self);
  return {
    [=](const payment_loaded& m) { loaded(self, m); },
    [=](const payment_answer& m) { on_order(self, m); },
    [=](const payment_linked& m) { linked(self, m); },
    [=](const payment_fail_saved& m) { fail_saved(self, m); },
    [=](timeout_atom, std::uint64_t attempt) {
      auto& st = self->state;
      if (st.done || !st.calling || attempt != st.attempt)
        return;
      provider_failed(self, "timeout after "
                              + std::to_string(st.env->provider_timeout.count())
                              + " ms");
    },
  };
}

} // namespace

child_spec payment_child(payment_env_ptr env, payment_job_ptr job) {
  child_spec spec;
  spec.key = payment_key(job->req.draft.id);
  spec.spawn = [env, job](caf::actor_system& sys) {
    return caf::actor_cast<caf::actor>(sys.spawn(payment_behavior, env, job));
  };
  spec.on_give_up = [env, job] {
    auto& d = job->req.draft;
    auto business = d.business_id;
    auto id = d.id;
    auto provider = d.provider;
    auto changed = std::make_shared<bool>(false);
    env->db.run(
      [business, id, changed](db_tx& tx) {
        *changed = transition_payment(tx, business, id, payment_status::failed,
                                      "crash_loop",
                                      "payment actor crashed repeatedly",
                                      R"({"reason":"crash loop"})")
                   == transition_result::changed;
      },
      [env, job, id, provider, changed](const db_error&) {
        if (*changed)
          count_payment(*env, payment_status::failed);
        job->reply(
          provider_error(id, provider, "payment actor crashed repeatedly"));
      });
  };
  return spec;
}

payment_manager_actor spawn_payment_manager(caf::actor_system& sys,
                                            supervision_stats& stats,
                                            metrics* m, payment_env_ptr env,
                                            supervisor_options opts) {
  return spawn_manager<payment_start>(
    sys, stats, m,
    [env](payment_start& s) {
      return payment_child(env, std::make_shared<payment_job>(
                                  std::move(s.req), std::move(s.reply_to)));
    },
    opts);
}

namespace {

/// How long the requester waits for the manager to take the request (the
/// payment actor's own answer has its provider timeout and give-up path).
constexpr auto manager_timeout = std::chrono::seconds(5);

payment_reply unavailable_reply(std::string why) {
  payment_reply r;
  r.status = {domain_code::unavailable, std::move(why)};
  return r;
}

/// The one-shot requester: hands the request to the manager, waits for the
/// one payment_reply, runs `done` with it and ends.
payment_requester_actor::behavior_type
payment_requester(payment_requester_actor::pointer self,
                  payment_manager_actor manager, payment_request req,
                  std::function<void(const payment_reply&)> done) {
  auto finish = [self, done](const payment_reply& r) {
    try {
      done(r);
    } catch (const std::exception& e) {
      log_safe(spdlog::level::err, "payment {}: reply failed: {}", r.payment_id,
               e.what());
    }
    self->quit();
  };
  auto id = req.draft.id;
  // The manager ends at shutdown and takes the payment actor with it,
  // unanswered: answer then, or the actor system would wait for this actor
  // for ever.
  self->monitor(manager);
  self->set_down_handler([finish](caf::down_msg&) {
    finish(unavailable_reply("Payments are shutting down"));
  });
  payment_start start{std::move(req),
                      caf::actor_cast<payment_requester_actor>(self)};
  self->request(manager, manager_timeout, spawn_atom_v, std::move(start))
    .then(
      [finish, id](const caf::actor& child) {
        if (!child) {
          auto r = unavailable_reply("The payment could not be started");
          r.payment_id = id;
          finish(r);
        }
      },
      [finish](const caf::error&) {
        finish(unavailable_reply("Payments are not available right now"));
      });
  return {
    [finish](const payment_reply& r) { finish(r); },
  };
}

} // namespace

void request_payment(caf::actor_system& sys,
                     const payment_manager_actor& manager, payment_request req,
                     std::function<void(const payment_reply&)> done) {
  if (!manager) {
    if (done)
      done(unavailable_reply("Payments are not running"));
    return;
  }
  sys.spawn(payment_requester, manager, std::move(req), std::move(done));
}

} // namespace al
