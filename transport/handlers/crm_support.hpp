#pragma once

// What the CRM route groups share (transport/handlers/crm.cpp, listings.cpp):
// run a CRM job for a business and render its crm_reply, the JSON body with
// the business it acts for, query strings and path ids that answer 400/404
// themselves.

#include "actors/audit.hpp"
#include "actors/crm_queries.hpp"
#include "actors/domain.hpp"
#include "core/form.hpp"
#include "core/json.hpp"
#include "transport/auth.hpp"
#include "transport/http_types.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace al {

struct services;

/// The HTTP status of a domain outcome: the one mapping.
http::status to_status(domain_code c);

/// An error response for a failed domain status.
http_response error_response(const domain_status& s);

/// Who a use case acts for: `business`, checked to exist when the
/// principal is the administrator (who may name any id).
scope scope_of(const principal& p, std::int64_t business);

/// Answers a JSON use case's reply as JSON with its status, rendered on the
/// session's I/O thread.
reply_fn render(const request_ptr& req, const responder& res);

/// 400 with {"error": msg}.
void bad_request(const responder& res, const std::string& msg);

/// The query string, or a 400.
std::optional<form_params> query_of(const request& req, const responder& res);

/// The query string parsed into a T by `parse` (core/crm_input.hpp's
/// parse_*_filter / parse_paging: an error text, "" when valid); nullopt
/// after answering 400.
template <class T, class Parse>
std::optional<T>
query_parsed(const request& req, const responder& res, Parse&& parse) {
  auto q = query_of(req, res);
  if (!q)
    return std::nullopt;
  T out;
  if (auto err = parse(*q, out); !err.empty()) {
    bad_request(res, err);
    return std::nullopt;
  }
  return out;
}

/// A JSON object body with the business it acts for (business_id in the
/// body counts for the admin token only).
struct body {
  json_doc doc;
  simdjson::dom::object obj;
  std::int64_t business = 0;
};

/// The body, or nullptr after answering 400.
std::unique_ptr<body> body_of(const request& req, const responder& res,
                              const principal& p);

/// The i-th path id, or nullopt after answering 404 "No such <what>".
std::optional<std::int64_t> id_or_404(const request& req, const responder& res,
                                      std::string_view what, std::size_t i = 0);

} // namespace al
