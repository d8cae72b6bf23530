#include "domain/payment_callbacks.hpp"

#include "actors/log.hpp"
#include "actors/payment_rows.hpp"
#include "core/call_token.hpp"
#include "core/money.hpp"
#include "domain/payments.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>
#include <memory>

namespace al::domain::payments {

namespace {

namespace json = boost::json;
using clock = std::chrono::steady_clock;

// -- settling a payment -------------------------------------------------------

/// What became of a payment after a capture attempt.
struct settle_result {
  std::optional<payment_status> status; // afterwards (nullopt: unknown)
  std::string error;                    // provider/DB trouble: nothing changed
};

using settle_fn = std::function<void(settle_result)>;

/// Applies a final status to `row` and reports the status afterwards.
void apply_transition(const payment_env_ptr& env, const payment_row& row,
                      payment_status to, std::string event_key,
                      std::string reason, std::string detail, settle_fn done) {
  auto after = std::make_shared<std::optional<payment_status>>();
  auto changed = std::make_shared<bool>(false);
  auto business = row.business_id;
  auto id = row.id;
  env->db.run(
    [=](db_tx& tx) {
      *changed = transition_payment(tx, business, id, to, event_key, reason,
                                    detail)
                 == transition_result::changed;
      if (auto r = load_payment(tx, business, id))
        *after = r->status;
    },
    [env, to, after, changed, done](const db_error& err) {
      if (!err.empty())
        return done(settle_result{std::nullopt, "database: " + err});
      if (*changed)
        count_payment(*env, to);
      done(settle_result{*after, ""});
    });
}

/// Applies what a capture (or order) response says about `row`.
void apply_capture(const payment_env_ptr& env, const payment_row& row,
                   const paypal_capture& c, settle_fn done) {
  auto detail
    = json::serialize(json::object{{"order_id", c.order_id},
                                   {"capture_id", c.capture_id},
                                   {"capture_status", c.capture_status}});
  auto key = "paypal:capture:"
             + (c.capture_id.empty() ? c.order_id : c.capture_id);
  if (paypal_capture_completed(c)) {
    if (c.amount_minor
        && (*c.amount_minor != row.amount_minor || c.currency != row.currency))
      return apply_transition(env, row, payment_status::failed, key,
                              "captured amount differs: "
                                + format_amount(*c.amount_minor) + " "
                                + utf8_prefix(c.currency, 8),
                              detail, std::move(done));
    return apply_transition(env, row, payment_status::paid, key, "", detail,
                            std::move(done));
  }
  if (c.capture_status == "DECLINED" || c.capture_status == "FAILED")
    return apply_transition(env, row, payment_status::failed, key,
                            "PayPal capture " + c.capture_status, detail,
                            std::move(done));
  done(settle_result{row.status, ""}); // e.g. PENDING: a webhook follows
}

/// Captures the PayPal order of `row` (idempotent: PayPal-Request-Id) and
/// settles the payment from the answer.
void capture_order(const payment_env_ptr& env, const payment_row& row,
                   const paypal_credentials& creds, settle_fn done) {
  if (!row.provider_ref || !is_order_id(*row.provider_ref))
    return done(settle_result{row.status, "no PayPal order"});
  auto order = *row.provider_ref;
  auto base = env->paypal_api_base;
  auto request_id = issue_token(env->signing_key, "paypal-capture",
                                std::to_string(row.id));
  auto deadline = clock::now() + env->provider_timeout;
  paypal_call(
    env, creds,
    [base, order, request_id](const std::string& token) {
      outbound_request r;
      r.method = "POST";
      r.url = base + "/v2/checkout/orders/" + order + "/capture";
      r.headers = {{"Authorization", "Bearer " + token},
                   {"Content-Type", "application/json"},
                   {"Accept", "application/json"},
                   {"PayPal-Request-Id", request_id},
                   {"Prefer", "return=representation"}};
      r.body = "{}";
      return r;
    },
    deadline,
    [env, row, creds, base, order, deadline, done](outbound_response resp) {
      if (!resp.error.empty())
        return done(settle_result{row.status, "PayPal: " + resp.error});
      if (resp.status == 422 && paypal_already_captured(resp.body)) {
        // Captured before (another instance, a retry): read the order.
        return paypal_call(
          env, creds,
          [base, order](const std::string& token) {
            outbound_request r;
            r.method = "GET";
            r.url = base + "/v2/checkout/orders/" + order;
            r.headers = {{"Authorization", "Bearer " + token},
                         {"Accept", "application/json"}};
            return r;
          },
          deadline,
          [env, row, done](outbound_response got) {
            auto c = got.ok() ? parse_paypal_capture(got.body) : std::nullopt;
            if (!c)
              return done(settle_result{
                row.status, got.error.empty()
                              ? paypal_error_summary(got.status, got.body)
                              : "PayPal: " + got.error});
            apply_capture(env, row, *c, done);
          });
      }
      if (!resp.ok())
        return done(settle_result{row.status, paypal_error_summary(resp.status,
                                                                   resp.body)});
      auto c = parse_paypal_capture(resp.body);
      if (!c)
        return done(settle_result{row.status, "malformed PayPal capture"});
      apply_capture(env, row, *c, done);
    });
}

// -- buyer pages --------------------------------------------------------------

page_result shown(std::optional<payment_status> s) {
  return page_result{{domain_code::ok, ""}, s};
}

/// Loads the PayPal payment of `order` with its credentials, then `next`;
/// answers `done` itself when the database fails or there is none.
void with_paypal_payment(
  const payment_env_ptr& env, std::string order, page_fn done,
  std::function<void(payment_row, std::optional<paypal_credentials>)> next) {
  auto row = std::make_shared<std::optional<payment_row>>();
  auto creds = std::make_shared<std::optional<paypal_credentials>>();
  env->db.run(
    [env, order = std::move(order), row, creds](db_tx& tx) {
      *row = find_payment_by_ref(tx, payment_provider::paypal, order);
      if (*row)
        *creds = load_settings(tx, *env, (*row)->business_id).paypal;
    },
    [row, creds, done = std::move(done),
     next = std::move(next)](const db_error& err) {
      if (!err.empty())
        return done(page_result{
          {domain_code::unavailable, from_db_error(err).message}, {}});
      if (!*row)
        return done(
          page_result{{domain_code::not_found, "No such payment"}, {}});
      next(**row, *creds);
    });
}

// -- PayPal webhook -----------------------------------------------------------

domain_reply webhook_ok(std::string_view note) {
  return domain_reply{domain_code::ok,
                      json::object{{"success", true}, {"result", note}}};
}

/// Acts on a verified event for `row` (may be nullopt: not ours).
void act_on_event(const payment_env_ptr& env, const paypal_event& e,
                  const std::optional<payment_row>& row,
                  const std::optional<paypal_credentials>& creds,
                  reply_fn done) {
  if (!row)
    return done(webhook_ok("ignored: unknown payment"));
  if (row->provider != payment_provider::paypal
      || (!e.order_id.empty() && row->provider_ref
          && *row->provider_ref != e.order_id))
    return done(webhook_ok("ignored: order does not match"));
  if (row->status != payment_status::pending)
    return done(
      webhook_ok("unchanged: " + std::string{to_string(row->status)}));
  auto answer = [done](settle_result r) {
    if (!r.error.empty())
      return done(domain_fail(domain_code::bad_gateway, r.error));
    done(webhook_ok(r.status ? to_string(*r.status) : ""));
  };
  auto detail = json::serialize(json::object{{"event_id", e.id},
                                             {"event_type", e.event_type},
                                             {"order_id", e.order_id},
                                             {"capture_id", e.capture_id}});
  if (e.event_type == "CHECKOUT.ORDER.APPROVED") {
    if (!creds)
      return done(
        domain_fail(domain_code::bad_gateway, "PayPal is not configured"));
    return capture_order(env, *row, *creds, answer);
  }
  if (e.event_type == "PAYMENT.CAPTURE.COMPLETED") {
    if (e.amount_minor
        && (*e.amount_minor != row->amount_minor
            || e.currency != row->currency))
      return apply_transition(
        env, *row, payment_status::failed, "paypal:event:" + e.id,
        "captured amount differs: " + format_amount(*e.amount_minor) + " "
          + utf8_prefix(e.currency, 8),
        detail, answer);
    return apply_transition(env, *row, payment_status::paid,
                            "paypal:event:" + e.id, "", detail, answer);
  }
  if (e.event_type == "PAYMENT.CAPTURE.DENIED"
      || e.event_type == "PAYMENT.CAPTURE.DECLINED")
    return apply_transition(env, *row, payment_status::failed,
                            "paypal:event:" + e.id, "PayPal " + e.event_type,
                            detail, answer);
  done(webhook_ok("ignored: " + utf8_prefix(e.event_type, 64)));
}

} // namespace

bool is_order_id(std::string_view s) {
  if (s.empty() || s.size() > 64)
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      return false;
  return true;
}

void capture_on_return(const payment_env_ptr& env, std::string order,
                       page_fn done) {
  with_paypal_payment(
    env, std::move(order), done,
    [env, done](payment_row row, std::optional<paypal_credentials> creds) {
      if (row.status != payment_status::pending)
        return done(shown(row.status));
      if (!creds)
        return done(page_result{
          {domain_code::not_implemented, "PayPal is not configured"}, {}});
      capture_order(env, row, *creds, [done, id = row.id](settle_result r) {
        if (!r.error.empty()) {
          log_safe(spdlog::level::warn, "payment {}: capture failed: {}", id,
                   r.error);
          return done(page_result{{domain_code::bad_gateway, r.error}, {}});
        }
        done(shown(r.status));
      });
    });
}

void cancel_by_buyer(const payment_env_ptr& env, std::string order,
                     page_fn done) {
  auto key = "paypal:cancel:" + order;
  with_paypal_payment(
    env, std::move(order), done,
    [env, done, key](payment_row row, std::optional<paypal_credentials>) {
      if (row.status != payment_status::pending)
        return done(shown(row.status));
      apply_transition(
        env, row, payment_status::cancelled, key, "", R"({"by":"buyer"})",
        [done](settle_result r) {
          if (!r.error.empty())
            return done(page_result{{domain_code::unavailable, r.error}, {}});
          done(shown(r.status));
        });
    });
}

void apply_paypal_webhook(const payment_env_ptr& env, std::string webhook_id,
                          std::string raw, paypal_webhook_headers headers,
                          paypal_event event, reply_fn done) {
  // Whose payment (so whose credentials verify it)? Nothing is changed
  // before the signature is verified.
  auto ev = std::make_shared<paypal_event>(std::move(event));
  auto row = std::make_shared<std::optional<payment_row>>();
  auto creds = std::make_shared<std::optional<paypal_credentials>>();
  env->db.run(
    [env, ev, row, creds](db_tx& tx) {
      if (auto id = payment_id_from_custom_id(ev->custom_id))
        *row = find_payment(tx, *id);
      if (!*row && !ev->order_id.empty())
        *row = find_payment_by_ref(tx, payment_provider::paypal, ev->order_id);
      *creds = *row ? load_settings(tx, *env, (*row)->business_id).paypal
                    : env->paypal;
    },
    [env, raw = std::move(raw), ev, row, creds, h = std::move(headers),
     webhook_id = std::move(webhook_id),
     done = std::move(done)](const db_error& err) {
      if (!err.empty())
        return done(domain_fail(from_db_error(err)));
      if (!*creds)
        return done(domain_fail(domain_code::bad_request,
                                "cannot verify: PayPal is not configured"));
      auto body = paypal_verify_body(h, webhook_id, raw);
      auto base = env->paypal_api_base;
      paypal_call(
        env, **creds,
        [body, base](const std::string& token) {
          outbound_request r;
          r.method = "POST";
          r.url = base + "/v1/notifications/verify-webhook-signature";
          r.headers = {{"Authorization", "Bearer " + token},
                       {"Content-Type", "application/json"},
                       {"Accept", "application/json"}};
          r.body = body;
          return r;
        },
        clock::now() + env->provider_timeout,
        [env, ev, row, creds, done](outbound_response resp) {
          if (!resp.error.empty() || resp.status >= 500)
            // PayPal retries non-2xx deliveries: let it come back later.
            return done(
              domain_fail(domain_code::bad_gateway,
                          "cannot verify now: "
                            + (resp.error.empty()
                                 ? paypal_error_summary(resp.status, resp.body)
                                 : resp.error)));
          if (!resp.ok() || !paypal_verification_succeeded(resp.body)) {
            log_safe(spdlog::level::warn,
                     "PayPal webhook {} failed verification",
                     utf8_prefix(ev->id, 64));
            return done(domain_fail(domain_code::bad_request,
                                    "webhook signature not verified"));
          }
          act_on_event(env, *ev, *row, *creds, done);
        });
    });
}

void apply_tranzila_notify(const payment_env_ptr& env, std::int64_t id,
                           form_params fields, reply_fn done) {
  auto form = std::make_shared<form_params>(std::move(fields));
  auto out = std::make_shared<domain_reply>();
  auto changed = std::make_shared<std::optional<payment_status>>();
  env->db.run(
    [id, form, out, changed](db_tx& tx) {
      // The token binds this id; the business comes from the row.
      auto row = find_payment(tx, id);
      if (!row || row->provider != payment_provider::tranzila) {
        *out = domain_fail(domain_code::not_found, "No such Tranzila payment");
        return;
      }
      if (row->status != payment_status::pending) {
        *out = webhook_ok("unchanged: " + std::string{to_string(row->status)});
        return;
      }
      auto v = judge_tranzila_notify(*form, row->amount_minor, row->currency);
      json::object detail{{"response", v.code}, {"reference", v.reference}};
      if (!v.paid)
        detail["reason"] = v.reason;
      auto to = v.paid ? payment_status::paid : payment_status::failed;
      auto key = "tranzila:" + v.code + ":"
                 + (v.reference.empty() ? std::string{"-"} : v.reference);
      auto r = transition_payment(tx, row->business_id, id, to, key, v.reason,
                                  json::serialize(detail));
      if (r == transition_result::changed)
        *changed = to;
      *out = webhook_ok(r == transition_result::changed ? to_string(to)
                                                        : "unchanged");
    },
    [env, out, changed, done = std::move(done)](const db_error& err) {
      if (!err.empty())
        return done(domain_fail(from_db_error(err)));
      if (*changed)
        count_payment(*env, **changed);
      done(std::move(*out));
    });
}

} // namespace al::domain::payments
