// /api/crm/whatsapp/templates: the WhatsApp templates a business registered
// with its provider, for sends outside the 24-hour window (SPEC §7). Any
// role reads; owners and the admin write. Handlers parse and authorise;
// the use cases are in domain/whatsapp_templates.hpp, the validation in
// core/whatsapp_wire.cpp.
#include "transport/handlers/handlers.hpp"

#include "core/whatsapp_wire.hpp"
#include "domain/whatsapp_templates.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <boost/json/serialize.hpp>

namespace al {

void add_whatsapp_template_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/whatsapp/templates",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  domain::whatsapp_templates::list(
                    svc.db, scope_of(p, p.business_id), render(req, res));
                }));

  r.add(
    http::verb::post, "/api/crm/whatsapp/templates",
    require(
      svc, access::manage, [&svc](request_ptr req, responder res, principal p) {
        auto b = body_of(*req, res, p);
        if (!b)
          return;
        wa_template t;
        auto problem = parse_wa_template(req->body(), t);
        if (problem.status)
          return res(error_response(static_cast<http::status>(problem.status),
                                    problem.error));
        domain::whatsapp_templates::create(svc.db, scope_of(p, b->business),
                                           audit_actor(p, *req), std::move(t),
                                           render(req, res));
      }));

  r.add(http::verb::delete_, "/api/crm/whatsapp/templates/{id}",
        require(svc, access::manage,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "template");
                  if (!id)
                    return;
                  // Deleted: 204 without a body. The business is not
                  // checked to exist (a missing one has no such template).
                  domain::whatsapp_templates::remove(
                    svc.db, p.business_id, audit_actor(p, *req), *id,
                    on_session(req, [res](domain_reply r) {
                      if (r.code == domain_code::ok)
                        return res(empty_response(http::status::no_content));
                      res(json_response(to_status(r.code),
                                        boost::json::serialize(r.body)));
                    }));
                }));
}

} // namespace al
