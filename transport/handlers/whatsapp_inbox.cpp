// /api/crm/whatsapp/conversations*: the shared WhatsApp inbox. Any role
// reads the list and a thread; marking a conversation read takes write
// access (it changes what every agent of the business sees as unread).
// Handlers parse and authorise; the use cases are in
// domain/whatsapp_inbox.hpp, the parsing in core/wa_inbox_input.cpp.
#include "transport/handlers/handlers.hpp"

#include "core/wa_inbox_input.hpp"
#include "domain/whatsapp_inbox.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <optional>
#include <string>

namespace al {

namespace {

/// The conversation key of the {phone} path segment, or nullopt after
/// answering 404 (a segment that is no phone number names no conversation).
std::optional<std::string> peer_or_404(const request& req,
                                       const responder& res) {
  std::optional<std::string> peer;
  if (!req.path_params.empty())
    peer = wa_peer_of(req.path_params[0]);
  if (!peer)
    res(error_response(http::status::not_found, "No such conversation"));
  return peer;
}

/// Whether the service can run the WhatsApp AI at all (a business's
/// whatsapp_ai switch is read with its conversations).
bool ai_key(const services& svc) {
  return !svc.cfg.openai_api_key.empty();
}

} // namespace

void add_whatsapp_inbox_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/whatsapp/conversations",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto in = query_parsed<wa_inbox_query>(*req, res,
                                                         parse_wa_inbox_query);
                  if (!in)
                    return;
                  domain::whatsapp_inbox::list(svc.db,
                                               scope_of(p, p.business_id), *in,
                                               ai_key(svc), render(req, res));
                }));

  r.add(http::verb::get, "/api/crm/whatsapp/conversations/{phone}/messages",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto peer = peer_or_404(*req, res);
                  if (!peer)
                    return;
                  auto in = query_parsed<wa_thread_query>(
                    *req, res, parse_wa_thread_query);
                  if (!in)
                    return;
                  domain::whatsapp_inbox::thread(svc.db,
                                                 scope_of(p, p.business_id),
                                                 *peer, *in, ai_key(svc),
                                                 render(req, res));
                }));

  r.add(http::verb::post, "/api/crm/whatsapp/conversations/{phone}/read",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto peer = peer_or_404(*req, res);
                  if (!peer)
                    return;
                  domain::whatsapp_inbox::mark_read(svc.db,
                                                    scope_of(p, p.business_id),
                                                    *peer, render(req, res));
                }));
}

} // namespace al
