#pragma once

// WhatsApp test support: fake Twilio Messages API and fake WhatsApp Cloud
// API servers speaking the providers' real formats, and a fixture running
// the service in-process with its provider bases pointed at them.

#include "tests/support/app_fixture.hpp"
#include "tests/support/fake_http_server.hpp"

#include "core/form.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace al::test {

namespace json = boost::json;

/// How a fake provider answers sends.
enum class fake_mode {
  ok,           // 201/200 with a fresh message id
  reject,       // 400 with the provider's error JSON
  server_error, // 503 with an HTML body
};

/// POST /2010-04-01/Accounts/{sid}/Messages.json (Basic auth), like Twilio:
/// 201 {"sid":"SM…","status":"queued",…}; errors {"code","message",…}.
class fake_twilio {
public:
  fake_twilio();

  std::string base_url() const {
    return server_.base_url();
  }
  fake_http_server& server() {
    return server_;
  }
  void set_mode(fake_mode m) {
    mode_ = m;
  }

  /// The decoded forms of the Messages.json requests, in arrival order.
  std::vector<form_params> messages() const;
  /// Most requests received but not yet answered at one time.
  int max_outstanding() const {
    return max_outstanding_;
  }

private:
  fake_http_server::response handle(const fake_http_server::request& req);

  std::atomic<fake_mode> mode_{fake_mode::ok};
  std::atomic<int> answered_{0};
  std::atomic<int> max_outstanding_{0};
  std::atomic<int> next_sid_{0};
  fake_http_server server_; // last: stops before the state above goes
};

/// POST /{phone_id}/messages (Bearer), like the Cloud API:
/// {"messaging_product":"whatsapp","contacts":[…],"messages":[{"id":"wamid…"}]};
/// errors {"error":{"message","type","code","fbtrace_id"}}.
class fake_meta {
public:
  fake_meta();

  std::string base_url() const {
    return server_.base_url();
  }
  fake_http_server& server() {
    return server_;
  }
  void set_mode(fake_mode m) {
    mode_ = m;
  }

private:
  fake_http_server::response handle(const fake_http_server::request& req);

  std::atomic<fake_mode> mode_{fake_mode::ok};
  std::atomic<int> next_id_{0};
  fake_http_server server_;
};

/// A parsed JSON answer.
struct wa_answer {
  int status = 0;
  std::string body;
  json::value json;
  const json::object& obj() const;
  std::string str(const char* key) const;
  std::int64_t num(const char* key) const;
};

class whatsapp_test : public ::testing::Test {
protected:
  /// The test config pointed at the fakes (provider timeout 500 ms, Meta
  /// credentials, app secret "meta-secret", verify token "verify-me").
  config wa_config();
  void start(config c);
  void start() {
    start(wa_config());
  }

  running_app& app() {
    return *app_;
  }
  std::uint16_t port() const {
    return app_->port();
  }

  /// POST /api/whatsapp/send with the admin token (or `token`).
  wa_answer send(const std::string& json_body,
                 const std::string& token = "test-admin");
  /// Any API call with a token.
  wa_answer api(const std::string& method, const std::string& target,
                const std::string& token, const std::string& body = {});
  /// A Twilio-signed form POST (token "test-auth-token" unless given).
  http_result
  twilio_webhook(const std::string& path,
                 const std::vector<std::pair<std::string, std::string>>& params,
                 const std::string& token = "test-auth-token");
  /// A signed inbound WhatsApp message from `from` (E.164) to our number.
  http_result inbound(const std::string& sid, const std::string& from,
                      const std::string& body,
                      const std::string& to = "+14155238886",
                      const std::string& token = "test-auth-token");
  /// Opens WhatsApp's 24-hour window of `e164` with `business` (as if the
  /// number had just written; no message row, no webhook).
  void open_window(const std::string& e164, std::int64_t business = 1);
  /// The first column of the first row of `q` ("" when none).
  std::string sql(const std::string& q);
  /// Creates a business through the admin API; returns its id.
  std::int64_t new_business(const std::string& json_body);
  /// An API token of `business` with `role`.
  std::string new_token(std::int64_t business, const std::string& role);

  fake_twilio twilio_;
  fake_meta meta_;
  std::unique_ptr<running_app> app_;
};

} // namespace al::test
