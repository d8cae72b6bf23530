// /api/crm/webhooks/*: the business's outgoing webhooks (SPEC §7 "After
// every call"): what was delivered or failed, a test event, and a retry of
// a failed delivery. Owner or admin (agents 403). Also starts the
// deliverer (actors/webhook_delivery.hpp) for app/.
#include "transport/handlers/handlers.hpp"

#include "actors/businesses.hpp"
#include "actors/supervisor.hpp"
#include "actors/webhook_delivery.hpp"
#include "actors/webhook_outbox.hpp"
#include "core/crm_input.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/https_client.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <boost/json/serialize.hpp>

#include <memory>

namespace al {

namespace {

namespace json = boost::json;

/// What a test event carries.
constexpr const char* test_message
  = "AgentLocator test event: your webhook is reachable.";

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
std::optional<std::int64_t> post_business(const request& req,
                                          const responder& res,
                                          const principal& p) {
  if (req.body().empty())
    return p.business_id;
  auto b = body_of(req, res, p);
  if (!b)
    return std::nullopt;
  return b->business;
}

} // namespace

void start_webhook_delivery(services& svc) {
  webhook_delivery_options o;
  o.db = svc.jobs_db;
  o.m = &svc.m;
  if (auto* client = svc.http)
    o.http = [client](outbound_request r,
                      std::function<void(outbound_response)> done) {
      client->send(std::move(r), std::move(done));
    };
  o.poll = svc.cfg.webhook_poll;
  o.lease = svc.cfg.webhook_lease;
  o.retry_base = svc.cfg.webhook_retry_base;
  o.give_up = svc.cfg.webhook_give_up;
  child_spec spec;
  spec.key = "webhook_delivery";
  spec.spawn = [o](caf::actor_system& sys) {
    return spawn_webhook_delivery(sys, o);
  };
  supervise_blocking(svc.sys, svc.job_manager, std::move(spec));
}

void add_webhook_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/webhooks/deliveries",
        require(svc, access::manage,
                [&svc](request_ptr req, responder res, principal p) {
                  auto q = query_of(*req, res);
                  if (!q)
                    return;
                  page_params paging;
                  if (auto err = parse_paging(*q, paging); !err.empty())
                    return bad_request(res, err);
                  std::optional<std::string> status;
                  if (auto v = q->get("status"); v && !v->empty()) {
                    if (*v != "pending" && *v != "delivered" && *v != "failed")
                      return bad_request(
                        res, "status must be pending, delivered or failed");
                    status = std::string{*v};
                  }
                  run_crm(svc, res, p, p.business_id,
                          [b = p.business_id, status, paging](db_tx& tx) {
                            return crm_reply{
                              crm_code::ok,
                              list_webhook_deliveries(tx, b, status,
                                                      paging.page,
                                                      paging.per_page)};
                          });
                }));

  r.add(http::verb::post, "/api/crm/webhooks/test",
        require(svc, access::manage,
                [&svc](request_ptr req, responder res, principal p) {
                  auto business = post_business(*req, res, p);
                  if (!business)
                    return;
                  run_and_answer(svc, res, [b = *business](db_tx& tx,
                                                           outcome& out) {
                    if (!business_exists(tx, b)) {
                      out.status = http::status::not_found;
                      out.body = json_error("No such business");
                      return;
                    }
                    auto id = enqueue_webhook(
                      tx, b, "test", json::object{{"message", test_message}});
                    if (id.empty()) {
                      out.status = http::status::unprocessable_entity;
                      out.body = json_error("No webhook_url set");
                      return;
                    }
                    out.status = http::status::accepted;
                    out.body = json::serialize(json::object{{"id", id}});
                  });
                }));

  r.add(
    http::verb::post, "/api/crm/webhooks/deliveries/{id}/retry",
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
              run_and_answer(svc, res, [b = *business, id](db_tx& tx,
                                                           outcome& out) {
                switch (retry_webhook(tx, b, id)) {
                case webhook_retry_result::missing:
                  out.status = http::status::not_found;
                  out.body = json_error("No such delivery");
                  return;
                case webhook_retry_result::not_failed:
                  out.status = http::status::conflict;
                  out.body = json_error("Only a failed delivery can be retried");
                  return;
                case webhook_retry_result::queued:
                  out.status = http::status::accepted;
                  out.body = json::serialize(
                    json::object{{"id", id}, {"status", "pending"}});
                  return;
                }
              });
            }));
}

} // namespace al
