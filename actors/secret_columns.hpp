#pragma once

// The tenant secret columns (businesses.twilio_auth_token, paypal_secret):
// reading them through the process's keyring, the start-up check and
// one-time encryption of rows written in clear, and key rotation. See
// core/secret_box.hpp for the envelope and docs/security.md for operations.

#include "actors/store.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace pqxx {
class field;
} // namespace pqxx

namespace al {

/// A secret column's plaintext: "" when NULL, or when the value cannot be
/// opened (a key that is not configured, a tampered value: logged, never
/// with the value), so the business is treated as having no own secret.
std::string secret_or_empty(const pqxx::field& f, std::string_view column);

/// What the secret columns hold: values in clear, and per key id.
struct secrets_census {
  std::int64_t clear = 0;
  std::map<std::string, std::int64_t> by_key; // key id -> values
};

secrets_census count_secrets(db_tx& tx);

/// Seals every value that is in clear or (with `rotate`) under a key other
/// than the current one; returns how many were rewritten. Needs a keyring
/// with a key; values it cannot open are left alone and counted in
/// `unreadable`.
std::int64_t seal_secrets(db_tx& tx, bool rotate, std::int64_t& unreadable);

/// Start-up (blocking; after the migrations): refuses (returns an error)
/// when the database holds sealed values and no configured key opens them;
/// seals values still in clear when there is a key (the one-time migration
/// of rows written before encryption), and with `rotate` also re-seals
/// values under older keys. `report` says what was done, for the log.
std::string prepare_secrets(const std::string& url, bool rotate,
                            std::string& report);

} // namespace al
