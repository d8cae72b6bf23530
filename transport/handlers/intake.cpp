// Lead intake (SPEC §7 "Follow-up calls"): POST /api/leads/intake from an
// office's web form (?key=<the business's intake key>, cross-origin, rate
// limited per client address) or from a system with an API token; and the
// owner's key management at /api/crm/settings/intake-key. Handlers parse
// and authorise (the rate limit included); the use cases are in
// domain/intake.hpp.
#include "transport/handlers/handlers.hpp"

#include "core/form.hpp"
#include "core/intake_input.hpp"
#include "core/rate_limit.hpp"
#include "domain/intake.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <mutex>
#include <string>
#include <unordered_map>

namespace al {

namespace {

/// Key-authenticated intakes per client address and minute. The key sits
/// in a public page, so this is what keeps a script from filling the CRM.
constexpr double intake_per_minute = 30;
constexpr std::size_t intake_clients_max = 10000;

class intake_limiter {
public:
  bool allow(const std::string& client) {
    auto now = token_bucket::clock::now();
    std::lock_guard<std::mutex> g{mtx_};
    if (buckets_.size() >= intake_clients_max
        && buckets_.find(client) == buckets_.end())
      buckets_.clear(); // bounded memory; a flood starts everyone over
    auto i = buckets_
               .try_emplace(client, intake_per_minute,
                            std::chrono::milliseconds{60000})
               .first;
    return i->second.try_take(now);
  }

private:
  std::mutex mtx_;
  std::unordered_map<std::string, token_bucket> buckets_;
};

intake_limiter& limiter() {
  static intake_limiter l;
  return l;
}

/// A web form on another origin may read the answer; no credentials are
/// involved (the key is in the URL), so "*" is enough.
responder with_cors(responder res) {
  return responder{[res](http_response r) {
    r.set("Access-Control-Allow-Origin", "*");
    res(std::move(r));
  }};
}

/// The body as an intake, or nullopt after answering 400.
std::optional<intake_input> intake_of(const request& req,
                                      const responder& res) {
  json_doc doc;
  simdjson::dom::object obj;
  if (!parse_body(req, doc, obj, res))
    return std::nullopt;
  auto in = parse_intake(obj);
  if (auto* e = std::get_if<std::string>(&in)) {
    res(error_response(http::status::bad_request, *e));
    return std::nullopt;
  }
  return std::get<intake_input>(std::move(in));
}

void intake_by_key(services& svc, request_ptr req, responder res,
                   std::string key) {
  auto client = client_address(*req, svc.cfg.trusted_proxies);
  if (!limiter().allow(client))
    return res(error_response(http::status::too_many_requests,
                              "Too many requests: try again in a minute"));
  auto in = intake_of(*req, res);
  if (!in)
    return;
  domain::intake::submit_by_key(svc.db, std::move(key), std::move(*in),
                                render(req, res));
}

} // namespace

void add_intake_routes(router& r, services& svc) {
  auto by_token = require(
    svc, access::write, [&svc](request_ptr req, responder res, principal p) {
      auto in = intake_of(*req, res);
      if (!in)
        return;
      domain::intake::submit(svc.db, scope_of(p, p.business_id), std::move(*in),
                             render(req, res));
    });
  r.add(http::verb::post, "/api/leads/intake",
        [&svc, by_token](request_ptr req, responder res) {
          auto q = parse_form(req->query);
          if (q && q->contains("key")) {
            auto key = q->value_or("key");
            auto cors = with_cors(std::move(res));
            // A key is 32 URL-safe characters; anything else cannot match.
            if (key.empty() || key.size() > 128)
              return cors(error_response(http::status::unauthorized,
                                         "Invalid intake key"));
            return intake_by_key(svc, std::move(req), cors, std::move(key));
          }
          by_token(std::move(req), std::move(res));
        });
  // The browser's preflight of a cross-origin JSON POST.
  r.add(http::verb::options, "/api/leads/intake",
        [](request_ptr, responder res) {
          auto r = empty_response(http::status::no_content);
          r.set("Access-Control-Allow-Origin", "*");
          r.set("Access-Control-Allow-Methods", "POST, OPTIONS");
          r.set("Access-Control-Allow-Headers", "Content-Type");
          r.set("Access-Control-Max-Age", "86400");
          res(std::move(r));
        });

  r.add(http::verb::get, "/api/crm/settings/intake-key",
        require(svc, access::manage,
                [&svc](request_ptr req, responder res, principal p) {
                  domain::intake::show_key(svc.db, scope_of(p, p.business_id),
                                           render(req, res));
                }));
  // Creates or rotates the key: a page with the old one stops working.
  r.add(http::verb::post, "/api/crm/settings/intake-key",
        require(svc, access::manage,
                [&svc](request_ptr req, responder res, principal p) {
                  domain::intake::rotate_key(svc.db, scope_of(p, p.business_id),
                                             audit_actor(p, *req),
                                             render(req, res));
                }));
}

} // namespace al
