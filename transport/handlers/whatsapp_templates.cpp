// /api/crm/whatsapp/templates: the WhatsApp templates a business registered
// with its provider, for sends outside the 24-hour window (SPEC §7). Any
// role reads; owners and the admin write. Handlers parse and authorise;
// actors/whatsapp_templates.cpp owns the SQL, core/whatsapp_wire.cpp the
// validation.
#include "transport/handlers/handlers.hpp"

#include "actors/whatsapp_templates.hpp"
#include "core/whatsapp_wire.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <boost/json/serialize.hpp>

#include <memory>

namespace al {

void add_whatsapp_template_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/whatsapp/templates",
        require(svc, access::read,
                [&svc](request_ptr, responder res, principal p) {
                  run_crm(svc, res, p, p.business_id,
                          [b = p.business_id](db_tx& tx) {
                            return list_wa_templates(tx, b);
                          });
                }));

  r.add(http::verb::post, "/api/crm/whatsapp/templates",
        require(svc, access::manage,
                [&svc](request_ptr req, responder res, principal p) {
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  wa_template t;
                  auto problem = parse_wa_template(req->body(), t);
                  if (problem.status)
                    return res(error_response(
                      static_cast<http::status>(problem.status),
                      problem.error));
                  run_crm(svc, res, p, b->business,
                          audited(audit_actor(p, *req),
                                  audit_entry{b->business,
                                              "whatsapp_template.create",
                                              "whatsapp_template", t.name,
                                              {}},
                                  [t, bid = b->business](db_tx& tx) {
                                    return create_wa_template(tx, bid, t);
                                  }));
                }));

  r.add(http::verb::delete_, "/api/crm/whatsapp/templates/{id}",
        require(svc, access::manage,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "template");
                  if (!id)
                    return;
                  auto job = audited(
                    audit_actor(p, *req),
                    audit_entry{p.business_id, "whatsapp_template.delete",
                                "whatsapp_template", std::to_string(*id), {}},
                    [id = *id, b = p.business_id](db_tx& tx) {
                      return delete_wa_template(tx, b, id);
                    });
                  auto out = std::make_shared<crm_reply>();
                  svc.db.run(
                    [job = std::move(job), out](db_tx& tx) { *out = job(tx); },
                    [res, out](const db_error& err) {
                      if (!err.empty())
                        return res(db_error_response(err));
                      if (out->code == crm_code::ok)
                        return res(empty_response(http::status::no_content));
                      res(json_response(to_status(out->code),
                                        boost::json::serialize(out->body)));
                    });
                }));
}

} // namespace al
