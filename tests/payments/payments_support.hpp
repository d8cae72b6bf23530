#pragma once

// Shared by the payment suites: a fake PayPal (OAuth token, Orders v2
// create/capture/get, verify-webhook-signature) on fake_http_server, and
// helpers that provision businesses and tokens through the admin API.

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "tests/support/app_fixture.hpp"
#include "tests/support/fake_http_server.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace al::test {

namespace bj = boost::json;

inline bj::value parse_json(const std::string& s) {
  boost::system::error_code ec;
  auto v = bj::parse(s, ec);
  if (ec)
    return bj::value{};
  return v;
}

inline std::string field_text(const bj::value& v, const char* key) {
  if (!v.is_object())
    return {};
  auto* f = v.as_object().if_contains(key);
  if (!f)
    return {};
  if (f->is_string())
    return std::string{f->as_string()};
  if (f->is_int64())
    return std::to_string(f->as_int64());
  if (f->is_bool())
    return f->as_bool() ? "true" : "false";
  return bj::serialize(*f);
}

/// A PayPal REST fake. Knobs are atomics; counters and recordings are
/// thread-safe. Tokens must be presented as issued; orders remember their
/// PayPal-Request-Id, so a repeated create returns the same order.
class fake_paypal {
public:
  using request = fake_http_server::request;
  using response = fake_http_server::response;

  fake_paypal()
    : server_([this](const request& r) { return handle(r); }) {}

  std::string base() const {
    return server_.base_url();
  }
  fake_http_server& server() {
    return server_;
  }

  /// Accepts client credentials `id`/`secret` at the token endpoint.
  void allow(const std::string& id, const std::string& secret) {
    std::lock_guard<std::mutex> g{mu_};
    allowed_.insert("Basic " + crypto::base64_encode(id + ":" + secret));
  }
  /// Every token issued so far stops working (PayPal answers 401).
  void revoke_tokens() {
    std::lock_guard<std::mutex> g{mu_};
    valid_.clear();
  }

  std::atomic<int> order_status{201};              // answer to order creates
  std::atomic<bool> reject_tokens{false};          // 401 for every Bearer call
  std::atomic<long long> capture_amount_minor{-1}; // -1: the order's
  std::atomic<int> expires_in{32400};
  std::string good_sig = "good-sig";
  std::string webhook_id = "WH-TEST";

  std::atomic<int> token_requests{0};
  std::atomic<int> order_requests{0};
  std::atomic<int> capture_requests{0};
  std::atomic<int> verify_requests{0};
  std::atomic<int> unauthorized{0};

  std::vector<std::string> order_request_ids() const {
    std::lock_guard<std::mutex> g{mu_};
    return order_request_ids_;
  }
  std::vector<std::string> order_bodies() const {
    std::lock_guard<std::mutex> g{mu_};
    return order_bodies_;
  }
  std::vector<std::string> verify_bodies() const {
    std::lock_guard<std::mutex> g{mu_};
    return verify_bodies_;
  }
  std::string approve_url(const std::string& order) const {
    return "https://www.sandbox.paypal.com/checkoutnow?token=" + order;
  }

private:
  struct order {
    std::string id;
    std::string custom_id;
    std::string value;
    std::string currency;
    bool captured = false;
  };

  static response json(http::status s, const bj::value& v) {
    return fake_http_server::reply(s, bj::serialize(v));
  }

  bool bearer_ok(const request& r) {
    auto auth = std::string{r[http::field::authorization]};
    std::lock_guard<std::mutex> g{mu_};
    return !reject_tokens && auth.rfind("Bearer ", 0) == 0
           && valid_.count(auth.substr(7));
  }

  bj::object order_view(const order& o) {
    bj::object unit{{"reference_id", o.custom_id}, {"custom_id", o.custom_id}};
    if (o.captured) {
      auto minor = capture_amount_minor.load();
      std::string value = o.value;
      if (minor >= 0)
        value = std::to_string(minor / 100) + "."
                + (minor % 100 < 10 ? "0" : "") + std::to_string(minor % 100);
      unit["payments"] = bj::object{
        {"captures", bj::array{bj::object{
                       {"id", "CAP-" + o.id},
                       {"status", "COMPLETED"},
                       {"custom_id", o.custom_id},
                       {"amount", bj::object{{"currency_code", o.currency},
                                             {"value", value}}}}}}};
    }
    return bj::object{{"id", o.id},
                      {"status", o.captured ? "COMPLETED" : "APPROVED"},
                      {"purchase_units", bj::array{unit}}};
  }

