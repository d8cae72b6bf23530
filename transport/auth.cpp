#include "transport/auth.hpp"

#include "core/auth_throttle.hpp"
#include "core/crypto.hpp"
#include "core/form.hpp"
#include "domain/auth.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/services.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>

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

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// `s` as a canonical IP address, or "" when it is not one.
std::string ip_or_empty(std::string_view s) {
  if (s.empty() || s.size() > 64)
    return {};
  boost::system::error_code ec;
  auto a = net::ip::make_address(std::string{s}, ec);
  return ec ? std::string{} : a.to_string();
}

http_response too_many(services& svc, const auth_throttle::verdict& v) {
  svc.m.auth_throttled.Increment();
  auto r = error_response(http::status::too_many_requests,
                          "Too many failed sign-in attempts; retry later");
  r.set(http::field::retry_after,
        std::to_string(std::max<long long>(1, v.retry_after.count())));
  return r;
}

} // namespace

void refuse_credentials(services& svc, const std::string& client,
                        const std::string& presented, const responder& res,
                        std::string_view message) {
  svc.m.auth_failures.Increment();
  auto deny = error_response(http::status::unauthorized, message);
  if (!svc.throttle)
    return res(std::move(deny));
  auto v = svc.throttle->failure(client, presented,
                                 auth_throttle::clock::now());
  if (v.blocked)
    return res(too_many(svc, v));
  if (v.delay.count() > 0 && svc.defer)
    return svc.defer(v.delay, [res, deny = std::move(deny)]() mutable {
      res(std::move(deny));
    });
  res(std::move(deny));
}

std::optional<http_response> throttled(services& svc,
                                       const std::string& client) {
  if (!svc.throttle)
    return std::nullopt;
  auto v = svc.throttle->check(client, {}, auth_throttle::clock::now());
  if (!v.blocked)
    return std::nullopt;
  return too_many(svc, v);
}

void credentials_ok(services& svc, const std::string& client) {
  if (svc.throttle)
    svc.throttle->success(client, auth_throttle::clock::now());
}

std::string client_address(const request& req,
                           const std::vector<std::string>& trusted) {
  auto is_trusted = [&trusted](std::string_view a) {
    return std::find(trusted.begin(), trusted.end(), a) != trusted.end();
  };
  if (!is_trusted(req.remote))
    return req.remote;
  // Each proxy appends the address it received from: the rightmost entry
  // that is not a trusted proxy is the client (entries left of it are
  // whatever the client claimed).
  std::string_view rest = req.header("X-Forwarded-For");
  while (!rest.empty()) {
    auto comma = rest.rfind(',');
    auto item = trim(comma == std::string_view::npos ? rest
                                                     : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view{}
                                           : rest.substr(0, comma);
    auto ip = ip_or_empty(item);
    if (ip.empty())
      return req.remote; // garbage from a trusted proxy: do not guess
    if (!is_trusted(ip))
      return ip;
  }
  if (auto ip = ip_or_empty(trim(req.header("X-Real-IP"))); !ip.empty())
    return ip;
  return req.remote;
}

audit_who audit_actor(const principal& p, const request& req) {
  audit_who w;
  w.actor = p.actor();
  if (!p.is_admin())
    w.token_id = p.token_id;
  w.role = std::string{to_string(p.who)};
  w.address = req.client.empty() ? req.remote : req.client;
  w.request_id = req.id;
  return w;
}

handler require(services& svc, access needed, authed_handler fn) {
  return [&svc, needed, fn = std::move(fn)](request_ptr req, responder res) {
    req->client = client_address(*req, svc.cfg.trusted_proxies);
    auto token = bearer_token(req->header(http::field::authorization));
    if (!token)
      return res(error_response(http::status::unauthorized,
                                "Missing or malformed bearer token"));
    // The address only: a token prefix that is being guessed blocks the
    // guesses (refuse_credentials), never the valid token that has it.
    if (auto blocked = throttled(svc, req->client))
      return res(std::move(*blocked));
    if (!svc.cfg.admin_token.empty()
        && crypto::constant_time_equal(*token, svc.cfg.admin_token)) {
      credentials_ok(svc, req->client);
      principal p;
      p.who = role::admin;
      p.business_id = query_business(*req).value_or(default_business_id);
      return fn(std::move(req), std::move(res), p);
    }
    // An API token on an admin route is a valid principal whose role may
    // not: looked up like any other, then 403 from allowed() below. The
    // rest, and the handler, run on the session's I/O thread, not the
    // store's.
    auto presented = *token;
    domain::auth::find_token(
      svc.db, std::move(*token),
      on_session(req,
                 [&svc, req, res, needed, fn, presented = std::move(presented)](
                   domain::auth::token_lookup r) {
                   if (!r.status.ok())
                     return res(error_response(r.status));
                   if (!r.token)
                     return refuse_credentials(svc, req->client, presented, res,
                                               "Invalid token");
                   credentials_ok(svc, req->client);
                   principal p;
                   p.token_id = r.token->id;
                   p.business_id = r.token->business_id;
                   p.who = parse_role(r.token->role).value_or(role::read_only);
                   if (!allowed(p.who, needed))
                     return res(error_response(http::status::forbidden,
                                               "This role may not do that"));
                   fn(req, res, p);
                 }));
  };
}

} // namespace al
