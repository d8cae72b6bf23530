#pragma once

// The OpenAI Realtime API's JSON events (PROTOCOLS.md §7) as pure functions:
// the client events the call's `openai` engine sends (session.update in the
// beta or GA shape, audio appends, cancel, truncate, function outputs) and a
// parser that turns any server event, under its beta or GA name, into one
// flat struct. Also the Hebrew instructions and the function tools' argument
// checks. No I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

namespace al {

/// What the session is configured with.
struct realtime_session_options {
  std::string instructions;
  /// false: the beta shape (input_audio_format "g711_ulaw", sent with the
  /// `OpenAI-Beta: realtime=v1` header); true: the GA shape
  /// (audio.input.format {type:"audio/pcmu"}, session.type "realtime").
  bool ga = false;
  std::string model; // GA only (session.model); "" = omitted
  std::string voice; // "" = alloy (beta) / marin (GA)
  /// "" = whisper-1 (beta) / gpt-4o-mini-transcribe (GA)
  std::string transcription_model;
  std::string language = "he"; // caller transcription hint
};

/// `{"type":"session.update","session":{...}}`: mu-law 8 kHz both ways,
/// server VAD with interrupt_response, input transcription on, the four
/// tools (save_lead, book_appointment, send_whatsapp, end_call).
std::string realtime_session_update(const realtime_session_options& o);

/// The function tools of the session as a JSON array text (Realtime shape:
/// {type:"function", name, description, parameters}), for other channels
/// that offer the same tools (core/wa_ai_wire.cpp).
std::string realtime_tool_definitions();

/// `input_audio_buffer.append` with the mu-law bytes base64-encoded.
std::string realtime_append(std::string_view mulaw);

/// `response.create` (no overrides).
std::string realtime_response_create();

/// `response.cancel` with our `event_id` (so an error about it is known).
std::string realtime_response_cancel(std::string_view event_id);

/// `conversation.item.truncate` {item_id, content_index 0, audio_end_ms}.
std::string realtime_truncate(std::string_view event_id,
                              std::string_view item_id,
                              std::int64_t audio_end_ms);

/// `conversation.item.create` of a function_call_output.
std::string realtime_function_output(std::string_view call_id,
                                     std::string_view output);

/// `conversation.item.create` of a user message with one input_text.
std::string realtime_user_text(std::string_view text);

/// The WebSocket URL: `base` + "?model=" + model (or "&model=" when `base`
/// already has a query), the model percent-encoded.
std::string realtime_url(std::string_view base, std::string_view model);

/// What we know of a server event. `type` is the raw name.
enum class realtime_kind {
  session_created,
  session_updated,
  speech_started, // input_audio_buffer.speech_started
  speech_stopped, // input_audio_buffer.speech_stopped
  response_created,
  response_done,
  audio_delta,       // response.audio.delta | response.output_audio.delta
  audio_done,        // response.audio.done | response.output_audio.done
  agent_transcript,  // response.(output_)audio_transcript.done
  caller_transcript, // conversation.item.input_audio_transcription.completed
  function_call,     // response.function_call_arguments.done
  output_item,       // response.output_item.added | .done
  error,
  other,
};

struct realtime_event {
  realtime_kind kind = realtime_kind::other;
  std::string type;
  std::string response_id; // response.id for response.created/done
  std::string item_id;     // item.id for output_item events
  std::string status;      // response.status (response.done)
  std::string audio;       // decoded delta (audio_delta)
  std::string transcript;  // *_transcript events
  // function_call (and output_item of type function_call)
  std::string item_type;
  std::string call_id;
  std::string name;
  std::string arguments;
  // error
  std::string error_type;
  std::string error_code;
  std::string error_message;
  std::string error_event_id;

  void clear();
};

/// Parses server events; reuse one per connection (not thread-safe).
class realtime_parser {
public:
  /// Fills `out`; false (with `error()`) when the text is not a JSON object
  /// with a string `type`, or an audio delta is not valid base64.
  bool parse(std::string_view text, realtime_event& out);

  const std::string& error() const noexcept {
    return error_;
  }

private:
  simdjson::dom::parser parser_;
  std::string error_;
};

/// A function tool's arguments, checked. Each returns "" or an error text
/// meant for the model.

/// save_lead {name, deal, city, rooms, budget, notes}: a lead patch in the
/// CRM API's shape (name, deal, city, rooms, budget_max; only the fields
/// given and non-empty) for core/crm_input.hpp parse_lead, and the notes
/// to append. An empty patch with empty notes is an error.
std::string realtime_lead_patch(std::string_view arguments,
                                std::string& patch_json, std::string& notes);

/// book_appointment {starts_at, address, notes}: `starts_at` as given
/// (ISO-8601 with an offset) or, without an offset, with `local` set (a
/// time in Asia/Jerusalem).
struct appointment_args {
  std::string starts_at;
  bool local = false;
  std::string address;
  std::string notes;
};
std::string realtime_appointment_args(std::string_view arguments,
                                      appointment_args& out);

/// send_whatsapp {text}: 1..1500 bytes.
std::string realtime_whatsapp_text(std::string_view arguments,
                                   std::string& text);

/// What the model is told: the business's prompt (or a default), that it
/// already greeted the caller with `greeting`, the caller's known details
/// (`lead_facts`, "" = none), and when to use each tool. Hebrew.
std::string
realtime_instructions(std::string_view business_name, std::string_view prompt,
                      std::string_view greeting, std::string_view lead_facts);

/// The OpenAI REST URL beside a Realtime URL: wss://h/v1/realtime + path
/// "/chat/completions" -> https://h/v1/chat/completions (ws -> http).
/// "" when `realtime_url` is not ws:// or wss://.
std::string openai_rest_url(std::string_view realtime_url,
                            std::string_view path);

/// One transcript line of a call: role "caller" or "agent".
struct transcript_line {
  std::string role;
  std::string text;
};

/// A chat completion request asking for a short Hebrew summary of
/// `lines` (the most recent ~12 KB of them).
std::string summary_request(std::string_view model,
                            const std::vector<transcript_line>& lines);

/// choices[0].message.content of a chat completion, trimmed; nullopt when
/// absent or empty.
std::optional<std::string> summary_text(std::string_view response_body);

/// `text` with every occurrence of `secret` replaced by "***" (for logs).
std::string redact(std::string text, std::string_view secret);

} // namespace al