  response handle(const request& r) {
    std::string target{r.target()};
    if (r.method() == http::verb::post && target == "/v1/oauth2/token") {
      ++token_requests;
      auto auth = std::string{r[http::field::authorization]};
      std::lock_guard<std::mutex> g{mu_};
      if (!allowed_.count(auth) || r.body() != "grant_type=client_credentials")
        return json(
          http::status::unauthorized,
          bj::object{{"error", "invalid_client"},
                     {"error_description", "Client Authentication failed"}});
      auto tok = "TOK-" + std::to_string(++next_token_);
      valid_.insert(tok);
      return json(http::status::ok,
                  bj::object{{"access_token", tok},
                             {"token_type", "Bearer"},
                             {"expires_in", expires_in.load()}});
    }
    if (!bearer_ok(r)) {
      ++unauthorized;
      if (target == "/v2/checkout/orders")
        ++order_requests;
      return json(http::status::unauthorized,
                  bj::object{{"name", "AUTHENTICATION_FAILURE"},
                             {"message", "Authentication failed"}});
    }
    if (r.method() == http::verb::post && target == "/v2/checkout/orders") {
      ++order_requests;
      auto rid = std::string{r["PayPal-Request-Id"]};
      std::lock_guard<std::mutex> g{mu_};
      order_request_ids_.push_back(rid);
      order_bodies_.push_back(r.body());
      if (order_status != 201)
        return json(static_cast<http::status>(order_status.load()),
                    bj::object{{"name", "INTERNAL_SERVICE_ERROR"},
                               {"message", "An internal service error"}});
      std::string id;
      if (auto i = by_request_id_.find(rid); i != by_request_id_.end()) {
        id = i->second;
      } else {
        id = "ORD" + std::to_string(++next_order_);
        auto body = parse_json(r.body());
        order o;
        o.id = id;
        try {
          auto& u = body.at("purchase_units").at(0);
          o.custom_id = field_text(u, "custom_id");
          o.value = field_text(u.at("amount"), "value");
          o.currency = field_text(u.at("amount"), "currency_code");
        } catch (...) {
          return json(http::status::bad_request,
                      bj::object{{"name", "INVALID_REQUEST"}});
        }
        orders_[id] = o;
        if (!rid.empty())
          by_request_id_[rid] = id;
      }
      return json(
        http::status::created,
        bj::object{
          {"id", id},
          {"status", "PAYER_ACTION_REQUIRED"},
          {"links",
           bj::array{bj::object{{"href", base() + "/v2/checkout/orders/" + id},
                                {"rel", "self"}},
                     bj::object{{"href", approve_url(id)},
                                {"rel", "payer-action"},
                                {"method", "GET"}}}}});
    }
    const std::string prefix = "/v2/checkout/orders/";
    if (target.rfind(prefix, 0) == 0) {
      auto rest = target.substr(prefix.size());
      bool capture = false;
      if (auto slash = rest.find('/'); slash != std::string::npos) {
        capture = rest.substr(slash) == "/capture";
        rest = rest.substr(0, slash);
      }
      std::lock_guard<std::mutex> g{mu_};
      auto i = orders_.find(rest);
      if (i == orders_.end())
        return json(http::status::not_found,
                    bj::object{{"name", "RESOURCE_NOT_FOUND"}});
      if (capture && r.method() == http::verb::post) {
        ++capture_requests;
        if (i->second.captured)
          return json(
            http::status::unprocessable_entity,
            bj::object{{"name", "UNPROCESSABLE_ENTITY"},
                       {"details", bj::array{bj::object{
                                     {"issue", "ORDER_ALREADY_CAPTURED"}}}}});
        i->second.captured = true;
        return json(http::status::created, order_view(i->second));
      }
      if (!capture && r.method() == http::verb::get)
        return json(http::status::ok, order_view(i->second));
    }
    if (r.method() == http::verb::post
        && target == "/v1/notifications/verify-webhook-signature") {
      ++verify_requests;
      std::lock_guard<std::mutex> g{mu_};
      verify_bodies_.push_back(r.body());
      auto body = parse_json(r.body());
      bool ok = field_text(body, "transmission_sig") == good_sig
                && field_text(body, "webhook_id") == webhook_id
                && body.is_object()
                && body.as_object().if_contains("webhook_event")
                && body.at("webhook_event").is_object();
      return json(http::status::ok, bj::object{{"verification_status",
                                                ok ? "SUCCESS" : "FAILURE"}});
    }
    return json(http::status::not_found, bj::object{{"name", "NOT_FOUND"}});
  }

  fake_http_server server_;
  mutable std::mutex mu_;
  std::set<std::string> allowed_;
  std::set<std::string> valid_;
  int next_token_ = 0;
  int next_order_ = 0;
  std::map<std::string, order> orders_;
  std::map<std::string, std::string> by_request_id_;
  std::vector<std::string> order_request_ids_;
  std::vector<std::string> order_bodies_;
  std::vector<std::string> verify_bodies_;
};

/// POST /api/admin/businesses; returns the new id (throws on failure).
inline std::int64_t create_business(std::uint16_t port,
                                    const std::string& json_body) {
  auto r = api_call(port, "POST", "/api/admin/businesses", "test-admin",
                    json_body);
  if (r.status != 201)
    throw std::runtime_error("create business: " + std::to_string(r.status)
                             + " " + r.body);
  return std::stoll(field_text(parse_json(r.body), "id"));
}

/// POST /api/admin/tokens; returns the token.
inline std::string create_token(std::uint16_t port, std::int64_t business,
                                const std::string& role) {
  auto r = api_call(port, "POST", "/api/admin/tokens", "test-admin",
                    R"({"business_id":)" + std::to_string(business)
                      + R"(,"role":")" + role + R"(","name":"t"})");
  if (r.status != 201)
    throw std::runtime_error("create token: " + std::to_string(r.status) + " "
                             + r.body);
  return field_text(parse_json(r.body), "token");
}

/// A lead of `business` (SQL, so the suite does not depend on the CRM API).
inline std::int64_t create_lead(const config& cfg, std::int64_t business,
                                const std::string& phone) {
  return std::stoll(
    sql_value(cfg, "INSERT INTO leads(business_id, name, phone) VALUES ("
                     + std::to_string(business) + ", 'Lead', '" + phone
                     + "') RETURNING id"));
}

/// The payments config for a test app: payments on, PayPal at `paypal_base`
/// (no global credentials unless given), short provider timeout.
inline config payments_config(const std::string& paypal_base) {
  auto cfg = test_config();
  cfg.payments_enabled = true;
  cfg.paypal_api_base = paypal_base;
  cfg.paypal_webhook_id = "WH-TEST";
  cfg.payment_timeout = std::chrono::milliseconds(2000);
  return cfg;
}

inline std::string count_rows(const config& cfg, const std::string& where) {
  return sql_value(cfg, "SELECT count(*) FROM payments WHERE " + where);
}

} // namespace al::test
