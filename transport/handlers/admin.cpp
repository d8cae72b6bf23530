// /api/admin/*: businesses, API tokens, supervisors (ADMIN_TOKEN only).
#include "transport/handlers/handlers.hpp"

#include "actors/businesses.hpp"
#include "core/business_input.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <boost/json.hpp>

#include <optional>

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
                  auto in = std::make_shared<business_input>();
                  if (auto err = parse_business(obj, *in, true); !err.empty())
                    return res(error_response(http::status::bad_request, err));
                  run_and_answer(svc, res, [in, who = audit_actor(p, *req)](
                                             db_tx& tx, outcome& out) {
                    auto clash = claimed_elsewhere(tx, -1, *in);
                    if (!clash.empty()) {
                      out.status = http::status::conflict;
                      out.body = json_error("Phone number already claimed: "
                                            + clash[0]);
                      return;
                    }
                    auto id = create_business(tx);
                    save_business_audited(tx, id, *in, who, "business.create");
                    out.status = http::status::created;
                    out.body = json::serialize(business_view(tx, id));
                  });
                }));

  r.add(http::verb::get, "/api/admin/businesses",
        require(svc, access::admin,
                [&svc](request_ptr, responder res, principal) {
                  run_and_answer(svc, res, [](db_tx& tx, outcome& out) {
                    json::array items;
                    for (auto id : business_ids(tx))
                      items.push_back(business_view(tx, id));
                    auto total = items.size();
                    json::object o{{"items", std::move(items)},
                                   {"page", 1},
                                   {"per_page", total},
                                   {"total", total}};
                    out.body = json::serialize(o);
                  });
                }));

  auto get_or_patch = [&svc](bool patch) {
    return require(
      svc, access::admin,
      [&svc, patch](request_ptr req, responder res, principal p) {
        auto id = path_id(*req);
        if (!id)
          return res(
            error_response(http::status::not_found, "No such business"));
        auto in = std::make_shared<business_input>();
        if (patch) {
          json_doc doc;
          simdjson::dom::object obj;
          if (!parse_body(*req, doc, obj, res))
            return;
          if (auto err = parse_business(obj, *in, false); !err.empty())
            return res(error_response(http::status::bad_request, err));
          if (in->greeting || in->voice || in->voice_engine)
            res = responder{[res, &svc, bid = *id](http_response r) {
              if (r.result() == http::status::ok)
                warm_greeting(svc, bid);
              res(std::move(r));
            }};
        }
        run_and_answer(svc, res,
                       [in, id = *id, patch, who = audit_actor(p, *req)](
                         db_tx& tx, outcome& out) {
                         if (!lock_business(tx, id)) {
                           out.status = http::status::not_found;
                           out.body = json_error("No such business");
                           return;
                         }
                         if (patch) {
                           auto clash = claimed_elsewhere(tx, id, *in);
                           if (!clash.empty()) {
                             out.status = http::status::conflict;
                             out.body = json_error(
                               "Phone number already claimed: " + clash[0]);
                             return;
                           }
                           save_business_audited(tx, id, *in, who,
                                                 "business.update");
                         }
                         out.body = json::serialize(business_view(tx, id));
                       });
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
        auto token = "al_" + crypto::random_token(24);
        auto hash = hash_token(token);
        run_and_answer(
          svc, res,
          [token, hash, bid = business.value, role = std::string{role_f.value},
           nm = std::string{name.ok() ? name.value : ""},
           who = audit_actor(p, *req)](db_tx& tx, outcome& out) {
            if (!business_exists(tx, bid)) {
              out.status = http::status::not_found;
              out.body = json_error("No such business");
              return;
            }
            auto id = insert_api_token(tx, bid, role, nm, hash);
            record_audit(tx, who,
                         audit_entry{bid, "token.create", "token",
                                     std::to_string(id),
                                     json::object{{"role", role},
                                                  {"name", nm}}});
            out.status = http::status::created;
            out.body = json::serialize(json::object{{"id", id},
                                                    {"token", token},
                                                    {"business_id", bid},
                                                    {"role", role}});
          });
      }));

  r.add(http::verb::delete_, "/api/admin/tokens/{id}",
        require(svc, access::admin,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = path_id(*req);
                  if (!id)
                    return res(
                      error_response(http::status::not_found, "No such token"));
                  run_and_answer(svc, res, [id = *id, who = audit_actor(p, *req)](
                                             db_tx& tx, outcome& out) {
                    auto business = revoke_api_token(tx, id);
                    if (!business) {
                      out.status = http::status::not_found;
                      out.body = json_error("No such token");
                      return;
                    }
                    record_audit(tx, who,
                                 audit_entry{business, "token.revoke", "token",
                                             std::to_string(id), {}});
                    out.body = R"({"success":true})";
                  });
                }));

  r.add(
    http::verb::get, "/api/admin/supervisors",
    require(svc, access::admin, [&svc](request_ptr, responder res, principal) {
      json::array domains;
      for (auto* st :
           {&svc.call_stats, &svc.whatsapp_stats, &svc.payment_stats,
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
