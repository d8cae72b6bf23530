#pragma once

// Thin, allocation-explicit wrappers over OpenSSL: HMAC, SHA-256, base64,
// constant-time comparison and random tokens. Pure functions, no state.

#include <optional>
#include <string>
#include <string_view>

namespace al::crypto {

/// Raw (binary) HMAC-SHA1 of `data` keyed with `key`.
std::string hmac_sha1(std::string_view key, std::string_view data);

/// Raw (binary) HMAC-SHA256 of `data` keyed with `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);

/// Raw (binary) SHA-256 digest.
std::string sha256(std::string_view data);

/// Lowercase hex of arbitrary bytes.
std::string to_hex(std::string_view bytes);

/// How a secret is stored (api_tokens.token_hash, sign_in_codes): the hex
/// SHA-256 of its text.
std::string secret_hash(std::string_view secret);

/// Standard base64 with `=` padding.
std::string base64_encode(std::string_view bytes);

/// Appends the standard base64 of `bytes` to `out` (no temporary string).
void base64_encode_append(std::string_view bytes, std::string& out);

/// Decodes standard base64 (padding required, no whitespace). Returns nullopt
/// on any invalid character or length.
std::optional<std::string> base64_decode(std::string_view text);

/// Decodes into `out` (cleared first); false on invalid input.
bool base64_decode_into(std::string_view text, std::string& out);

/// URL-safe base64 without padding (for tokens in URLs).
std::string base64url_encode(std::string_view bytes);

/// Decodes what base64url_encode writes, strictly: nullopt on any character
/// outside [A-Za-z0-9_-] (padding included), a length of 4n + 1, or unused
/// low bits set in the last character, so that every byte string has exactly
/// one accepted encoding (a changed character always changes the bytes).
std::optional<std::string> base64url_decode(std::string_view text);

/// Compares in time independent of where the inputs differ.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// `n` cryptographically random bytes, URL-safe base64 encoded.
std::string random_token(std::size_t n = 32);

} // namespace al::crypto
