// /api/crm/listings*: the office's properties (CRUD, filters, CSV import
// and export), /api/crm/leads.csv and /api/crm/leads/import, and the
// listings that fit a lead (/api/crm/leads/{id}/matches). Handlers parse
// and authorise; the use cases are in domain/listings.hpp.
#include "transport/handlers/handlers.hpp"

#include "core/listing_input.hpp"
#include "domain/listings.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <string>

namespace al {

namespace {

/// A CSV answer (a download named `name`).
http_response csv_response(std::string body, const std::string& name) {
  auto res = make_response(http::status::ok, std::move(body),
                           "text/csv; charset=utf-8");
  res.set(http::field::content_disposition,
          "attachment; filename=\"" + name + "\"");
  return res;
}

/// Answers an export as the download `name`, on the session's I/O thread.
domain::listings::export_fn send_csv(const request_ptr& req,
                                     const responder& res, std::string name) {
  return on_session(
    req, [res, name = std::move(name)](domain::listings::export_result r) {
      if (!r.status.ok())
        return res(error_response(r.status));
      res(csv_response(std::move(r.csv), name));
    });
}

bool dry_run_of(const form_params& q) {
  auto v = q.value_or("dry_run");
  return v == "1" || v == "true";
}

/// The import body: CSV text. Refused early when it is not text.
bool csv_body_ok(const request& req, const responder& res) {
  if (req.body().empty()) {
    bad_request(res, "the body must be a CSV file with a header row");
    return false;
  }
  auto type = std::string{req.msg[http::field::content_type]};
  if (type.rfind("application/json", 0) == 0) {
    bad_request(res, "send the CSV file itself (Content-Type: text/csv)");
    return false;
  }
  return true;
}

using import_fn = void (*)(const store&, scope, audit_who, std::string, bool,
                           reply_fn);

/// POST .../import: the CSV body (?dry_run=1) into `import` for the
/// principal's business; writers only.
handler import_route(services& svc, import_fn import) {
  return require(svc, access::write,
                 [&svc, import](request_ptr req, responder res, principal p) {
                   auto q = query_of(*req, res);
                   if (!q || !csv_body_ok(*req, res))
                     return;
                   import(svc.db, scope_of(p, p.business_id),
                          audit_actor(p, *req), req->body(), dry_run_of(*q),
                          render(req, res));
                 });
}

} // namespace

void add_listing_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/listings",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto f = query_parsed<listing_filter>(*req, res,
                                                        parse_listing_filter);
                  if (!f)
                    return;
                  domain::listings::list(svc.db, scope_of(p, p.business_id), *f,
                                         render(req, res));
                }));

  r.add(http::verb::post, "/api/crm/listings",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  listing_input in;
                  if (auto err = parse_listing(b->obj, in, true); !err.empty())
                    return bad_request(res, err);
                  domain::listings::create(svc.db, scope_of(p, b->business), in,
                                           render(req, res));
                }));

  r.add(
    http::verb::get, "/api/crm/listings.csv",
    require(
      svc, access::read, [&svc](request_ptr req, responder res, principal p) {
        auto f = query_parsed<listing_filter>(*req, res, parse_listing_filter);
        if (!f)
          return;
        domain::listings::export_listings(svc.db, p.business_id, *f,
                                          send_csv(req, res, "listings.csv"));
      }));

  r.add(http::verb::post, "/api/crm/listings/import",
        import_route(svc, &domain::listings::import_listings));

  r.add(http::verb::get, "/api/crm/listings/{id}",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "listing");
                  if (!id)
                    return;
                  domain::listings::get(svc.db, scope_of(p, p.business_id), *id,
                                        render(req, res));
                }));

  r.add(http::verb::patch, "/api/crm/listings/{id}",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "listing");
                  if (!id)
                    return;
                  auto b = body_of(*req, res, p);
                  if (!b)
                    return;
                  listing_input in;
                  if (auto err = parse_listing(b->obj, in, false); !err.empty())
                    return bad_request(res, err);
                  domain::listings::patch(svc.db, scope_of(p, b->business), *id,
                                          in, render(req, res));
                }));

  r.add(http::verb::delete_, "/api/crm/listings/{id}",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "listing");
                  if (!id)
                    return;
                  domain::listings::remove(svc.db, scope_of(p, p.business_id),
                                           audit_actor(p, *req), *id,
                                           render(req, res));
                }));

  r.add(http::verb::get, "/api/crm/leads.csv",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  domain::listings::export_leads(
                    svc.db, p.business_id, send_csv(req, res, "leads.csv"));
                }));

  r.add(http::verb::post, "/api/crm/leads/import",
        import_route(svc, &domain::listings::import_leads));

  r.add(http::verb::get, "/api/crm/leads/{id}/matches",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "lead");
                  if (!id)
                    return;
                  domain::listings::matches(svc.db, scope_of(p, p.business_id),
                                            *id, render(req, res));
                }));
}

} // namespace al
