#pragma once

// Typed, bounded reads of request input: JSON body fields (on top of
// core/json.hpp's getters), query-string numbers, ISO-8601 times. Every
// reader reports a precise message for a 400, so handlers never pass bad
// text on to the database (no NUL bytes, no impossible dates).

#include "core/json.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace al {

/// A PATCH field: nullopt = not given; a nullopt inside = given as null.
template <class T>
using patch_field = std::optional<std::optional<T>>;

/// The value of a patch field for SQL: the value, or NULL when not given or
/// given as null.
template <class T>
std::optional<T> flat(const patch_field<T>& f) {
  return f && *f ? std::optional<T>{**f} : std::nullopt;
}

/// True when the patch names the field (a value or null).
template <class T>
bool given(const patch_field<T>& f) {
  return f.has_value();
}

/// Text we may store: no NUL byte (PostgreSQL text cannot hold one).
bool storable_text(std::string_view s) noexcept;

/// Optional string field: missing or null leaves `out` alone. Fails (false,
/// message in `err`) on a wrong type, more than `max` bytes or a NUL byte.
bool read_opt_string(simdjson::dom::object o, std::string_view key,
                     std::optional<std::string>& out, std::string& err,
                     std::size_t max = 4000);

/// Nullable string field for PATCH (null = clear).
bool read_patch_string(simdjson::dom::object o, std::string_view key,
                       patch_field<std::string>& out, std::string& err,
                       std::size_t max = 4000);

/// Nullable integer field in [min, max] for PATCH (null = clear).
bool read_patch_int(simdjson::dom::object o, std::string_view key,
                    patch_field<std::int64_t>& out, std::string& err,
                    std::int64_t min, std::int64_t max);

/// Optional array of strings (each at most `max_each` bytes, at most
/// `max_items`).
bool read_opt_strings(simdjson::dom::object o, std::string_view key,
                      std::optional<std::vector<std::string>>& out,
                      std::string& err, std::size_t max_items = 50,
                      std::size_t max_each = 64);

/// A plain decimal integer in [min, max] ("007" is fine; signs, spaces and
/// anything else are not).
std::optional<std::int64_t> parse_decimal(std::string_view s, std::int64_t min,
                                          std::int64_t max);

/// An ISO-8601 timestamp with a UTC offset: "YYYY-MM-DDTHH:MM[:SS[.f…]]"
/// followed by "Z" or "±HH[:MM]" (a space may replace the "T"). Checks the
/// calendar (leap years, 1900 ≤ year ≤ 9999). Returns the text as given,
/// which PostgreSQL parses as timestamptz, or nullopt.
std::optional<std::string> parse_timestamp(std::string_view s);

/// A calendar date "YYYY-MM-DD" (same checks), or nullopt.
std::optional<std::string> parse_date(std::string_view s);

/// A key of the form [a-z0-9_]{1,32} (pipeline statuses).
bool valid_key(std::string_view s) noexcept;

} // namespace al
