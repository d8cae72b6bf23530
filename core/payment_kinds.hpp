#pragma once

// A payment's status and provider as enums. The database (CHECK constraints
// in schemas/0005_payments.sql), the API and the metrics label keep the
// lower-case names: to_string gives them, parse_* reads them back (exact
// match, nullopt for anything else).
//
//   pending --> paid | failed | cancelled      (never backwards)

#include <initializer_list>
#include <optional>
#include <string_view>

namespace al {

enum class payment_status { pending, paid, failed, cancelled };

enum class payment_provider { paypal, tranzila };

constexpr std::string_view to_string(payment_status s) noexcept {
  switch (s) {
    case payment_status::pending:
      return "pending";
    case payment_status::paid:
      return "paid";
    case payment_status::failed:
      return "failed";
    case payment_status::cancelled:
      return "cancelled";
  }
  return "pending";
}

constexpr std::string_view to_string(payment_provider p) noexcept {
  switch (p) {
    case payment_provider::paypal:
      return "paypal";
    case payment_provider::tranzila:
      return "tranzila";
  }
  return "paypal";
}

constexpr std::optional<payment_status>
parse_payment_status(std::string_view s) noexcept {
  for (auto v : {payment_status::pending, payment_status::paid,
                 payment_status::failed, payment_status::cancelled})
    if (to_string(v) == s)
      return v;
  return std::nullopt;
}

constexpr std::optional<payment_provider>
parse_payment_provider(std::string_view s) noexcept {
  for (auto v : {payment_provider::paypal, payment_provider::tranzila})
    if (to_string(v) == s)
      return v;
  return std::nullopt;
}

} // namespace al
