#pragma once

// Bearer authentication and role checks for /api/*, in one place.
//   admin     (ADMIN_TOKEN): everything, for the business named by
//             business_id (query or body), else the default business
//   owner     the business's settings, plus what agents do
//   agent     reads and writes leads, messages, appointments, payments
//   read_only reads only
// Missing/unknown token -> 401; a role that may not -> 403.

#include "actors/audit.hpp"
#include "actors/domain.hpp"
#include "transport/http_types.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace al {

struct services;

enum class role { admin, owner, agent, read_only };

enum class access {
  read,   // any role
  write,  // agent, owner, admin
  manage, // owner, admin
  admin,  // admin only
};

struct principal {
  role who = role::read_only;
  std::int64_t business_id = default_business_id;
  std::int64_t token_id = 0; // 0 for the admin token
  bool is_admin() const noexcept {
    return who == role::admin;
  }
  /// "admin" or "token:N", for history rows.
  std::string actor() const;
};

std::string_view to_string(role r) noexcept;
std::optional<role> parse_role(std::string_view s) noexcept;

/// The role matrix.
bool allowed(role r, access a) noexcept;

/// The token in "Authorization: Bearer <token>", if well-formed.
std::optional<std::string> bearer_token(std::string_view authorization);

using authed_handler = std::function<void(request_ptr, responder, principal)>;

/// The client's address: the socket peer, or, when the peer is one of
/// `trusted` (TRUSTED_PROXIES), the last X-Forwarded-For entry that is not
/// (X-Real-IP when there is no X-Forwarded-For).
std::string client_address(const request& req,
                           const std::vector<std::string>& trusted);

/// Who acts, for the audit trail.
audit_who audit_actor(const principal& p, const request& req);

/// Wraps `fn` so that it runs only for a valid bearer with `needed` access.
/// Sets req->client. A presented but invalid token counts against the
/// client address and the token's prefix (svc.throttle): after a few the
/// 401 is held back, after more the client gets 429 with Retry-After.
handler require(services& svc, access needed, authed_handler fn);

/// The sign-in throttle's side of any credential check (bearer tokens here,
/// sign-in codes in handlers/sign_in.cpp):
/// a 429 for a `client` address that is blocked, before the credential is
/// looked at;
std::optional<http_response> throttled(services& svc,
                                       const std::string& client);
/// a presented credential was wrong: 401 `message`, held back once the
/// client keeps failing, or 429 when this failure blocks it (or the
/// credential's prefix);
void refuse_credentials(services& svc, const std::string& client,
                        const std::string& presented, const responder& res,
                        std::string_view message);
/// a credential was right: the client's failures start over.
void credentials_ok(services& svc, const std::string& client);

/// For the admin token: business_id from the body overrides the query/default.
/// For API tokens the token's business always wins.
std::int64_t effective_business(const principal& p,
                                std::optional<std::int64_t> from_body);

} // namespace al
