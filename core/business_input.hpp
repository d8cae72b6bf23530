#pragma once

// The body of POST/PATCH /api/admin/businesses and PATCH /api/crm/business
// (SPEC "Authentication and provisioning"), parsed and validated. Pure.

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace al {

/// A validated business create/patch body. Unset optionals = not given.
struct business_input {
  std::optional<std::string> name, greeting, prompt, voice_engine;
  std::optional<std::string> twilio_sid, twilio_token;
  std::optional<std::string> wa_from, wa_provider, after_hours_reply;
  std::optional<bool> payments_enabled;
  std::optional<std::string> payments_provider, paypal_id, paypal_secret,
    tranzila_terminal;
  std::optional<std::string> working_hours; // JSON text
  std::optional<std::int64_t> max_live_calls;
  std::optional<std::vector<std::string>> phone_numbers; // E.164
  std::optional<std::string> voice;        // AI voice name ("" = OPENAI_VOICE)
  std::optional<std::string> transfer;     // JSON text, normalised
  std::optional<bool> record_calls;        // whole-call recording + notice
  std::optional<bool> whatsapp_ai;         // AI answers WhatsApp messages
  std::optional<bool> auto_call_new_leads; // speed-to-lead call-backs
  // Outgoing webhooks (write-only secret): "" = clear (null clears too).
  std::optional<std::string> webhook_url, webhook_secret;
};

/// Most numbers one transfer rings at once.
inline constexpr std::size_t max_transfer_numbers = 5;

/// Reads a stored transfer setting ({"numbers":[...],"ring_timeout_s":N});
/// false (and nothing set) when it names no number.
bool parse_transfer(std::string_view json, std::vector<std::string>& numbers,
                    int& ring_timeout_s);

/// Longest webhook_url accepted.
inline constexpr std::size_t max_webhook_url = 2048;

/// True for a loopback host as written in a URL (lower case): localhost,
/// ::1 (bracketed or not) and dotted-decimal 127.0.0.0/8. Plain http is
/// allowed only towards these (webhook_url, WhatsApp media URLs).
bool loopback_host(std::string_view host);

/// Why `url` cannot be a webhook_url, or empty when it can: an absolute
/// http(s) URL with a host, no userinfo, at most max_webhook_url bytes;
/// https unless the host is loopback (127.0.0.0/8, ::1, localhost).
std::string webhook_url_error(std::string_view url);

/// Parses and validates `o` into `in`; returns an error message or empty.
/// `create` requires a name.
std::string parse_business(simdjson::dom::object o, business_input& in,
                           bool create);

/// The JSON name of the first field in `in` that only the administrator may
/// set (name, phone_numbers, voice_engine, twilio.*, whatsapp.from,
/// max_live_calls), or empty. Owners may change greeting, prompt,
/// after_hours_reply, working_hours, whatsapp.provider and payments.*.
std::string admin_only_field(const business_input& in);

} // namespace al
