#include "core/phone.hpp"

namespace al {

namespace {

constexpr std::string_view wa_prefix = "whatsapp:";
constexpr std::size_t max_input = 64;

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size())
    return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i])
      return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  auto ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos)
    return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// `national` is the Israeli number without the trunk '0'.
bool valid_israeli(std::string_view national) {
  if (national.empty())
    return false;
  switch (national[0]) {
    case '5': // mobile 05X
    case '7': // VoIP / 07X
      return national.size() == 9;
    case '2':
    case '3':
    case '4':
    case '8':
    case '9': // landlines
      return national.size() == 8;
    default:
      return false;
  }
}

std::optional<std::string> israeli(std::string_view national) {
  if (!valid_israeli(national))
    return std::nullopt;
  return "+972" + std::string{national};
}

} // namespace

std::optional<std::string> normalize_phone(std::string_view text) {
  if (text.size() > max_input)
    return std::nullopt;
  auto s = trim(text);
  if (starts_with_nocase(s, wa_prefix))
    s = trim(s.substr(wa_prefix.size()));
  bool plus = false;
  if (!s.empty() && s[0] == '+') {
    plus = true;
    s.remove_prefix(1);
  }
  std::string digits;
  for (char c : s) {
    if (c >= '0' && c <= '9')
      digits.push_back(c);
    else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')')
      return std::nullopt; // letters, a second '+', non-ASCII, controls
  }
  if (digits.empty())
    return std::nullopt;
  if (!plus && digits.rfind("00", 0) == 0) { // international "00" prefix
    plus = true;
    digits.erase(0, 2);
  }
  std::string_view d{digits};
  if (d.rfind("972", 0) == 0) {
    auto national = d.substr(3);
    if (!national.empty() && national[0] == '0')
      national.remove_prefix(1); // "+972 (0)50…"
    return israeli(national);
  }
  if (plus) {
    if (d[0] == '0' || d.size() < 8 || d.size() > 15)
      return std::nullopt;
    return "+" + digits;
  }
  if (d[0] == '0')
    return israeli(d.substr(1));
  return std::nullopt;
}

std::string whatsapp_address(std::string_view e164) {
  if (starts_with_nocase(e164, wa_prefix))
    e164.remove_prefix(wa_prefix.size());
  return std::string{wa_prefix} + std::string{e164};
}

} // namespace al
