#pragma once

// Shared helpers of the CRM REST tests: an in-process app on a fresh
// database, provisioning through the admin API, JSON assertions.

#include "tests/support/app_fixture.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <string>

namespace al::test {

namespace json = boost::json;

constexpr const char* admin_token = "test-admin";

/// One HTTP answer with its JSON body parsed (null when not JSON).
struct api_result {
  int status = 0;
  std::string body;
  std::string content_type;
  json::value json;

  const json::object& obj() const;
  std::int64_t int_at(const char* key) const;
  std::string str_at(const char* key) const;
  const json::array& items() const;
};

struct issued_token {
  std::int64_t id = 0;
  std::string token;
};

class crm_app {
public:
  crm_app() = default;
  explicit crm_app(config cfg)
    : app_(std::move(cfg)) {}

  running_app& app() {
    return app_;
  }
  const config& cfg() const {
    return app_.cfg();
  }

  api_result call(const std::string& method, const std::string& target,
                  const std::string& token, const std::string& body = {});

  /// POST /api/admin/businesses {"name":name}; returns the id.
  std::int64_t new_business(const std::string& name);

  /// POST /api/admin/tokens; role "owner"|"agent"|"read_only".
  issued_token new_token(std::int64_t business, const std::string& role);

  /// POST /api/crm/leads with `body` (must answer 201); returns the id.
  std::int64_t new_lead(const std::string& token, const std::string& body);

  /// Runs SQL on the test database; first column of the first row.
  std::string sql(const std::string& q) const {
    return sql_value(app_.cfg(), q);
  }

private:
  running_app app_;
};

/// JSON text of `v`.
std::string js(const json::value& v);

/// `s` with every `from` replaced by `to` (route patterns -> paths).
std::string replace_all(std::string s, const std::string& from,
                        const std::string& to);

} // namespace al::test
