#pragma once

// What the CRM route groups share (transport/handlers/crm.cpp, listings.cpp):
// run a CRM job for a business and render its crm_reply, the JSON body with
// the business it acts for, query strings and path ids that answer 400/404
// themselves.

#include "actors/audit.hpp"
#include "actors/crm_queries.hpp"
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

/// The HTTP status of a CRM outcome.
http::status to_status(crm_code c);

using crm_job = std::function<crm_reply(db_tx&)>;

/// Runs `job` for `business` and answers with its reply. The admin token
/// may name any business id, so for it the business must exist (else 404);
/// an API token's business always does.
void run_crm(services& svc, const responder& res, const principal& p,
             std::int64_t business, crm_job job);

/// `job`, then, when it succeeded, `entry` in the audit trail inside the same
/// transaction (`summary`: fields of the reply copied into the diff, e.g.
/// an import's counts).
crm_job audited(audit_who who, audit_entry entry, crm_job job,
                std::vector<std::string> summary = {});

void bad_request(const responder& res, const std::string& msg);

/// The query string, or a 400.
std::optional<form_params> query_of(const request& req, const responder& res);

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
                                      std::string_view what,
                                      std::size_t i = 0);

} // namespace al
