#pragma once

// The seam between transport and the domain (issue 16). A use case is a
// function in actors/*_api.hpp: it takes input that transport already
// parsed and authorised, does its work (its own transaction, actors,
// providers) and answers exactly once through a callback with a typed
// result. Errors travel in one type, domain_status (an enum plus a message
// for the client); transport maps domain_code to HTTP in one place
// (transport/handlers/crm_support.cpp, to_status) and renders on the I/O
// strand of the session that asked. Nothing in transport/ names a
// transaction or a statement.
//
// JSON use cases answer with a domain_reply (the code and the body);
// others (TwiML, audio, CSV) with a struct of their own that carries a
// domain_status.

#include "actors/audit.hpp"
#include "actors/store.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace al {

/// The business of a single-tenant install, and where numbers and requests
/// that name no business belong.
constexpr std::int64_t default_business_id = 1;

/// Every outcome a use case can have. Transport's to_status() is the only
/// mapping to HTTP.
enum class domain_code {
  ok,
  created,
  accepted,
  bad_request,
  unauthorized,
  forbidden,
  not_found,
  conflict,
  payload_too_large,
  unprocessable,
  too_many_requests,
  internal,        // a bug or a failed statement: logged, never detailed
  unavailable,     // the database (or a provider) cannot be reached now
  bad_gateway,     // a provider answered, but not as documented
  not_implemented, // the feature is not configured here (no credentials)
  gateway_timeout, // no answer in time (a provider, a queue, an actor)
};

/// True for ok, created and accepted.
constexpr bool succeeded(domain_code c) noexcept {
  return c == domain_code::ok || c == domain_code::created
         || c == domain_code::accepted;
}

/// The domain's one error type: a code and, when it failed, what the client
/// is told.
struct domain_status {
  domain_code code = domain_code::ok;
  std::string message;

  bool ok() const noexcept {
    return succeeded(code);
  }
};

/// A failed store job as a status: unavailable when the database cannot be
/// reached, else internal (the SQL error is logged by the store, never
/// shown).
domain_status from_db_error(const db_error& err);

/// What a JSON use case answers: the code and the body. Failures carry
/// {"success":false,"error":message}.
struct domain_reply {
  domain_code code = domain_code::ok;
  boost::json::value body;
};

/// {"success":false,"error":msg} with `code`.
domain_reply domain_fail(domain_code code, std::string_view msg);
domain_reply domain_fail(const domain_status& s);

using reply_fn = std::function<void(domain_reply)>;

/// One transaction's work, producing the reply.
using domain_job = std::function<domain_reply(db_tx&)>;

/// The business a use case acts for. The admin token may name any business
/// id, so for it `verify` is set and a missing business is a 404; an API
/// token's business always exists.
struct scope {
  std::int64_t business = default_business_id;
  bool verify = false;
};

/// Runs `job` for `s` in one transaction and calls `done` with its reply
/// (503 "Database unavailable" / 500 "Database error" when the store job
/// failed). `done` runs on a store thread: transport posts it on.
void run_use_case(const store& db, scope s, domain_job job, reply_fn done);

/// `job`, then, when it succeeded, `entry` in the audit trail inside the same
/// transaction (`summary`: fields of the reply copied into the diff, e.g.
/// an import's counts).
domain_job audited(audit_who who, audit_entry entry, domain_job job,
                   std::vector<std::string> summary = {});

// The names the CRM queries grew up with.
using crm_code = domain_code;
using crm_reply = domain_reply;
using crm_job = domain_job;
inline crm_reply crm_fail(crm_code code, std::string_view msg) {
  return domain_fail(code, msg);
}

} // namespace al
