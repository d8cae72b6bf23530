#pragma once

// Runs the whole service in-process against the real PostgreSQL started by
// deploy/test.sh (AL_TEST_DATABASE_URL), each fixture on a fresh database
// and an ephemeral port; plus a small blocking HTTP client for assertions.

#include "app/app.hpp"
#include "core/config.hpp"
#include "core/form.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace al::test {

/// URL of a new, empty database in the test cluster. Throws when
/// AL_TEST_DATABASE_URL is not set (the DB tests must fail, not skip).
std::string fresh_database();

/// A fresh database with every migration applied (schemas/), for tests
/// that use a store without the application (store::direct). Throws when a
/// migration fails.
std::string migrated_database();

/// A config for tests: port 0, fresh database, short timeouts, admin token
/// "test-admin", Twilio auth token "test-auth-token".
config test_config();

/// The service, started in-process; stopped by the destructor.
class running_app {
public:
  explicit running_app(config cfg = test_config());
  ~running_app();

  std::uint16_t port() const {
    return app_->port();
  }
  std::string base() const {
    return "http://127.0.0.1:" + std::to_string(port());
  }
  const config& cfg() const {
    return cfg_;
  }
  application& app() {
    return *app_;
  }
  services& svc() {
    return app_->svc();
  }

private:
  config cfg_;
  std::unique_ptr<application> app_;
};

struct http_result {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers; // lower-case names
  std::string header(const std::string& name) const;
};

using header_list = std::vector<std::pair<std::string, std::string>>;

/// One blocking request to 127.0.0.1:port (new connection each time).
http_result http_call(std::uint16_t port, const std::string& method,
                      const std::string& target, const std::string& body = {},
                      const header_list& headers = {});

/// JSON request with `Authorization: Bearer token`.
http_result api_call(std::uint16_t port, const std::string& method,
                     const std::string& target, const std::string& token,
                     const std::string& json_body = {});

/// A form POST signed like Twilio signs it, for `public_base + target`.
http_result
twilio_post(std::uint16_t port, const std::string& public_base,
            const std::string& auth_token, const std::string& target,
            const std::vector<std::pair<std::string, std::string>>& params);

/// For streamed answers (server-sent events): sends a GET and returns what
/// arrived within `wait` -- the status, headers and the first bytes of the
/// body in `body` (still chunk-encoded) -- then closes the connection.
http_result
stream_start(std::uint16_t port, const std::string& target,
             const header_list& headers = {},
             std::chrono::milliseconds wait = std::chrono::milliseconds(300));

/// Sends raw bytes and returns whatever comes back until close/timeout.
std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout
                         = std::chrono::milliseconds(3000));

/// The value of `<Parameter name="name" value="...">` in TwiML ("" when
/// absent), e.g. the Stream's call_token.
std::string param_value(const std::string& twiml, const std::string& name);

/// Runs `sql` on the test database of `cfg` and returns the first column of
/// the first row as text ("" when no row / NULL).
std::string sql_value(const config& cfg, const std::string& sql);

/// Polls `pred` every 10 ms until true or `timeout`; returns the last value.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(5));

} // namespace al::test
