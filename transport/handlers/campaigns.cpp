// /api/crm/campaigns: follow-up call campaigns (SPEC §7 "Follow-up calls").
// Any role reads them; creating, starting and pausing are the owner's
// (access::manage), since a campaign places calls in the office's name.
// Handlers parse and authorise; the use cases are in domain/campaigns.hpp
// and actors/campaign.cpp does the dialing.
#include "transport/handlers/handlers.hpp"

#include "core/campaign_input.hpp"
#include "domain/campaigns.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <optional>

namespace al {

namespace {

using change_fn = void (*)(const store&, scope, audit_who, std::int64_t,
                           reply_fn);

/// POST /api/crm/campaigns/{id}/start|pause.
handler state_change(services& svc, change_fn change) {
  return require(svc, access::manage,
                 [&svc, change](request_ptr req, responder res, principal p) {
                   auto id = id_or_404(*req, res, "campaign");
                   if (!id)
                     return;
                   change(svc.db, scope_of(p, p.business_id),
                          audit_actor(p, *req), *id, render(req, res));
                 });
}

} // namespace

void add_campaign_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/campaigns",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto pg = query_parsed<page_params>(*req, res, parse_paging);
                  if (!pg)
                    return;
                  domain::campaigns::list(svc.db, scope_of(p, p.business_id),
                                          *pg, render(req, res));
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
                  domain::campaigns::create(svc.db, scope_of(p, b->business),
                                            audit_actor(p, *req), std::move(in),
                                            render(req, res));
                }));

  r.add(http::verb::get, "/api/crm/campaigns/{id}",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "campaign");
                  if (!id)
                    return;
                  auto pg = query_parsed<page_params>(*req, res, parse_paging);
                  if (!pg)
                    return;
                  domain::campaigns::get(svc.db, scope_of(p, p.business_id),
                                         *id, *pg, render(req, res));
                }));

  r.add(http::verb::post, "/api/crm/campaigns/{id}/start",
        state_change(svc, &domain::campaigns::start));
  r.add(http::verb::post, "/api/crm/campaigns/{id}/pause",
        state_change(svc, &domain::campaigns::pause));
}

} // namespace al
