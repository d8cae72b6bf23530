#pragma once

// Twilio's Calls REST API and its callbacks as plain values (PROTOCOLS §10):
// the create form of an outbound follow-up call with asynchronous
// answering-machine detection, the create answer, the call-status and AMD
// callbacks, and the live-call update (a voicemail message or a hang-up).
// Pure functions: no I/O, never throw on hostile input.

#include "core/form.hpp"
#include "core/outbound.hpp"
#include "core/url_builder.hpp"
#include "core/whatsapp_wire.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace al {

/// What an outbound follow-up call is placed with.
struct twilio_dial_spec {
  std::string to;   // E.164
  std::string from; // the business's number, E.164
  std::int64_t campaign_lead_id = 0;
  int ring_timeout_s = 25; // Calls API Timeout (5..600)
};

/// POST {api_base}/2010-04-01/Accounts/{sid}/Calls.json, HTTP Basic
/// sid:token, form: To, From, Url={base}/webhook/outbound_call?cl=ID,
/// Method=POST, StatusCallback={base}/webhook/outbound_status?cl=ID,
/// StatusCallbackMethod=POST, StatusCallbackEvent initiated / ringing /
/// answered / completed (the parameter repeated), MachineDetection=
/// DetectMessageEnd, AsyncAmd=true, AsyncAmdStatusCallback=
/// {base}/webhook/amd_status?cl=ID, AsyncAmdStatusCallbackMethod=POST,
/// Timeout.
outbound_request twilio_call_create_request(std::string_view api_base,
                                            const twilio_credentials& creds,
                                            const url_builder& urls,
                                            const twilio_dial_spec& spec,
                                            std::chrono::milliseconds timeout);

/// The create answer: 2xx JSON with "sid" is success; an error JSON
/// ({"code":N,"message":"...","status":4xx}) gives its message and code.
struct twilio_call_created {
  bool ok = false;
  std::string sid;
  std::string status;     // "queued", ... ("" when absent)
  std::string error;      // "" when ok
  std::string error_code; // Twilio's code, "" when none
  /// Trying later may work: transport failure, 429, 5xx. A 4xx (bad
  /// number, unverified caller id, ...) will fail the same way again; a 2xx
  /// without a sid may have placed the call, so it is not retried either.
  bool retryable = false;
};
twilio_call_created parse_twilio_call_create(const outbound_response& res);

/// CallStatus values (lower case as Twilio sends them; anything else is
/// `unknown`).
enum class call_progress {
  unknown,
  queued,
  initiated,
  ringing,
  in_progress,
  completed,
  busy,
  no_answer,
  failed,
  canceled,
};

std::string_view to_string(call_progress s) noexcept;
call_progress parse_call_progress(std::string_view text) noexcept;

/// completed, busy, no-answer, failed, canceled: the call is over.
bool is_final(call_progress s) noexcept;

/// AnsweredBy values; `none` when the parameter is absent.
enum class answered_by {
  none,
  human,
  machine_start,
  machine_end_beep,
  machine_end_silence,
  machine_end_other,
  fax,
  unknown,
};

std::string_view to_string(answered_by a) noexcept;
/// Absent or empty: none; an unrecognised value: unknown.
answered_by parse_answered_by(std::string_view text) noexcept;

/// machine_end_beep, machine_end_silence, machine_end_other: the greeting
/// of a voicemail box ended, a message can be left now.
bool is_machine_end(answered_by a) noexcept;

/// machine_start, fax, unknown: not certain (AMD_UNKNOWN_AS decides).
bool is_uncertain(answered_by a) noexcept;

/// A status callback of an outbound call.
struct call_status_event {
  std::string call_sid;
  call_progress status = call_progress::unknown;
  int duration_s = -1; // CallDuration; -1 when absent or not a number
  answered_by by = answered_by::none;
};

/// Error text when CallSid is missing or longer than 64 characters, or
/// CallStatus is missing.
std::variant<call_status_event, std::string>
parse_call_status_event(const form_params& form);

/// An asynchronous AMD callback.
struct amd_event {
  std::string call_sid;
  answered_by by = answered_by::none;
  int detection_ms = -1; // MachineDetectionDuration; -1 when absent
};

/// Error text when CallSid or AnsweredBy is missing.
std::variant<amd_event, std::string> parse_amd_event(const form_params& form);

/// <Response><Say voice=... language="he-IL">text</Say><Hangup/></Response>
/// (the voice attribute left out when empty; an empty text: just Hangup).
std::string say_hangup_twiml(std::string_view text, std::string_view say_voice);

/// POST {api_base}/2010-04-01/Accounts/{sid}/Calls/{call_sid}.json with
/// Twiml=<the document>: the live call plays it instead of its stream.
outbound_request twilio_call_twiml_request(std::string_view api_base,
                                           const twilio_credentials& creds,
                                           std::string_view call_sid,
                                           std::string twiml,
                                           std::chrono::milliseconds timeout);

/// The same with Status=completed: the call is hung up.
outbound_request twilio_call_hangup_request(std::string_view api_base,
                                            const twilio_credentials& creds,
                                            std::string_view call_sid,
                                            std::chrono::milliseconds timeout);

} // namespace al
