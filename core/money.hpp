#pragma once

// Money as integer minor units (agorot, cents); no floating point anywhere.
// Callers pass the literal text of the amount: the raw JSON number token
// (simdjson raw_json_token(), which may carry trailing whitespace) or the
// content of a JSON string, never a double.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace al {

/// Largest accepted amount: 1,000,000.00 in minor units.
inline constexpr std::int64_t max_amount_minor = 100'000'000;

/// Minor units of a positive decimal amount: "100" → 10000, "99.9" → 9990,
/// "0.01" → 1. Surrounding JSON whitespace is ignored. nullopt for empty
/// text, a sign, an exponent, more than 2 decimals, a bare or trailing '.',
/// leading zeros ("007"), any other character, zero, or more than
/// max_amount_minor.
std::optional<std::int64_t> parse_amount_minor(std::string_view decimal_text);

/// "99.90" for 9990; "-0.05" for -5; always two decimals, no separators.
std::string format_amount(std::int64_t minor);

/// True for the supported ISO 4217 codes: ILS, USD, EUR, GBP (upper case).
bool known_currency(std::string_view code);

/// The upper-case code when `code` is a supported currency in any case
/// ("ils" → "ILS"), else nullopt.
std::optional<std::string> normalize_currency(std::string_view code);

} // namespace al
