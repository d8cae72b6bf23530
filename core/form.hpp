#pragma once

// application/x-www-form-urlencoded bodies and URL query strings (RFC 3986
// query characters, '+' as space, %XX escapes). Order and repeated keys are
// preserved, since the Twilio signature is computed over every (name, value)
// pair.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace al {

class form_params {
public:
  using value_type = std::pair<std::string, std::string>;

  form_params() = default;
  explicit form_params(std::vector<value_type> items)
    : items_(std::move(items)) {}

  /// First value of `key`, if present.
  std::optional<std::string_view> get(std::string_view key) const;

  /// First value of `key`, or `fallback`.
  std::string value_or(std::string_view key,
                       std::string_view fallback = {}) const;

  bool contains(std::string_view key) const;

  const std::vector<value_type>& items() const noexcept {
    return items_;
  }

  bool empty() const noexcept {
    return items_.empty();
  }

private:
  std::vector<value_type> items_;
};

/// Decodes a form body or query string ('+' is a space). Returns nullopt for
/// malformed percent-encoding. An empty input yields no parameters.
std::optional<form_params> parse_form(std::string_view text);

/// True when every name and value is valid UTF-8 without NUL bytes, i.e.
/// text PostgreSQL can store. Twilio's webhooks always are; a form that is
/// not gets a 400 before it reaches the database (where invalid UTF-8 is an
/// error and a NUL byte silently truncates a parameter).
bool text_form(const form_params& form) noexcept;

/// Encodes pairs as a form body (for outbound requests).
std::string encode_form(const std::vector<form_params::value_type>& items);

} // namespace al
