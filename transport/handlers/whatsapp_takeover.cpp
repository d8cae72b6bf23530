// POST /api/crm/leads/{id}/takeover and /release (SPEC §7 "WhatsApp
// conversations"): an agent takes a lead's WhatsApp conversation over from
// the AI (12 h, or until released) and gives it back. Thin: authorise, call
// the use case (domain/whatsapp_inbox.hpp), render. Both are audited.
#include "transport/handlers/handlers.hpp"

#include "domain/whatsapp_inbox.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <cstdint>
#include <functional>

namespace al {

namespace {

/// A use case that switches lead `lead`'s conversation.
using ai_switch = std::function<void(scope s, audit_who who, std::int64_t lead,
                                     const principal& p, reply_fn done)>;

/// POST /api/crm/leads/{id}/<verb> (access::write).
void add_switch(router& r, services& svc, const char* path, ai_switch fn) {
  r.add(http::verb::post, path,
        require(svc, access::write,
                [&svc, fn](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "lead");
                  if (!id)
                    return;
                  fn(scope_of(p, p.business_id), audit_actor(p, *req), *id, p,
                     render(req, res));
                }));
}

} // namespace

void add_whatsapp_takeover_routes(router& r, services& svc) {
  // -> 200 {"success":true,"ai_paused_until":"<ISO-8601 UTC>"}
  add_switch(r, svc, "/api/crm/leads/{id}/takeover",
             [&svc](scope s, audit_who who, std::int64_t lead,
                    const principal& p, reply_fn done) {
               domain::whatsapp_inbox::takeover(svc.db, s, std::move(who), lead,
                                                p.actor(), std::move(done));
             });
  // -> 200 {"success":true}; needs_agent is cleared too.
  add_switch(r, svc, "/api/crm/leads/{id}/release",
             [&svc](scope s, audit_who who, std::int64_t lead, const principal&,
                    reply_fn done) {
               domain::whatsapp_inbox::release(svc.db, s, std::move(who), lead,
                                               std::move(done));
             });
}

} // namespace al
