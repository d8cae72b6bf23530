// /api/crm/campaigns: follow-up call campaigns (SPEC §7 "Follow-up calls").
// Any role reads them; creating, starting and pausing are the owner's
// (access::manage), since a campaign places calls in the office's name.
// Handlers parse and authorise; actors/campaign_store.cpp owns the SQL and
// actors/campaign.cpp the dialing.
#include "transport/handlers/handlers.hpp"

#include "actors/campaign_store.hpp"
#include "core/campaign_input.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <string>

namespace al {

namespace {

/// POST /api/crm/campaigns/{id}/start|pause.
handler state_change(services& svc, const char* action,
                     crm_reply (*change)(db_tx&, std::int64_t, std::int64_t)) {
  return require(
    svc, access::manage,
    [&svc, action, change](request_ptr req, responder res, principal p) {
      auto id = id_or_404(*req, res, "campaign");
      if (!id)
        return;
      run_crm(svc, res, p, p.business_id,
              audited(audit_actor(p, *req),
                      audit_entry{p.business_id,
                                  std::string{"campaign."} + action, "campaign",
                                  std::to_string(*id), {}},
                      [b = p.business_id, id = *id, change](db_tx& tx) {
                        return change(tx, b, id);
                      }));
    });
}

} // namespace

void add_campaign_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/campaigns",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto q = query_of(*req, res);
                  if (!q)
                    return;
                  page_params pg;
                  if (auto e = parse_paging(*q, pg); !e.empty())
                    return bad_request(res, e);
                  run_crm(svc, res, p, p.business_id,
                          [b = p.business_id, pg](db_tx& tx) {
                            return list_campaigns(tx, b, pg);
                          });
                }));

  r.add(http::verb::post, "/api/crm/campaigns",
        require(svc, access::manage,
                [&svc](request_ptr req, responder res, principal p) {
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  campaign_input in;
                  if (auto e = parse_campaign(b->obj, in,
                                              svc.cfg.outbound_max_calls);
                      !e.empty())
                    return bad_request(res, e);
                  run_crm(svc, res, p, b->business,
                          audited(audit_actor(p, *req),
                                  audit_entry{b->business, "campaign.create",
                                              "campaign", in.name, {}},
                                  [bid = b->business, in](db_tx& tx) {
                                    return create_campaign(tx, bid, in);
                                  }));
                }));

  r.add(http::verb::get, "/api/crm/campaigns/{id}",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "campaign");
                  if (!id)
                    return;
                  auto q = query_of(*req, res);
                  if (!q)
                    return;
                  page_params pg;
                  if (auto e = parse_paging(*q, pg); !e.empty())
                    return bad_request(res, e);
                  run_crm(svc, res, p, p.business_id,
                          [b = p.business_id, id = *id, pg](db_tx& tx) {
                            return get_campaign(tx, b, id, pg);
                          });
                }));

  r.add(http::verb::post, "/api/crm/campaigns/{id}/start",
        state_change(svc, "start", &start_campaign));
  r.add(http::verb::post, "/api/crm/campaigns/{id}/pause",
        state_change(svc, "pause", &pause_campaign));
}

} // namespace al
