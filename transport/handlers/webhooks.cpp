// /api/crm/webhooks/*: the business's outgoing webhooks (SPEC §7 "After
// every call"): what was delivered or failed, a test event, and a retry of
// a failed delivery. Owner or admin (agents 403). Handlers parse and
// authorise; the use cases are in domain/webhooks.hpp. Also starts the
// deliverer (actors/webhook_delivery.hpp) for app/.
#include "transport/handlers/handlers.hpp"

#include "actors/supervisor.hpp"
#include "actors/webhook_delivery.hpp"
#include "core/crm_input.hpp"
#include "domain/webhooks.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/https_client.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <optional>
#include <string>

namespace al {

namespace {

/// An outbox id as the API shows it: "evt_" + 24 lowercase hex.
bool valid_event_id(std::string_view s) {
  if (s.size() != 28 || s.substr(0, 4) != "evt_")
    return false;
  for (char c : s.substr(4))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

/// The business a POST acts for: the token's, or for the admin token the
/// body's business_id (an empty body is fine).
std::optional<std::int64_t>
post_business(const request& req, const responder& res, const principal& p) {
  if (req.body().empty())
    return p.business_id;
  auto b = body_of(req, res, p);
  if (!b)
    return std::nullopt;
  return b->business;
}

/// ?page&per_page&status of the deliveries list.
struct delivery_query {
  page_params paging;
  std::optional<std::string> status;
};

std::string parse_delivery_query(const form_params& q, delivery_query& out) {
  if (auto err = parse_paging(q, out.paging); !err.empty())
    return err;
  if (auto v = q.get("status"); v && !v->empty()) {
    if (*v != "pending" && *v != "delivered" && *v != "failed")
      return "status must be pending, delivered or failed";
    out.status = std::string{*v};
  }
  return {};
}

} // namespace

void add_webhook_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/webhooks/deliveries",
        require(svc, access::manage,
                [&svc](request_ptr req, responder res, principal p) {
                  auto q = query_parsed<delivery_query>(*req, res,
                                                        parse_delivery_query);
                  if (!q)
                    return;
                  domain::webhooks::deliveries(svc.db,
                                               scope_of(p, p.business_id),
                                               std::move(q->status), q->paging,
                                               render(req, res));
                }));

  r.add(http::verb::post, "/api/crm/webhooks/test",
        require(svc, access::manage,
                [&svc](request_ptr req, responder res, principal p) {
                  auto business = post_business(*req, res, p);
                  if (!business)
                    return;
                  domain::webhooks::send_test(svc.db, *business,
                                              render(req, res));
                }));

  r.add(http::verb::post, "/api/crm/webhooks/deliveries/{id}/retry",
        require(svc, access::manage,
                [&svc](request_ptr req, responder res, principal p) {
                  std::string id = req->path_params.empty()
                                     ? std::string{}
                                     : std::string{req->path_params[0]};
                  if (!valid_event_id(id))
                    return res(error_response(http::status::not_found,
                                              "No such delivery"));
                  auto business = post_business(*req, res, p);
                  if (!business)
                    return;
                  domain::webhooks::retry(svc.db, *business, std::move(id),
                                          render(req, res));
                }));
}

} // namespace al
