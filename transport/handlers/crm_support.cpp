#include "transport/handlers/crm_support.hpp"

#include "actors/businesses.hpp"
#include "transport/handlers/common.hpp"
#include "transport/services.hpp"

#include <boost/json/serialize.hpp>

namespace al {

http::status to_status(crm_code c) {
  switch (c) {
    case crm_code::ok:
      return http::status::ok;
    case crm_code::created:
      return http::status::created;
    case crm_code::bad_request:
      return http::status::bad_request;
    case crm_code::forbidden:
      return http::status::forbidden;
    case crm_code::not_found:
      return http::status::not_found;
    case crm_code::conflict:
      return http::status::conflict;
    case crm_code::unprocessable:
      return http::status::unprocessable_entity;
  }
  return http::status::internal_server_error;
}

/// Runs `job` for `business` and answers with its reply. The admin token
/// may name any business id, so for it the business must exist (else 404);
/// an API token's business always does.
void run_crm(services& svc, const responder& res, const principal& p,
             std::int64_t business, crm_job job) {
  auto out = std::make_shared<crm_reply>();
  svc.db.run(
    [job = std::move(job), out, business, admin = p.is_admin()](db_tx& tx) {
      if (admin && !business_exists(tx, business)) {
        *out = crm_fail(crm_code::not_found, "No such business");
        return;
      }
      *out = job(tx);
    },
    [res, out](const db_error& err) {
      if (!err.empty())
        return res(db_error_response(err));
      res(
        json_response(to_status(out->code), boost::json::serialize(out->body)));
    });
}

crm_job audited(audit_who who, audit_entry entry, crm_job job,
                std::vector<std::string> summary) {
  return [who = std::move(who), entry = std::move(entry), job = std::move(job),
          summary = std::move(summary)](db_tx& tx) {
    auto reply = job(tx);
    if (reply.code != crm_code::ok && reply.code != crm_code::created)
      return reply;
    auto e = entry;
    if (auto* o = reply.body.if_object())
      for (auto& key : summary)
        if (auto* v = o->if_contains(key))
          e.diff[key] = v->is_array() ? boost::json::value(v->as_array().size())
                                      : *v;
    record_audit(tx, who, e);
    return reply;
  };
}

void bad_request(const responder& res, const std::string& msg) {
  res(error_response(http::status::bad_request, msg));
}

/// The query string, or a 400.
std::optional<form_params> query_of(const request& req, const responder& res) {
  auto q = parse_query(req.query);
  if (!q)
    bad_request(res, "malformed query string");
  return q;
}

/// A JSON object body with the business it acts for (business_id in the
/// body counts for the admin token only).

std::unique_ptr<body> body_of(const request& req, const responder& res,
                              const principal& p) {
  auto b = std::make_unique<body>();
  if (!parse_body(req, b->doc, b->obj, res))
    return nullptr;
  auto bid = get_int(b->obj, "business_id");
  if (bid.state == field_state::wrong_type
      || (bid.ok() && p.is_admin() && bid.value <= 0)) {
    bad_request(res, "business_id must be a positive integer");
    return nullptr;
  }
  b->business = effective_business(
    p, bid.ok() ? std::optional<std::int64_t>{bid.value} : std::nullopt);
  return b;
}

std::optional<std::int64_t> id_or_404(const request& req, const responder& res,
                                      std::string_view what, std::size_t i) {
  auto id = path_id(req, i);
  if (!id)
    res(
      error_response(http::status::not_found, "No such " + std::string{what}));
  return id;
}


} // namespace al
