// /api/crm/dnc: the do-not-contact list (SPEC §7 "Follow-up calls"). Any
// role reads it, agents and owners add to it, only owners and the
// administrator take a number off it (a refusal is the caller's, not an
// agent's, to withdraw). Handlers parse and authorise; the use cases are in
// domain/dnc.hpp.
#include "transport/handlers/handlers.hpp"

#include "core/phone.hpp"
#include "domain/dnc.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <string>

namespace al {

namespace {

constexpr std::size_t max_dnc_note = 500;

} // namespace

void add_dnc_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/dnc",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto pg = query_parsed<page_params>(*req, res, parse_paging);
                  if (!pg)
                    return;
                  domain::dnc::list(svc.db, scope_of(p, p.business_id), *pg,
                                    render(req, res));
                }));

  // {"phone":"050-123-4567","note":"..."} -> 201 {"phone":"+97250...",
  // "added":true} (200 with "added":false when it was already there).
  r.add(
    http::verb::post, "/api/crm/dnc",
    require(
      svc, access::write, [&svc](request_ptr req, responder res, principal p) {
        auto b = body_of(*req, res, p);
        if (!b)
          return;
        auto phone = get_string(b->obj, "phone");
        if (!phone.ok())
          return bad_request(res, "phone is required");
        auto e164 = normalize_phone(phone.value);
        if (!e164)
          return bad_request(res, "phone is not a phone number");
        std::string note;
        if (auto n = get_string(b->obj, "note"); n.present()) {
          if (!n.ok() || n.value.size() > max_dnc_note || !valid_utf8(n.value))
            return bad_request(res, "note must be text of at most 500 bytes");
          note = std::string{n.value};
        }
        auto source = p.token_id == 0 && p.is_admin() ? dnc_source::api
                                                      : dnc_source::agent;
        domain::dnc::add(svc.db, scope_of(p, b->business), audit_actor(p, *req),
                         *e164, source, note, render(req, res));
      }));

  r.add(http::verb::delete_, "/api/crm/dnc/{phone}",
        require(svc, access::manage,
                [&svc](request_ptr req, responder res, principal p) {
                  auto e164 = req->path_params.empty()
                                ? std::nullopt
                                : normalize_phone(req->path_params[0]);
                  if (!e164)
                    return res(error_response(http::status::not_found,
                                              "No such number on the list"));
                  domain::dnc::remove(svc.db, scope_of(p, p.business_id),
                                      audit_actor(p, *req), *e164,
                                      render(req, res));
                }));
}

} // namespace al
