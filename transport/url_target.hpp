#pragma once

// Where an outbound connection goes, split out of its URL: shared by the
// HTTP(S) client (http/https) and the Realtime WebSocket client (ws/wss).
// Rejects other schemes, userinfo, a missing or empty host, and ports
// outside 1..65535 (boost::urls' port_number() would wrap them).

#include <optional>
#include <string>
#include <string_view>

namespace al {

struct url_target {
  bool tls = false;
  std::string host;        // for resolve and SNI: no brackets
  std::string port;        // decimal
  std::string host_header; // as in the URL, with ":port" when not default
  std::string path;        // origin-form: path and query
  bool ip_literal = false;
  /// The lower-cased "scheme://host:port" of the connection (a pool key).
  std::string key;
};

enum class url_family {
  http,      // http:// and https://
  websocket, // ws:// and wss://
};

std::optional<url_target> parse_url_target(std::string_view url,
                                           url_family family);

/// True when `s` holds a CR or LF (header injection).
inline bool has_crlf(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

} // namespace al
