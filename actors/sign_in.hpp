#pragma once

// Sign-in links and dashboard sessions (schemas/0015_sign_in.sql). A link
// carries a one-time code in its fragment (`/app/#signin=<code>`, so it
// reaches neither server logs nor Referer headers); the dashboard exchanges
// it once for a session: an API token of kind 'session' that expires.
// Codes and session tokens are stored as SHA-256 hashes only.

#include "actors/store.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace al {

struct audit_who;

/// How long a session lasts (the dashboard signs in again after).
constexpr std::chrono::hours session_lifetime{12};

struct sign_in_code {
  std::string code;       // shown once, in the link
  std::string expires_at; // ISO-8601 UTC
};

/// A new one-time code for `role` in `business`, valid for `ttl`, with its
/// audit row; nullopt when the business does not exist.
std::optional<sign_in_code>
create_sign_in_code(db_tx& tx, std::int64_t business, const std::string& role,
                    std::chrono::minutes ttl, const audit_who& who);

struct session_grant {
  std::int64_t token_id = 0;
  std::int64_t business_id = 0;
  std::string role;
  std::string token;      // the bearer (shown once)
  std::string expires_at; // ISO-8601 UTC
};

/// Consumes `code` (unused and unexpired: once) and opens a session for its
/// business and role; nullopt for an unknown, used or expired code.
/// `address` and `request_id` go to the audit row.
std::optional<session_grant>
redeem_sign_in_code(db_tx& tx, const std::string& code,
                    const std::string& address, const std::string& request_id);

/// Ends session `token_id` (a no-op for integration tokens); true when a
/// live session ended.
bool end_session(db_tx& tx, std::int64_t token_id);

/// "<base>/app/#signin=<code>".
std::string sign_in_url(const std::string& public_base_url,
                        const std::string& code);

} // namespace al
