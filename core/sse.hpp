#pragma once

// Server-sent events (the WHATWG "text/event-stream" format) as pure
// functions: what GET /api/crm/events writes for each change.

#include <string>
#include <string_view>

namespace al {

/// One event: "event: <name>\n" then one "data: " line per line of `data`
/// (CR, LF and CRLF all split lines, so a payload can never end the frame
/// early or inject a field), then a blank line. Line breaks in `name` are
/// dropped; an empty name gives a default "message" event.
std::string sse_frame(std::string_view name, std::string_view data);

/// The same event with an "id: <id>" line first: the client's last event
/// id, sent back as Last-Event-ID when it reconnects. CR, LF and NUL are
/// dropped from `id` (a NUL would make clients ignore the field).
std::string sse_frame(std::string_view name, std::string_view data,
                      std::string_view id);

/// A comment line (": text\n\n"), ignored by clients: a heartbeat that
/// keeps proxies and dead-peer detection busy. Line breaks become spaces.
std::string sse_comment(std::string_view text);

} // namespace al
