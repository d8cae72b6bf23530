#include "tests/crm/crm_support.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace al::test {

const json::object& api_result::obj() const {
  if (!json.is_object())
    throw std::runtime_error("not a JSON object: " + body);
  return json.as_object();
}

std::int64_t api_result::int_at(const char* key) const {
  auto* v = obj().if_contains(key);
  if (!v || !v->is_int64())
    throw std::runtime_error(std::string{"no integer "} + key + " in " + body);
  return v->as_int64();
}

std::string api_result::str_at(const char* key) const {
  auto* v = obj().if_contains(key);
  if (!v || !v->is_string())
    throw std::runtime_error(std::string{"no string "} + key + " in " + body);
  return std::string{v->as_string()};
}

const json::array& api_result::items() const {
  auto* v = obj().if_contains("items");
  if (!v || !v->is_array())
    throw std::runtime_error("no items in " + body);
  return v->as_array();
}

api_result crm_app::call(const std::string& method, const std::string& target,
                         const std::string& token, const std::string& body) {
  header_list h;
  if (!token.empty())
    h.emplace_back("Authorization", "Bearer " + token);
  if (!body.empty())
    h.emplace_back("Content-Type", "application/json");
  auto r = http_call(app_.port(), method, target, body, h);
  api_result out;
  out.status = r.status;
  out.body = r.body;
  out.content_type = r.header("content-type");
  if (out.content_type.find("json") != std::string::npos) {
    json::error_code ec;
    out.json = json::parse(r.body, ec);
    if (ec)
      throw std::runtime_error("invalid JSON from " + target + ": " + r.body);
  }
  return out;
}

std::int64_t crm_app::new_business(const std::string& name) {
  auto r = call("POST", "/api/admin/businesses", admin_token,
                js(json::object{{"name", name}}));
  if (r.status != 201)
    throw std::runtime_error("business create failed: " + r.body);
  return r.int_at("id");
}

issued_token crm_app::new_token(std::int64_t business,
                                const std::string& role) {
  auto r = call("POST", "/api/admin/tokens", admin_token,
                js(json::object{{"business_id", business},
                                {"role", role},
                                {"name", role + " token"}}));
  if (r.status != 201)
    throw std::runtime_error("token create failed: " + r.body);
  return {r.int_at("id"), r.str_at("token")};
}

std::int64_t crm_app::new_lead(const std::string& token,
                               const std::string& body) {
  auto r = call("POST", "/api/crm/leads", token, body);
  if (r.status != 201)
    throw std::runtime_error("lead create failed: " + std::to_string(r.status)
                             + " " + r.body);
  return r.int_at("id");
}

std::string js(const json::value& v) {
  return json::serialize(v);
}

std::string replace_all(std::string s, const std::string& from,
                        const std::string& to) {
  for (auto at = s.find(from); at != std::string::npos;
       at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

} // namespace al::test
