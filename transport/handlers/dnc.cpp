// /api/crm/dnc: the do-not-contact list (SPEC §7 "Follow-up calls"). Any
// role reads it, agents and owners add to it, only owners and the
// administrator take a number off it (a refusal is the caller's, not an
// agent's, to withdraw). Handlers parse and authorise; actors/dnc.cpp owns
// the SQL.
#include "transport/handlers/handlers.hpp"

#include "actors/dnc.hpp"
#include "core/phone.hpp"
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
                  auto q = query_of(*req, res);
                  if (!q)
                    return;
                  page_params pg;
                  if (auto e = parse_paging(*q, pg); !e.empty())
                    return bad_request(res, e);
                  run_crm(svc, res, p, p.business_id,
                          [b = p.business_id, pg](db_tx& tx) {
                            return list_dnc(tx, b, pg);
                          });
                }));

  // {"phone":"050-123-4567","note":"..."} -> 201 {"phone":"+97250...",
  // "added":true} (200 with "added":false when it was already there).
  r.add(http::verb::post, "/api/crm/dnc",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
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
                    if (!n.ok() || n.value.size() > max_dnc_note
                        || !valid_utf8(n.value))
                      return bad_request(
                        res, "note must be text of at most 500 bytes");
                    note = std::string{n.value};
                  }
                  run_crm(
                    svc, res, p, b->business,
                    audited(audit_actor(p, *req),
                            audit_entry{b->business, "dnc.add", "dnc", *e164,
                                        {}},
                            [bid = b->business, e164 = *e164, note,
                             src = p.token_id == 0 && p.is_admin()
                                     ? dnc_source::api
                                     : dnc_source::agent](db_tx& tx) {
                              bool added = dnc_add(tx, bid, e164, src, note);
                              return crm_reply{
                                added ? crm_code::created : crm_code::ok,
                                boost::json::object{{"phone", e164},
                                                    {"added", added}}};
                            }));
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
                  run_crm(svc, res, p, p.business_id,
                          audited(audit_actor(p, *req),
                                  audit_entry{p.business_id, "dnc.remove",
                                              "dnc", *e164, {}},
                                  [b = p.business_id, e164 = *e164](db_tx& tx) {
                                    if (!dnc_remove(tx, b, e164))
                                      return crm_fail(
                                        crm_code::not_found,
                                        "No such number on the list");
                                    return crm_reply{
                                      crm_code::ok,
                                      boost::json::object{{"success", true}}};
                                  }));
                }));
}

} // namespace al
