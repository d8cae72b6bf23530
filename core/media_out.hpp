#pragma once

// Outbound Twilio Media Streams messages (PROTOCOLS.md §1.3): media, mark
// and clear, appended to a caller-owned std::string that is reused between
// frames (no allocation once its capacity suffices).

#include <string>
#include <string_view>

namespace al {

/// Appends `s` as a quoted JSON string: `"` `\` and control characters are
/// escaped; bytes >= 0x80 pass through when `s` is valid UTF-8, otherwise
/// each such byte becomes `?` (Twilio rejects malformed messages).
void append_json_string(std::string& out, std::string_view s);

/// Appends `{"event":"media","streamSid":"..","media":{"payload":"<b64>"}}`
/// with `mulaw` (raw 8 kHz mu-law bytes, no header) base64-encoded.
void append_media_json(std::string& out, std::string_view stream_sid,
                       std::string_view mulaw);

/// Appends `{"event":"mark","streamSid":"..","mark":{"name":".."}}`.
void append_mark_json(std::string& out, std::string_view stream_sid,
                      std::string_view name);

/// Appends `{"event":"clear","streamSid":".."}`.
void append_clear_json(std::string& out, std::string_view stream_sid);

} // namespace al
