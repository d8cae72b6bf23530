#pragma once

// Stateless HMAC tokens that bind a subject (a call sid, a payment id) to a
// purpose, so any instance sharing the signing key can verify them:
// base64url(first 24 bytes of HMAC-SHA256(key, purpose, subject)), 32 chars,
// 192 bits. Safe in URLs, TwiML attributes and Stream custom parameters.

#include <string>
#include <string_view>

namespace al {

/// Purpose strings; a token issued for one never verifies for another.
inline constexpr std::string_view call_token_purpose = "call";
inline constexpr std::string_view payment_token_purpose = "payment";

/// Token binding `subject` to `purpose` under `key`. Returns an empty string
/// when `key` is empty (fail closed: an empty token never verifies).
std::string issue_token(std::string_view key, std::string_view purpose,
                        std::string_view subject);

/// True when `token` is exactly issue_token(key, purpose, subject); constant
/// time. False for an empty key or token.
bool verify_token(std::string_view key, std::string_view purpose,
                  std::string_view subject, std::string_view token);

/// issue_token(key, "call", call_sid): the Stream `call_token` parameter.
std::string issue_call_token(std::string_view key, std::string_view call_sid);

/// verify_token(key, "call", call_sid, token).
bool verify_call_token(std::string_view key, std::string_view call_sid,
                       std::string_view token);

} // namespace al
