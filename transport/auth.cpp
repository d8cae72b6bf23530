#include "transport/auth.hpp"

#include "actors/businesses.hpp"
#include "core/crypto.hpp"
#include "core/form.hpp"
#include "transport/services.hpp"

namespace al {

std::string principal::actor() const {
  return is_admin() ? std::string{"admin"}
                    : "token:" + std::to_string(token_id);
}

std::string_view to_string(role r) noexcept {
  switch (r) {
    case role::admin:
      return "admin";
    case role::owner:
      return "owner";
    case role::agent:
      return "agent";
    case role::read_only:
      return "read_only";
  }
  return "read_only";
}

std::optional<role> parse_role(std::string_view s) noexcept {
  if (s == "owner")
    return role::owner;
  if (s == "agent")
    return role::agent;
  if (s == "read_only")
    return role::read_only;
  return std::nullopt;
}

bool allowed(role r, access a) noexcept {
  switch (a) {
    case access::read:
      return true;
    case access::write:
      return r != role::read_only;
    case access::manage:
      return r == role::owner || r == role::admin;
    case access::admin:
      return r == role::admin;
  }
  return false;
}

std::optional<std::string> bearer_token(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size())
    return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i])
      return std::nullopt;
  auto token = authorization.substr(scheme.size());
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ')
    token.remove_suffix(1);
  if (token.empty() || token.size() > 512)
    return std::nullopt;
  for (unsigned char c : token)
    if (c <= 0x20 || c >= 0x7f)
      return std::nullopt;
  return std::string{token};
}

std::string hash_token(std::string_view token) {
  return crypto::to_hex(crypto::sha256(token));
}

std::int64_t effective_business(const principal& p,
                                std::optional<std::int64_t> from_body) {
  if (p.is_admin() && from_body && *from_body > 0)
    return *from_body;
  return p.business_id;
}

namespace {

std::optional<std::int64_t> query_business(const request& req) {
  auto q = parse_form(req.query);
  if (!q)
    return std::nullopt;
  auto v = q->get("business_id");
  if (!v || v->empty() || v->size() > 18)
    return std::nullopt;
  std::int64_t n = 0;
  for (char c : *v) {
    if (c < '0' || c > '9')
      return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n > 0 ? std::optional<std::int64_t>{n} : std::nullopt;
}

} // namespace

handler require(services& svc, access needed, authed_handler fn) {
  return [&svc, needed, fn = std::move(fn)](request_ptr req, responder res) {
    auto token = bearer_token(req->header(http::field::authorization));
    if (!token)
      return res(error_response(http::status::unauthorized,
                                "Missing or malformed bearer token"));
    if (!svc.cfg.admin_token.empty()
        && crypto::constant_time_equal(*token, svc.cfg.admin_token)) {
      principal p;
      p.who = role::admin;
      p.business_id = query_business(*req).value_or(1);
      return fn(std::move(req), std::move(res), p);
    }
    // An API token on an admin route is a valid principal whose role may
    // not: looked up like any other, then 403 from allowed() below.
    auto hash = hash_token(*token);
    auto found = std::make_shared<std::optional<principal>>();
    svc.db.run(
      [hash, found](db_tx& tx) {
        auto row = find_api_token(tx, hash);
        if (!row)
          return;
        principal p;
        p.token_id = row->id;
        p.business_id = row->business_id;
        p.who = parse_role(row->role).value_or(role::read_only);
        *found = p;
      },
      [req, res, found, needed, fn](const db_error& err) mutable {
        if (!err.empty())
          return res(error_response(http::status::service_unavailable,
                                    "Database unavailable"));
        if (!*found)
          return res(
            error_response(http::status::unauthorized, "Invalid token"));
        if (!allowed((*found)->who, needed))
          return res(error_response(http::status::forbidden,
                                    "This role may not do that"));
        fn(std::move(req), std::move(res), **found);
      });
  };
}

} // namespace al
