#include "core/intake_input.hpp"

#include "core/json.hpp"
#include "core/phone.hpp"

namespace al {

namespace {

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos)
    return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string{s.substr(b, e - b + 1)};
}

/// Counts UTF-8 characters (the limits are in characters, as a form's
/// maxlength is).
std::size_t chars(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

/// An optional string field: nullopt-like "" when absent or null; error
/// text when another type, invalid UTF-8, a NUL, or over `limit`.
std::variant<std::string, std::string>
text_field(simdjson::dom::object o, std::string_view key, std::size_t limit,
           bool& present) {
  auto f = get_string(o, key);
  present = f.ok();
  if (f.state == field_state::missing || f.state == field_state::null)
    return std::variant<std::string, std::string>{std::in_place_index<0>};
  if (f.state == field_state::wrong_type)
    return std::variant<std::string, std::string>{
      std::in_place_index<1>, std::string{key} + " must be a string"};
  if (!valid_utf8(f.value) || f.value.find('\0') != std::string_view::npos)
    return std::variant<std::string, std::string>{
      std::in_place_index<1>, std::string{key} + " is not valid text"};
  auto t = trim(f.value);
  if (chars(t) > limit)
    return std::variant<std::string, std::string>{
      std::in_place_index<1>, std::string{key} + " is too long (at most "
                                + std::to_string(limit) + " characters)"};
  return std::variant<std::string, std::string>{std::in_place_index<0>,
                                                std::move(t)};
}

} // namespace

std::variant<intake_input, std::string>
parse_intake(simdjson::dom::object body) {
  intake_input in;
  bool present = false;
  struct spec {
    const char* key;
    std::size_t limit;
    std::string* out;
  };
  std::string phone;
  for (auto s :
       {spec{"name", intake_max_name, &in.name}, spec{"phone", 64, &phone},
        spec{"source", intake_max_source, &in.source},
        spec{"message", intake_max_message, &in.message},
        spec{"listing_ref", intake_max_listing_ref, &in.listing_ref}}) {
    auto v = text_field(body, s.key, s.limit, present);
    if (v.index() == 1)
      return std::get<1>(v);
    if (present)
      *s.out = std::move(std::get<0>(v));
  }
  if (phone.empty())
    return std::string{"phone is required"};
  auto e164 = normalize_phone(phone);
  if (!e164)
    return std::string{"phone is not a valid phone number"};
  in.phone = *e164;
  if (in.source.empty())
    in.source = "web_form";
  return in;
}

std::string_view intake_lead_source(std::string_view s) noexcept {
  for (std::string_view v :
       {"call", "whatsapp", "manual", "import", "web", "portal"})
    if (s == v)
      return v;
  return "web";
}

std::string intake_note(const intake_input& in, std::string_view listing) {
  if (in.message.empty() && listing.empty())
    return {};
  std::string out = "[" + in.source + "]";
  if (!in.message.empty())
    out += " " + in.message;
  if (!listing.empty()) {
    out += " (";
    out += listing;
    out += ")";
  }
  return out;
}

} // namespace al
