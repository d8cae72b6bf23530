// GET /api/crm/stats: the owner's overview (calls per day by outcome,
// busiest hours, leads by source and stage, appointments this week,
// payments this month). The handler parses the range (core/stats_input)
// and calls the use case (domain/stats.hpp; actors/stats.cpp owns the SQL).
#include "transport/handlers/handlers.hpp"

#include "core/stats_input.hpp"
#include "domain/stats.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <ctime>

namespace al {

void add_stats_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/stats",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto q = query_of(*req, res);
                  if (!q)
                    return;
                  stats_range range;
                  if (auto err = parse_stats_range(*q, std::time(nullptr),
                                                   range);
                      !err.empty())
                    return bad_request(res, err);
                  domain::stats::overview(svc.db, scope_of(p, p.business_id),
                                          range, render(req, res));
                }));
}

} // namespace al
