#pragma once

// The body of POST /api/leads/intake (SPEC §7 "Follow-up calls"): a lead
// from an office's web form or a portal. Pure validation; the handler turns
// an error into a 400.

#include <simdjson.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

namespace al {

constexpr std::size_t intake_max_name = 200;
constexpr std::size_t intake_max_source = 64;
constexpr std::size_t intake_max_message = 2000;
constexpr std::size_t intake_max_listing_ref = 200;

struct intake_input {
  std::string name;  // "" when not given
  std::string phone; // E.164 (normalised)
  std::string source = "web_form";
  std::string message; // "" when not given
  std::string listing_ref;
};

/// {name?, phone, source?, message?, listing_ref?}: strings (null counts as
/// absent), valid UTF-8, within the limits above, trimmed; phone
/// normalised by core/phone.hpp. Error text for a 400 otherwise.
std::variant<intake_input, std::string>
parse_intake(simdjson::dom::object body);

/// The leads.source a given source maps to: itself when it is one of the
/// column's values (call, whatsapp, manual, import, web, portal), else
/// "web" (the given text is kept in the lead's notes).
std::string_view intake_lead_source(std::string_view source) noexcept;

/// The note line of an intake: "[source] message", with the listing
/// reference when one was given ("" when there is nothing to note).
std::string intake_note(const intake_input& in, std::string_view listing);

} // namespace al
