#pragma once

// Phone numbers as E.164 ("+9725XXXXXXXX"), the form Twilio uses in From/To
// and the key leads are matched on.

#include <optional>
#include <string>
#include <string_view>

namespace al {

/// E.164 form of `text`, or nullopt. Accepts an optional "whatsapp:" prefix
/// (any case), surrounding whitespace and the separators space, '-', '.',
/// '(' and ')'. Israeli numbers: "+972…", "972…" or "00972…" (a trunk '0'
/// after 972 is dropped) and local "0…": mobile 05X + 7 digits, VoIP 07X + 7
/// digits, landline 02/03/04/08/09 + 7 digits. Other countries only with a
/// leading '+' (or "00") and 8-15 digits, not starting with 0. Anything else
/// (letters, a second '+', unicode digits, too long) gives nullopt.
std::optional<std::string> normalize_phone(std::string_view text);

/// "whatsapp:" + `e164`; a "whatsapp:" prefix already there (any case) is
/// not doubled.
std::string whatsapp_address(std::string_view e164);

} // namespace al
