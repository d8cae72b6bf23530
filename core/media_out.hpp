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

/// The outbound media frames of one stream: the JSON around the payload is
/// rendered once, so a 20 ms frame costs two copies and a base64 encode.
/// Appends exactly what append_media_json does.
class media_json_writer {
public:
  /// The empty streamSid's (what append_media_json writes for "").
  media_json_writer()
    : media_json_writer(std::string_view{}) {}
  explicit media_json_writer(std::string_view stream_sid);

  void append(std::string& out, std::string_view mulaw) const;

private:
  std::string head_; ///< everything up to the payload's opening quote
};

/// Appends `{"event":"mark","streamSid":"..","mark":{"name":".."}}`.
void append_mark_json(std::string& out, std::string_view stream_sid,
                      std::string_view name);

/// Appends `{"event":"clear","streamSid":".."}`.
void append_clear_json(std::string& out, std::string_view stream_sid);

} // namespace al
