#pragma once

// The wire formats of the two WhatsApp providers, as pure functions (no
// I/O): Twilio's Messages REST API and its inbound/status webhooks
// (PROTOCOLS.md §5), and Meta's WhatsApp Cloud API (send, webhook handshake,
// X-Hub-Signature-256, inbound messages and statuses). Plus the message
// status order both providers share: a status never moves backwards.

#include "core/form.hpp"
#include "core/json.hpp"
#include "core/outbound.hpp"
#include "core/wa_media.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
  /// The same attachments with their declared type and file name (at most
  /// wa_max_media_items): one message_media row each.
  std::vector<wa_media_item> attachments;
  std::string profile_name; // the sender's WhatsApp profile name
  std::string wa_id;        // the sender's WhatsApp id
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

/// A form-encoded POST to Twilio's REST API (Messages, Calls) with the
/// account's Basic auth.
outbound_request twilio_post(std::string url, const twilio_credentials& creds,
                             std::string form_body,
                             std::chrono::milliseconds timeout);

/// POST {api_base}/2010-04-01/Accounts/{sid}/Messages.json, form encoded
/// To/From/Body (+ MediaUrl when `media_url` is not empty, + StatusCallback
/// when not empty), HTTP Basic sid:token. `to` and `from` are sent as given
/// (callers pass "whatsapp:+…").
outbound_request
twilio_send_request(std::string_view api_base, const twilio_credentials& creds,
                    std::string_view from, std::string_view to,
                    std::string_view body, std::string_view status_callback,
                    std::chrono::milliseconds timeout,
                    std::string_view media_url = {});

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

/// The same with a picture or a document instead of a text:
/// {"messaging_product":"whatsapp","to":"972…","type":"image","image":
/// {"link":url,"caption":body}}; a URL whose path ends in .pdf goes as
/// "type":"document" ({"link","caption","filename"}). No caption when the
/// body is empty.
outbound_request
meta_media_send_request(std::string_view api_base, std::string_view phone_id,
                        std::string_view token, std::string_view to_e164,
                        std::string_view media_url, std::string_view body,
                        std::chrono::milliseconds timeout);

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

// -- the 24-hour window and templates (PROTOCOLS.md §10) ----------------------

/// A free-form message reaches a number only this long after its last
/// inbound message; outside, only a template (Twilio error 63016).
constexpr std::chrono::hours wa_care_window{24};

/// The answer to a free-form send outside the window (SPEC §7, 422).
constexpr std::string_view wa_outside_window_error
  = "Outside the 24-hour window: use a template";

/// A number for log lines: the country code and the last three digits
/// ("+972*******567"), never the number in full.
std::string wa_masked_number(std::string_view e164);

/// What a template may be for; internal senders pick one by purpose.
bool wa_template_purpose_ok(std::string_view purpose) noexcept;

/// A template a business registered with its provider(s).
struct wa_template {
  std::int64_t id = 0;
  std::string name;                // [a-z0-9_]{1,64}, unique per business
  std::string purpose = "generic"; // payment_link | appointment_confirmation
                                   // | follow_up | generic
  std::string language = "he";
  std::string twilio_content_sid;     // "HX" + 32 hex; "" = not on Twilio
  std::string meta_name;              // Meta's template name (default: name)
  std::vector<std::string> variables; // keys in parameter order
  std::string body;                   // preview text with {{key}}
};

/// Variable values by key, in the order given.
using wa_template_values = std::vector<std::pair<std::string, std::string>>;

/// A text an internal sender (a call's tool, a booking confirmation, an
/// agent notice) sends, with the template that goes instead outside the
/// 24-hour window: the first of `fallback_purpose` whose variables
/// `fallback_facts` fill (wa_fill_template). A plain string converts to a
/// generic one whose only fact is the text ("text", so also {{1}}).
struct wa_outgoing_text {
  std::string body;
  std::string fallback_purpose = "generic";
  wa_template_values fallback_facts;

  wa_outgoing_text(std::string text) // NOLINT: implicit on purpose
    : body(std::move(text))
    , fallback_facts{{"text", body}} {}
  wa_outgoing_text(const char* text)
    : wa_outgoing_text(std::string{text}) {}
  wa_outgoing_text(std::string text, std::string purpose,
                   wa_template_values facts)
    : body(std::move(text))
    , fallback_purpose(std::move(purpose))
    , fallback_facts(std::move(facts)) {}
};

/// Why a template definition was refused: 400 (malformed: not an object,
/// wrong JSON types, a required field missing) or 422 (a value out of its
/// rules). status 0 = accepted.
struct wa_template_problem {
  int status = 0;
  std::string error;
};

/// Reads POST /api/crm/whatsapp/templates: name (required), purpose
/// (default generic), language (default "he"), twilio_content_sid
/// (optional), meta_name (default name), variables (default: the body's
/// placeholders in order), body (required, at most 1024 bytes; every
/// placeholder must be a declared variable).
wa_template_problem parse_wa_template(std::string_view json, wa_template& out);

/// The {{key}} placeholders of `body` in order of first appearance (keys
/// are [A-Za-z0-9_]{1,64}; anything else between braces is text).
std::vector<std::string> wa_template_placeholders(std::string_view body);

/// `body` with each {{key}} of `values` replaced by its value.
std::string render_wa_template(std::string_view body,
                               const wa_template_values& values);

/// The values of `t.variables`, in that order, taken from `given` (other
/// keys ignored). Error text naming the missing (or empty) ones.
std::variant<wa_template_values, std::string>
wa_template_arguments(const wa_template& t, const wa_template_values& given);

/// An internal sender's facts (e.g. name, amount, url) mapped onto a
/// template: a named variable takes the fact of that name, a numbered one
/// ("1", "2", ...) the fact at that position. nullopt when some variable
/// gets nothing. Newlines and tabs become spaces (Meta refuses them in a
/// parameter).
std::optional<wa_template_values>
wa_fill_template(const wa_template& t, const wa_template_values& facts);

/// Reads the send body's "template" object:
/// {"name":"...","variables":{"1":"..."}} (values strings or integers).
/// Error text for anything else.
std::variant<std::pair<std::string, wa_template_values>, std::string>
parse_wa_template_send(simdjson::dom::object tmpl);

/// Twilio's Messages API with a Content API template: To/From/ContentSid
/// and ContentVariables (a JSON object string, omitted without values)
/// instead of Body, + StatusCallback when not empty.
outbound_request
twilio_template_request(std::string_view api_base,
                        const twilio_credentials& creds, std::string_view from,
                        std::string_view to, std::string_view content_sid,
                        const wa_template_values& values,
                        std::string_view status_callback,
                        std::chrono::milliseconds timeout);

/// Meta's Cloud API template message: {"messaging_product":"whatsapp",
/// "to":"972...","type":"template","template":{"name":...,"language":
/// {"code":...},"components":[{"type":"body","parameters":[{"type":"text",
/// "text":...},...]}]}}; components omitted without values. A named
/// (non-numeric) key also goes as "parameter_name" (Meta's named
/// parameters; UNCONFIRMED in PROTOCOLS.md).
outbound_request
meta_template_request(std::string_view api_base, std::string_view phone_id,
                      std::string_view token, std::string_view to_e164,
                      std::string_view name, std::string_view language,
                      const wa_template_values& values,
                      std::chrono::milliseconds timeout);

} // namespace al
