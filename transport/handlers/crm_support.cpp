#include "transport/handlers/crm_support.hpp"

#include "transport/handlers/common.hpp"
#include "transport/services.hpp"

#include <boost/json/serialize.hpp>

namespace al {

http::status to_status(domain_code c) {
  switch (c) {
    case domain_code::ok:
      return http::status::ok;
    case domain_code::created:
      return http::status::created;
    case domain_code::accepted:
      return http::status::accepted;
    case domain_code::bad_request:
      return http::status::bad_request;
    case domain_code::unauthorized:
      return http::status::unauthorized;
    case domain_code::forbidden:
      return http::status::forbidden;
    case domain_code::not_found:
      return http::status::not_found;
    case domain_code::conflict:
      return http::status::conflict;
    case domain_code::payload_too_large:
      return http::status::payload_too_large;
    case domain_code::unprocessable:
      return http::status::unprocessable_entity;
    case domain_code::too_many_requests:
      return http::status::too_many_requests;
    case domain_code::internal:
      return http::status::internal_server_error;
    case domain_code::unavailable:
      return http::status::service_unavailable;
    case domain_code::bad_gateway:
      return http::status::bad_gateway;
    case domain_code::not_implemented:
      return http::status::not_implemented;
    case domain_code::gateway_timeout:
      return http::status::gateway_timeout;
  }
  return http::status::internal_server_error;
}

http_response error_response(const domain_status& s) {
  return error_response(to_status(s.code), s.message);
}

scope scope_of(const principal& p, std::int64_t business) {
  return scope{business, p.is_admin()};
}

reply_fn render(const request_ptr& req, const responder& res) {
  return [req, res](domain_reply r) {
    post_to_session(*req, [res, r = std::move(r)] {
      res(json_response(to_status(r.code), boost::json::serialize(r.body)));
    });
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
