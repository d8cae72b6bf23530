// Sign-in links and dashboard sessions (use cases in domain/sign_in.hpp):
//   POST /api/crm/sign-in-links  an owner (or the administrator, for any
//                                business) makes a one-time link for a role
//   POST /api/auth/sign-in       the dashboard exchanges the link's code for
//                                a session (no bearer; failures count
//                                against the sign-in throttle like tokens)
//   POST /api/auth/sign-out      ends the bearer's session
#include "transport/handlers/handlers.hpp"

#include "core/json.hpp"
#include "domain/sign_in.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <boost/json.hpp>

namespace al {

namespace {

namespace json = boost::json;

/// Links live an hour by default, a week at most.
constexpr std::int64_t default_link_minutes = 60;
constexpr std::int64_t max_link_minutes = 7 * 24 * 60;

bool code_shaped(std::string_view code) {
  if (code.empty() || code.size() > 128)
    return false;
  for (char c : code)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      return false;
  return true;
}

} // namespace

void add_sign_in_routes(router& r, services& svc) {
  r.add(
    http::verb::post, "/api/crm/sign-in-links",
    require(
      svc, access::manage, [&svc](request_ptr req, responder res, principal p) {
        auto b = body_of(*req, res, p);
        if (!b)
          return;
        auto role_f = get_string(b->obj, "role");
        auto role = role_f.ok() ? std::string{role_f.value}
                                : std::string{"owner"};
        if (role_f.state == field_state::wrong_type || !parse_role(role))
          return bad_request(res, "role must be owner, agent or read_only");
        auto ttl = get_int(b->obj, "ttl_minutes");
        if (ttl.state == field_state::wrong_type
            || (ttl.ok() && (ttl.value < 1 || ttl.value > max_link_minutes)))
          return bad_request(res, "ttl_minutes must be 1..10080");
        auto minutes = std::chrono::minutes{ttl.ok() ? ttl.value
                                                     : default_link_minutes};
        domain::sign_in::create_link(svc.db, scope_of(p, b->business),
                                     audit_actor(p, *req), role, minutes,
                                     svc.cfg.public_base_url, render(req, res));
      }));

  r.add(http::verb::post, "/api/auth/sign-in",
        [&svc](request_ptr req, responder res) {
          req->client = client_address(*req, svc.cfg.trusted_proxies);
          if (auto blocked = throttled(svc, req->client))
            return res(std::move(*blocked));
          json_doc doc;
          simdjson::dom::object obj;
          if (!parse_body(*req, doc, obj, res))
            return;
          auto code = get_string(obj, "code");
          if (!code.ok() || !code_shaped(code.value))
            return bad_request(res, "code must be the code of a sign-in link");
          std::string presented{code.value};
          domain::sign_in::redeem(
            svc.db, presented, req->client, req->id,
            on_session(req, [&svc, req, res,
                             presented](domain::sign_in::redeem_result r) {
              if (!r.status.ok())
                return res(error_response(r.status));
              if (!r.grant)
                return refuse_credentials(
                  svc, req->client, presented, res,
                  "This sign-in link is unknown, used or expired");
              credentials_ok(svc, req->client);
              auto& g = *r.grant;
              json::object o{{"token", g.token},
                             {"expires_at", g.expires_at},
                             {"business_id", g.business_id},
                             {"role", g.role}};
              auto ok = json_response(http::status::ok, json::serialize(o));
              ok.set(http::field::cache_control, "no-store");
              res(std::move(ok));
            }));
        });

  r.add(http::verb::post, "/api/auth/sign-out",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  if (p.is_admin())
                    return res(json_response(
                      http::status::ok, R"({"success":true,"ended":false})"));
                  domain::sign_in::sign_out(svc.db, p.token_id,
                                            render(req, res));
                }));
}

} // namespace al
