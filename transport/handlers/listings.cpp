// /api/crm/listings*: the office's properties (CRUD, filters, CSV import
// and export), /api/crm/leads.csv and /api/crm/leads/import, and the
// listings that fit a lead (/api/crm/leads/{id}/matches). Handlers parse
// and authorise; actors/listings.cpp owns the SQL.
#include "transport/handlers/handlers.hpp"

#include "actors/listings.hpp"
#include "core/listing_input.hpp"
#include "transport/auth.hpp"
#include "transport/handlers/common.hpp"
#include "transport/handlers/crm_support.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <memory>

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

/// Runs a job that renders text (a CSV export) for the principal's business.
void run_export(services& svc, const responder& res, const principal& p,
                std::function<std::string(db_tx&)> job,
                const std::string& name) {
  auto out = std::make_shared<std::string>();
  svc.db.run([job = std::move(job), out](db_tx& tx) { *out = job(tx); },
             [res, out, name](const db_error& err) {
               if (!err.empty())
                 return res(db_error_response(err));
               res(csv_response(std::move(*out), name));
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

using import_fn = crm_reply (*)(db_tx&, std::int64_t, std::string_view, bool);

/// POST .../import: the CSV body (?dry_run=1) into `import` for the
/// principal's business; writers only.
handler import_route(services& svc, import_fn import, const char* action) {
  return require(
    svc, access::write,
    [&svc, import, action](request_ptr req, responder res, principal p) {
      auto q = query_of(*req, res);
      if (!q || !csv_body_ok(*req, res))
        return;
      auto dry = dry_run_of(*q);
      crm_job job = [req, import, dry, b = p.business_id](db_tx& tx) {
        return import(tx, b, req->body(), dry);
      };
      if (!dry) // a dry run changes nothing
        job = audited(audit_actor(p, *req),
                      audit_entry{p.business_id, action, "import", {}, {}},
                      std::move(job), {"created", "updated", "errors"});
      run_crm(svc, res, p, p.business_id, std::move(job));
    });
}

} // namespace

void add_listing_routes(router& r, services& svc) {
  r.add(http::verb::get, "/api/crm/listings",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto q = query_of(*req, res);
                  if (!q)
                    return;
                  listing_filter f;
                  if (auto err = parse_listing_filter(*q, f); !err.empty())
                    return bad_request(res, err);
                  run_crm(svc, res, p, p.business_id,
                          [f, b = p.business_id](db_tx& tx) {
                            return list_listings(tx, b, f);
                          });
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
                  run_crm(svc, res, p, b->business,
                          [in, bid = b->business](db_tx& tx) {
                            return create_listing(tx, bid, in);
                          });
                }));

  r.add(http::verb::get, "/api/crm/listings.csv",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto q = query_of(*req, res);
                  if (!q)
                    return;
                  listing_filter f;
                  if (auto err = parse_listing_filter(*q, f); !err.empty())
                    return bad_request(res, err);
                  run_export(
                    svc, res, p,
                    [f, b = p.business_id](db_tx& tx) {
                      return listings_csv(tx, b, f);
                    },
                    "listings.csv");
                }));

  r.add(http::verb::post, "/api/crm/listings/import",
        import_route(svc, import_listings, "listings.import"));

  r.add(http::verb::get, "/api/crm/listings/{id}",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "listing");
                  if (!id)
                    return;
                  run_crm(svc, res, p, p.business_id,
                          [id = *id, b = p.business_id](db_tx& tx) {
                            return get_listing(tx, b, id);
                          });
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
                  if (auto err = parse_listing(b->obj, in, false);
                      !err.empty())
                    return bad_request(res, err);
                  run_crm(svc, res, p, b->business,
                          [in, id = *id, bid = b->business](db_tx& tx) {
                            return patch_listing(tx, bid, id, in);
                          });
                }));

  r.add(http::verb::delete_, "/api/crm/listings/{id}",
        require(svc, access::write,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "listing");
                  if (!id)
                    return;
                  run_crm(svc, res, p, p.business_id,
                          audited(audit_actor(p, *req),
                                  audit_entry{p.business_id, "listing.delete",
                                              "listing", std::to_string(*id),
                                              {}},
                                  [id = *id, b = p.business_id](db_tx& tx) {
                                    return delete_listing(tx, b, id);
                                  }));
                }));

  r.add(http::verb::get, "/api/crm/leads.csv",
        require(svc, access::read,
                [&svc](request_ptr, responder res, principal p) {
                  run_export(
                    svc, res, p,
                    [b = p.business_id](db_tx& tx) {
                      return leads_csv(tx, b);
                    },
                    "leads.csv");
                }));

  r.add(http::verb::post, "/api/crm/leads/import",
        import_route(svc, import_leads, "leads.import"));

  r.add(http::verb::get, "/api/crm/leads/{id}/matches",
        require(svc, access::read,
                [&svc](request_ptr req, responder res, principal p) {
                  auto id = id_or_404(*req, res, "lead");
                  if (!id)
                    return;
                  run_crm(svc, res, p, p.business_id,
                          [id = *id, b = p.business_id](db_tx& tx) {
                            return lead_matches(tx, b, id);
                          });
                }));
}

} // namespace al
