// /api/admin/*: businesses, API tokens, supervisors (ADMIN_TOKEN only).
// Handlers parse; the use cases are in domain/admin.hpp.
#include "transport/handlers/handlers.hpp"

#include "core/business_input.hpp"
#include "core/json.hpp"
#include "domain/admin.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <boost/json.hpp>

#include <string>

namespace al {

namespace {

namespace json = boost::json;

} // namespace

void add_admin_routes(router& r, services& svc) {
  r.add(http::verb::post, "/api/admin/businesses",
        require(svc, access::admin,
                [&svc](request_ptr req, responder res, principal p) {
                  json_doc doc;
                  simdjson::dom::object obj;
                  if (!parse_body(*req, doc, obj, res))
                    return;
                  business_input in;
                  if (auto err = parse_business(obj, in, true); !err.empty())
                    return res(error_response(http::status::bad_request, err));
                  domain::admin::create_business(svc.db, audit_actor(p, *req),
                                                 std::move(in),
                                                 render(req, res));
                }));

  r.add(http::verb::get, "/api/admin/businesses",
        require(svc, access::admin,
                [&svc](request_ptr req, responder res, principal) {
                  domain::admin::list_businesses(svc.db, render(req, res));
                }));

  auto get_or_patch = [&svc](bool patch) {
    return require(
      svc, access::admin,
      [&svc, patch](request_ptr req, responder res, principal p) {
        auto id = path_id(*req);
        if (!id)
          return res(
            error_response(http::status::not_found, "No such business"));
        if (!patch)
          return domain::admin::get_business(svc.db, *id, render(req, res));
        json_doc doc;
        simdjson::dom::object obj;
        if (!parse_body(*req, doc, obj, res))
          return;
        business_input in;
        if (auto err = parse_business(obj, in, false); !err.empty())
          return res(error_response(http::status::bad_request, err));
        auto done = render(req, res);
        if (in.greeting || in.voice || in.voice_engine)
          done = [done, &svc, bid = *id](domain_reply r) {
            if (r.code == domain_code::ok)
              warm_greeting(svc, bid);
            done(std::move(r));
          };
        domain::admin::update_business(svc.db, audit_actor(p, *req), *id,
                                       std::move(in), std::move(done));
      });
  };
  r.add(http::verb::get, "/api/admin/businesses/{id}", get_or_patch(false));
  r.add(http::verb::patch, "/api/admin/businesses/{id}", get_or_patch(true));

  r.add(
    http::verb::post, "/api/admin/tokens",
    require(
      svc, access::admin, [&svc](request_ptr req, responder res, principal p) {
        json_doc doc;
        simdjson::dom::object obj;
        if (!parse_body(*req, doc, obj, res))
          return;
        auto business = get_int(obj, "business_id");
        auto role_f = get_string(obj, "role");
        auto name = get_string(obj, "name");
        if (!business.ok() || business.value <= 0)
          return res(error_response(http::status::bad_request,
                                    "business_id must be a positive integer"));
        if (!role_f.ok() || !parse_role(role_f.value))
          return res(error_response(http::status::bad_request,
                                    "role must be owner, agent or read_only"));
        if (name.state == field_state::wrong_type
            || (name.ok() && name.value.size() > 200))
          return res(error_response(http::status::bad_request,
                                    "name must be a short string"));
        domain::admin::create_token(svc.db, audit_actor(p, *req),
                                    business.value, std::string{role_f.value},
                                    std::string{name.ok() ? name.value : ""},
                                    render(req, res));
      }));

  r.add(http::verb::delete_, "/api/admin/tokens/{id}",
        require(svc, access::admin,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = path_id(*req);
                  if (!id)
                    return res(
                      error_response(http::status::not_found, "No such token"));
                  domain::admin::revoke_token(svc.db, audit_actor(p, *req), *id,
                                              render(req, res));
                }));

  r.add(
    http::verb::get, "/api/admin/supervisors",
    require(svc, access::admin, [&svc](request_ptr, responder res, principal) {
      json::array domains;
      for (auto* st : {&svc.call_stats, &svc.whatsapp_stats, &svc.payment_stats,
                       &svc.job_stats}) {
        domains.push_back(
          json::object{{"domain", st->domain},
                       {"manager", st->domain + "_manager"},
                       {"live", st->live.load()},
                       {"spawned", st->spawned.load()},
                       {"restarts", st->restarts.load()},
                       {"given_up", st->given_up.load()},
                       {"last_failure", st->last_failure()},
                       {"last_failure_at", st->last_failure_at()}});
      }
      res(json_response(http::status::ok, json::serialize(json::object{
                                            {"items", std::move(domains)}})));
    }));
}

} // namespace al
