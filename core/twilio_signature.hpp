#pragma once

// Twilio request signatures (`X-Twilio-Signature`), PROTOCOLS §3. The
// validation mirrors twilio-python's RequestValidator: the signature is
// checked against the URL without any port and with the default port added,
// and either may match.

#include <string>
#include <string_view>

#include "core/form.hpp"

namespace al {

/// base64(HMAC-SHA1(auth_token, url + name1 + value1 + ...)), the params
/// sorted by name and, for a repeated name, by value (byte order). `url` is
/// used verbatim; `params` are the decoded form values.
std::string twilio_signature(std::string_view auth_token, std::string_view url,
                             const form_params& params);

/// True when `header` is the signature of `url` + `params` either with the
/// port removed from `url` or with the scheme's default port added (:443 for
/// https/wss, :80 for http/ws). False for an empty token or header.
/// Comparison is constant-time.
bool verify_twilio_signature(std::string_view auth_token, std::string_view url,
                             const form_params& params,
                             std::string_view header);

/// JSON-body webhooks (PROTOCOLS §3.2): `url_with_query` must carry
/// `bodySHA256=<hex>` equal to lowercase hex SHA-256 of `raw_body`, and
/// `header` must sign the URL alone (no params, same port rule as above).
/// False when `bodySHA256` is absent or the query is malformed.
bool verify_twilio_signature_json(std::string_view auth_token,
                                  std::string_view url_with_query,
                                  std::string_view raw_body,
                                  std::string_view header);

/// `url` with any port removed from its authority (unchanged if it has none
/// or is not an absolute URL).
std::string url_without_port(std::string_view url);

/// `url` with the scheme's default port added when it has none (:443 for
/// https/wss, :80 for any other scheme, as twilio-python does for http);
/// unchanged if it already has a port or is not an absolute URL.
std::string url_with_default_port(std::string_view url);

} // namespace al
