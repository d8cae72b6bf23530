#pragma once

// Use cases of sign-in links and dashboard sessions (actors/sign_in.hpp):
// making a one-time link, exchanging its code for a session, ending a
// session. Input is parsed and authorised by transport (which also counts
// failed codes against the sign-in throttle); each use case runs in one
// transaction and answers once through `done`.

#include "actors/domain.hpp"
#include "actors/sign_in.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace al::domain::sign_in {

/// 201 {"url","expires_at","business_id","role"}: a link under
/// `public_base_url` with a one-time code for `role`, valid for `ttl`
/// (audited); 404 "No such business".
void create_link(const store& db, scope s, audit_who who, std::string role,
                 std::chrono::minutes ttl, std::string public_base_url,
                 reply_fn done);

/// A redeemed code: the session, or nullopt for an unknown, used or expired
/// code; status is the database's failure, if any.
struct redeem_result {
  domain_status status;
  std::optional<session_grant> grant;
};

/// Consumes `code` (once) and opens a session; `address` and `request_id`
/// go to the audit row.
void redeem(const store& db, std::string code, std::string address,
            std::string request_id, std::function<void(redeem_result)> done);

/// {"success":true,"ended":bool}: ends session `token_id` (ended is false
/// for an integration token or a session already over).
void sign_out(const store& db, std::int64_t token_id, reply_fn done);

} // namespace al::domain::sign_in
