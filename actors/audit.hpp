#pragma once

// The audit trail (schemas/0014_security.sql): one append-only row per admin
// or owner change, written inside the transaction of the change itself, so
// a change and its record commit or roll back together. Secrets never enter
// it: a changed secret is recorded as {"changed": true}, a deleted lead by
// its id only (its personal data is gone on purpose).

#include "actors/store.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace al {

struct page_params;

/// Who acted, and from where.
struct audit_who {
  std::string actor = "system"; // "admin", "token:N", "cli", "system"
  std::optional<std::int64_t> token_id;
  std::string role;
  std::string address;
  std::string request_id;
};

/// What changed.
struct audit_entry {
  std::optional<std::int64_t> business_id;
  std::string action;      // "settings.update", "token.revoke", ...
  std::string target_type; // "business", "token", "lead", ...
  std::string target_id;
  boost::json::object diff;
};

/// Appends one row (in `tx`: it commits with the change).
void record_audit(db_tx& tx, const audit_who& who, const audit_entry& what);

/// {"field": {"from": a, "to": b}} for every top-level field whose value
/// differs between two views of one thing (fields only in one side count
/// as changed from/to null). Nested objects are compared one level down
/// ("twilio.account_sid").
boost::json::object audit_diff(const boost::json::object& before,
                               const boost::json::object& after);

/// A business's trail, newest first, as a CRM list
/// ({"items":[...],"page","per_page","total"}); `action` filters by exact
/// action or by prefix when it ends with '.' ("lead." = every lead action).
boost::json::object list_audit(db_tx& tx, std::int64_t business,
                               const std::optional<std::string>& action,
                               const page_params& paging);

/// Deletes rows older than `days` (the only deletion the table allows);
/// returns how many went.
std::int64_t purge_audit(db_tx& tx, int days);

} // namespace al
