#pragma once

// The wire formats of the two WhatsApp providers, as pure functions (no
// I/O): Twilio's Messages REST API and its inbound/status webhooks
// (PROTOCOLS.md §5), and Meta's WhatsApp Cloud API (send, webhook handshake,
// X-Hub-Signature-256, inbound messages and statuses). Plus the message
// status order both providers share: a status never moves backwards.

#include "core/form.hpp"
#include "core/outbound.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace al {

// -- statuses -----------------------------------------------------------------

/// Position of a message status in its life: queued/accepted/scheduled 0,
/// sending 1, sent 2, delivered/undelivered/failed 3, read 4; received (an
/// inbound message) 5. -1 for anything else.
int wa_status_rank(std::string_view status) noexcept;

/// True when a message in status `from` may move to `to`: `to` is known and
/// ranks higher, and `from` is not a failure (failed and undelivered are
/// final). Unknown `from` values may move to any known status.
bool wa_status_advances(std::string_view from, std::string_view to) noexcept;

/// What a provider call came to.
struct wa_send_outcome {
  bool ok = false;
  std::string sid;        // the provider's message id ("SM…", "wamid…")
  std::string status;     // the provider's initial status, when it says
  std::string error;      // the provider's message, or what went wrong
  std::string error_code; // the provider's error code, when it gave one
  bool timeout = false;   // no answer within the deadline
};

/// One inbound message, whichever provider brought it.
struct wa_inbound {
  std::string provider;           // "twilio" | "meta"
  std::string sid;                // provider message id (unique)
  std::string from;               // sender, E.164
  std::string to;                 // our number, E.164; may be empty (Meta)
  std::string body;               // text, caption, button or location text
  std::vector<std::string> media; // URLs (Twilio) or "meta-media:<id>"
  std::string profile_name;       // the sender's WhatsApp profile name
  std::string wa_id;              // the sender's WhatsApp id
};

/// One delivery-status report.
struct wa_status_event {
  std::string sid;
  std::string status;     // lower case, as the provider sends it
  std::string error_code; // "" when none
  std::string error;      // "" when none
};

/// Longest message body we accept to send (WhatsApp's text limit).
constexpr std::size_t wa_max_body = 4096;

// -- Twilio -------------------------------------------------------------------

struct twilio_credentials {
  std::string account_sid;
  std::string auth_token;
};

/// POST {api_base}/2010-04-01/Accounts/{sid}/Messages.json, form encoded
/// To/From/Body (+ StatusCallback when not empty), HTTP Basic sid:token.
/// `to` and `from` are sent as given (callers pass "whatsapp:+…").
outbound_request
twilio_send_request(std::string_view api_base, const twilio_credentials& creds,
                    std::string_view from, std::string_view to,
                    std::string_view body, std::string_view status_callback,
                    std::chrono::milliseconds timeout);

/// Reads the Messages API answer: 2xx JSON with a "sid" is success; an
/// error JSON gives its "message" and "code"; anything else a short
/// description ("twilio answered HTTP 503", "twilio timed out", ...).
wa_send_outcome parse_twilio_send_response(const outbound_response& res);

/// An inbound WhatsApp webhook (MessageSid, From, To, Body, NumMedia,
/// MediaUrlN, ProfileName, WaId). Error text when MessageSid is missing or
/// From is not a phone address. An unparsable To is left empty.
std::variant<wa_inbound, std::string>
parse_twilio_inbound(const form_params& form);

/// A status callback (MessageSid, MessageStatus, ErrorCode, ErrorMessage).
/// Error text when MessageSid or MessageStatus is missing.
std::variant<wa_status_event, std::string>
parse_twilio_status(const form_params& form);

// -- Meta WhatsApp Cloud API
// ----------------------------------------------------

/// The Cloud API's recipient form: the E.164 digits without '+'.
std::string meta_recipient(std::string_view e164);

/// POST {api_base}/{phone_id}/messages with "Authorization: Bearer token"
/// and {"messaging_product":"whatsapp","to":"972…","type":"text",
/// "text":{"body":"…"}}.
outbound_request
meta_send_request(std::string_view api_base, std::string_view phone_id,
                  std::string_view token, std::string_view to_e164,
                  std::string_view body, std::chrono::milliseconds timeout);

/// Reads {"messages":[{"id":"wamid…"}]}; errors come as
/// {"error":{"message":…,"code":…}}.
wa_send_outcome parse_meta_send_response(const outbound_response& res);

/// X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(app_secret, raw body).
/// False for an empty secret or header; constant-time comparison; the hex
/// digits may be upper or lower case.
bool verify_meta_signature(std::string_view app_secret,
                           std::string_view raw_body, std::string_view header);

/// The subscription handshake: hub.mode=subscribe and hub.verify_token equal
/// to `verify_token` (non-empty) yield hub.challenge (1-256 printable
/// characters); anything else nullopt.
std::optional<std::string> meta_handshake(const form_params& query,
                                          std::string_view verify_token);

/// What one Cloud API webhook delivery carries.
struct meta_webhook {
  std::vector<wa_inbound> messages; // `to` from metadata.display_phone_number
  std::vector<wa_status_event> statuses;
};

/// Parses {"object":"whatsapp_business_account","entry":[{"changes":[{
/// "value":{"metadata":{…},"contacts":[…],"messages":[…],"statuses":[…]}}]}]}.
/// Error text for invalid JSON or a body that is not such an object;
/// individual messages without id or a phone sender are skipped.
std::variant<meta_webhook, std::string>
parse_meta_webhook(std::string_view body);

} // namespace al
