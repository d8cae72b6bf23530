// POST /api/crm/leads/{id}/takeover and /release (SPEC §7 "WhatsApp
// conversations"): an agent takes a lead's WhatsApp conversation over from
// the AI (12 h, or until released) and gives it back. Thin: authorise, one
// store job (actors/whatsapp_ai.cpp owns the SQL), render. Both are audited.
#include "transport/handlers/handlers.hpp"

#include "actors/whatsapp_ai.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <optional>
#include <string>

namespace al {

namespace {

constexpr const char* no_conversation = "No such lead with a phone number";

/// What a route does to the lead's conversation; nullopt = 404.
using ai_switch = std::function<std::optional<boost::json::object>(
  db_tx&, std::int64_t business, std::int64_t lead, const principal&)>;

/// POST /api/crm/leads/{id}/<verb> (access::write, audited as `action`).
void add_switch(router& r, services& svc, const char* path, const char* action,
                ai_switch fn) {
  r.add(http::verb::post, path,
        require(
          svc, access::write,
          [&svc, action, fn](request_ptr req, responder res, principal p) {
            auto id = id_or_404(*req, res, "lead");
            if (!id)
              return;
            auto b = p.business_id;
            run_crm(
              svc, res, p, b,
              audited(audit_actor(p, *req),
                      audit_entry{b, action, "lead", std::to_string(*id), {}},
                      [b, lead = *id, p, fn](db_tx& tx) {
                        auto out = fn(tx, b, lead, p);
                        if (!out)
                          return crm_fail(crm_code::not_found, no_conversation);
                        return crm_reply{crm_code::ok, std::move(*out)};
                      }));
          }));
}

} // namespace

void add_whatsapp_takeover_routes(router& r, services& svc) {
  // -> 200 {"success":true,"ai_paused_until":"<ISO-8601 UTC>"}
  add_switch(r, svc, "/api/crm/leads/{id}/takeover", "whatsapp.takeover",
             [](db_tx& tx, std::int64_t b, std::int64_t lead,
                const principal& p) -> std::optional<boost::json::object> {
               auto until = takeover_wa_ai(tx, b, lead, p.actor());
               if (!until)
                 return std::nullopt;
               return boost::json::object{{"success", true},
                                          {"ai_paused_until", *until}};
             });
  // -> 200 {"success":true}; needs_agent is cleared too.
  add_switch(r, svc, "/api/crm/leads/{id}/release", "whatsapp.release",
             [](db_tx& tx, std::int64_t b, std::int64_t lead,
                const principal&) -> std::optional<boost::json::object> {
               if (!release_wa_ai(tx, b, lead))
                 return std::nullopt;
               return boost::json::object{{"success", true}};
             });
}

} // namespace al
